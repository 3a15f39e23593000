//! What a caller may do here: BOFE writes pairings; ccbridge's own services read them; operators
//! work the outbox.

service_kit::scopes! {
    /// `POST /customers/supportInteraction`.
    PairingWrite => "pairing:write",
    /// `GET /customers/supportInteraction/{interactionId}`, `POST /internal/pairings/lookup`.
    PairingRead => "pairing:read",
    /// `/pairing-outbox`: list the outbox (no personal data), retry its dead letters.
    PairingOperate => "pairing:operate",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
