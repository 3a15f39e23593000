//! The example payloads of `docs/examples/`.

/// An example payload from `docs/examples/` (the repository's own copy; nothing outside it is
/// read).
pub fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The communication record the pipeline writes for the inbound voice example when its pairing
/// exists (agent "Jana Nováková", wrap-up code "Sale completed"): the integration spec's record,
/// plus the agent's Genesys user id, which finds an agent's records for a GDPR request.
pub fn expected_voice_inbound_record() -> serde_json::Value {
    fixture("expected-record-voice-inbound.json")
}
