//! The `[content]` section: where a transcript may be downloaded from, how much of it and how
//! long for. The transcript's URL comes from an upstream answer, so it is checked against these
//! before anything is fetched (docs/security.md).

use serde::{Deserialize, Deserializer};
use service_kit::configuration::Environment;
use std::num::{NonZeroU32, NonZeroU64, NonZeroU8, NonZeroUsize};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub struct ContentSettings {
    /// The hosts a transcript's pre-signed URL may point at: `host.example` (that host) or
    /// `*.example.com` (any host under it). A list, or one comma-separated string.
    #[serde(deserialize_with = "host_patterns")]
    pub transcript_hosts: Vec<HostPattern>,
    /// The largest transcript downloaded, in bytes; a larger one is refused.
    pub transcript_max_bytes: NonZeroUsize,
    /// How long one transcript download may take, connecting and reading included.
    pub transcript_timeout_ms: NonZeroU64,
    /// How long a conversation's communications (ids and media types, from its analytics
    /// details) are kept, so asking again while a transcript is not there yet costs one Genesys
    /// request, not two (0: not kept).
    pub communications_cache_ttl_seconds: u64,
    pub communications_cache_max_entries: NonZeroU64,
    /// Content's share, in percent (1 to 90), of `genesys.rate_limit_per_minute` and
    /// `genesys.rate_limit_burst`: the rest always stays for the names, the sweep and GDPR.
    pub budget_percent: NonZeroU8,
}

impl ContentSettings {
    pub fn transcript_timeout(&self) -> Duration {
        Duration::from_millis(self.transcript_timeout_ms.get())
    }

    /// Every problem, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        if self.budget_percent.get() > 90 {
            return Err(vec![
                "content.budget_percent: 1 to 90 (the rest of the Genesys budget stays for the names, the sweep and GDPR)"
                    .to_owned(),
            ]);
        }
        Ok(())
    }

    /// Content's share of `whole` (requests a minute, or a burst): at least one.
    pub fn share_of(&self, whole: NonZeroU32) -> NonZeroU32 {
        let share = u64::from(whole.get()) * u64::from(self.budget_percent.get()) / 100;
        NonZeroU32::new(u32::try_from(share).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
    }
}

impl crate::settings::Section for ContentSettings {
    const NAME: &'static str = "content";
}

/// Reads `[content]`, a value that does not parse named by its key.
pub fn load(settings: &service_kit::configuration::Settings) -> anyhow::Result<ContentSettings> {
    crate::settings::load_section(settings)
}

/// One entry of `content.transcript_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// This host name or IP address exactly.
    Exact(String),
    /// Any host name under this domain (`*.amazonaws.com`: `a.s3.amazonaws.com`, not
    /// `amazonaws.com` itself, never an IP address).
    Under(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let (wildcard, host) = match text.strip_prefix("*.") {
            Some(domain) => (true, domain),
            None => (false, text.as_str()),
        };
        // A host as a URL reads it: nothing of a path, a port or a user may hide in it.
        let parsed = reqwest::Url::parse(&format!("https://{host}/"))
            .ok()
            .filter(|url| url.host_str() == Some(host) && url.port().is_none());
        let is_name = |domain: &str| {
            domain
                .split('.')
                .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        let Some(url) = parsed.filter(|url| match url.host() {
            Some(url::Host::Domain(domain)) => is_name(domain),
            _ => true,
        }) else {
            return Err(format!("{text:?} is not a host name (or *.domain)"));
        };
        if !wildcard {
            return Ok(Self::Exact(host.to_owned()));
        }
        match url.host() {
            Some(url::Host::Domain(domain)) if domain.split('.').count() >= 2 => Ok(Self::Under(format!(".{domain}"))),
            _ => Err(format!(
                "{text:?}: a wildcard must stand before a domain of two labels or more (*.example.com)"
            )),
        }
    }

    pub fn matches(&self, host: &url::Host<&str>) -> bool {
        match (self, host) {
            (Self::Exact(exact), host) => host.to_string().eq_ignore_ascii_case(exact),
            (Self::Under(suffix), url::Host::Domain(domain)) => {
                let domain = domain.to_ascii_lowercase();
                domain.ends_with(suffix.as_str()) && domain.len() > suffix.len()
            }
            (Self::Under(_), _) => false,
        }
    }
}

fn host_patterns<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<HostPattern>, D::Error> {
    service_kit::configuration::list_or_comma_separated(deserializer)?
        .iter()
        .map(|item| HostPattern::parse(item).map_err(serde::de::Error::custom))
        .collect()
}

/// Why a transcript URL is not fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not https (outside development), or not http(s) at all.
    Scheme,
    /// Its host is not on `content.transcript_hosts`.
    Host,
    /// A user or password in it, or (outside development) a port of its own.
    Form,
}

