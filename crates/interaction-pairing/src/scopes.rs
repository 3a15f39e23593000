//! What a caller may do here: BOFE writes pairings; ccbridge's own services read them.

service_kit::scopes! {
    /// `POST /customers/supportInteraction`.
    PairingWrite => "pairing:write",
    /// `GET /customers/supportInteraction/{interactionId}`, `POST /internal/pairings/lookup`.
    PairingRead => "pairing:read",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
