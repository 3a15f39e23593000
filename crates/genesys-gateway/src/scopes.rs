//! What a caller may do here.

service_kit::scopes! {
    /// `GET /users/{userId}`, `GET /wrapupcodes/{codeId}`.
    GenesysLookup => "genesys:lookup",
    /// `/gdpr/…`: Genesys Cloud's GDPR API, for gdpr-orchestrator.
    GenesysGdpr => "genesys:gdpr",
    /// `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator.
    GdprParticipant => "gdpr:participant",
}
