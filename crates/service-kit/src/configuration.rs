//! Settings: embedded defaults, then an optional file, then `APP__SECTION__KEY` environment
//! variables, validated once at start so a service never runs half-configured.

pub use crate::database::DatabaseSettings;
use crate::database::DatabaseUrl;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::Path;

const BASE_DEFAULTS: &str = include_str!("../configuration/base.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub handles: HandleSettings,
    /// Everything loaded, for a service's own section (see [`Settings::section`]).
    #[serde(skip)]
    merged: Option<config::Config>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApplicationSettings {
    /// Address to bind; `0.0.0.0` in containers.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// On SIGTERM, how long in-flight requests may take before the server stops anyway.
    pub shutdown_timeout_seconds: u64,
    /// `development` accepts the development-only keys of the embedded defaults; anything else is
    /// production, where a `development-only-…` value anywhere in the settings is refused.
    pub environment: Environment,
    /// A second port serving only `GET /metrics`, so monitoring can be let in to that alone.
    #[serde(default)]
    pub metrics_port: Option<u16>,
    /// `/metrics` on `metrics_port` alone, not on `port` (the console: its port is what people's
    /// browsers reach through an Ingress). Requires `metrics_port`.
    #[serde(default)]
    pub metrics_port_only: bool,
    /// A background worker that has failed without a success for this long makes `/readyz`
    /// answer 503.
    pub worker_unhealthy_after_seconds: u64,
}

/// Where a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// The `[handles]` section: how customer addresses are normalised into search keys.
#[derive(Debug, Clone, Deserialize)]
pub struct HandleSettings {
    /// ISO 3166 region of national numbers (`tel:601123456`), e.g. `CZ`; empty: a number without
    /// a country code is not read as a phone number.
    pub default_region: String,
}

impl HandleSettings {
    /// The normaliser these settings describe (validated at load).
    pub fn normaliser(&self) -> Result<domain::HandleNormaliser, String> {
        domain::HandleNormaliser::with_region(&self.default_region)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, e.g. `info,diesel=warn`. `RUST_LOG` wins when set.
    pub log_filter: String,
    pub log_format: LogFormat,
    /// OTLP/HTTP endpoint (e.g. `http://otel-collector:4318`); no export when absent.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Share of traces kept when exporting, 0.0 to 1.0.
    pub otlp_sample_ratio: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthSettings {
    /// Callers by name (`bofe`, `genesys`, `internal`, …): each with its own token and scopes.
    #[serde(default)]
    pub callers: BTreeMap<String, CallerSettings>,
    /// The bank's identity provider, whose access tokens name the person a delegating caller acts
    /// for (`X-Person-Token`). Required outside development when a caller delegates.
    #[serde(default)]
    pub persons: Option<PersonSettings>,
}

/// `[auth.persons]`: how a person token (`X-Person-Token`) is verified.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonSettings {
    /// The provider's issuer, exactly as its tokens name it (`iss`); its OpenID discovery
    /// document (`<issuer>/.well-known/openid-configuration`) names its keys. `https` unless the
    /// host is the loopback.
    pub issuer: String,
    /// The audience (`aud`) a token must be for: this resource, as registered at the provider.
    pub audience: String,
    /// The claim holding the person's display name.
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// The signing algorithms accepted (asymmetric only).
    #[serde(default = "default_algorithms", deserialize_with = "list_or_comma_separated")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway_seconds")]
    pub leeway_seconds: u64,
    /// The claim of the access token holding the person's roles at the provider: a list of
    /// names (or one space-separated string); a dotted path reaches into objects
    /// (`realm_access.roles`).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// By scope: the provider roles a person must hold (any one of them) for a delegating caller
    /// to act for them on that scope's routes (`dpo = ["ccbridge-dpo"]`). A scope not named
    /// here: any verified person of the provider.
    #[serde(default, deserialize_with = "roles_by_scope")]
    pub roles: BTreeMap<String, Vec<String>>,
    /// The provider's clients (`client_id`, else `azp`) whose access tokens are accepted: the
    /// console's and the `gdpr` command's. Empty: any client of the provider.
    #[serde(default, deserialize_with = "list_or_comma_separated")]
    pub clients: Vec<String>,
    /// A token naming an unknown key makes the service fetch the provider's keys again, at most
    /// once in this many seconds (so forged `kid`s cannot make it hammer the provider). At
    /// least 10.
    #[serde(default = "default_jwks_refetch_seconds")]
    pub jwks_refetch_seconds: u64,
    /// How long a call to the provider (discovery, keys) may take.
    #[serde(default = "default_provider_timeout_seconds")]
    pub provider_timeout_seconds: u64,
    /// A PEM file of CA certificates the provider's https certificate may chain to besides the
    /// public (Mozilla) roots: the bank's internal CA. Empty: the public roots only.
    #[serde(default)]
    pub ca_bundle: String,
}

impl PersonSettings {
    /// The provider `issuer` for `audience`, everything else as by default.
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            name_claim: default_name_claim(),
            role_claim: default_role_claim(),
            roles: BTreeMap::new(),
            clients: Vec::new(),
            algorithms: default_algorithms(),
            leeway_seconds: default_leeway_seconds(),
            jwks_refetch_seconds: default_jwks_refetch_seconds(),
            provider_timeout_seconds: default_provider_timeout_seconds(),
            ca_bundle: String::new(),
        }
    }
}

