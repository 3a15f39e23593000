//! `[pairing]`: where late pairings go, how the outbox is worked, the key of erased pairs and how
//! long removed pairings are kept.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::queue::QueueSettings;

/// The `[pairing]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    pub comm_history_url: String,
    pub internal_token: SecretString,
    pub outbox_worker_enabled: bool,
    pub batch_size: u32,
    pub poll_interval_ms: u64,
    pub lease_seconds: u64,
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    /// The HMAC key of the (interaction, customer) pairs a purged GDPR forget erased
    /// ([`crate::suppression`]): at least 32 characters. Never changed once fingerprints exist.
    pub suppression_key: SecretString,
    /// Days a removed pairing (who removed it, when and why) is kept before housekeeping deletes
    /// it: 1 to 3650.
    pub removed_retention_days: u32,
}

impl OutboxSettings {
    /// How the worker works the outbox.
    pub fn queue(&self) -> Result<QueueSettings, Vec<String>> {
        QueueSettings::new(
            "pairing",
            self.batch_size,
            self.poll_interval_ms,
            self.lease_seconds,
            self.backoff_min_ms,
            self.backoff_max_ms,
        )
    }

    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.outbox_worker_enabled {
            if !(self.comm_history_url.starts_with("http://") || self.comm_history_url.starts_with("https://")) {
                problems.push("pairing.comm_history_url: must be an http(s) URL".to_owned());
            }
            if self.internal_token.expose_secret().len() < 16 {
                problems.push(
                    "pairing.internal_token: must be set (at least 16 characters) while the outbox worker runs"
                        .to_owned(),
                );
            }
        }
        if let Err(problem) = crate::suppression::PairingKey::new(&self.suppression_key) {
            problems.push(problem);
        }
        if !(1..=3650).contains(&self.removed_retention_days) {
            problems.push("pairing.removed_retention_days: must be 1 to 3650".to_owned());
        }
        if let Err(queue) = self.queue() {
            problems.extend(queue);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
