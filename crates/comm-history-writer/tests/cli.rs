//! The binary's settings as `check-config` (which runs the service's whole setup but serves
//! nothing) reads them: outside development the communication-history-manager is https only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_comm-history-writer"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), text)
}

/// gdpr-orchestrator's public key, fresh from `keys` (no key shipped in the repository).
fn orchestrator_key() -> String {
    let (code, keys) = run(&["keys"], &[]);
    assert_eq!(code, 0, "{keys}");
    keys.lines()
        .find_map(|line| line.strip_prefix("APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY="))
        .unwrap()
        .to_owned()
}

#[test]
fn outside_development_an_http_manager_is_refused_at_start() {
    let key = orchestrator_key();
    let suppression_key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let production = |url: &'static str| {
        vec![
            ("APP__RECORDS__SUPPRESSION_KEY", suppression_key.as_str()),
            ("APP__AUTH__CALLERS__BOFE__TOKEN", "bofe-token-of-this-bank-0123456789"),
            ("APP__AUTH__CALLERS__BOFE__SCOPES", "records:read"),
            ("APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY", key.as_str()),
            ("APP__DELIVERY__URL", url),
        ]
    };
    let (code, text) = run(
        &["check-config"],
        &production("http://chm.bank.example/communicationRecords"),
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("delivery.url: must be an https URL (http only with application.environment = \"development\")"),
        "{text}"
    );
    let (code, text) = run(
        &["check-config"],
        &production("https://chm.bank.example/communicationRecords"),
    );
    assert_eq!(code, 0, "{text}");
    let mut development = production("http://chm.bank.example/communicationRecords");
    development.push(("APP__APPLICATION__ENVIRONMENT", "development"));
    let (code, text) = run(&["check-config"], &development);
    assert_eq!(code, 0, "{text}");
}