fn default_name_claim() -> String {
    "name".to_owned()
}

fn default_role_claim() -> String {
    "roles".to_owned()
}

/// `auth.persons.roles`: each scope's roles, a list or one comma-separated string.
fn roles_by_scope<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    struct Roles(#[serde(deserialize_with = "list_or_comma_separated")] Vec<String>);
    Ok(BTreeMap::<String, Roles>::deserialize(deserializer)?
        .into_iter()
        .map(|(scope, Roles(roles))| (scope, roles))
        .collect())
}

/// The least `auth.persons.jwks_refetch_seconds`.
pub const MIN_JWKS_REFETCH_SECONDS: u64 = 10;

/// Whether `url` is `https`, or `http` to the loopback (a provider beside the service in tests).
pub(crate) fn https_or_loopback(url: &reqwest::Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".to_owned()]
}

fn default_leeway_seconds() -> u64 {
    30
}

fn default_jwks_refetch_seconds() -> u64 {
    60
}

fn default_provider_timeout_seconds() -> u64 {
    5
}

impl AuthSettings {
    /// What is wrong with the callers' person settings in `environment`.
    pub fn person_problems(&self, environment: Environment) -> Vec<String> {
        let mut problems = Vec::new();
        let delegating: Vec<&str> = self
            .callers
            .iter()
            .filter(|(_, caller)| caller.delegates)
            .map(|(name, _)| name.as_str())
            .collect();
        let Some(persons) = &self.persons else {
            if environment != Environment::Development && !delegating.is_empty() {
                problems.push(format!(
                    "auth.persons: callers that act for people ({}) need the identity provider that \
                     signs their people in (auth.persons.issuer and auth.persons.audience); outside \
                     development a bare X-Acting-User name is refused",
                    delegating.join(", ")
                ));
            }
            return problems;
        };
        match reqwest::Url::parse(&persons.issuer) {
            Err(_) => problems.push("auth.persons.issuer: must be a URL".to_owned()),
            Ok(url) => {
                if !https_or_loopback(&url) {
                    problems.push("auth.persons.issuer: must be an https URL (http only on the loopback)".to_owned());
                }
            }
        }
        if persons.role_claim.trim().is_empty() {
            problems.push("auth.persons.role_claim: must name a claim".to_owned());
        }
        for (scope, roles) in &persons.roles {
            if roles.is_empty() {
                problems.push(format!(
                    "auth.persons.roles.{scope}: must name at least one role (leave the scope out for any person)"
                ));
            }
            let held = self
                .callers
                .values()
                .any(|caller| caller.delegates && caller.scopes.iter().any(|s| s == scope));
            if !held {
                problems.push(format!(
                    "auth.persons.roles.{scope}: no caller that acts for people (delegates = true) holds this scope"
                ));
            }
        }
        if persons.jwks_refetch_seconds < MIN_JWKS_REFETCH_SECONDS {
            problems.push(format!(
                "auth.persons.jwks_refetch_seconds: at least {MIN_JWKS_REFETCH_SECONDS} (forged kids must not make \
                 the service hammer the provider)"
            ));
        }
        if persons.audience.trim().is_empty() {
            problems.push("auth.persons.audience: must name this resource at the identity provider".to_owned());
        }
        if persons.name_claim.trim().is_empty() {
            problems.push("auth.persons.name_claim: must name a claim".to_owned());
        }
        if persons.algorithms.is_empty() {
            problems.push("auth.persons.algorithms: must name at least one algorithm".to_owned());
        }
        for algorithm in &persons.algorithms {
            if let Err(reason) = crate::persons::parse_algorithm(algorithm) {
                problems.push(format!("auth.persons.algorithms: {reason}"));
            }
        }
        if persons.leeway_seconds > 300 {
            problems.push("auth.persons.leeway_seconds: at most 300".to_owned());
        }
        if persons.provider_timeout_seconds == 0 {
            problems.push("auth.persons.provider_timeout_seconds: must be at least 1".to_owned());
        }
        if let Err(problem) = crate::tls::ca_bundle("auth.persons.ca_bundle", &persons.ca_bundle) {
            problems.push(problem);
        }
        problems
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallerSettings {
    pub token: SecretString,
    /// A list, or one comma-separated string (handy in environment variables).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub scopes: Vec<String>,
    /// May act on behalf of a person: a client that signs people in, such as the console or the
    /// `gdpr` command. It forwards the person's token from the identity provider in
    /// `X-Person-Token` (verified against `auth.persons`); in development it may name them in a
    /// bare `X-Acting-User` instead. Others sending either header are refused.
    #[serde(default)]
    pub delegates: bool,
}

/// A list of texts, or one comma-separated string (handy in environment variables), each trimmed,
/// empty ones left out: for `#[serde(deserialize_with = …)]`, or to read a list of values to parse.
pub fn list_or_comma_separated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    let items = match ListOrString::deserialize(deserializer)? {
        ListOrString::List(items) => items,
        ListOrString::String(joined) => joined.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// What the embedded development keys start with: refused outside development.
pub const DEVELOPMENT_PREFIX: &str = "development-only-";

/// A development key by its marker, or any key shipped in the repository by its value, whatever
/// prefix was taken off (crate::shipped_keys).
fn is_development_value(text: &str) -> bool {
    text.starts_with(DEVELOPMENT_PREFIX) || crate::shipped_keys::is_shipped(text)
}

/// The keys whose value is a development key, anywhere in the settings.
fn development_values(merged: &config::Config) -> Vec<String> {
    fn walk(prefix: &str, value: &config::Value, found: &mut Vec<String>) {
        match &value.kind {
            config::ValueKind::String(text) if is_development_value(text) => found.push(prefix.to_owned()),
            config::ValueKind::Table(table) => {
                for (key, value) in table {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, value, found);
                }
            }
            config::ValueKind::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{index}]"), value, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk("", &merged.cache, &mut found);
    found.sort();
    found
}

/// Why settings could not be loaded: every problem found, each naming its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigurationError {
    #[error("configuration could not be read: {0}")]
    Unreadable(#[from] config::ConfigError),
    #[error("configuration is invalid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl ConfigurationError {
    /// A value that would not deserialise: said as the other problems are (`key: reason`) when
    /// the key is known.
    fn unreadable(error: config::ConfigError) -> Self {
        match error {
            config::ConfigError::At {
                error, key: Some(key), ..
            } => Self::Invalid(vec![format!("{key}: {error}")]),
            other => Self::Unreadable(other),
        }
    }
}

/// A service's own section found invalid, said as [`Settings::load`] says it.
pub fn invalid(problem: &str) -> anyhow::Error {
    ConfigurationError::Invalid(vec![problem.to_owned()]).into()
}

/// As [`invalid`], with every problem found.
pub fn invalid_all(problems: Vec<String>) -> anyhow::Error {
    ConfigurationError::Invalid(problems).into()
}

/// Where settings come from, in increasing precedence.
pub struct SettingsSources<'a> {
    /// The service's own embedded defaults (TOML), applied over the shared base.
    pub service_defaults: &'a str,
    /// An optional TOML file; when given it must exist.
    pub file: Option<&'a Path>,
    /// Read `APP__SECTION__KEY` variables (tests and devstack turn this off).
    pub environment: bool,
    /// Last word, e.g. the port and database chosen by a test or devstack.
    pub overrides: Vec<(String, String)>,
}

impl Settings {
    /// Loads and validates. `known_scopes` are the scopes the service checks; a caller configured
    /// with any other scope is a typo and refused.
    pub fn load(sources: SettingsSources<'_>, known_scopes: &[&str]) -> Result<Self, ConfigurationError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(BASE_DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::from_str(
                sources.service_defaults,
                config::FileFormat::Toml,
            ));
        if let Some(file) = sources.file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml).required(true));
        }
        if sources.environment {
            builder = builder.add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__"),
            );
        }
        for (key, value) in sources.overrides {
            builder = builder.set_override(key, value)?;
        }
        let merged = builder.build()?;
        let mut settings: Settings = merged
            .clone()
            .try_deserialize()
            .map_err(ConfigurationError::unreadable)?;
        settings.merged = Some(merged);
        settings.validate(known_scopes)?;
        Ok(settings)
    }

    /// A service's own section (e.g. `[genesys]`), from the same sources as everything else.
    pub fn section<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, ConfigurationError> {
        let merged = self
            .merged
            .as_ref()
            .ok_or_else(|| ConfigurationError::Invalid(vec![format!("{key}: settings were not loaded")]))?;
        Ok(merged.get::<T>(key)?)
    }

    fn validate(&self, known_scopes: &[&str]) -> Result<(), ConfigurationError> {
        let mut problems = Vec::new();
        if let Some(role) = &self.database.runtime_role {
            let valid = role.len() <= 63
                && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && role
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                problems.push(
                    "database.runtime_role: a PostgreSQL role name: lower-case letters, digits and _, at most 63"
                        .to_owned(),
                );
            }
            if matches!(self.database.url, DatabaseUrl::Sqlite(_)) {
                problems.push("database.runtime_role: SQLite has no roles; leave it unset".to_owned());
            }
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".to_owned());
        }
        if self.application.max_body_bytes < 1024 {
            problems.push("application.max_body_bytes: must be at least 1024".to_owned());
        }
        if !(0.0..=1.0).contains(&self.telemetry.otlp_sample_ratio) {
            problems.push("telemetry.otlp_sample_ratio: must be between 0.0 and 1.0".to_owned());
        }
        if let Err(reason) = self.handles.normaliser() {
            problems.push(format!("handles.default_region: {reason}"));
        }
        if self.application.worker_unhealthy_after_seconds == 0 {
            problems.push("application.worker_unhealthy_after_seconds: must be at least 1".to_owned());
        }
        if self
            .application
            .metrics_port
            .is_some_and(|port| port != 0 && port == self.application.port)
        {
            problems.push("application.metrics_port: must differ from application.port".to_owned());
        }
        if self.application.metrics_port_only && self.application.metrics_port.is_none() {
            problems.push(
                "application.metrics_port_only: needs application.metrics_port (else /metrics is served nowhere)"
                    .to_owned(),
            );
        }
        if self.application.environment != Environment::Development {
            if let Some(merged) = &self.merged {
                for key in development_values(merged) {
                    problems.push(format!(
                        "{key}: a development-only value is refused outside development: it is a key \
                         shipped in the repository, public, with or without a prefix \
                         (set your own, or application.environment = \"development\" for a development machine)"
                    ));
                }
            }
        }
        // A service whose routes check no scope (the console: its people sign in) needs no caller.
        if self.auth.callers.is_empty() && !known_scopes.is_empty() {
            problems.push(
                "auth.callers: no caller is configured, so every request would be refused; \
                 set e.g. APP__AUTH__CALLERS__BOFE__TOKEN and APP__AUTH__CALLERS__BOFE__SCOPES"
                    .to_owned(),
            );
        }
        problems.extend(self.auth.person_problems(self.application.environment));
        for (name, caller) in &self.auth.callers {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                problems.push(format!(
                    "auth.callers.{name}: names are lower-case letters, digits, - and _"
                ));
            }
            if caller.token.expose_secret().len() < 16 {
                problems.push(format!("auth.callers.{name}.token: must be at least 16 characters"));
            }
            if caller.scopes.is_empty() {
                problems.push(format!("auth.callers.{name}.scopes: must name at least one scope"));
            }
            for scope in &caller.scopes {
                if !known_scopes.contains(&scope.as_str()) {
                    problems.push(format!(
                        "auth.callers.{name}.scopes: unknown scope {scope:?}; this service knows {known_scopes:?}"
                    ));
                }
            }
        }
        let mut tokens: Vec<&str> = self.auth.callers.values().map(|c| c.token.expose_secret()).collect();
        tokens.sort_unstable();
        if tokens.windows(2).any(|pair| pair[0] == pair[1]) {
            problems.push("auth.callers: two callers share a token, so requests could not be told apart".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigurationError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(overrides: &[(&str, &str)]) -> Result<Settings, ConfigurationError> {
        Settings::load(
            SettingsSources {
                service_defaults: "[database]\nurl = \"sqlite://svc.db\"\n[gdpr_participant]\norchestrator_key = \"ed25519:LShxwMqQpens/Oqt1ckUmoYtnh8iE1clMMC2GBkEK3A=\"\n",
                file: None,
                environment: false,
                overrides: overrides
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
            &["things:read", "things:write"],
        )
    }

    const CALLER: [(&str, &str); 2] = [
        ("auth.callers.bofe.token", "0123456789abcdef0123"),
        ("auth.callers.bofe.scopes", "things:read, things:write"),
    ];

    #[test]
    fn defaults_plus_one_caller_load() {
        let settings = load(&CALLER).unwrap();
        assert_eq!(settings.application.port, 8080);
        assert_eq!(settings.auth.callers["bofe"].scopes, ["things:read", "things:write"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key_and_no_secret() {
        let err = load(&[("database.url", "mysql://secret-password@db/x")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("database.url: must start with sqlite:// or postgres://"),
            "{err}"
        );
        assert!(!err.contains("secret-password"), "{err}");
        let err = load(&[
            ("auth.callers.bofe.token", "short"),
            ("auth.callers.bofe.scopes", "things:delete"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("auth.callers.bofe.token"), "{err}");
        assert!(err.contains("unknown scope \"things:delete\""), "{err}");
        assert!(!err.contains("secret-password"), "{err}");
        assert!(!err.contains("short"), "{err}");
    }

    #[test]
    fn development_keys_are_refused_outside_development_even_without_their_marker() {
        let err = load(&[
            CALLER[0],
            CALLER[1],
            ("things.key", "development-only-anything"),
            ("things.public", "ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc="),
            // The console's session key, its marker taken off; an audit key with another prefix.
            (
                "console.session_key",
                "Y2NicmlkZ2UtY29uc29sZS1kZXZlbG9wbWVudC1zZXNzaW9uLWtleS0wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA==",
            ),
            ("gdpr.audit_key", "prod-audit-key-change-me-0123456789"),
        ])
        .unwrap_err()
        .to_string();
        for key in ["things.key", "things.public", "console.session_key", "gdpr.audit_key"] {
            assert!(
                err.contains(&format!("{key}: a development-only value is refused")),
                "{err}"
            );
        }
        assert!(!err.contains("cX82"), "{err}");
        assert!(!err.contains("database.url"), "{err}");
        let mut development = CALLER.to_vec();
        development.push(("things.key", "development-only-anything"));
        development.push(("application.environment", "development"));
        assert!(load(&development).is_ok());
    }

    #[test]
    fn no_callers_is_refused() {
        let err = load(&[]).unwrap_err().to_string();
        assert!(err.contains("auth.callers: no caller is configured"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Settings::load(
            SettingsSources {
                service_defaults: "",
                file: Some(Path::new("/nonexistent/ccbridge.toml")),
                environment: false,
                overrides: vec![],
            },
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, ConfigurationError::Unreadable(_)));
    }
}
