//! The `[ingest]` section.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::periodic::PeriodicSettings;
use service_kit::queue::{Budget, Policy, PolicyKeys};
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;
use url::Url;

/// The most records comm-history-writer takes in one batch.
pub const MAX_BATCH_SIZE: u32 = 500;

/// Sibling calls one batch makes one after the other at most: the pairings, the names (each
/// event's concurrently), the batch write, the single writes it may fall back to, the late
/// pairings and their assignments. The lease must cover them all, plus one call's worth of
/// margin: a worker starts no write it could not finish inside its lease.
pub const CALL_ROUNDS_PER_BATCH: u64 = 6;

#[derive(Debug, Clone, Deserialize)]
pub struct IngestSettings {
    /// The sibling services' base URLs (http or https).
    pub gateway_url: Url,
    pub pairing_url: Url,
    pub comm_history_url: Url,
    /// Bearer token for the sibling services. Never logged.
    pub internal_token: SecretString,
    pub request_timeout_ms: u64,
    /// Inbox transactions the webhook may have in flight; concurrent requests share them (group
    /// commit). One is fastest on PostgreSQL: while it commits, the next batch gathers. Each is
    /// written by a thread that keeps one of the pool's connections.
    pub accept_transactions: NonZeroUsize,
    /// The most results one inbox transaction holds.
    pub accept_batch_max: NonZeroUsize,
    /// Run the worker and the content queue in this process (tests drive them by hand instead).
    pub worker_enabled: bool,
    // The queue keys every queue has (service_kit::queue::PolicyKeys), as fields of their own:
    // a `#[serde(flatten)]` of PolicyKeys cannot read counts from environment variables (strings).
    pub batch_size: NonZeroU32,
    pub poll_interval_ms: NonZeroU64,
    /// How long a claimed event is held; a worker that dies lets it go after this.
    pub lease_seconds: NonZeroU64,
    pub backoff_min_ms: NonZeroU64,
    pub backoff_max_ms: NonZeroU64,
    /// Transient failures are retried this long or this many times (from acceptance or a manual
    /// retry), then the event is dead: `"24 hours"`, `"50 attempts"`.
    pub retry_budget: Budget,
    /// The key `retry_budget` replaced: refused, so a configuration that still sets it is not
    /// silently given the default budget.
    #[serde(default)]
    retry_budget_hours: Option<serde::de::IgnoredAny>,
    /// Agent and wrap-up code names are kept by the worker this long (0: asked every time).
    pub name_cache_seconds: u64,
    /// Processed events are removed after this many days.
    pub retention_days: NonZeroU32,
    /// Dead events (personal data no record holds) are erased this many days after they died.
    pub dead_retention_days: NonZeroU32,
    /// gdpr-orchestrator, asked for the legal holds in force and the statutory rules before a
    /// processed or dead event past its retention is erased (those they cover are kept).
    pub orchestrator_url: Url,
    /// This service's token there (its caller `result_ingest` holds `gdpr:retentions`). Empty:
    /// nothing past its retention is erased (each round that finds some counted as skipped).
    /// Never logged.
    pub orchestrator_token: SecretString,
    /// A sibling's `Retry-After` is honoured up to this many seconds.
    pub max_retry_after_seconds: u64,
    /// Key of the HMAC that hashes forgotten subjects' identifiers in the suppression list.
    /// Never logged; changing it forgets every suppression.
    pub suppression_key: SecretString,
    /// Run the sweeper in this process (tests drive it by hand instead).
    pub sweep_enabled: bool,
    /// How often the schedule sweeps the conversations since its watermark.
    pub sweep_interval_seconds: u64,
    /// A conversation is swept once it ended this long ago (analytics lags behind the webhook,
    /// and the webhook should have its chance first).
    pub sweep_settle_seconds: u64,
    /// Each scheduled window starts this far before the watermark, for conversations analytics
    /// showed late.
    pub sweep_overlap_seconds: u64,
    /// The most Genesys requests (detail query pages) the sweep spends a minute, of the budget the
    /// name lookups share.
    pub sweep_max_requests_per_minute: u32,
    /// The most operators' sweeps open (pending or running) at once; another is refused (409).
    pub sweep_max_open_operator: u32,
    /// `[ingest.participant_data]`: the Genesys participant attributes that name the customer or
    /// the record's domain (none by default: not read).
    #[serde(default)]
    pub participant_data: crate::participant_data::ParticipantDataSettings,
    /// `[ingest.content]`: which channels' records get what was said or written, and the content
    /// queue's policy (crate::content).
    pub content: crate::content::ContentSettings,
}

/// Reads `[ingest]`, a value that does not parse named by its key (`ingest.batch_size: …`).
pub fn load(settings: &service_kit::configuration::Settings) -> anyhow::Result<IngestSettings> {
    let Keyed(section) = settings.section::<Keyed>("ingest")?;
    Ok(section)
}

/// `[ingest]`, deserialised so that an error names the key's path.
struct Keyed(IngestSettings);

impl<'de> Deserialize<'de> for Keyed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_path_to_error::deserialize(deserializer)
            .map(Keyed)
            .map_err(|e| serde::de::Error::custom(format!("ingest.{}: {}", e.path(), e.inner())))
    }
}

