//! The `[genesys]` section.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

/// An `http` or `https` base URL, without query or fragment, kept without a trailing `/` so
/// API paths (`/api/v2/...`) join it as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(reqwest::Url);

impl BaseUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("must be an http(s) URL with a host".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err("must have no query, fragment or user".to_owned());
        }
        Ok(Self(url))
    }

    /// The URL as text, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct GenesysSettings {
    /// e.g. `mypurecloud.de`, `euw2.pure.cloud`: API at `https://api.<region>`, login at
    /// `https://login.<region>`. Ignored when both base URLs are set.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub api_base_url: Option<BaseUrl>,
    #[serde(default)]
    pub login_base_url: Option<BaseUrl>,
    pub client_id: String,
    /// Never logged or printed.
    pub client_secret: SecretString,
    /// Timeout of one upstream request.
    pub request_timeout_ms: NonZeroU64,
    /// How long one lookup may take in all, retries and waits included, before answering 503.
    pub deadline_ms: NonZeroU64,
    /// Attempts per upstream call (the first included) on 5xx, timeouts and connection errors.
    pub max_attempts: NonZeroU32,
    /// A 429 whose `Retry-After` is longer than this is not waited out: the caller gets 503
    /// (0: none is waited out).
    pub max_retry_after_seconds: u64,
    pub rate_limit_per_minute: NonZeroU32,
    pub rate_limit_burst: NonZeroU32,
    /// How long a name is kept (0: not kept).
    pub cache_ttl_seconds: u64,
    pub cache_max_entries: NonZeroU64,
    /// How long a 404 is remembered (0: not remembered).
    pub negative_cache_ttl_seconds: u64,
    /// Renew the OAuth token this long before it expires.
    pub token_renew_margin_seconds: u64,
    /// A token is renewed after this many seconds at the latest, whatever `expires_in` Genesys
    /// answered (an absurd lifetime must not keep a token, or overflow a timer).
    pub max_token_lifetime_seconds: NonZeroU64,
    /// A PEM file of CA certificates Genesys' https certificates may chain to besides the public
    /// (Mozilla) roots. Genesys Cloud needs none; set it only where an egress proxy of the bank's
    /// re-signs TLS with its own CA (and in tests). Empty: the public roots only.
    #[serde(default)]
    pub ca_bundle: String,
}

/// Reads `[genesys]`, a value that does not parse named by its key (`genesys.max_attempts: …`).
pub fn load(settings: &service_kit::configuration::Settings) -> anyhow::Result<GenesysSettings> {
    load_section(settings)
}

/// A section of the gateway's settings, by its name.
pub trait Section {
    const NAME: &'static str;
}

impl Section for GenesysSettings {
    const NAME: &'static str = "genesys";
}

/// Reads section `T`, a value that does not parse named by its key (`content.transcript_hosts: …`).
pub fn load_section<T: Section + serde::de::DeserializeOwned>(
    settings: &service_kit::configuration::Settings,
) -> anyhow::Result<T> {
    let KeyNamed(section) = settings.section::<KeyNamed<T>>(T::NAME)?;
    Ok(section)
}

/// A section whose deserialisation error names the failing key's path.
struct KeyNamed<T>(T);

impl<'de, T: Deserialize<'de> + Section> Deserialize<'de> for KeyNamed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_path_to_error::deserialize(deserializer)
            .map(KeyNamed)
            .map_err(|e| serde::de::Error::custom(format!("{}.{}: {}", T::NAME, e.path(), e.inner())))
    }
}

/// Where Genesys is, resolved from a region or explicit URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api: BaseUrl,
    pub login: BaseUrl,
}

impl GenesysSettings {
    pub fn endpoints(&self) -> Result<Endpoints, String> {
        match (&self.api_base_url, &self.login_base_url, &self.region) {
            (Some(api), Some(login), _) => Ok(Endpoints {
                api: api.clone(),
                login: login.clone(),
            }),
            (None, None, Some(region)) if !region.trim().is_empty() => {
                let region = region.trim().trim_start_matches("api.").trim_start_matches("login.");
                let host = |prefix: &str| {
                    let url = BaseUrl::parse(&format!("https://{prefix}.{region}"))
                        .map_err(|e| format!("genesys.region: not a Genesys Cloud region ({e})"))?;
                    // A region is a host name: nothing of it may land in a path or a port.
                    let expected = format!("{prefix}.{region}").to_ascii_lowercase();
                    if url.0.host_str() != Some(expected.as_str()) || url.0.port().is_some() || url.0.path() != "/" {
                        return Err("genesys.region: a host name such as mypurecloud.de".to_owned());
                    }
                    Ok(url)
                };
                Ok(Endpoints {
                    api: host("api")?,
                    login: host("login")?,
                })
            }
            (Some(_), None, _) | (None, Some(_), _) => {
                Err("genesys.api_base_url and genesys.login_base_url go together; set both or neither".to_owned())
            }
            _ => Err("genesys.region (e.g. mypurecloud.de) or both base URLs must be set".to_owned()),
        }
    }

