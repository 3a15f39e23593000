//! People, as the bank's identity provider vouches for them.
//!
//! A delegating caller (the console, the `gdpr` command) forwards the signed-in person's access
//! token from the provider in `X-Person-Token`: a JWT (RFC 9068) the service verifies itself —
//! its signature against the provider's published keys (JWKS, found through the issuer's OpenID
//! discovery document, cached, fetched again when a token names a key it does not know, so a
//! rotation at the provider is followed, at most once per `auth.persons.jwks_refetch_seconds`),
//! its issuer, audience and expiry, that it is an access token (`typ: at+jwt`) of a client the
//! service accepts (`auth.persons.clients`) — and takes the person from it: the subject (`sub`),
//! the display name (`auth.persons.name_claim`) and the provider roles
//! (`auth.persons.role_claim`), which [`crate::auth`] checks against the roles a scope needs
//! (`auth.persons.roles`). Nothing here is hand-written cryptography: the `jsonwebtoken` crate
//! verifies.
//!
//! The keys are fetched by one request at a time, without holding up the checks of tokens whose
//! key is already known; a provider that cannot be reached while a token's key is unknown is
//! 503 (retry), never a refusal of the token.

use crate::configuration::PersonSettings;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::str::FromStr;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The header a delegating caller forwards its person's access token in.
pub const PERSON_TOKEN: &str = "X-Person-Token";

/// Who a person is. Personal data: never logged, never in a metric or an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The provider's subject (`sub`), or in development the `X-Acting-User` name.
    pub subject: String,
    /// As the provider names them (`auth.persons.name_claim`), or in development the
    /// `X-Acting-User` name.
    pub display_name: String,
    /// What vouches for them.
    pub vouched_by: VouchedBy,
    /// Their roles at the provider (`auth.persons.role_claim`); none for a development header.
    pub roles: Vec<String>,
}

/// What vouches for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VouchedBy {
    /// A token of the identity provider, verified here.
    Provider,
    /// A bare `X-Acting-User` header: accepted in development only.
    DevelopmentHeader,
}

/// Why a person token was refused. The texts name no claim's value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonTokenError {
    #[error("is not a signed JWT")]
    Malformed,
    #[error("is signed with an algorithm this service does not accept")]
    Algorithm,
    #[error("names no key (kid) the identity provider publishes")]
    UnknownKey,
    #[error("has a signature that does not verify")]
    Signature,
    #[error("is from another issuer")]
    Issuer,
    #[error("is for another audience")]
    Audience,
    #[error("has expired")]
    Expired,
    #[error("is not valid yet")]
    NotYetValid,
    #[error("lacks a claim it needs ({0})")]
    MissingClaim(String),
    #[error("is not an access token (typ at+jwt)")]
    NotAnAccessToken,
    #[error("was issued to a client this service does not accept (auth.persons.clients)")]
    Client,
    /// The provider's keys could not be fetched: not the token's fault.
    #[error("could not be checked: the identity provider's keys are unavailable")]
    ProviderUnavailable,
}

/// After a failed fetch, the keys are not asked for again sooner than this.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The provider's keys as last fetched.
struct KeyCache {
    keys: JwkSet,
    /// When they were last fetched, for the refetch limit.
    fetched_at: Option<Instant>,
    /// When the last attempt failed; `None` once one succeeds.
    failed_at: Option<Instant>,
}

impl KeyCache {
    /// When the keys were last asked for, whatever came of it.
    fn attempted_at(&self) -> Option<Instant> {
        self.fetched_at.max(self.failed_at)
    }
}

/// Verifies person tokens against one identity provider.
pub struct PersonVerifier {
    issuer: String,
    audience: String,
    name_claim: String,
    role_claim: String,
    roles: std::collections::BTreeMap<String, Vec<String>>,
    clients: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway_seconds: u64,
    refetch_after: Duration,
    http: reqwest::Client,
    /// Read by every check; never held across a request to the provider.
    cache: RwLock<KeyCache>,
    /// Held by the one fetch in flight: a token naming an unknown key waits for it.
    fetching: Mutex<()>,
}

