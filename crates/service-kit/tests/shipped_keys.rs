//! Every key shipped in the repository is refused outside development, whatever is cut off its
//! head or tail. The walk finds them itself (no list of settings kept by hand): every secret-looking setting
//! with a value in each service's embedded defaults (`crates/*/configuration/*.toml`), the Helm
//! chart's values files (`deploy/**/*.yaml`), the docs' examples (`docs/**/*.md`, README.md), and
//! the development tools' built-in credentials (devstack, genesys-sim). A value it finds that
//! `shipped-keys.txt` lacks fails the test, naming where it was found;
//! `UPDATE_SHIPPED_KEYS=1 cargo test -p service-kit --test shipped_keys` adds it (to both lists).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use service_kit::configuration::{Settings, SettingsSources};
use service_kit::shipped_keys::{self, WINDOW_CHARS};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A secret-looking setting with a value, and where it was found.
#[derive(Debug)]
struct Found {
    source: String,
    key: String,
    value: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                files(&path, extension, out);
            }
        } else if name.ends_with(extension) {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    let root = root().canonicalize().unwrap();
    path.canonicalize()
        .unwrap()
        .strip_prefix(&root)
        .unwrap()
        .display()
        .to_string()
}

/// A setting's name that says it holds a secret (`suppression_key`, `APP__GDPR__AUDIT_KEY`,
/// `orchestratorPublicKey`, `client_secret`, `internal_token`, `basic_password`, a salt, …).
/// Chart keys naming a Secret object (`existingSecret`, `tlsSecretName`, `imagePullSecrets`) hold
/// no secret.
fn secret_looking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("existing") || lower.ends_with("secretname") || lower.ends_with("secrets") {
        return false;
    }
    [
        "token",
        "secret",
        "password",
        "key",
        "salt",
        "pepper",
        "hmac",
        "credential",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// A value that is a placeholder for one, not one: `...`, `<token>` (the chart's CI values:
/// scripts/check-chart.sh fills them), `${X}`, `__X__`, `{{ }}`.
/// Shorter than 8 characters, or a number, is no key either., a number or a flag is no key either.
fn placeholder(value: &str) -> bool {
    value.chars().count() < 8
        || value.bytes().all(|b| b.is_ascii_digit())
        || value.contains("...")
        || value.contains('…')
        || (value.contains('<') && value.contains('>'))
        || value.contains("${")
        || value.contains("$(")
        || value.contains("{{")
        || (value.starts_with("__") && value.ends_with("__"))
}

/// The secrets a `key = value` holds: the value of a secret-looking key, the password of a URL.
fn secrets_of(source: &str, key: &str, value: &str, out: &mut Vec<Found>) {
    let value = value.trim();
    if placeholder(value) {
        return;
    }
    let last = key.rsplit(['.', '_']).next().unwrap_or(key);
    // A key by its name, or by its form: the development marker, a key type's prefix.
    let key_form = ["development-only-", "ed25519:", "aes256:"]
        .iter()
        .any(|prefix| value.starts_with(prefix));
    if (secret_looking(key.rsplit('.').next().unwrap_or(key)) && !last.eq_ignore_ascii_case("url")) || key_form {
        out.push(Found {
            source: source.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        });
    } else if let Some(password) = url_password(value) {
        out.push(Found {
            source: source.to_owned(),
            key: format!("{key} (its password)"),
            value: password.to_owned(),
        });
    }
}

fn url_password(value: &str) -> Option<&str> {
    shipped_keys::url_password(value).filter(|password| !placeholder(password))
}

fn walk_json(source: &str, prefix: &str, value: &serde_json::Value, out: &mut Vec<Found>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                walk_json(source, &path, value, out);
            }
        }
        serde_json::Value::String(text) => secrets_of(source, prefix, text, out),
        _ => {}
    }
}

