//! What a caller may do here.

service_kit::scopes! {
    /// `/gdpr/requests…`: the bank's data protection officers and their tools (the `gdpr` CLI).
    Dpo => "dpo",
    /// `/gdpr/queue…`: operators of the requests' queue: list it (ids, types, attempts, reasons;
    /// never a subject) and retry its dead letters. Nothing of a request's content.
    Operate => "gdpr:operate",
    /// `GET /internal/gdpr/retentions`: every legal hold in force (its subject: personal data)
    /// and every statutory rule, for the participants' age-based clean-ups alone
    /// (comm-history-writer's records, result-ingest's inbox, interaction-pairing's pairings).
    Retentions => "gdpr:retentions",
}