    /// Every problem, each naming its key; the secret is never repeated.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(problem) = self.endpoints() {
            problems.push(problem);
        }
        if self.client_id.trim().is_empty() {
            problems.push("genesys.client_id: must be set".to_owned());
        }
        if self.client_secret.expose_secret().is_empty() {
            problems.push("genesys.client_secret: must be set".to_owned());
        }
        if let Err(problem) = service_kit::tls::ca_bundle("genesys.ca_bundle", &self.ca_bundle) {
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.get())
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(region: Option<&str>, api: Option<&str>, login: Option<&str>) -> GenesysSettings {
        GenesysSettings {
            region: region.map(str::to_owned),
            api_base_url: api.map(|url| BaseUrl::parse(url).unwrap()),
            login_base_url: login.map(|url| BaseUrl::parse(url).unwrap()),
            client_id: "id".to_owned(),
            client_secret: SecretString::from("secret".to_owned()),
            request_timeout_ms: NonZeroU64::MIN,
            deadline_ms: NonZeroU64::MIN,
            max_attempts: NonZeroU32::MIN,
            max_retry_after_seconds: 1,
            rate_limit_per_minute: NonZeroU32::MIN,
            rate_limit_burst: NonZeroU32::MIN,
            cache_ttl_seconds: 1,
            cache_max_entries: NonZeroU64::MIN,
            negative_cache_ttl_seconds: 1,
            token_renew_margin_seconds: 1,
            max_token_lifetime_seconds: NonZeroU64::MIN,
            ca_bundle: String::new(),
        }
    }

    #[test]
    fn a_ca_bundle_must_be_a_readable_file_of_certificates() {
        let mut s = settings(Some("mypurecloud.de"), None, None);
        assert!(s.validate().is_ok(), "none: the public roots only");
        s.ca_bundle = "/nonexistent/genesys-ca.pem".to_owned();
        assert_eq!(
            s.validate().unwrap_err(),
            ["genesys.ca_bundle: cannot be read (entity not found)"]
        );
        let not_pem = std::env::temp_dir().join(format!("ccbridge-not-pem-{}.pem", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        s.ca_bundle = not_pem.to_str().unwrap().to_owned();
        assert_eq!(s.validate().unwrap_err(), ["genesys.ca_bundle: holds no certificate"]);
        std::fs::remove_file(not_pem).unwrap();
    }

    #[test]
    fn region_gives_api_and_login_hosts() {
        let endpoints = settings(Some("euw2.pure.cloud"), None, None).endpoints().unwrap();
        assert_eq!(endpoints.api.as_str(), "https://api.euw2.pure.cloud");
        assert_eq!(endpoints.login.as_str(), "https://login.euw2.pure.cloud");
        assert_eq!(
            settings(Some("api.mypurecloud.de"), None, None)
                .endpoints()
                .unwrap()
                .login
                .as_str(),
            "https://login.mypurecloud.de"
        );
        for not_a_region in ["mypurecloud.de/path", "mypurecloud.de:8443", "bad host"] {
            let problem = settings(Some(not_a_region), None, None).endpoints().unwrap_err();
            assert!(problem.starts_with("genesys.region:"), "{not_a_region}: {problem}");
        }
    }

    #[test]
    fn explicit_urls_win_and_go_together() {
        let endpoints = settings(
            Some("mypurecloud.de"),
            Some("http://127.0.0.1:9/"),
            Some("http://127.0.0.1:9"),
        )
        .endpoints()
        .unwrap();
        assert_eq!(endpoints.api.as_str(), "http://127.0.0.1:9");
        assert!(settings(None, Some("http://x"), None).endpoints().is_err());
        assert!(settings(None, None, None).endpoints().is_err());
    }

    #[test]
    fn a_base_url_is_an_http_url_with_a_host_and_nothing_after_its_path() {
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:9/").unwrap().as_str(),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            BaseUrl::parse("https://proxy.bank/genesys/").unwrap().as_str(),
            "https://proxy.bank/genesys"
        );
        for wrong in ["127.0.0.1:9", "ftp://x", "https://x/?a=1", "https://u:p@x", "not a url"] {
            assert!(BaseUrl::parse(wrong).is_err(), "{wrong}");
        }
    }
}