impl IngestSettings {
    /// `pool_size` is `database.max_connections`: the inbox writers keep connections of their own
    /// from that pool, and the worker, the listings and the readiness check need the rest.
    pub fn validate(&self, pool_size: u32) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (key, url) in [
            ("ingest.gateway_url", &self.gateway_url),
            ("ingest.pairing_url", &self.pairing_url),
            ("ingest.comm_history_url", &self.comm_history_url),
            ("ingest.orchestrator_url", &self.orchestrator_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                problems.push(format!("{key}: must be an http(s) URL"));
            }
        }
        if self.internal_token.expose_secret().len() < 16 {
            problems.push("ingest.internal_token: must be set (at least 16 characters)".to_owned());
        }
        if let Err(reason) = crate::suppression::SuppressionKey::new(&self.suppression_key) {
            problems.push(reason);
        } else if self.suppression_key.expose_secret().len() < 32 {
            problems.push("ingest.suppression_key: must be set (at least 32 characters)".to_owned());
        }
        if self.sweep_interval_seconds == 0 {
            problems.push("ingest.sweep_interval_seconds: must be at least 1".to_owned());
        }
        if self.sweep_max_requests_per_minute == 0 {
            problems.push("ingest.sweep_max_requests_per_minute: must be at least 1".to_owned());
        }
        if !(1..=100).contains(&self.sweep_max_open_operator) {
            problems.push("ingest.sweep_max_open_operator: must be 1 to 100".to_owned());
        }
        if self.sweep_enabled
            && self.sweep_settle_seconds.saturating_add(self.sweep_overlap_seconds)
                >= u64::from(self.retention_days.get()) * 86_400
        {
            problems.push(
                "ingest.sweep_settle_seconds: with ingest.sweep_overlap_seconds, must stay within \
                 ingest.retention_days (a result swept after its event was removed would be written again)"
                    .to_owned(),
            );
        }
        if let Err(queue) = self.policy() {
            problems.extend(queue);
        }
        if self.request_timeout_ms == 0 {
            problems.push("ingest.request_timeout_ms: must be at least 1".to_owned());
        }
        if self.accept_transactions.get() >= pool_size as usize {
            problems.push(format!(
                "ingest.accept_transactions: must be below database.max_connections ({pool_size}): \
                 each keeps a connection, and the worker needs one too"
            ));
        }
        if self.accept_batch_max.get() > 1000 {
            problems.push("ingest.accept_batch_max: must be 1 to 1000".to_owned());
        }
        if self.batch_size.get() > MAX_BATCH_SIZE {
            problems.push(format!(
                "ingest.batch_size: at most {MAX_BATCH_SIZE} (comm-history-writer's largest batch)"
            ));
        }
        let worst_batch_ms = (CALL_ROUNDS_PER_BATCH + 1).saturating_mul(self.request_timeout_ms);
        if self.lease_seconds.get().saturating_mul(1000) < worst_batch_ms {
            problems.push(format!(
                "ingest.lease_seconds: must cover the worst case of one batch, {CALL_ROUNDS_PER_BATCH} sibling calls \
                 one after the other and one more as margin ({} s at ingest.request_timeout_ms {})",
                worst_batch_ms.div_ceil(1000),
                self.request_timeout_ms
            ));
        }
        if self.retry_budget_hours.is_some() {
            problems.push(
                "ingest.retry_budget_hours: replaced by ingest.retry_budget (\"24 hours\", \"50 attempts\")".to_owned(),
            );
        }
        if self.max_retry_after_seconds == 0 {
            problems.push("ingest.max_retry_after_seconds: must be at least 1".to_owned());
        }
        problems.extend(self.content.validate(self.request_timeout_ms));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// How the worker works the inbox: service-kit's one queue policy (backoff with jitter, the
    /// budget, dead letters' retention) from the same keys as every queue's.
    pub fn policy(&self) -> Result<Policy, Vec<String>> {
        Policy::from_keys(
            "ingest",
            &PolicyKeys {
                batch_size: self.batch_size,
                poll_interval_ms: self.poll_interval_ms,
                lease_seconds: self.lease_seconds,
                backoff_min_ms: self.backoff_min_ms,
                backoff_max_ms: self.backoff_max_ms,
                retry_budget: self.retry_budget,
                dead_retention_days: Some(self.dead_retention_days),
            },
        )
    }

    /// The sweeper's pace (a periodic task, not a queue): the same batch, poll, lease and
    /// backoff keys.
    pub fn queue(&self) -> Result<PeriodicSettings, Vec<String>> {
        PeriodicSettings::new(
            "ingest",
            self.batch_size.get(),
            self.poll_interval_ms.get(),
            self.lease_seconds.get(),
            self.backoff_min_ms.get(),
            self.backoff_max_ms.get(),
        )
    }

    /// What must be left of a lease to start one more sibling call: the call's timeout, and as
    /// much again as margin for an answer the other side committed late.
    pub fn call_margin(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.saturating_mul(2))
    }

    /// How far back a sweep may reach: processed events are kept `retention_days`, and only
    /// while its event is kept is a result found again known to be written already.
    pub fn sweep_reach(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days.get()) * 86_400)
    }
}
