//! What a caller may do here.

service_kit::scopes! {
    /// `POST /communicationRecords`, `POST /communicationRecords/batch`.
    RecordsWrite => "records:write",
    /// `GET /communicationRecords…`.
    RecordsRead => "records:read",
    /// `POST /internal/customerAssignments`: a late pairing fills in its records' customer
    /// (interaction-pairing's outbox, result-ingest after a write).
    RecordsAssign => "records:assign",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
