//! What a caller may do here.

service_kit::scopes! {
    /// `POST /customers/supportResult`: Genesys' data action.
    IngestWebhook => "ingest:webhook",
    /// `/ingest/events…`: operators looking at and replaying the inbox.
    IngestOperate => "ingest:operate",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
