//! `[pairing]`: where late pairings go, how the outbox is worked, the key of erased pairs, how
//! long pairings (current and removed) are kept, and where the legal holds that keep them longer
//! are asked for. The outbox's queue keys (`batch_size`, `poll_interval_ms`,
//! `lease_seconds`, `backoff_min_ms`, `backoff_max_ms`, `retry_budget`, `dead_retention_days`)
//! are read by [`service_kit::queue::Policy::read`].

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::num::{NonZeroU32, NonZeroU64};
use url::Url;

/// The `[pairing]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    /// comm-history-writer's base URL.
    pub comm_history_url: Url,
    pub internal_token: SecretString,
    pub outbox_worker_enabled: bool,
    pub request_timeout_ms: NonZeroU64,
    /// The HMAC key of the (interaction, customer) pairs a purged GDPR forget erased
    /// ([`crate::suppression`]): at least 32 characters. Never changed once fingerprints exist.
    pub suppression_key: SecretString,
    /// Days a removed pairing (who removed it, when and why) is kept before housekeeping deletes
    /// it: 1 to 3650.
    pub removed_retention_days: NonZeroU32,
    /// Days a current pairing is kept after it was made, then housekeeping deletes it (unless a
    /// legal hold or a GDPR request keeps it): [`MIN_RETENTION_DAYS`] to 36500.
    pub retention_days: NonZeroU32,
    /// gdpr-orchestrator, asked for the legal holds in force before a pairing, a removed
    /// pairing or a dead letter past its retention is deleted (what a hold covers is kept).
    pub orchestrator_url: Url,
    /// This service's token there (its caller `interaction_pairing` holds `gdpr:retentions`).
    /// Empty: nothing past its retention is deleted (each round that finds some counted as
    /// skipped). Never logged.
    pub orchestrator_token: SecretString,
}

/// The shortest retention of a current pairing: result-ingest attributes a result by its
/// interaction's pairing as long as the result may still arrive (a sweep reaches back
/// `ingest.retention_days`, 7 by default; a dead event may be replayed within
/// `ingest.dead_retention_days`, 30), so a pairing must outlive both.
pub const MIN_RETENTION_DAYS: u32 = 30;

impl OutboxSettings {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.outbox_worker_enabled {
            if !matches!(self.comm_history_url.scheme(), "http" | "https") {
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
        if self.removed_retention_days.get() > 3650 {
            problems.push("pairing.removed_retention_days: must be 1 to 3650".to_owned());
        }
        if !(MIN_RETENTION_DAYS..=36_500).contains(&self.retention_days.get()) {
            problems.push(format!(
                "pairing.retention_days: must be {MIN_RETENTION_DAYS} to 36500 (a pairing must outlive the results that still need it)"
            ));
        }
        if !matches!(self.orchestrator_url.scheme(), "http" | "https") || self.orchestrator_url.cannot_be_a_base() {
            problems.push("pairing.orchestrator_url: must be an http(s) URL".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
