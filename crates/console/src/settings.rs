//! `[console]`: where the console is, its session key, the identity provider, the services.
//! Parsed into what they mean: addresses as URLs (an optional one as an `Option`), counts as
//! non-zero numbers; what serde cannot say (ranges, https outside development) `validate` checks.

use crate::bank_time::BankTime;
use base64::Engine;
use openidconnect::IssuerUrl;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use service_kit::configuration::Environment;
use std::num::NonZeroU32;
use url::Url;

/// The `[console]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    #[serde(deserialize_with = "url")]
    pub public_url: Url,
    pub session_key: SecretString,
    pub session_minutes: NonZeroU32,
    /// A session left alone this long ends (checked on every request, on the server).
    pub idle_minutes: NonZeroU32,
    /// Development only: a sign-in form where anyone picks a name and roles (devstack).
    pub development_sign_in: bool,
    /// The bank's time zone (an IANA name): the pages show times in it and read the date-time
    /// pickers in it.
    #[serde(deserialize_with = "bank_time")]
    pub time_zone: BankTime,
    pub oidc: OidcSettings,
    pub services: ServiceUrls,
}

/// `[console.oidc]`: the bank's OpenID provider and how its roles map to the console's.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcSettings {
    /// The provider, exactly as its discovery document names itself (no slash added). Empty or
    /// absent: none (the development sign-in alone).
    #[serde(default, deserialize_with = "optional_issuer")]
    pub issuer: Option<IssuerUrl>,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The resource (RFC 8707) the access token is asked for: the services' audience
    /// (`auth.persons.audience`), sent as written. Empty or absent: none is named (the
    /// provider's default resource).
    #[serde(default, deserialize_with = "optional_resource")]
    pub resource: Option<Resource>,
    /// Scopes asked for besides `openid profile` (space-separated), e.g. `offline_access` where the
    /// provider gives refresh tokens only then, or the services' API scope.
    #[serde(default)]
    pub extra_scopes: String,
    pub role_claim: String,
    pub dpo_role: String,
    pub operator_role: String,
    pub backoffice_role: String,
    /// A PEM file of the bank's own CA certificates, trusted besides the public roots for the
    /// identity provider and for the services the console calls. Empty: the public roots only
    /// (service_kit::tls::ca_bundle's convention).
    #[serde(default)]
    pub ca_bundle: String,
}

/// An absolute URI kept exactly as written: an audience is compared as a string, so
/// `https://ccbridge.example` must not become `https://ccbridge.example/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource(String);

impl Resource {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL; what is wrong with it is said, the text is not repeated (it may hold credentials).
fn url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    Url::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// An IANA time zone name, parsed into the zone; an unknown name is refused.
fn bank_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BankTime, D::Error> {
    BankTime::named(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// An empty text is no value: the defaults and the chart write `""` for "not set".
fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.filter(|t| !t.trim().is_empty()))
}

fn optional_issuer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<IssuerUrl>, D::Error> {
    optional_text(deserializer)?
        .map(|text| IssuerUrl::new(text).map_err(|_| serde::de::Error::custom("not a URL")))
        .transpose()
}

fn optional_resource<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Resource>, D::Error> {
    optional_text(deserializer)?
        .map(|text| match Url::parse(&text) {
            Ok(_) => Ok(Resource(text)),
            Err(_) => Err(serde::de::Error::custom("must be an absolute URI (RFC 8707)")),
        })
        .transpose()
}

/// `[console.services]`: the services' base URLs, and the console's token on those whose API its
/// pages call (its caller there delegates: it names the signed-in person, services.rs).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceUrls {
    #[serde(deserialize_with = "url")]
    pub interaction_pairing_url: Url,
    #[serde(deserialize_with = "url")]
    pub comm_history_writer_url: Url,
    #[serde(deserialize_with = "url")]
    pub genesys_gateway_url: Url,
    #[serde(deserialize_with = "url")]
    pub result_ingest_url: Url,
    #[serde(deserialize_with = "url")]
    pub gdpr_orchestrator_url: Url,
    /// On gdpr-orchestrator, scope `dpo`: the GDPR pages.
    pub gdpr_orchestrator_token: SecretString,
    /// On comm-history-writer, scope `records:read`: the unassigned communications.
    pub comm_history_writer_token: SecretString,
    /// On interaction-pairing, scopes `pairing:read` (a communication's pairings) and
    /// `pairing:write` (assigning a communication is pairing it).
    pub interaction_pairing_token: SecretString,
    /// On result-ingest, scope `ingest:operate`: the inbox and sweeps.
    pub result_ingest_token: SecretString,
}