/// The asymmetric algorithms a provider may sign with (a shared secret would let every service
/// that verifies also forge).
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    let algorithm = Algorithm::from_str(name).map_err(|_| format!("{name} is not a JWS algorithm"))?;
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(format!(
            "{name} is a shared-secret algorithm; only a provider's public keys are accepted"
        )),
        _ => Ok(algorithm),
    }
}

impl PersonVerifier {
    /// A verifier for validated settings.
    pub fn new(settings: &PersonSettings) -> anyhow::Result<Self> {
        let algorithms = settings
            .algorithms
            .iter()
            .map(|name| parse_algorithm(name).map_err(|e| anyhow::anyhow!("auth.persons.algorithms: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let roots = crate::tls::ca_bundle("auth.persons.ca_bundle", &settings.ca_bundle).map_err(anyhow::Error::msg)?;
        let http = crate::tls::client_builder(&roots)
            .timeout(Duration::from_secs(settings.provider_timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            name_claim: settings.name_claim.clone(),
            role_claim: settings.role_claim.clone(),
            roles: settings.roles.clone(),
            clients: settings.clients.clone(),
            algorithms,
            leeway_seconds: settings.leeway_seconds,
            refetch_after: Duration::from_secs(settings.jwks_refetch_seconds),
            http,
            cache: RwLock::new(KeyCache {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: None,
                failed_at: None,
            }),
            fetching: Mutex::new(()),
        })
    }

    /// The role `person` lacks to be acted for on routes of `scope` (`auth.persons.roles`): the
    /// roles that would do, joined with " or ". `None`: they may.
    pub fn missing_role(&self, scope: &str, person: &Person) -> Option<String> {
        let needed = self.roles.get(scope)?;
        if needed.iter().any(|role| person.roles.contains(role)) {
            None
        } else {
            Some(needed.join(" or "))
        }
    }

    /// The person a token names, once its signature, issuer, audience and expiry hold.
    pub async fn verify(&self, token: &str) -> Result<Person, PersonTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| PersonTokenError::Malformed)?;
        if !self.algorithms.contains(&header.alg) {
            return Err(PersonTokenError::Algorithm);
        }
        // RFC 9068: an access token says so, which an ID token or another JWT of the provider
        // does not.
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(PersonTokenError::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(PersonTokenError::UnknownKey)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::InvalidSignature | ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) => {
                        PersonTokenError::Signature
                    }
                    ErrorKind::InvalidIssuer => PersonTokenError::Issuer,
                    ErrorKind::InvalidAudience => PersonTokenError::Audience,
                    ErrorKind::ExpiredSignature => PersonTokenError::Expired,
                    ErrorKind::ImmatureSignature => PersonTokenError::NotYetValid,
                    ErrorKind::MissingRequiredClaim(claim) => PersonTokenError::MissingClaim(claim.clone()),
                    ErrorKind::InvalidAlgorithm => PersonTokenError::Algorithm,
                    _ => PersonTokenError::Malformed,
                }
            })?;
        let text = |claim: &str| {
            data.claims
                .get(claim)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| PersonTokenError::MissingClaim(claim.to_owned()))
        };
        if !self.clients.is_empty() {
            let client = ["client_id", "azp"]
                .iter()
                .find_map(|claim| text(claim).ok())
                .ok_or_else(|| PersonTokenError::MissingClaim("client_id".to_owned()))?;
            if !self.clients.contains(&client) {
                return Err(PersonTokenError::Client);
            }
        }
        Ok(Person {
            subject: text("sub")?,
            display_name: text(&self.name_claim)?,
            vouched_by: VouchedBy::Provider,
            roles: roles_in(&data.claims, &self.role_claim),
        })
    }

    /// The key `kid` names: from the cache; else from the provider, fetched again by one
    /// request at a time when the last fetch is long enough ago (a rotation), or shortly after a
    /// failed one; else unknown. While the provider cannot be reached an unknown key is
    /// [`PersonTokenError::ProviderUnavailable`].
    async fn key(&self, kid: &str) -> Result<DecodingKey, PersonTokenError> {
        if let Some(key) = self.cached(kid)? {
            return Ok(key);
        }
        let waiting_since = Instant::now();
        let _fetching = self.fetching.lock().await;
        if let Some(key) = self.cached(kid)? {
            return Ok(key);
        }
        let (attempted_at, fetched_at, failed_at) = {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            (cache.attempted_at(), cache.fetched_at, cache.failed_at)
        };
        let now = Instant::now();
        // Who waited for another's fetch takes its outcome rather than asking again.
        let fetched_meanwhile = attempted_at.is_some_and(|at| at >= waiting_since);
        let may = match failed_at {
            Some(failed) => may_refetch(Some(failed), RETRY_AFTER_FAILURE, now),
            None => may_refetch(fetched_at, self.refetch_after, now),
        };
        if may && !fetched_meanwhile {
            let fetched = self.fetch_keys().await;
            let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
            match fetched {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                    cache.failed_at = None;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "the identity provider's keys could not be fetched");
                    cache.failed_at = Some(Instant::now());
                }
            }
        }
        match self.cached(kid)? {
            Some(key) => Ok(key),
            None if self
                .cache
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .failed_at
                .is_some() =>
            {
                Err(PersonTokenError::ProviderUnavailable)
            }
            None => Err(PersonTokenError::UnknownKey),
        }
    }

    /// The key `kid` names among the keys last fetched, for signatures.
    fn cached(&self, kid: &str) -> Result<Option<DecodingKey>, PersonTokenError> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let Some(jwk) = cache.keys.find(kid) else {
            return Ok(None);
        };
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != jsonwebtoken::jwk::PublicKeyUse::Signature)
        {
            return Err(PersonTokenError::UnknownKey);
        }
        DecodingKey::from_jwk(jwk)
            .map(Some)
            .map_err(|_| PersonTokenError::Signature)
    }

    /// The provider's JWKS, through its discovery document (whose issuer must be the configured one).
    async fn fetch_keys(&self) -> anyhow::Result<JwkSet> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let discovery: Discovery = self
            .http
            .get(&discovery_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::ensure!(
            discovery.issuer == self.issuer,
            "the discovery document names another issuer than auth.persons.issuer"
        );
        let jwks_uri = reqwest::Url::parse(&discovery.jwks_uri)?;
        anyhow::ensure!(
            crate::configuration::https_or_loopback(&jwks_uri),
            "the discovery document's jwks_uri is not https (http only on the loopback)"
        );
        let keys: JwkSet = self.http.get(jwks_uri).send().await?.error_for_status()?.json().await?;
        tracing::info!(keys = keys.keys.len(), "fetched the identity provider's keys");
        Ok(keys)
    }
}

