//! The binary's settings: valid ones pass `check-config` (exit 0); each problem is printed with
//! its key and exits 2, without starting anything or printing secrets; a development key outside
//! development stops the service at start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn check_config(env: &[(&str, &str)]) -> (i32, String) {
    run(&["check-config"], env)
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_result-ingest"))
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

/// A production-like configuration: the service's own keys, none of the development ones.
const VALID: [(&str, &str); 5] = [
    ("APP__AUTH__CALLERS__GENESYS__TOKEN", "genesys-token-0123456789"),
    ("APP__AUTH__CALLERS__GENESYS__SCOPES", "ingest:webhook"),
    ("APP__INGEST__INTERNAL_TOKEN", "internal-token-0123456789"),
    ("APP__INGEST__SUPPRESSION_KEY", "Xq7RbT2mVw9KpL4zNc8HdF3sJy6GtA1e"),
    (
        "APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY",
        "ed25519:LShxwMqQpens/Oqt1ckUmoYtnh8iE1clMMC2GBkEK3A=",
    ),
];

#[test]
fn a_development_key_outside_development_stops_the_service_naming_the_key() {
    let mut env: Vec<(&str, &str)> = VALID.to_vec();
    env.retain(|(key, _)| *key != "APP__INGEST__SUPPRESSION_KEY");
    // `serve`, the binary's default: it must not start at all.
    let (code, text) = run(&[], &env);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ingest.suppression_key: a development-only value is refused outside development"),
        "{text}"
    );
    assert!(
        !text.contains("development-only-suppression"),
        "the key itself is not printed: {text}"
    );

    // The development flag accepts it (devstack sets it too).
    env.push(("APP__APPLICATION__ENVIRONMENT", "development"));
    let (code, text) = check_config(&env);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn valid_settings_pass_without_a_database_or_runtime() {
    let (code, text) = check_config(&VALID);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("configuration is valid"));
}

#[test]
fn each_problem_names_its_key_and_no_secret() {
    let mut env: Vec<(&str, &str)> = VALID.to_vec();
    env.retain(|(key, _)| *key != "APP__INGEST__INTERNAL_TOKEN");
    env.extend([
        ("APP__INGEST__INTERNAL_TOKEN", "short-secret"),
        ("APP__INGEST__GATEWAY_URL", "gateway:8083"),
        ("APP__INGEST__LEASE_SECONDS", "5"),
    ]);
    let (code, text) = check_config(&env);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ingest.internal_token") && text.contains("ingest.gateway_url"),
        "{text}"
    );
    // A lease shorter than one batch's calls could let a worker write after it lost the events.
    assert!(
        text.contains("ingest.lease_seconds: must cover the worst case of one batch"),
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

#[test]
fn counts_and_the_retry_budget_are_parsed_naming_their_key() {
    for (key, value, named) in [
        ("APP__INGEST__BATCH_SIZE", "0", "ingest.batch_size"),
        ("APP__INGEST__ACCEPT_BATCH_MAX", "0", "ingest.accept_batch_max"),
        ("APP__INGEST__DEAD_RETENTION_DAYS", "0", "ingest.dead_retention_days"),
        (
            "APP__INGEST__ORCHESTRATOR_URL",
            "ftp://orchestrator",
            "ingest.orchestrator_url",
        ),
        ("APP__INGEST__RETRY_BUDGET", "soon", "ingest.retry_budget"),
        // The key it replaced is refused, not ignored for the default.
        (
            "APP__INGEST__RETRY_BUDGET_HOURS",
            "1",
            "ingest.retry_budget_hours: replaced by ingest.retry_budget",
        ),
    ] {
        let mut env = VALID.to_vec();
        env.push((key, value));
        let (code, text) = check_config(&env);
        assert_eq!(code, 2, "{key}={value}: {text}");
        assert!(text.contains(named), "{key}={value}: {text}");
    }
    let mut env = VALID.to_vec();
    env.push(("APP__INGEST__RETRY_BUDGET", "50 attempts"));
    let (code, text) = check_config(&env);
    assert_eq!(code, 0, "{text}");
}
