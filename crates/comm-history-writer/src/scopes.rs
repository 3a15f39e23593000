//! What a caller may do here.

service_kit::scopes! {
    /// `POST /communicationRecords`.
    RecordsWrite => "records:write",
    /// `GET /communicationRecords…`.
    RecordsRead => "records:read",
    /// `/internal/gdpr/…`: gdpr-orchestrator.
    GdprParticipant => "gdpr:participant",
}
