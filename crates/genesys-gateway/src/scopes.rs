//! What a caller may do here.

service_kit::scopes! {
    /// `GET /users/{userId}`, `GET /wrapupcodes/{codeId}`.
    GenesysLookup => "genesys:lookup",
    /// `/internal/gdpr/…`: the GDPR participant contract (Genesys Cloud's GDPR API behind it),
    /// for gdpr-orchestrator alone.
    GdprParticipant => "gdpr:participant",
}
