//! People, as the bank's identity provider vouches for them.
//!
//! A delegating caller (the console, the `gdpr` command) forwards the signed-in person's access
//! token from the provider in `X-Person-Token`: a JWT (RFC 9068) the service verifies itself —
//! its signature against the provider's published keys (JWKS, found through the issuer's OpenID
//! discovery document, cached, fetched again when a token names a key it does not know, so a
//! rotation at the provider is followed, at most once per `auth.persons.jwks_refetch_seconds`),
//! its issuer, audience and expiry — and takes the person from it: the subject (`sub`) and the
//! display name (`auth.persons.name_claim`). Nothing here is hand-written cryptography: the
//! `jsonwebtoken` crate verifies.

use crate::configuration::PersonSettings;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::str::FromStr;
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
    /// The provider's keys could not be fetched: not the token's fault.
    #[error("could not be checked: the identity provider's keys are unavailable")]
    ProviderUnavailable,
}

/// The provider's keys as last fetched.
struct KeyCache {
    keys: JwkSet,
    /// When they were last fetched (or tried), for the refetch limit.
    fetched_at: Option<Instant>,
}

/// Verifies person tokens against one identity provider.
pub struct PersonVerifier {
    issuer: String,
    audience: String,
    name_claim: String,
    algorithms: Vec<Algorithm>,
    leeway_seconds: u64,
    refetch_after: Duration,
    http: reqwest::Client,
    cache: Mutex<KeyCache>,
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
            algorithms,
            leeway_seconds: settings.leeway_seconds,
            refetch_after: Duration::from_secs(settings.jwks_refetch_seconds),
            http,
            cache: Mutex::new(KeyCache {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: None,
            }),
        })
    }

    /// The person a token names, once its signature, issuer, audience and expiry hold.
    pub async fn verify(&self, token: &str) -> Result<Person, PersonTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| PersonTokenError::Malformed)?;
        if !self.algorithms.contains(&header.alg) {
            return Err(PersonTokenError::Algorithm);
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
        Ok(Person {
            subject: text("sub")?,
            display_name: text(&self.name_claim)?,
            vouched_by: VouchedBy::Provider,
        })
    }

    /// The key `kid` names: from the cache, else from the provider when the last fetch is long
    /// enough ago (a rotation), else unknown.
    async fn key(&self, kid: &str) -> Result<DecodingKey, PersonTokenError> {
        let mut cache = self.cache.lock().await;
        if cache.keys.find(kid).is_none() && may_refetch(cache.fetched_at, self.refetch_after, Instant::now()) {
            cache.fetched_at = Some(Instant::now());
            match self.fetch_keys().await {
                Ok(keys) => cache.keys = keys,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "the identity provider's keys could not be fetched");
                    if cache.keys.keys.is_empty() {
                        return Err(PersonTokenError::ProviderUnavailable);
                    }
                }
            }
        }
        let jwk = cache.keys.find(kid).ok_or(PersonTokenError::UnknownKey)?;
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != jsonwebtoken::jwk::PublicKeyUse::Signature)
        {
            return Err(PersonTokenError::UnknownKey);
        }
        DecodingKey::from_jwk(jwk).map_err(|_| PersonTokenError::Signature)
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
        let keys: JwkSet = self
            .http
            .get(&discovery.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        tracing::info!(keys = keys.keys.len(), "fetched the identity provider's keys");
        Ok(keys)
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
        PersonSettings {
            issuer: issuer.to_owned(),
            audience: "https://ccbridge.bank.example".to_owned(),
            name_claim: "name".to_owned(),
            algorithms: vec!["RS256".to_owned()],
            leeway_seconds: 30,
            jwks_refetch_seconds: 60,
            provider_timeout_seconds: 5,
            ca_bundle: String::new(),
        }
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
    fn only_public_key_algorithms_are_accepted() {
        assert_eq!(parse_algorithm("RS256"), Ok(Algorithm::RS256));
        assert_eq!(parse_algorithm("ES256"), Ok(Algorithm::ES256));
        assert!(parse_algorithm("HS256").is_err());
        assert!(parse_algorithm("none").is_err());
    }
}
