//! `[records]`: how long the history keeps its records and what it needs to answer a retry, and
//! whether a record nobody paired may take its customer from its handle. `[delivery]`: the bank's
//! communication-history-manager, if records go there too.

use domain::Channel;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;
use url::Url;

/// The `[records]` section.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordsSettings {
    pub idempotency_retention_days: u64,
    /// A record written without a customer takes the one customer its handle belongs to (over the
    /// last `auto_assign_window_days`; never a shared handle). Off by default: an inference.
    pub auto_assign_by_handle: bool,
    pub auto_assign_window_days: u64,
    /// The HMAC key of the (interaction, customer) pairs a purged GDPR forget reached
    /// ([`crate::suppression`]): at least 32 characters.
    pub suppression_key: SecretString,
    /// A record is erased this many days after its communication ([`crate::expiry`]), unless a
    /// legal hold or a statutory rule keeps it or a GDPR request holds it.
    pub retention_days: NonZeroU32,
    /// Per channel, in place of `retention_days` (`{ VOICE = 3650, CHAT = 1825 }`).
    #[serde(default)]
    pub retention_days_by_channel: HashMap<Channel, NonZeroU32>,
    /// gdpr-orchestrator, asked for the legal holds in force and the statutory rules before
    /// anything expires.
    pub orchestrator_url: Url,
    /// This service's token there (its caller holds `gdpr:retentions`). Empty: nothing expires
    /// (every round is counted as skipped).
    pub orchestrator_token: SecretString,
}

/// Retention days beyond this are refused: a typo, not a retention (100 years).
const MAX_RETENTION_DAYS: u32 = 36_500;

impl RecordsSettings {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.idempotency_retention_days < 2 {
            problems.push("records.idempotency_retention_days: must be at least 2".to_owned());
        }
        if !(1..=3650).contains(&self.auto_assign_window_days) {
            problems.push("records.auto_assign_window_days: must be 1 to 3650".to_owned());
        }
        if let Err(problem) = crate::suppression::AssignmentKey::new(&self.suppression_key) {
            problems.push(problem);
        }
        let most = format!("must be 1 to {MAX_RETENTION_DAYS}");
        if self.retention_days.get() > MAX_RETENTION_DAYS {
            problems.push(format!("records.retention_days: {most}"));
        }
        for channel in Channel::ALL {
            if self
                .retention_days_by_channel
                .get(&channel)
                .is_some_and(|days| days.get() > MAX_RETENTION_DAYS)
            {
                problems.push(format!("records.retention_days_by_channel.{channel}: {most}"));
            }
        }
        if !matches!(self.orchestrator_url.scheme(), "http" | "https") || self.orchestrator_url.cannot_be_a_base() {
            problems.push("records.orchestrator_url: must be an http(s) URL".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// How long records of `channel` are kept after their communication.
    pub fn retention_of(&self, channel: Channel) -> NonZeroU32 {
        self.retention_days_by_channel
            .get(&channel)
            .copied()
            .unwrap_or(self.retention_days)
    }

    /// The token the expiry asks gdpr-orchestrator with; `None` when not set.
    pub fn orchestrator_token(&self) -> Option<SecretString> {
        given(self.orchestrator_token.expose_secret().to_owned()).map(SecretString::from)
    }

    /// How far back a handle's customer counts, when auto-assignment is on.
    pub fn auto_assign_window(&self) -> Option<Duration> {
        self.auto_assign_by_handle
            .then(|| Duration::from_secs(self.auto_assign_window_days.saturating_mul(86_400)))
    }
}

/// How a later change of a record's customer reaches the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// `PATCH update_url_template` with the record as it now is.
    Patch,
    /// `PUT update_url_template` with the record as it now is.
    Put,
    /// `POST url`: the record as it now is, as a new record naming the first by `supersedes`.
    NewRecord,
}

/// How ccbridge authenticates to the manager (`delivery.bearer_token`, or
/// `delivery.basic_username` with `delivery.basic_password`; neither: none).
#[derive(Debug, Clone)]
pub enum Credentials {
    None,
    Bearer(SecretString),
    Basic { username: String, password: SecretString },
}

/// The `[delivery]` section as written: its texts, parsed into [`DeliverySettings`].
#[derive(serde::Deserialize)]
struct DeliveryKeys {
    url: String,
    bearer_token: SecretString,
    basic_username: String,
    basic_password: SecretString,
    timeout_ms: NonZeroU64,
    update_mode: UpdateMode,
    update_url_template: String,
    external_id_pointer: String,
    worker_enabled: bool,
    ca_bundle: String,
    /// Replaced by `retry_budget` (`"50 attempts"`): refused, so a setting of it is not
    /// silently ignored.
    #[serde(default)]
    max_attempts: Option<serde::de::IgnoredAny>,
}

/// The `[delivery]` section: the bank's communication-history-manager, if records go there too.
/// Its queue's keys (`batch_size`, `poll_interval_ms`, `lease_seconds`, `backoff_min_ms`,
/// `backoff_max_ms`, `retry_budget`, `dead_retention_days`) are read by
/// [`service_kit::queue::Policy::read`].
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "DeliveryKeys")]
pub struct DeliverySettings {
    /// `POST` here every record stored (the integration spec's body); `None` (`url = ""`): no
    /// delivery.
    pub url: Option<Url>,
    pub credentials: Credentials,
    pub timeout_ms: NonZeroU64,
    pub update_mode: UpdateMode,
    /// For `patch`/`put`: the record's URL at the manager, with `{externalId}` (the id the
    /// manager answered the create with) and/or `{recordId}` (ccbridge's).
    pub update_url_template: Option<String>,
    /// Where the manager's answer to a create holds its id (a JSON pointer); `None` (`""`): its
    /// answer holds none.
    pub external_id_pointer: Option<String>,
    pub worker_enabled: bool,
    /// A PEM file of the CA certificates the manager's certificate may chain to, besides the
    /// public (Mozilla) roots: the bank's internal CA. Empty: the public roots only.
    pub ca_bundle: String,
}

