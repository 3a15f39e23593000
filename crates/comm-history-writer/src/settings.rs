//! `[records]`: how long the history keeps what it needs to answer a retry, and whether a record
//! nobody paired may take its customer from its handle. `[delivery]`: the bank's
//! communication-history-manager, if records go there too.

use secrecy::{ExposeSecret, SecretString};
use service_kit::queue::QueueSettings;
use std::time::Duration;

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
}

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
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
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

/// The `[delivery]` section: the bank's communication-history-manager, if records go there too.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DeliverySettings {
    /// `POST` here every record stored (the integration spec's body); empty: no delivery.
    pub url: String,
    /// `Authorization: Bearer …`, or with `basic_username` Basic credentials; neither: none.
    pub bearer_token: SecretString,
    pub basic_username: String,
    pub basic_password: SecretString,
    pub timeout_ms: u64,
    /// Attempts before an entry is a dead letter (refusals, 4xx but 408/425/429, are at once).
    pub max_attempts: u32,
    pub update_mode: UpdateMode,
    /// For `patch`/`put`: the record's URL at the manager, with `{externalId}` (the id the
    /// manager answered the create with) and/or `{recordId}` (ccbridge's).
    pub update_url_template: String,
    /// Where the manager's answer to a create holds its id (a JSON pointer).
    pub external_id_pointer: String,
    pub worker_enabled: bool,
    pub batch_size: u32,
    pub poll_interval_ms: u64,
    pub lease_seconds: u64,
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// A PEM file of the CA certificates the manager's certificate may chain to, besides the
    /// public (Mozilla) roots: the bank's internal CA. Empty: the public roots only.
    pub ca_bundle: String,
}

impl DeliverySettings {
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    pub fn queue(&self) -> Result<QueueSettings, Vec<String>> {
        QueueSettings::new(
            "delivery",
            self.batch_size,
            self.poll_interval_ms,
            self.lease_seconds,
            self.backoff_min_ms,
            self.backoff_max_ms,
        )
    }

    /// The CA certificates of `ca_bundle`: at least one, every PEM block a certificate.
    pub fn ca_certificates(&self) -> Result<Vec<reqwest::Certificate>, String> {
        service_kit::tls::ca_bundle("delivery.ca_bundle", &self.ca_bundle)
    }

    /// Outside `development` the manager is reached over https only.
    pub fn validate(&self, development: bool) -> Result<(), Vec<String>> {
        let mut problems = self.queue().err().unwrap_or_default();
        let is_http = |url: &str| url.starts_with("https://") || (url.starts_with("http://") && development);
        let must_be = if development {
            "an http(s) URL"
        } else {
            "an https URL (http only with application.environment = \"development\")"
        };
        if self.enabled() {
            if !is_http(&self.url) {
                problems.push(format!("delivery.url: must be {must_be}"));
            }
            if let Err(problem) = self.ca_certificates() {
                problems.push(problem);
            }
            if !(100..=120_000).contains(&self.timeout_ms) {
                problems.push("delivery.timeout_ms: must be 100 to 120000".to_owned());
            }
            if self.lease_seconds.saturating_mul(1000) <= self.timeout_ms {
                problems.push("delivery.lease_seconds: must outlast delivery.timeout_ms".to_owned());
            }
            if self.max_attempts == 0 {
                problems.push("delivery.max_attempts: must be at least 1".to_owned());
            }
            if !self.bearer_token.expose_secret().is_empty() && !self.basic_username.is_empty() {
                problems.push("delivery.bearer_token: set it or delivery.basic_username, not both".to_owned());
            }
            if !self.external_id_pointer.is_empty() && !self.external_id_pointer.starts_with('/') {
                problems.push("delivery.external_id_pointer: must be a JSON pointer (/id) or empty".to_owned());
            }
            match self.update_mode {
                UpdateMode::Patch | UpdateMode::Put => {
                    let template = &self.update_url_template;
                    if !is_http(template) || !(template.contains("{externalId}") || template.contains("{recordId}")) {
                        problems.push(format!(
                            "delivery.update_url_template: must be {must_be} naming {{externalId}} or {{recordId}}"
                        ));
                    }
                    if template.contains("{externalId}") && self.external_id_pointer.is_empty() {
                        problems.push(
                            "delivery.external_id_pointer: must be set when update_url_template names {externalId}"
                                .to_owned(),
                        );
                    }
                }
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
