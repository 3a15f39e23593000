//! What a caller may do here.

service_kit::scopes! {
    /// `/gdpr/requests…`: the bank's data protection officers and their tools (the `gdpr` CLI).
    Dpo => "dpo",
}