/// An empty text is no value: the defaults and the chart write `""` for "not set".
fn given(text: String) -> Option<String> {
    Some(text).filter(|text| !text.trim().is_empty())
}

impl TryFrom<DeliveryKeys> for DeliverySettings {
    type Error = String;

    fn try_from(keys: DeliveryKeys) -> Result<Self, String> {
        if keys.max_attempts.is_some() {
            return Err("delivery.max_attempts: replaced by delivery.retry_budget (e.g. \"50 attempts\")".to_owned());
        }
        let url = given(keys.url)
            .map(|url| Url::parse(&url).map_err(|_| "delivery.url: not a URL".to_owned()))
            .transpose()?;
        let credentials = match (
            given(keys.bearer_token.expose_secret().to_owned()),
            given(keys.basic_username),
        ) {
            (Some(_), Some(_)) => {
                return Err("delivery.bearer_token: set it or delivery.basic_username, not both".to_owned())
            }
            (Some(_), None) => Credentials::Bearer(keys.bearer_token),
            (None, Some(username)) => Credentials::Basic {
                username,
                password: keys.basic_password,
            },
            (None, None) => Credentials::None,
        };
        Ok(Self {
            url,
            credentials,
            timeout_ms: keys.timeout_ms,
            update_mode: keys.update_mode,
            update_url_template: given(keys.update_url_template),
            external_id_pointer: given(keys.external_id_pointer),
            worker_enabled: keys.worker_enabled,
            ca_bundle: keys.ca_bundle,
        })
    }
}

impl DeliverySettings {
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// The CA certificates of `ca_bundle`: at least one, every PEM block a certificate.
    pub fn ca_certificates(&self) -> Result<Vec<reqwest::Certificate>, String> {
        service_kit::tls::ca_bundle("delivery.ca_bundle", &self.ca_bundle)
    }

