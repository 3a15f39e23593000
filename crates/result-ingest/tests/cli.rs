//! The binary's `check-config`: valid settings exit 0; each problem is printed with its key and
//! exits 2, without starting anything or printing secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn check_config(env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_result-ingest"))
        .arg("check-config")
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

const VALID: [(&str, &str); 3] = [
    ("APP__AUTH__CALLERS__GENESYS__TOKEN", "genesys-token-0123456789"),
    ("APP__AUTH__CALLERS__GENESYS__SCOPES", "ingest:webhook"),
    ("APP__INGEST__INTERNAL_TOKEN", "internal-token-0123456789"),
];

#[test]
fn valid_settings_pass_without_a_database_or_runtime() {
    let (code, text) = check_config(&VALID);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("configuration is valid"));
}

#[test]
fn each_problem_names_its_key_and_no_secret() {
    let (code, text) = check_config(&[
        ("APP__AUTH__CALLERS__GENESYS__TOKEN", "genesys-token-0123456789"),
        ("APP__AUTH__CALLERS__GENESYS__SCOPES", "ingest:webhook"),
        ("APP__INGEST__INTERNAL_TOKEN", "short-secret"),
        ("APP__INGEST__GATEWAY_URL", "gateway:8083"),
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ingest.internal_token") && text.contains("ingest.gateway_url"),
        "{text}"
    );
    assert!(!text.contains("short-secret"), "{text}");
}

#[test]
fn the_inbox_writers_must_leave_the_pool_a_connection() {
    let mut env = VALID.to_vec();
    env.extend([
        ("APP__DATABASE__MAX_CONNECTIONS", "2"),
        ("APP__INGEST__ACCEPT_TRANSACTIONS", "2"),
    ]);
    let (code, text) = check_config(&env);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ingest.accept_transactions: must be below database.max_connections (2)"),
        "{text}"
    );

    env.pop();
    env.push(("APP__INGEST__ACCEPT_TRANSACTIONS", "1"));
    let (code, text) = check_config(&env);
    assert_eq!(code, 0, "{text}");
}
