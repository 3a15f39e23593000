//! `[genesys]` and `[content]` are parsed into what their keys mean (URLs, hosts, non-zero
//! counts, content's share of the Genesys budget): `check-config` names
//! the key of a value that does not parse and exits 2, without printing the client secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const SECRET: &str = "genesys-client-secret-0123456789";

/// `genesys-gateway check-config` under the base settings and `extra`: its exit code, and what it
/// printed (it prints the problems to stderr).
fn check_config(extra: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_genesys-gateway"));
    command.arg("check-config").env_clear();
    command.envs([
        ("APP__APPLICATION__ENVIRONMENT", "development"),
        ("APP__GENESYS__CLIENT_ID", "ccbridge"),
        ("APP__GENESYS__CLIENT_SECRET", SECRET),
        (
            "APP__AUTH__CALLERS__RESULT_INGEST__TOKEN",
            "result-ingest-token-0123456789",
        ),
        ("APP__AUTH__CALLERS__RESULT_INGEST__SCOPES", "genesys:lookup"),
    ]);
    let output = command.envs(extra.iter().copied()).output().unwrap();
    let mut printed = String::from_utf8(output.stderr).unwrap();
    printed.push_str(std::str::from_utf8(&output.stdout).unwrap());
    (output.status.code().unwrap(), printed)
}

#[test]
fn each_wrong_value_is_named_by_its_key() {
    let (code, text) = check_config(&[]);
    assert_eq!(code, 0, "{text}");
    for (env, key) in [
        (vec![("APP__GENESYS__MAX_ATTEMPTS", "0")], "genesys.max_attempts:"),
        (
            vec![("APP__GENESYS__RATE_LIMIT_BURST", "0")],
            "genesys.rate_limit_burst:",
        ),
        (
            vec![("APP__GENESYS__CACHE_MAX_ENTRIES", "-1")],
            "genesys.cache_max_entries:",
        ),
        (
            vec![
                ("APP__GENESYS__API_BASE_URL", "ftp://genesys.example"),
                ("APP__GENESYS__LOGIN_BASE_URL", "https://login.example"),
            ],
            "genesys.api_base_url:",
        ),
        (
            vec![("APP__GENESYS__API_BASE_URL", "https://api.example")],
            "genesys.api_base_url and genesys.login_base_url go together",
        ),
        (vec![("APP__GENESYS__REGION", "mypurecloud.de/api")], "genesys.region:"),
        (
            vec![("APP__CONTENT__TRANSCRIPT_HOSTS", "*.com")],
            "content.transcript_hosts:",
        ),
        (
            vec![("APP__CONTENT__TRANSCRIPT_MAX_BYTES", "0")],
            "content.transcript_max_bytes:",
        ),
        (
            vec![("APP__CONTENT__BUDGET_PERCENT", "91")],
            "content.budget_percent: 1 to 90",
        ),
        (vec![("APP__CONTENT__BUDGET_PERCENT", "0")], "content.budget_percent:"),
    ] {
        let (code, text) = check_config(&env);
        assert_eq!(code, 2, "{env:?}: {text}");
        assert!(text.contains(key), "{env:?}: {text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}
