//! The outbox worker: delivers queued pairings to comm-history-writer (any number of replicas:
//! claims are leased, PostgreSQL claims with `SKIP LOCKED`). The call is idempotent, so a retry
//! after a crash does no harm.

use crate::outbox::{self, Action, Entry};
use crate::settings::OutboxSettings;
use domain::Timestamp;
use secrecy::ExposeSecret;
use serde::Serialize;
use service_kit::database::DbPool;
use service_kit::problem::ApiError;
use service_kit::queue::{QueueSettings, QueueWorker};
use std::time::Duration;
use uuid::Uuid;

/// The outbox's metrics; labels are fixed words.
#[derive(Clone)]
pub struct OutboxMetrics {
    /// Entries waiting (delivered ones are removed), refreshed while the worker runs.
    pub depth: prometheus::IntGauge,
    /// Deliveries by `result` (`delivered`, `failed`).
    pub deliveries: prometheus::IntCounterVec,
}

impl OutboxMetrics {
    pub fn register(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let depth = prometheus::IntGauge::new(
            "ccbridge_pairing_outbox_depth",
            "Pairings waiting to reach comm-history-writer",
        )?;
        let deliveries = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "ccbridge_pairing_outbox_deliveries_total",
                "Outbox deliveries by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(depth.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        Ok(Self { depth, deliveries })
    }
}

pub struct OutboxWorker {
    pool: DbPool,
    http: reqwest_middleware::ClientWithMiddleware,
    assignments_url: String,
    withdrawals_url: String,
    queue: QueueSettings,
    settings: OutboxSettings,
    metrics: OutboxMetrics,
}

/// What comm-history-writer's `POST /internal/customerAssignments` takes: a pairing that came
/// after the interaction's records were written, if any were.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    interaction_id: Uuid,
    customer_id: Uuid,
    source: &'static str,
}

/// What comm-history-writer's `POST /internal/customerWithdrawals` takes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Withdrawal<'a> {
    interaction_id: Uuid,
    customer_id: Uuid,
    withdrawn_by: &'a str,
}

impl OutboxWorker {
    pub fn new(pool: DbPool, settings: OutboxSettings, metrics: OutboxMetrics) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            http: service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?,
            assignments_url: format!(
                "{}/internal/customerAssignments",
                settings.comm_history_url.trim_end_matches('/')
            ),
            withdrawals_url: format!(
                "{}/internal/customerWithdrawals",
                settings.comm_history_url.trim_end_matches('/')
            ),
            queue: settings.queue().map_err(service_kit::configuration::invalid_all)?,
            settings,
            metrics,
        })
    }

    /// Claims the entries due at `now` and delivers them; returns how many were claimed. A
    /// delivered entry goes; one that failed is due again after its backoff.
    pub async fn try_execute_task(&self, now: Timestamp) -> Result<usize, ApiError> {
        let limit = i64::from(self.queue.batch);
        let lease = self.queue.lease;
        let entries = self
            .pool
            .run(move |c| outbox::claim_due(c, now, limit, lease).map_err(ApiError::from))
            .await?;
        let count = entries.len();
        for entry in entries {
            let id = entry.id;
            match self.deliver(&entry).await {
                Ok(()) => {
                    self.metrics.deliveries.with_label_values(&["delivered"]).inc();
                    self.pool
                        .run(move |c| outbox::remove(c, id).map_err(ApiError::from))
                        .await?;
                }
                Err(reason) => {
                    self.metrics.deliveries.with_label_values(&["failed"]).inc();
                    let attempts = u32::try_from(entry.attempts)
                        .map_err(|_| ApiError::Unexpected(anyhow::anyhow!("outbox entry {id}: negative attempts")))?;
                    let delay = self.queue.backoff(attempts);
                    let next = Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + delay)
                        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the retry would fall past year 9999")))?;
                    tracing::warn!(reason = %reason, retry_in_ms = delay.as_millis(), "late pairing not delivered yet");
                    self.pool
                        .run(move |c| outbox::reschedule(c, id, next, reason).map_err(ApiError::from))
                        .await?;
                }
            }
        }
        Ok(count)
    }

    /// Refreshes the depth gauge, and deletes the pairings removed more than
    /// `pairing.removed_retention_days` before `now`, a batch at a time.
    pub async fn housekeeping(&self, now: Timestamp) -> Result<(), ApiError> {
        let depth = self.pool.run(|c| outbox::pending(c).map_err(ApiError::from)).await?;
        self.metrics.depth.set(depth);
        let retention = time::Duration::days(i64::from(self.settings.removed_retention_days));
        let cutoff = Timestamp::from_offset_date_time(now.as_offset_date_time() - retention)
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the retention cutoff falls before year 1")))?;
        let batch = i64::from(self.queue.batch);
        loop {
            let deleted = self
                .pool
                .run(move |c| crate::store::delete_expired_removals(c, cutoff, batch).map_err(ApiError::from))
                .await?;
            if deleted > 0 {
                tracing::info!(deleted, "removed pairings past their retention deleted");
            }
            if i64::try_from(deleted).unwrap_or(i64::MAX) < batch {
                return Ok(());
            }
        }
    }

    async fn deliver(&self, entry: &Entry) -> Result<(), String> {
        let request = match &entry.action {
            Action::Assign => self.http.post(&self.assignments_url).json(&Assignment {
                interaction_id: entry.interaction_id,
                customer_id: entry.customer_id,
                source: "late_pairing",
            }),
            Action::Withdraw { actor } => self.http.post(&self.withdrawals_url).json(&Withdrawal {
                interaction_id: entry.interaction_id,
                customer_id: entry.customer_id,
                withdrawn_by: actor,
            }),
        };
        let response = request
            .bearer_auth(self.settings.internal_token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "comm-history-writer: {}",
                    if e.is_timeout() { "timed out" } else { "unreachable" }
                )
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("comm-history-writer: {}", response.status()))
        }
    }
}

impl QueueWorker for OutboxWorker {
    type Error = ApiError;
    const NAME: &'static str = "pairing outbox";

    fn queue(&self) -> &QueueSettings {
        &self.queue
    }

    fn try_execute_task(&self, now: Timestamp) -> impl std::future::Future<Output = Result<usize, ApiError>> {
        OutboxWorker::try_execute_task(self, now)
    }

    fn housekeeping(&self, now: Timestamp) -> impl std::future::Future<Output = Result<(), ApiError>> {
        OutboxWorker::housekeeping(self, now)
    }
}