/// Each service's embedded defaults (and service-kit's base), parsed as the services parse them.
fn toml_defaults(out: &mut Vec<Found>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let crates = root().join("crates");
    for entry in std::fs::read_dir(&crates).unwrap() {
        let configuration = entry.unwrap().path().join("configuration");
        files(&configuration, ".toml", &mut found);
    }
    found.sort();
    for path in &found {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed: serde_json::Value = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Toml))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        walk_json(&relative(path), "", &parsed, out);
    }
    found
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.split(quote).next()) {
            return inner;
        }
    }
    // An unquoted YAML scalar ends at a comment.
    value.split(" #").next().unwrap_or(value).trim()
}

/// The chart's values files (and every other YAML under deploy/), `key: value` a line.
fn yaml_values(out: &mut Vec<Found>) {
    let mut found = Vec::new();
    files(&root().join("deploy"), ".yaml", &mut found);
    for path in found {
        yaml_lines(&relative(&path), &std::fs::read_to_string(&path).unwrap(), out);
    }
}

fn yaml_lines(source: &str, text: &str, out: &mut Vec<Found>) {
    {
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            if key.contains(' ') || value.trim_start().starts_with(['{', '[', '|', '>']) {
                continue;
            }
            secrets_of(source, key, unquote(value), out);
        }
    }
}

/// The docs' examples: `APP__…=value` (shell) and `key = "value"` (TOML) in any Markdown file.
fn docs_examples(out: &mut Vec<Found>) {
    let mut found = Vec::new();
    files(&root().join("docs"), ".md", &mut found);
    found.push(root().join("README.md"));
    for path in found {
        let source = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            for word in line.split_whitespace() {
                let word = word.trim_matches(['`', '\'', '"', '|']);
                if let Some((key, value)) = word.split_once('=') {
                    if key.starts_with("APP__") {
                        secrets_of(&source, key, unquote(value), out);
                    }
                }
            }
            if let Some((key, value)) = line.trim().split_once(" = ") {
                let key = key.trim_matches(['`', '|', ' ']);
                if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
                    secrets_of(&source, key, unquote(value.trim_end_matches(['`', '|', ' '])), out);
                }
            }
        }
    }
}

/// The development tools' built-in credentials: `secret_field: "value"` and clap's
/// `default_value = "…"` of a secret-looking `env`, in devstack's and genesys-sim's sources.
fn tool_defaults(out: &mut Vec<Found>) {
    let mut found = Vec::new();
    for tool in ["devstack", "genesys-sim"] {
        files(&root().join("crates").join(tool).join("src"), ".rs", &mut found);
    }
    for path in found {
        let source = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some((before, after)) = line.split_once("default_value = \"") {
                let value = after.split('"').next().unwrap_or("");
                let env = line
                    .split_once("env = \"")
                    .and_then(|(_, e)| e.split('"').next())
                    .unwrap_or(before);
                if secret_looking(env) {
                    secrets_of(&source, env, value, out);
                }
                continue;
            }
            if let Some((field, rest)) = line.split_once(": \"") {
                let field = field.trim();
                if field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && secret_looking(field) {
                    secrets_of(&source, field, rest.split('"').next().unwrap_or(""), out);
                }
            }
        }
    }
}

fn walk() -> (Vec<Found>, Vec<PathBuf>) {
    let mut found = Vec::new();
    let defaults = toml_defaults(&mut found);
    yaml_values(&mut found);
    docs_examples(&mut found);
    tool_defaults(&mut found);
    (found, defaults)
}

const LIST: &str = "crates/service-kit/shipped-keys.txt";
const CHART_LIST: &str = "deploy/helm/ccbridge/files/shipped-keys.txt";

/// The list with `new` values added, both files written the same.
fn update(new: &BTreeSet<String>) {
    let text = std::fs::read_to_string(root().join(LIST)).unwrap();
    let mut text = text.trim_end().to_owned();
    text.push('\n');
    for value in new {
        text.push_str(value);
        text.push('\n');
    }
    std::fs::write(root().join(LIST), &text).unwrap();
    std::fs::write(root().join(CHART_LIST), &text).unwrap();
}