impl ServiceUrls {
    /// Each service by name, in the order the status page shows them.
    pub fn all(&self) -> [(&'static str, &Url); 5] {
        [
            ("interaction-pairing", &self.interaction_pairing_url),
            ("comm-history-writer", &self.comm_history_writer_url),
            ("genesys-gateway", &self.genesys_gateway_url),
            ("result-ingest", &self.result_ingest_url),
            ("gdpr-orchestrator", &self.gdpr_orchestrator_url),
        ]
    }
}

/// A section whose deserialisation error names the failing key's path (the value is not shown).
struct KeyNamed<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for KeyNamed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_path_to_error::deserialize(deserializer)
            .map(KeyNamed)
            .map_err(|e| serde::de::Error::custom(format!("console.{}: {}", e.path(), e.inner())))
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Whether `url` may be used outside development: https, or http to a loopback IP (a sidecar on
/// the same host), never plain http over a network.
fn is_https_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        },
        _ => false,
    }
}

impl ConsoleSettings {
    /// Reads `[console]`; a value that does not parse is named by its key
    /// (`console.oidc.resource: …`), never shown.
    pub fn load(settings: &service_kit::configuration::Settings) -> anyhow::Result<Self> {
        let KeyNamed(section) = settings.section::<KeyNamed<Self>>("console")?;
        Ok(section)
    }

