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
    /// `*.example.com` (any host under it). A list, or one comma-separated string. Unset (or
    /// empty): AWS S3's hosts in the AWS region of the Genesys Cloud region ([`s3_hosts_of`]);
    /// a region whose AWS region is not known must list them.
    #[serde(default, deserialize_with = "host_patterns")]
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
    /// The most messages of an e-mail conversation read (1 to 100): the first this many the
    /// listing names; past them the text ends with a line `…` (the thread is longer than read).
    /// An attempt reserves a permit for each before it reads the first, so content's burst is at
    /// least this plus two (the details and the listing).
    pub email_max_messages: NonZeroU32,
}

impl ContentSettings {
    pub fn transcript_timeout(&self) -> Duration {
        Duration::from_millis(self.transcript_timeout_ms.get())
    }

    /// Every problem, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.budget_percent.get() > 90 {
            problems.push(
                "content.budget_percent: 1 to 90 (the rest of the Genesys budget stays for the names, the sweep and GDPR)"
                    .to_owned(),
            );
        }
        if self.email_max_messages.get() > MAX_EMAIL_MESSAGES {
            problems.push(format!(
                "content.email_max_messages: 1 to {MAX_EMAIL_MESSAGES} (an attempt reserves a Genesys request for each)"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Content's burst: its share of `burst`, and at least what one e-mail attempt takes at once
    /// (the details, the listing and every message read), so a thread of
    /// `content.email_max_messages` can always be read once the share has refilled.
    pub fn burst_of(&self, burst: NonZeroU32) -> NonZeroU32 {
        self.share_of(burst).max(self.email_max_messages.saturating_add(2))
    }

    /// Content's share of `whole` (requests a minute, or a burst): at least one.
    pub fn share_of(&self, whole: NonZeroU32) -> NonZeroU32 {
        let share = u64::from(whole.get()) * u64::from(self.budget_percent.get()) / 100;
        NonZeroU32::new(u32::try_from(share).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
    }
}

/// The most `content.email_max_messages` may be.
pub const MAX_EMAIL_MESSAGES: u32 = 100;

impl crate::settings::Section for ContentSettings {
    const NAME: &'static str = "content";
}

/// Reads `[content]`, a value that does not parse named by its key; `transcript_hosts` unset is
/// S3's hosts of the Genesys region's AWS region, and must be set where that is not known (in
/// development it is then empty: no transcript is downloaded).
pub fn load(settings: &service_kit::configuration::Settings) -> anyhow::Result<ContentSettings> {
    let mut content: ContentSettings = crate::settings::load_section(settings)?;
    if content.transcript_hosts.is_empty() {
        let genesys: crate::settings::GenesysSettings = crate::settings::load_section(settings)?;
        let api = genesys
            .endpoints()
            .map_err(|problem| service_kit::configuration::invalid_all(vec![problem]))?
            .api;
        content.transcript_hosts = match s3_hosts_of(api.as_str()) {
            Ok(hosts) => hosts,
            // Development against genesys-sim (or a private base URL): nothing is downloaded
            // unless listed (every URL refused, counted by reason `host`), never more.
            Err(problem) if settings.application.environment == Environment::Development => {
                tracing::warn!("{problem}; in development no transcript is downloaded until it is");
                Vec::new()
            }
            Err(problem) => return Err(service_kit::configuration::invalid_all(vec![problem])),
        };
    }
    Ok(content)
}

/// The AWS region each Genesys Cloud region runs in (Genesys' published list of its regions),
/// by the region's host (`mypurecloud.de`). A region not listed here has no derived default.
const AWS_REGIONS: &[(&str, &str)] = &[
    ("mypurecloud.com", "us-east-1"),
    ("usw2.pure.cloud", "us-west-2"),
    ("cac1.pure.cloud", "ca-central-1"),
    ("sae1.pure.cloud", "sa-east-1"),
    ("mypurecloud.ie", "eu-west-1"),
    ("euw2.pure.cloud", "eu-west-2"),
    ("mypurecloud.de", "eu-central-1"),
    ("euc2.pure.cloud", "eu-central-2"),
    ("aps1.pure.cloud", "ap-south-1"),
    ("apne2.pure.cloud", "ap-northeast-2"),
    ("mypurecloud.com.au", "ap-southeast-2"),
    ("mypurecloud.jp", "ap-northeast-1"),
    ("apne3.pure.cloud", "ap-northeast-3"),
    ("mec1.pure.cloud", "me-central-1"),
];

/// The default of `content.transcript_hosts` for the Genesys API at `api_base_url`
/// (`https://api.<region>`): S3's hosts in that region's AWS region, a bucket's own
/// (`*.s3.<aws-region>.amazonaws.com`) and the path-style one (`s3.<aws-region>.amazonaws.com`);
/// in us-east-1 also S3's global name (`*.s3.amazonaws.com`). Every other host, another AWS
/// service's or another region's, is refused. An error naming the key where the region is not one
/// whose AWS region is known (a sandbox, a private base URL): list the hosts there.
pub fn s3_hosts_of(api_base_url: &str) -> Result<Vec<HostPattern>, String> {
    let host = reqwest::Url::parse(api_base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
    let aws_region = host.as_deref().and_then(|host| {
        let region = host.strip_prefix("api.")?;
        AWS_REGIONS
            .iter()
            .find_map(|(genesys, aws)| (*genesys == region).then_some(*aws))
    });
    let Some(aws_region) = aws_region else {
        return Err(format!(
            "content.transcript_hosts: must be set: the AWS region of the Genesys API at {api_base_url} is not known (list the S3 hosts its transcript URLs point at, e.g. \"*.s3.eu-central-1.amazonaws.com\")"
        ));
    };
    let mut hosts = vec![
        format!("*.s3.{aws_region}.amazonaws.com"),
        format!("s3.{aws_region}.amazonaws.com"),
    ];
    if aws_region == "us-east-1" {
        hosts.push("*.s3.amazonaws.com".to_owned());
    }
    hosts.iter().map(|host| HostPattern::parse(host)).collect()
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
    /// Outside development: its host is, or resolves to, an address that is not public
    /// (loopback, private, link-local, CGNAT, unique-local …).
    Address,
}

impl UrlRefusal {
    /// The metric label and log word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::Host => "host",
            Self::Form => "form",
            Self::Address => "address",
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
        if !self.transcript_hosts.iter().any(|pattern| pattern.matches(&host)) {
            return Err(UrlRefusal::Host);
        }
        // A name is judged by what it resolves to (`public_dns`); an address here and now.
        let address = match host {
            url::Host::Ipv4(v4) => Some(std::net::IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(std::net::IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if !development && address.is_some_and(|address| !crate::content::public_dns::is_public(address)) {
            return Err(UrlRefusal::Address);
        }
        Ok(())
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
            email_max_messages: NonZeroU32::new(20).unwrap(),
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
        assert_eq!(
            check(&s, "https://127.0.0.1/t", Environment::Production),
            Err(UrlRefusal::Address),
            "listed, but not a public address"
        );
    }

    #[test]
    fn the_default_allow_list_is_s3_in_the_genesys_regions_aws_region() {
        let mut s = settings(&[]);
        s.transcript_hosts = s3_hosts_of("https://api.mypurecloud.de").unwrap();
        let production = Environment::Production;
        for allowed in [
            "https://prod-euc1-transcript.s3.eu-central-1.amazonaws.com/t/1?X-Amz-Signature=a",
            "https://s3.eu-central-1.amazonaws.com/prod-euc1-transcript/t/1",
        ] {
            assert_eq!(check(&s, allowed, production), Ok(()), "{allowed}");
        }
        for refused in [
            "https://attacker.s3.us-east-1.amazonaws.com/t",
            "https://attacker.s3.amazonaws.com/t",
            "https://abc.execute-api.eu-central-1.amazonaws.com/t",
            "https://ec2-3-120-0-1.eu-central-1.compute.amazonaws.com/t",
            "https://x.elb.eu-central-1.amazonaws.com/t",
        ] {
            assert_eq!(check(&s, refused, production), Err(UrlRefusal::Host), "{refused}");
        }
        let us_east = s3_hosts_of("https://api.mypurecloud.com").unwrap();
        assert!(us_east.contains(&HostPattern::Under(".s3.amazonaws.com".to_owned())));
        assert!(us_east.contains(&HostPattern::Under(".s3.us-east-1.amazonaws.com".to_owned())));
        assert_eq!(
            s3_hosts_of("https://api.euw2.pure.cloud").unwrap(),
            [
                HostPattern::Under(".s3.eu-west-2.amazonaws.com".to_owned()),
                HostPattern::Exact("s3.eu-west-2.amazonaws.com".to_owned()),
            ]
        );
        for unknown in [
            "http://127.0.0.1:8090",
            "https://api.example.com",
            "https://genesys.bank.example",
        ] {
            let problem = s3_hosts_of(unknown).unwrap_err();
            assert!(
                problem.starts_with("content.transcript_hosts: must be set"),
                "{unknown}: {problem}"
            );
        }
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

    #[test]
    fn contents_burst_holds_a_whole_e_mail_attempt() {
        let mut s = settings(&[]);
        let n = |v: u32| NonZeroU32::new(v).unwrap();
        assert_eq!(s.burst_of(n(10)), n(22), "20 messages, the details and the listing");
        assert_eq!(s.burst_of(n(1000)), n(500), "the share when larger");
        s.email_max_messages = n(101);
        assert!(s.validate().unwrap_err()[0].starts_with("content.email_max_messages:"));
    }
}
