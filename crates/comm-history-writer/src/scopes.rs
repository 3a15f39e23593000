//! What a caller may do here.

service_kit::scopes! {
    /// `POST /communicationRecords`, `POST /communicationRecords/batch`.
    RecordsWrite => "records:write",
    /// `GET /communicationRecords…`.
    RecordsRead => "records:read",
    /// `POST /internal/customerAssignments`: a late pairing fills in its records' customer
    /// (interaction-pairing's outbox, result-ingest after a write).
    RecordsAssign => "records:assign",
    /// `PUT /communicationRecords/{id}/body`: what was said or written, added after the record
    /// (result-ingest's content queue alone).
    RecordsBody => "records:body",
    /// `/deliveries…`: operators looking at and replaying the delivery to the bank's
    /// communication-history-manager.
    RecordsOperate => "records:operate",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