/// `typ` of an access token (RFC 9068 §2.1; media types are case-insensitive).
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "at+jwt" || typ == "application/at+jwt"
}

/// The roles at `claim` (a dotted path into objects): a list of names or one space-separated
/// string. Missing or of another shape: none.
fn roles_in(claims: &serde_json::Map<String, serde_json::Value>, claim: &str) -> Vec<String> {
    let mut path = claim.split('.');
    let first = path.next().and_then(|name| claims.get(name));
    let value = path.fold(first, |value, name| value.and_then(|v| v.get(name)));
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::String(names)) => names.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Whether the keys may be fetched again: never fetched, or the last fetch is `after` ago.
fn may_refetch(last: Option<Instant>, after: Duration, now: Instant) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fetched_again_only_after_the_refetch_interval() {
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        assert!(may_refetch(None, minute, now));
        assert!(!may_refetch(Some(now), minute, now + Duration::from_secs(59)));
        assert!(may_refetch(Some(now), minute, now + minute));
    }

    use crate::configuration::{AuthSettings, CallerSettings, Environment, PersonSettings};

    fn auth(delegates: bool, persons: Option<PersonSettings>) -> AuthSettings {
        let mut settings = AuthSettings::default();
        settings.callers.insert(
            "console".to_owned(),
            CallerSettings {
                token: secrecy::SecretString::from("console-token-0123456789".to_owned()),
                scopes: vec!["dpo".to_owned()],
                delegates,
            },
        );
        settings.persons = persons;
        settings
    }

    fn persons(issuer: &str) -> PersonSettings {
        PersonSettings::new(issuer, "https://ccbridge.bank.example")
    }

    #[test]
    fn a_delegating_caller_outside_development_needs_the_identity_provider() {
        let problems = auth(true, None).person_problems(Environment::Production);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("auth.persons:") && problems[0].contains("console"));
        assert!(auth(true, None).person_problems(Environment::Development).is_empty());
        assert!(auth(false, None).person_problems(Environment::Production).is_empty());
        let configured = auth(true, Some(persons("https://login.bank.example/realms/staff")));
        assert!(configured.person_problems(Environment::Production).is_empty());
    }

    #[test]
    fn the_providers_ca_bundle_must_be_a_readable_file_of_certificates() {
        let mut settings = persons("https://login.bank.example/realms/staff");
        settings.ca_bundle = "/nonexistent/bank-ca.pem".to_owned();
        let problems = auth(true, Some(settings.clone())).person_problems(Environment::Production);
        assert_eq!(problems, ["auth.persons.ca_bundle: cannot be read (entity not found)"]);
        let not_pem = std::env::temp_dir().join(format!("ccbridge-persons-not-pem-{}.pem", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        settings.ca_bundle = not_pem.to_str().unwrap().to_owned();
        let problems = auth(true, Some(settings)).person_problems(Environment::Production);
        assert_eq!(problems, ["auth.persons.ca_bundle: holds no certificate"]);
        std::fs::remove_file(not_pem).unwrap();
    }

    #[test]
    fn the_person_settings_are_checked() {
        for loopback in ["http://127.0.0.1:8080", "http://localhost:9000/", "http://[::1]:80"] {
            let problems = auth(true, Some(persons(loopback))).person_problems(Environment::Production);
            assert!(problems.is_empty(), "{loopback}: {problems:?}");
        }
        let problems = auth(true, Some(persons("http://login.bank.example"))).person_problems(Environment::Production);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("auth.persons.issuer: must be an https URL")),
            "{problems:?}"
        );
        let problems = auth(true, Some(persons("not a url"))).person_problems(Environment::Production);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("auth.persons.issuer: must be a URL")),
            "{problems:?}"
        );
        let mut bad = persons("https://login.bank.example");
        bad.audience = " ".to_owned();
        bad.name_claim = String::new();
        bad.algorithms = vec!["HS256".to_owned(), "none".to_owned()];
        bad.leeway_seconds = 301;
        bad.provider_timeout_seconds = 0;
        let problems = auth(true, Some(bad)).person_problems(Environment::Development);
        for key in [
            "auth.persons.audience:",
            "auth.persons.name_claim:",
            "auth.persons.algorithms: HS256",
            "auth.persons.algorithms: none",
            "auth.persons.leeway_seconds:",
            "auth.persons.provider_timeout_seconds:",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
        }
    }

    #[test]
    fn the_refetch_interval_roles_and_role_claim_are_checked() {
        let mut bad = persons("https://login.bank.example");
        bad.jwks_refetch_seconds = 9;
        bad.role_claim = " ".to_owned();
        bad.roles.insert("dpo".to_owned(), Vec::new());
        bad.roles
            .insert("pairing:write".to_owned(), vec!["ccbridge-operator".to_owned()]);
        let problems = auth(true, Some(bad)).person_problems(Environment::Production);
        for key in [
            "auth.persons.jwks_refetch_seconds: at least 10",
            "auth.persons.role_claim:",
            "auth.persons.roles.dpo: must name at least one role",
            "auth.persons.roles.pairing:write: no caller that acts for people",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
        }
        assert_eq!(problems.len(), 4, "{problems:?}");
        let mut good = persons("https://login.bank.example");
        good.jwks_refetch_seconds = 10;
        good.roles.insert("dpo".to_owned(), vec!["ccbridge-dpo".to_owned()]);
        let problems = auth(true, Some(good.clone())).person_problems(Environment::Production);
        assert!(problems.is_empty(), "{problems:?}");
        // The scope is a machine caller's only: no person is ever acted for with it.
        let problems = auth(false, Some(good)).person_problems(Environment::Development);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("auth.persons.roles.dpo: no caller")),
            "{problems:?}"
        );
    }

    #[test]
    fn roles_by_scope_and_clients_are_read_from_the_file_and_from_comma_separated_values() {
        let file = r#"
            issuer = "https://login.bank.example/realms/staff"
            audience = "https://ccbridge.bank.example"
            clients = ["ccbridge-console", "ccbridge-gdpr"]
            [roles]
            "pairing:write" = ["ccbridge-backoffice"]
        "#;
        let persons: PersonSettings = config::Config::builder()
            .add_source(config::File::from_str(file, config::FileFormat::Toml))
            // As APP__AUTH__PERSONS__ROLES__DPO and APP__AUTH__PERSONS__CLIENTS would.
            .set_override("roles.dpo", "ccbridge-dpo, ccbridge-dpo-deputy")
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(persons.roles["dpo"], ["ccbridge-dpo", "ccbridge-dpo-deputy"]);
        assert_eq!(persons.roles["pairing:write"], ["ccbridge-backoffice"]);
        assert_eq!(persons.clients, ["ccbridge-console", "ccbridge-gdpr"]);
        let defaults = PersonSettings::new(&persons.issuer, &persons.audience);
        assert_eq!(
            (persons.role_claim, persons.jwks_refetch_seconds),
            (defaults.role_claim, defaults.jwks_refetch_seconds)
        );
        let clients: PersonSettings = config::Config::builder()
            .add_source(config::File::from_str(file, config::FileFormat::Toml))
            .set_override("clients", "ccbridge-console ,ccbridge-gdpr")
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(clients.clients, ["ccbridge-console", "ccbridge-gdpr"]);
    }

    #[test]
    fn roles_are_read_from_a_list_a_spaced_string_or_a_dotted_path() {
        let claims = serde_json::json!({
            "roles": ["ccbridge-dpo", 7, "ccbridge-operator"],
            "scope_roles": "ccbridge-dpo  ccbridge-auditor",
            "realm_access": { "roles": ["ccbridge-dpo"] },
            "number": 3,
        });
        let claims = claims.as_object().unwrap();
        assert_eq!(roles_in(claims, "roles"), ["ccbridge-dpo", "ccbridge-operator"]);
        assert_eq!(roles_in(claims, "scope_roles"), ["ccbridge-dpo", "ccbridge-auditor"]);
        assert_eq!(roles_in(claims, "realm_access.roles"), ["ccbridge-dpo"]);
        assert!(roles_in(claims, "number").is_empty());
        assert!(roles_in(claims, "realm_access.missing").is_empty());
        assert!(roles_in(claims, "missing").is_empty());
    }

    #[test]
    fn only_access_tokens_are_taken() {
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            assert!(is_access_token_type(typ), "{typ}");
        }
        for typ in ["JWT", "jwt", "", "id+jwt", "logout+jwt"] {
            assert!(!is_access_token_type(typ), "{typ}");
        }
    }

    #[test]
    fn only_public_key_algorithms_are_accepted() {
        assert_eq!(parse_algorithm("RS256"), Ok(Algorithm::RS256));
        assert_eq!(parse_algorithm("ES256"), Ok(Algorithm::ES256));
        assert!(parse_algorithm("HS256").is_err());
        assert!(parse_algorithm("none").is_err());
    }
}