#[test]
fn the_walk_finds_the_keys_it_must() {
    let (found, _) = walk();
    let where_found = |key: &str| found.iter().any(|f| f.key == key);
    // One of each kind of source: a TOML default, the chart's CI values, a tool's credential.
    for key in [
        "console.session_key",
        "ingest.suppression_key",
        "gdpr.signing_key",
        "gdpr_participant.orchestrator_key",
        "GENESYS_SIM_CLIENT_SECRET",
    ] {
        assert!(where_found(key), "the walk did not find {key}: {found:#?}");
    }
    // A development key under a name that does not say so is found by its marker.
    let mut marked = Vec::new();
    secrets_of(
        "x.toml",
        "ingest.fingerprint_material",
        "development-only-anything-at-all",
        &mut marked,
    );
    assert_eq!(marked.len(), 1);
    // The chart's values as a bank would write them (its CI values hold only <labels>).
    let mut values = Vec::new();
    yaml_lines(
        "values.yaml",
        "gdpr:\n  orchestratorPublicKey: \"ed25519:yYXWDn99km3dbCVZnHNn7oGwpGzQWGBAp1hnTEIc5e4=\"\n\
         services:\n  console:\n    existingSecret: ccbridge-console\n    secretEnv:\n      \
         APP__CONSOLE__SESSION_KEY: \"cGxhY2Vob2xkZXItY29uc29sZS1zZXNzaW9u\"\n      \
         APP__DATABASE__URL: postgres://console:s3cr3t-pw@db:5432/console\n      \
         APP__GDPR__BUNDLE_KEY: \"aes256:<bundle-key>\"\n    ingress:\n      tlsSecretName: console-tls\n",
        &mut values,
    );
    let keys: Vec<(&str, &str)> = values.iter().map(|f| (f.key.as_str(), f.value.as_str())).collect();
    assert_eq!(
        keys,
        [
            (
                "orchestratorPublicKey",
                "ed25519:yYXWDn99km3dbCVZnHNn7oGwpGzQWGBAp1hnTEIc5e4="
            ),
            ("APP__CONSOLE__SESSION_KEY", "cGxhY2Vob2xkZXItY29uc29sZS1zZXNzaW9u"),
            ("APP__DATABASE__URL (its password)", "s3cr3t-pw"),
        ]
    );
}

