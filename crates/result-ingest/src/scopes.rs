//! What a caller may do here.

service_kit::scopes! {
    /// `POST /customers/supportResult`: Genesys' data action.
    IngestWebhook => "ingest:webhook",
    /// `/ingest/events…`: operators looking at and replaying the inbox.
    IngestOperate => "ingest:operate",
    /// `/internal/gdpr/…`: gdpr-orchestrator.
    GdprParticipant => "gdpr:participant",
}
