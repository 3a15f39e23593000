//! The `[genesys]` section.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub struct GenesysSettings {
    /// e.g. `mypurecloud.de`, `euw2.pure.cloud`: API at `https://api.<region>`, login at
    /// `https://login.<region>`. Ignored when both base URLs are set.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub api_base_url: Option<String>,
    #[serde(default)]
    pub login_base_url: Option<String>,
    pub client_id: String,
    /// Never logged or printed.
    pub client_secret: SecretString,
    /// Timeout of one upstream request.
    pub request_timeout_ms: u64,
    /// How long one lookup may take in all, retries and waits included, before answering 503.
    pub deadline_ms: u64,
    /// Attempts per upstream call (the first included) on 5xx, timeouts and connection errors.
    pub max_attempts: u32,
    /// A 429 whose `Retry-After` is longer than this is not waited out: the caller gets 503.
    pub max_retry_after_seconds: u64,
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub cache_ttl_seconds: u64,
    pub cache_max_entries: u64,
    pub negative_cache_ttl_seconds: u64,
    /// Renew the OAuth token this long before it expires.
    pub token_renew_margin_seconds: u64,
    /// A token is renewed after this many seconds at the latest, whatever `expires_in` Genesys
    /// answered (an absurd lifetime must not keep a token, or overflow a timer).
    pub max_token_lifetime_seconds: u64,
    /// A PEM file of CA certificates Genesys' https certificates may chain to besides the public
    /// (Mozilla) roots. Genesys Cloud needs none; set it only where an egress proxy of the bank's
    /// re-signs TLS with its own CA (and in tests). Empty: the public roots only.
    #[serde(default)]
    pub ca_bundle: String,
}

/// Where Genesys is, resolved from a region or explicit URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api: String,
    pub login: String,
}

impl GenesysSettings {
    pub fn endpoints(&self) -> Result<Endpoints, String> {
        let trim = |url: &str| url.trim_end_matches('/').to_owned();
        match (&self.api_base_url, &self.login_base_url, &self.region) {
            (Some(api), Some(login), _) => Ok(Endpoints {
                api: trim(api),
                login: trim(login),
            }),
            (None, None, Some(region)) if !region.trim().is_empty() => {
                let region = region.trim().trim_start_matches("api.").trim_start_matches("login.");
                Ok(Endpoints {
                    api: format!("https://api.{region}"),
                    login: format!("https://login.{region}"),
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
        for (key, value) in [
            ("genesys.max_token_lifetime_seconds", self.max_token_lifetime_seconds),
            ("genesys.request_timeout_ms", self.request_timeout_ms),
            ("genesys.deadline_ms", self.deadline_ms),
            ("genesys.max_attempts", u64::from(self.max_attempts)),
            ("genesys.rate_limit_per_minute", u64::from(self.rate_limit_per_minute)),
            ("genesys.rate_limit_burst", u64::from(self.rate_limit_burst)),
            ("genesys.cache_max_entries", self.cache_max_entries),
        ] {
            if value == 0 {
                problems.push(format!("{key}: must be at least 1"));
            }
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
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(region: Option<&str>, api: Option<&str>, login: Option<&str>) -> GenesysSettings {
        GenesysSettings {
            region: region.map(str::to_owned),
            api_base_url: api.map(str::to_owned),
            login_base_url: login.map(str::to_owned),
            client_id: "id".to_owned(),
            client_secret: SecretString::from("secret".to_owned()),
            request_timeout_ms: 1,
            deadline_ms: 1,
            max_attempts: 1,
            max_retry_after_seconds: 1,
            rate_limit_per_minute: 1,
            rate_limit_burst: 1,
            cache_ttl_seconds: 1,
            cache_max_entries: 1,
            negative_cache_ttl_seconds: 1,
            token_renew_margin_seconds: 1,
            max_token_lifetime_seconds: 1,
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
        assert_eq!(endpoints.api, "https://api.euw2.pure.cloud");
        assert_eq!(endpoints.login, "https://login.euw2.pure.cloud");
        assert_eq!(
            settings(Some("api.mypurecloud.de"), None, None)
                .endpoints()
                .unwrap()
                .login,
            "https://login.mypurecloud.de"
        );
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
        assert_eq!(endpoints.api, "http://127.0.0.1:9");
        assert!(settings(None, Some("http://x"), None).endpoints().is_err());
        assert!(settings(None, None, None).endpoints().is_err());
    }
}
