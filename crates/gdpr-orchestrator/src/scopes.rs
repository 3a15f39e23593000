//! What a caller may do here.

service_kit::scopes! {
    /// `/gdpr/requests…`: the bank's data protection officers and their tools (the `gdpr` CLI).
    Dpo => "dpo",
    /// `/gdpr/queue…`: operators of the requests' queue: list it (ids, types, attempts, reasons;
    /// never a subject) and retry its dead letters. Nothing of a request's content.
    Operate => "gdpr:operate",
    /// `GET /internal/gdpr/retentions`: every legal hold in force (its subject: personal data)
    /// and every statutory rule, for comm-history-writer's expiry of records past their retention
    /// alone.
    Retentions => "gdpr:retentions",
}