    /// Outside `development` the manager is reached over https only; `lease` is the delivery
    /// queue's (it must outlast a call).
    pub fn validate(&self, development: bool, lease: Duration) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let is_http = |url: &str| url.starts_with("https://") || (url.starts_with("http://") && development);
        let must_be = if development {
            "an http(s) URL"
        } else {
            "an https URL (http only with application.environment = \"development\")"
        };
        if let Some(url) = &self.url {
            if !is_http(url.as_str()) {
                problems.push(format!("delivery.url: must be {must_be}"));
            }
            if let Err(problem) = self.ca_certificates() {
                problems.push(problem);
            }
            if !(100..=120_000).contains(&self.timeout_ms.get()) {
                problems.push("delivery.timeout_ms: must be 100 to 120000".to_owned());
            }
            // An attempt starts only while its call can end a second before the lease does.
            if lease <= Duration::from_millis(self.timeout_ms.get()) + Duration::from_secs(1) {
                problems
                    .push("delivery.lease_seconds: must outlast delivery.timeout_ms by more than a second".to_owned());
            }
            if self
                .external_id_pointer
                .as_ref()
                .is_some_and(|pointer| !pointer.starts_with('/'))
            {
                problems.push("delivery.external_id_pointer: must be a JSON pointer (/id) or empty".to_owned());
            }
            match self.update_mode {
                UpdateMode::Patch | UpdateMode::Put => match self.update_url_template.as_deref() {
                    Some(template)
                        if is_http(template)
                            && (template.contains("{externalId}") || template.contains("{recordId}")) =>
                    {
                        if template.contains("{externalId}") && self.external_id_pointer.is_none() {
                            problems.push(
                                "delivery.external_id_pointer: must be set when update_url_template names {externalId}"
                                    .to_owned(),
                            );
                        }
                    }
                    _ => problems.push(format!(
                        "delivery.update_url_template: must be {must_be} naming {{externalId}} or {{recordId}}"
                    )),
                },
                UpdateMode::NewRecord => {}
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
    use serde_json::json;

    fn records(by_channel: serde_json::Value) -> Result<RecordsSettings, serde_json::Error> {
        serde_json::from_value(json!({
            "idempotency_retention_days": 30,
            "auto_assign_by_handle": false,
            "auto_assign_window_days": 180,
            "suppression_key": "a-records-suppression-key-of-32-chars-or-more",
            "retention_days": 3650,
            "retention_days_by_channel": by_channel,
            "orchestrator_url": "http://127.0.0.1:8085",
            "orchestrator_token": "",
        }))
    }

    #[test]
    fn a_channels_own_retention_takes_the_place_of_the_default_and_an_unknown_channel_is_refused() {
        let settings = records(json!({ "voice": 1826, "CHAT": 365 })).unwrap();
        assert_eq!(settings.retention_of(Channel::Voice).get(), 1826, "any letter case");
        assert_eq!(settings.retention_of(Channel::Chat).get(), 365);
        assert_eq!(settings.retention_of(Channel::Email).get(), 3650);
        assert!(settings.validate().is_ok());
        assert!(settings.orchestrator_token().is_none(), "empty is not set");
        assert!(records(json!({ "FAX": 30 })).is_err());
        assert!(records(json!({ "VOICE": 0 })).is_err(), "NonZero");
        let problems = records(json!({ "SMS": 36_501 })).unwrap().validate().unwrap_err();
        assert_eq!(problems, ["records.retention_days_by_channel.SMS: must be 1 to 36500"]);
    }

    /// As an environment variable sets it (`APP__RECORDS__RETENTION_DAYS_BY_CHANNEL__VOICE`): one
    /// key a channel, its value a text, over the shipped empty table.
    #[test]
    fn a_channels_retention_is_one_key_over_the_shipped_defaults() {
        let sources = service_kit::configuration::SettingsSources {
            service_defaults: crate::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: [
                ("application.environment", "development"),
                ("auth.callers.bofe.token", "a-token-of-the-back-office-0123456789"),
                ("auth.callers.bofe.scopes", "records:read"),
                ("records.retention_days_by_channel.voice", "1826"),
            ]
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .to_vec(),
        };
        let settings = service_kit::configuration::Settings::load(sources, crate::scopes::ALL_SCOPES).unwrap();
        let records: RecordsSettings = settings.section("records").unwrap();
        assert_eq!(records.retention_of(Channel::Voice).get(), 1826);
        assert_eq!(records.retention_of(Channel::Chat).get(), 3650, "the shipped default");
    }
}