#[test]
fn every_shipped_key_is_listed_and_refused_outside_development_whatever_is_cut_off_or_added() {
    let (found, _) = walk();
    assert!(!found.is_empty());
    let listed: BTreeSet<&str> = shipped_keys::shipped().collect();
    let unknown: BTreeSet<String> = found
        .iter()
        .filter(|f| !listed.contains(f.value.as_str()))
        .map(|f| f.value.clone())
        .collect();
    if !unknown.is_empty() {
        if std::env::var_os("UPDATE_SHIPPED_KEYS").is_some() {
            update(&unknown);
        } else {
            let named: Vec<String> = found
                .iter()
                .filter(|f| unknown.contains(&f.value))
                .map(|f| format!("{}: {}", f.source, f.key))
                .collect();
            panic!(
                "keys shipped in the repository that {LIST} does not list (so a service would accept them \
                 outside development):\n  {}\nrun UPDATE_SHIPPED_KEYS=1 cargo test -p service-kit --test shipped_keys",
                named.join("\n  ")
            );
        }
    }
    for f in &found {
        let chars: Vec<char> = f.value.chars().collect();
        let text = |range: std::ops::Range<usize>| chars[range].iter().collect::<String>();
        let len = chars.len();
        let mut variants = vec![f.value.clone()];
        if len >= WINDOW_CHARS {
            variants.push(format!("prod-{}", f.value));
            // Whatever is cut off its head or its tail (or put in its place), down to 12
            // characters of it in a row.
            for cut in 1..=len - WINDOW_CHARS {
                let head_cut = text(cut..len);
                let tail_cut = text(0..len - cut);
                variants.push(format!("bank-{head_cut}"));
                variants.push(format!("{tail_cut}-bank"));
                variants.push(head_cut);
                variants.push(tail_cut);
                // Both cut, half each.
                variants.push(text(cut / 2..len - (cut - cut / 2)));
            }
            // Any 12 of its characters in a row, in the middle of a longer value.
            for start in 0..=len - WINDOW_CHARS {
                variants.push(format!("bank-prod-{}-2026", text(start..start + WINDOW_CHARS)));
            }
        } else {
            // Too short to be told by a window (a database password): only whole, in a URL too.
            variants.push(format!("postgres://svc:{}@db.bank.example:5432/svc", f.value));
        }
        for variant in variants {
            assert!(
                shipped_keys::is_shipped(&variant),
                "{}: {} with its head or tail cut or changed is not refused",
                f.source,
                f.key
            );
        }
        // Through the settings, as a service loads them: refused outside development only.
        let refused = load(&[("things.secret", &f.value)], "production")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("things.secret: a development-only value is refused outside development"),
            "{}: {}: {refused}",
            f.source,
            f.key
        );
        assert!(!refused.contains(&f.value), "the error quotes the key");
        load(&[("things.secret", &f.value)], "development").unwrap();
    }
}

/// What a tail alone missed: a shipped key with its last character cut, cut at both ends, or
/// 12 of its characters in the middle of another value (the reported case: the development audit
/// key without its marker and its last character, ~95% known text).
#[test]
fn a_shipped_key_cut_at_its_head_its_tail_or_both_is_refused_outside_development() {
    let audit = "development-only-audit-key-change-me-0123456789";
    let signing = "development-only-ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc=";
    for shipped in [audit, signing] {
        assert!(shipped_keys::shipped().any(|listed| listed == shipped));
    }
    for value in [
        "audit-key-change-me-012345678",             // head and tail cut (the reported case)
        "Zq8vN3kPw7xR2-ly-audit-key-c-Zq8vN3kPw7xR", // 12 of it in the middle of a longer value
        "development-only-ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc", // tail cut
        "cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc=", // head cut
        "ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFci", // both cut
        "ed25519:Zq8vN3kPw7xRguM7ZuW0RzOaZq8vN3kPw7xRZq8vN3kPw7x=", // in the middle of another key
    ] {
        assert!(shipped_keys::is_shipped(value), "{value} is not refused");
        let refused = load(&[("things.secret", value)], "production").unwrap_err().to_string();
        assert!(
            refused.contains("things.secret: a development-only value is refused outside development"),
            "{value}: {refused}"
        );
        assert!(!refused.contains(value), "the error quotes the key");
        load(&[("things.secret", value)], "development").unwrap();
    }
    // Eleven of its characters in a row are not a window of it.
    assert!(!shipped_keys::is_shipped("Zq8vN3kPw7xR-audit-key-Zq8vN3kPw7xR"));
    assert!(!shipped_keys::is_shipped(
        "ed25519:Zq8vN3kPw7xRguM7ZuW0RzOZq8vN3kPw7xRZq8vN3kPw7x="
    ));
}

#[test]
fn a_key_of_the_banks_own_is_accepted() {
    use base64::Engine as _;
    use rand_core::RngCore as _;
    let key = "pT8w1q0Gk2vM7sYx3NfR6bJ4cE9hLzUa";
    assert!(!shipped_keys::is_shipped(key));
    load(&[("things.secret", key)], "production").unwrap();
    load(
        &[("database.url", "postgres://svc:Zq8vN3kPw7@db:5432/svc")],
        "production",
    )
    .unwrap();
    // Honest random keys, of the forms `keys` prints: none shares 12 characters with a shipped one.
    for _ in 0..200 {
        let mut bytes = [0u8; 64];
        rand_core::OsRng.fill_bytes(&mut bytes);
        let base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        for key in [
            base64,
            hex,
            format!(
                "aes256:{}",
                base64::engine::general_purpose::STANDARD.encode(&bytes[..32])
            ),
        ] {
            assert!(!shipped_keys::is_shipped(&key), "{key} is refused");
            load(&[("things.secret", &key)], "production").unwrap();
        }
    }
}