    /// Whether the browser reaches the console over https: then HSTS and the `__Host-` cookie.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The session cookie's key (at least 64 bytes: half signs, half encrypts).
    pub fn session_key(&self) -> Result<actix_web::cookie::Key, String> {
        let text = self.session_key.expose_secret();
        let text = text
            .strip_prefix(service_kit::configuration::DEVELOPMENT_PREFIX)
            .unwrap_or(text);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| "console.session_key: not base64".to_owned())?;
        if bytes.len() < 64 {
            return Err("console.session_key: must be at least 64 bytes".to_owned());
        }
        Ok(actix_web::cookie::Key::from(&bytes))
    }

    /// The bank's identity provider, when configured (it may be left out only in development,
    /// with the development sign-in in its place).
    pub fn identity_provider(&self) -> Option<&IssuerUrl> {
        self.oidc.issuer.as_ref()
    }

    pub fn validate(&self, environment: Environment) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(problem) = self.session_key() {
            problems.push(problem);
        }
        if !is_http(&self.public_url) {
            problems.push("console.public_url: must be an http(s) URL".to_owned());
        } else if environment != Environment::Development && !is_https_or_loopback(&self.public_url) {
            problems
                .push("console.public_url: must be https outside development (http only on a loopback IP)".to_owned());
        }
        if !(5..=1440).contains(&self.session_minutes.get()) {
            problems.push("console.session_minutes: must be 5 to 1440".to_owned());
        }
        if self.idle_minutes > self.session_minutes {
            problems.push("console.idle_minutes: must be 1 to console.session_minutes".to_owned());
        }
        if self.development_sign_in && environment != Environment::Development {
            problems.push(
                "console.development_sign_in: refused outside development (anyone could pick a name and a role)"
                    .to_owned(),
            );
        }
        if self.oidc.issuer.is_some() || !self.development_sign_in {
            match &self.oidc.issuer {
                Some(issuer) if is_http(issuer.url()) => {
                    if environment != Environment::Development && !is_https_or_loopback(issuer.url()) {
                        problems.push(
                            "console.oidc.issuer: must be https outside development (http only on a loopback IP)"
                                .to_owned(),
                        );
                    }
                }
                _ => problems.push("console.oidc.issuer: must be the identity provider's http(s) URL".to_owned()),
            }
            if self.oidc.client_id.is_empty() {
                problems.push("console.oidc.client_id: must be set".to_owned());
            }
            if self.oidc.client_secret.expose_secret().is_empty() {
                problems.push("console.oidc.client_secret: must be set".to_owned());
            }
        }
        if let Err(problem) = service_kit::tls::ca_bundle("console.oidc.ca_bundle", &self.oidc.ca_bundle) {
            problems.push(problem);
        }
        for (name, url) in self.services.all() {
            if !is_http(url) {
                problems.push(format!("console.services: {name}'s URL must be http(s)"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn issuer(text: &str) -> IssuerUrl {
        IssuerUrl::new(text.to_owned()).unwrap()
    }

    fn with_key(key: &str) -> ConsoleSettings {
        ConsoleSettings {
            public_url: url("https://console.bank.example"),
            session_key: SecretString::from(key.to_owned()),
            session_minutes: NonZeroU32::new(480).unwrap(),
            idle_minutes: NonZeroU32::new(15).unwrap(),
            development_sign_in: false,
            time_zone: BankTime::named("Europe/Prague").unwrap(),
            oidc: OidcSettings {
                issuer: Some(issuer("https://login.bank.example")),
                client_id: "console".to_owned(),
                client_secret: SecretString::from("secret".to_owned()),
                resource: None,
                extra_scopes: String::new(),
                role_claim: "roles".to_owned(),
                dpo_role: "dpo".to_owned(),
                operator_role: "operator".to_owned(),
                backoffice_role: "backoffice".to_owned(),
                ca_bundle: String::new(),
            },
            services: ServiceUrls {
                interaction_pairing_url: url("http://pairing"),
                comm_history_writer_url: url("http://writer"),
                genesys_gateway_url: url("http://gateway"),
                result_ingest_url: url("http://ingest"),
                gdpr_orchestrator_url: url("http://orchestrator"),
                gdpr_orchestrator_token: SecretString::from(String::new()),
                comm_history_writer_token: SecretString::from(String::new()),
                interaction_pairing_token: SecretString::from(String::new()),
                result_ingest_token: SecretString::from(String::new()),
            },
        }
    }

    #[test]
    fn the_session_key_that_keys_prints_is_taken_and_a_short_one_is_not() {
        let printed = service_kit::cli::new_keys();
        let key = printed
            .lines()
            .find_map(|line| line.strip_prefix("APP__CONSOLE__SESSION_KEY="))
            .unwrap();
        assert!(with_key(key).validate(Environment::Production).is_ok());
        assert_eq!(
            with_key("c2hvcnQ=").validate(Environment::Production).unwrap_err(),
            ["console.session_key: must be at least 64 bytes"]
        );
    }

    fn production_key() -> String {
        service_kit::cli::new_keys()
            .lines()
            .find_map(|line| line.strip_prefix("APP__CONSOLE__SESSION_KEY="))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn the_development_sign_in_is_refused_outside_development() {
        let mut settings = with_key(&production_key());
        settings.development_sign_in = true;
        assert_eq!(
            settings.validate(Environment::Production).unwrap_err(),
            ["console.development_sign_in: refused outside development (anyone could pick a name and a role)"]
        );
        assert!(settings.validate(Environment::Development).is_ok());
    }

    #[test]
    fn the_identity_provider_may_be_left_out_only_for_the_development_sign_in() {
        let mut settings = with_key(&production_key());
        settings.oidc.issuer = None;
        assert_eq!(
            settings.validate(Environment::Development).unwrap_err(),
            ["console.oidc.issuer: must be the identity provider's http(s) URL"]
        );
        settings.development_sign_in = true;
        assert!(settings.validate(Environment::Development).is_ok());
        // Named, the provider must be complete even beside the development sign-in.
        settings.oidc.issuer = Some(issuer("https://login.bank.example"));
        settings.oidc.client_id = String::new();
        assert_eq!(
            settings.validate(Environment::Development).unwrap_err(),
            ["console.oidc.client_id: must be set"]
        );
    }

    #[test]
    fn plain_http_to_the_browser_or_the_provider_is_refused_outside_development_but_on_a_loopback_ip() {
        let mut settings = with_key(&production_key());
        settings.public_url = url("http://console.bank.example");
        settings.oidc.issuer = Some(issuer("http://login.bank.example"));
        assert_eq!(
            settings.validate(Environment::Production).unwrap_err(),
            [
                "console.public_url: must be https outside development (http only on a loopback IP)",
                "console.oidc.issuer: must be https outside development (http only on a loopback IP)"
            ]
        );
        assert!(settings.validate(Environment::Development).is_ok());
        settings.public_url = url("http://127.0.0.1:8080");
        settings.oidc.issuer = Some(issuer("http://[::1]:9000"));
        assert!(settings.validate(Environment::Production).is_ok());
        // A name that resolves to loopback is still a name: refused.
        settings.public_url = url("http://localhost:8080");
        assert_eq!(settings.validate(Environment::Production).unwrap_err().len(), 1);
    }

    #[test]
    fn a_ca_bundle_that_is_no_pem_of_certificates_is_refused_naming_the_key() {
        let dir = std::env::temp_dir().join(format!("ccbridge-console-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let mut settings = with_key(&production_key());
        settings.oidc.ca_bundle = bad.display().to_string();
        let problems = settings.validate(Environment::Production).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("console.oidc.ca_bundle: "), "{problems:?}");
        settings.oidc.ca_bundle = dir.join("missing.pem").display().to_string();
        assert!(settings.validate(Environment::Production).unwrap_err()[0].starts_with("console.oidc.ca_bundle: "));
        let good = dir.join("good.pem");
        let ca = rcgen::generate_simple_self_signed(vec!["ca.bank.example".to_owned()]).unwrap();
        std::fs::write(&good, ca.cert.pem()).unwrap();
        settings.oidc.ca_bundle = good.display().to_string();
        assert!(settings.validate(Environment::Production).is_ok());
        let provider = settings.oidc.issuer.clone().unwrap();
        crate::oidc::Oidc::new(settings.oidc.clone(), provider, &settings.public_url).unwrap();
        crate::services::Services::new(&settings.services, &settings.oidc.ca_bundle).unwrap();
    }
}
