//! Housekeeping beside the queues (not a queue's worker): idempotency keys past their retention
//! are forgotten, hourly, so the table does not grow forever, and with them the notes of the
//! manager's copies GDPR purges erased ([`crate::gdpr::erased_copies`]: a purge repeated within
//! that retention lists them again); the unassigned records' gauges are refreshed every 30 s.

use crate::store;
use domain::Timestamp;
use service_kit::background::{Health, Shutdown};
use service_kit::database::{DatabaseError, DbPool};
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(3600);

/// Runs until shutdown: forgets keys older than `retention_days`, then sleeps an hour.
pub async fn forget_old_idempotency_keys(pool: DbPool, retention_days: u64, mut shutdown: Shutdown, health: Health) {
    let retention = Duration::from_secs(retention_days * 86_400);
    while !shutdown.is_requested() {
        match forget_once(&pool, Timestamp::now(), retention).await {
            Ok(removed) => {
                health.succeeded();
                if removed > 0 {
                    tracing::info!(removed, "forgot idempotency keys past retention");
                }
            }
            Err(error) => {
                health.failed("forgetting old idempotency keys failed");
                tracing::warn!(error = %error, "forgetting old idempotency keys failed");
            }
        }
        shutdown.sleep(EVERY).await;
    }
}

async fn forget_once(pool: &DbPool, now: Timestamp, retention: Duration) -> anyhow::Result<usize> {
    let before = Timestamp::from_offset_date_time(now.as_offset_date_time() - retention)
        .ok_or_else(|| anyhow::anyhow!("the retention reaches before year 1"))?;
    Ok(pool
        .run(move |c| {
            let keys = store::remove_idempotency_keys_before(c, before)?;
            let notes = crate::gdpr::erased_copies::remove_noted_before(c, before)?;
            Ok::<_, DatabaseError>(keys + notes)
        })
        .await?)
}

const GAUGES_EVERY: Duration = Duration::from_secs(30);

/// Runs until shutdown: how many records have no customer, and how old the oldest is.
pub async fn gauge_unassigned(
    pool: DbPool,
    metrics: std::sync::Arc<crate::metrics::RecordsMetrics>,
    mut shutdown: Shutdown,
    health: Health,
) {
    while !shutdown.is_requested() {
        let depth = pool
            .run(|c| store::unassigned_depth(c).map_err(DatabaseError::from))
            .await;
        match depth {
            Ok((count, oldest)) => {
                health.succeeded();
                metrics.unassigned.set(count);
                let age = oldest.map_or(0, |at| {
                    (Timestamp::now().as_offset_date_time() - at.as_offset_date_time()).whole_seconds()
                });
                metrics.oldest_unassigned_age_seconds.set(age.max(0));
            }
            Err(error) => {
                health.failed("counting unassigned records failed");
                tracing::warn!(error = %error, "counting unassigned records failed");
            }
        }
        shutdown.sleep(GAUGES_EVERY).await;
    }
}
