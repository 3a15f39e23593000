//! The outbox: every pairing is also queued, in the same transaction, for comm-history-writer,
//! which gives the interaction's records without a customer this one. A worker drains it (any
//! number of replicas: claims are leased, PostgreSQL claims with `SKIP LOCKED`); the call is
//! idempotent, so a retry after a crash does no harm.

use crate::schema::pairing_outbox::{self, dsl};
use diesel::prelude::*;
use domain::{SupportInteraction, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{AnyConnection, DbPool};
use service_kit::problem::ApiError;
use std::time::Duration;
use uuid::Uuid;

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
}

impl OutboxSettings {
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
        if self.batch_size == 0 || self.poll_interval_ms == 0 || self.lease_seconds == 0 || self.backoff_min_ms == 0 {
            problems.push(
                "pairing: batch_size, poll_interval_ms, lease_seconds and backoff_min_ms must be at least 1".to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Queues the pairing; call inside the pairing's transaction.
pub fn enqueue(connection: &mut AnyConnection, pairing: &SupportInteraction, now: Timestamp) -> QueryResult<()> {
    diesel::insert_into(pairing_outbox::table)
        .values((
            dsl::id.eq(DbUuid(Uuid::now_v7())),
            dsl::interaction_id.eq(DbUuid::from(pairing.interaction_id)),
            dsl::customer_id.eq(DbUuid::from(pairing.customer_id)),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
            dsl::created_at.eq(DbTimestamp::from(now)),
        ))
        .execute(connection)
        .map(drop)
}

pub struct Entry {
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub customer_id: Uuid,
    pub attempts: i32,
}

/// Claims up to `limit` due entries for `lease`.
pub fn claim_due(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Entry>> {
    let now_db = DbTimestamp::from(now);
    let lease_until = DbTimestamp(now.as_offset_date_time() + lease);
    let ids = service_kit::database::claim_due_ids(
        connection,
        |c| {
            // A GDPR forget holds its subject's assignments back until undone or purged.
            let due = || {
                dsl::pairing_outbox
                    .filter(dsl::next_attempt_at.le(now_db).and(dsl::forgotten_by.is_null()))
                    .order(dsl::next_attempt_at)
                    .limit(limit)
                    .select(dsl::id)
            };
            match c {
                AnyConnection::Postgresql(pg) => due().for_update().skip_locked().load(pg),
                AnyConnection::Sqlite(sqlite) => due().load(sqlite),
            }
        },
        |c, ids| {
            diesel::update(dsl::pairing_outbox.filter(dsl::id.eq_any(ids)))
                .set((
                    dsl::next_attempt_at.eq(lease_until),
                    dsl::attempts.eq(dsl::attempts + 1),
                ))
                .execute(c)
        },
    )?;
    let rows: Vec<(DbUuid, DbUuid, DbUuid, i32)> = dsl::pairing_outbox
        .filter(dsl::id.eq_any(&ids))
        .select((dsl::id, dsl::interaction_id, dsl::customer_id, dsl::attempts))
        .load(connection)?;
    Ok(rows
        .into_iter()
        .map(|(id, interaction_id, customer_id, attempts)| Entry {
            id: id.0,
            interaction_id: interaction_id.0,
            customer_id: customer_id.0,
            attempts,
        })
        .collect())
}

pub fn pending(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::pairing_outbox.count().get_result(connection)
}

/// Drains the outbox into comm-history-writer.
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
    settings: OutboxSettings,
    metrics: OutboxMetrics,
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
            settings,
            metrics,
        })
    }

    /// Claims one batch and delivers it; returns how many entries were claimed.
    pub async fn try_execute_task(&self) -> Result<usize, ApiError> {
        let limit = i64::from(self.settings.batch_size);
        let lease = Duration::from_secs(self.settings.lease_seconds);
        let entries = self
            .pool
            .run(move |c| claim_due(c, Timestamp::now(), limit, lease).map_err(ApiError::from))
            .await?;
        let count = entries.len();
        for entry in entries {
            let outcome = self.deliver(&entry).await;
            let id = DbUuid(entry.id);
            match outcome {
                Ok(()) => {
                    self.metrics.deliveries.with_label_values(&["delivered"]).inc();
                    self.pool
                        .run(move |c| {
                            diesel::delete(dsl::pairing_outbox.find(id))
                                .execute(c)
                                .map(drop)
                                .map_err(ApiError::from)
                        })
                        .await?;
                }
                Err(reason) => {
                    self.metrics.deliveries.with_label_values(&["failed"]).inc();
                    let exponent = u32::try_from(entry.attempts.max(1) - 1).unwrap_or(0).min(20);
                    let delay = self
                        .settings
                        .backoff_min_ms
                        .saturating_mul(1 << exponent)
                        .min(self.settings.backoff_max_ms);
                    let next = Timestamp::from_offset_date_time(
                        Timestamp::now().as_offset_date_time() + Duration::from_millis(delay),
                    )
                    .unwrap_or_else(Timestamp::now);
                    tracing::warn!(reason = %reason, retry_in_ms = delay, "late pairing not delivered yet");
                    self.pool
                        .run(move |c| {
                            diesel::update(dsl::pairing_outbox.find(id))
                                .set((
                                    dsl::next_attempt_at.eq(DbTimestamp::from(next)),
                                    dsl::last_error.eq(Some(reason)),
                                ))
                                .execute(c)
                                .map(drop)
                                .map_err(ApiError::from)
                        })
                        .await?;
                }
            }
        }
        Ok(count)
    }

    async fn deliver(&self, entry: &Entry) -> Result<(), String> {
        let body = serde_json::json!({ "interactionId": entry.interaction_id, "customerId": entry.customer_id });
        let response = self
            .http
            .post(&self.assignments_url)
            .bearer_auth(self.settings.internal_token.expose_secret())
            .json(&body)
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

    /// Runs until shutdown is requested; a batch in hand is finished first. A delivery that
    /// fails is the entry's to retry; only the worker's own failures (its database) count against
    /// its health.
    pub async fn run(self, mut shutdown: service_kit::background::Shutdown, health: service_kit::background::Health) {
        let idle = Duration::from_millis(self.settings.poll_interval_ms);
        while !shutdown.is_requested() {
            match self.try_execute_task().await {
                Ok(0) => {
                    match self.pool.run(|c| pending(c).map_err(ApiError::from)).await {
                        Ok(depth) => {
                            self.metrics.depth.set(depth);
                            health.succeeded();
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "counting the pairing outbox failed");
                            health.failed("counting the outbox failed");
                        }
                    }
                    shutdown.sleep(idle).await;
                }
                Ok(_) => health.succeeded(),
                Err(error) => {
                    tracing::warn!(error = %error, "draining the pairing outbox failed");
                    health.failed("draining the outbox failed");
                    shutdown.sleep(idle.max(Duration::from_secs(1))).await;
                }
            }
        }
    }
}