fn load(
    overrides: &[(&str, &str)],
    environment: &str,
) -> Result<Settings, service_kit::configuration::ConfigurationError> {
    load_with("", overrides, environment)
}

fn load_with(
    defaults: &str,
    overrides: &[(&str, &str)],
    environment: &str,
) -> Result<Settings, service_kit::configuration::ConfigurationError> {
    let mut all: Vec<(String, String)> = vec![
        ("database.url".to_owned(), "sqlite://svc.db".to_owned()),
        (
            "gdpr_participant.orchestrator_key".to_owned(),
            "ed25519:LShxwMqQpens/Oqt1ckUmoYtnh8iE1clMMC2GBkEK3A=".to_owned(),
        ),
        ("auth.callers.bofe.token".to_owned(), "0123456789abcdef0123".to_owned()),
        ("auth.callers.bofe.scopes".to_owned(), "things:read".to_owned()),
        ("application.environment".to_owned(), environment.to_owned()),
    ];
    all.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::load(
        SettingsSources {
            service_defaults: defaults,
            file: None,
            environment: false,
            overrides: all,
        },
        &["things:read"],
    )
}

/// Each service's embedded defaults as they are, outside development: refused, naming each key
/// that holds a shipped value; in development accepted.
#[test]
fn every_services_embedded_defaults_are_refused_outside_development_naming_each_key() {
    let (found, defaults) = walk();
    assert!(defaults.len() >= 7, "base and six services: {defaults:?}");
    for path in defaults {
        let source = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let keys: Vec<&Found> = found
            .iter()
            .filter(|f| f.source == source && !f.key.ends_with("(its password)"))
            .collect();
        // As the service loads them: over the base, keeping what the defaults set (their database
        // URL, their keys); only a caller and the environment added.
        let mut overrides = vec![
            ("auth.callers.bofe.token".to_owned(), "0123456789abcdef0123".to_owned()),
            ("application.environment".to_owned(), "production".to_owned()),
            ("auth.callers.bofe.scopes".to_owned(), "things:read".to_owned()),
        ];
        if !text.contains("url = \"sqlite://") {
            // service-kit's base: a service's defaults name its database.
            overrides.push(("database.url".to_owned(), "sqlite://svc.db".to_owned()));
        }
        let settings = Settings::load(
            SettingsSources {
                service_defaults: &text,
                file: None,
                environment: false,
                overrides: overrides.clone(),
            },
            &["things:read"],
        );
        // The base's orchestrator key is a shipped one too: every service is refused.
        let err = settings.unwrap_err().to_string();
        for f in &keys {
            assert!(
                err.contains(&format!("{}: a development-only value is refused", f.key)),
                "{source}: {} is not refused: {err}",
                f.key
            );
        }
        overrides[1].1 = "development".to_owned();
        Settings::load(
            SettingsSources {
                service_defaults: &text,
                file: None,
                environment: false,
                overrides,
            },
            &["things:read"],
        )
        .unwrap_or_else(|e| panic!("{source} in development: {e}"));
    }
}

#[test]
fn the_chart_holds_the_same_list() {
    let ours = std::fs::read_to_string(root().join(LIST)).unwrap();
    let chart = std::fs::read_to_string(root().join(CHART_LIST)).unwrap();
    assert_eq!(
        ours, chart,
        "{CHART_LIST} differs from {LIST}: copy it (the chart cannot read outside itself)"
    );
}