impl UrlRefusal {
    /// The metric label and log word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::Host => "host",
            Self::Form => "form",
        }
    }
}

impl ContentSettings {
    /// `url` if a transcript may be fetched from it: https (http too in development), no user,
    /// the default port outside development, and a host on the allow-list.
    pub fn check_url(&self, url: &reqwest::Url, environment: Environment) -> Result<(), UrlRefusal> {
        let development = environment == Environment::Development;
        match url.scheme() {
            "https" => {}
            "http" if development => {}
            _ => return Err(UrlRefusal::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() || (!development && url.port().is_some()) {
            return Err(UrlRefusal::Form);
        }
        let host = url.host().ok_or(UrlRefusal::Host)?;
        if self.transcript_hosts.iter().any(|pattern| pattern.matches(&host)) {
            Ok(())
        } else {
            Err(UrlRefusal::Host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hosts: &[&str]) -> ContentSettings {
        ContentSettings {
            transcript_hosts: hosts.iter().map(|h| HostPattern::parse(h).unwrap()).collect(),
            transcript_max_bytes: NonZeroUsize::MIN,
            transcript_timeout_ms: NonZeroU64::MIN,
            communications_cache_ttl_seconds: 0,
            communications_cache_max_entries: NonZeroU64::MIN,
            budget_percent: NonZeroU8::new(50).unwrap(),
        }
    }

    fn check(s: &ContentSettings, url: &str, environment: Environment) -> Result<(), UrlRefusal> {
        s.check_url(&reqwest::Url::parse(url).unwrap(), environment)
    }

    #[test]
    fn a_pattern_is_a_host_or_a_wildcard_before_a_domain() {
        assert_eq!(
            HostPattern::parse(" *.S3.amazonaws.com ").unwrap(),
            HostPattern::Under(".s3.amazonaws.com".to_owned())
        );
        assert_eq!(
            HostPattern::parse("127.0.0.1").unwrap(),
            HostPattern::Exact("127.0.0.1".to_owned())
        );
        for wrong in [
            "*",
            "*.com",
            "*.10.0.0.1",
            "a.example/x",
            "a.example:8443",
            "u@a.example",
            "a b",
            "",
        ] {
            assert!(HostPattern::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn only_listed_hosts_over_https_are_fetched_in_production() {
        let s = settings(&["*.amazonaws.com", "transcripts.bank.example"]);
        let production = Environment::Production;
        for allowed in [
            "https://prod-euc1-transcript.s3.eu-central-1.amazonaws.com/t/1?X-Amz-Signature=a",
            "https://TRANSCRIPTS.bank.example/t",
        ] {
            assert_eq!(check(&s, allowed, production), Ok(()), "{allowed}");
        }
        for (refused, why) in [
            ("https://amazonaws.com/t", UrlRefusal::Host),
            ("https://amazonaws.com.evil.example/t", UrlRefusal::Host),
            ("https://evilamazonaws.com/t", UrlRefusal::Host),
            ("https://169.254.169.254/latest/meta-data", UrlRefusal::Host),
            ("https://a.bank.example/t", UrlRefusal::Host),
            ("http://x.s3.amazonaws.com/t", UrlRefusal::Scheme),
            ("file:///etc/passwd", UrlRefusal::Scheme),
            ("https://x.s3.amazonaws.com:8443/t", UrlRefusal::Form),
            ("https://user:pw@x.s3.amazonaws.com/t", UrlRefusal::Form),
        ] {
            assert_eq!(check(&s, refused, production), Err(why), "{refused}");
        }
    }

    #[test]
    fn development_also_takes_http_and_ports_but_still_only_listed_hosts() {
        let s = settings(&["127.0.0.1"]);
        assert_eq!(check(&s, "http://127.0.0.1:8090/t", Environment::Development), Ok(()));
        assert_eq!(
            check(&s, "http://127.0.0.1:8090/t", Environment::Production),
            Err(UrlRefusal::Scheme)
        );
        assert_eq!(
            check(&s, "http://localhost:8090/t", Environment::Development),
            Err(UrlRefusal::Host)
        );
    }

    #[test]
    fn contents_share_is_a_part_of_the_whole_never_none_nor_all() {
        let mut s = settings(&[]);
        let n = |v: u32| NonZeroU32::new(v).unwrap();
        assert_eq!(s.share_of(n(300)), n(150));
        assert_eq!(s.share_of(n(1)), n(1), "at least one");
        assert_eq!(s.validate(), Ok(()));
        s.budget_percent = NonZeroU8::new(91).unwrap();
        assert!(s.validate().unwrap_err()[0].starts_with("content.budget_percent:"));
    }
}
