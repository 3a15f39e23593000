//! The outbox's job: delivers a queued pairing (or removal) to comm-history-writer. The runner
//! ([`service_kit::queue::Runner`]) does the rest, in any number of replicas: claims are leased
//! (PostgreSQL claims with `SKIP LOCKED`). The call is idempotent, so a retry after a crash does
//! no harm.
//!
//! 2xx: done (the entry goes). 408, 429, 5xx, a timeout or no connection: retried with backoff
//! until `pairing.retry_budget`, then a dead letter. Any other answer (a 4xx, a 3xx) is a
//! refusal another attempt would get too: a dead letter at once, the status its reason. An
//! operator retries dead letters (`/pairing-outbox`) once the cause is fixed.

use crate::outbox::{Action, Entry, PairingOutbox};
use crate::settings::OutboxSettings;
use domain::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::{Claimed, Job, Outcome, Policy, Reason, Runner};
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// The outbox's runner.
pub type OutboxRunner = Runner<OutboxJob, PairingOutbox>;

/// Removed pairings past their retention are deleted this many at a statement, at most
/// `REMOVAL_CHUNKS` statements a housekeeping round.
const REMOVAL_CHUNK: i64 = 500;
const REMOVAL_CHUNKS: usize = 20;

pub struct OutboxJob {
    pool: DbPool,
    http: reqwest_middleware::ClientWithMiddleware,
    assignments_url: Url,
    withdrawals_url: Url,
    token: SecretString,
    removed_retention: time::Duration,
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

impl OutboxJob {
    pub fn new(pool: DbPool, settings: &OutboxSettings) -> anyhow::Result<Self> {
        let url = |path| {
            settings
                .comm_history(path)
                .map_err(|problem| service_kit::configuration::invalid(&problem))
        };
        Ok(Self {
            pool,
            http: service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms.get()))?,
            assignments_url: url("internal/customerAssignments")?,
            withdrawals_url: url("internal/customerWithdrawals")?,
            token: settings.internal_token.clone(),
            removed_retention: time::Duration::days(i64::from(settings.removed_retention_days.get())),
        })
    }
}

/// A status worth another attempt: comm-history-writer is slow, busy or failing, not refusing.
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            reqwest::StatusCode::REQUEST_TIMEOUT | reqwest::StatusCode::TOO_MANY_REQUESTS
        )
}

impl Job for OutboxJob {
    type Item = Entry;

    async fn run(&self, entry: &Claimed<Entry>, _now: Timestamp) -> anyhow::Result<Outcome> {
        let item = &entry.item;
        let request = match &item.action {
            Action::Assign => self.http.post(self.assignments_url.clone()).json(&Assignment {
                interaction_id: item.interaction_id,
                customer_id: item.customer_id,
                source: "late_pairing",
            }),
            Action::Withdraw { actor } => self.http.post(self.withdrawals_url.clone()).json(&Withdrawal {
                interaction_id: item.interaction_id,
                customer_id: item.customer_id,
                withdrawn_by: actor,
            }),
        };
        let response = match request.bearer_auth(self.token.expose_secret()).send().await {
            Ok(response) => response,
            Err(error) => {
                let reason = if error.is_timeout() {
                    Reason::new("comm-history-writer: timed out")
                } else {
                    Reason::new("comm-history-writer: unreachable")
                };
                return Ok(Outcome::retry(reason));
            }
        };
        let status = response.status();
        Ok(if status.is_success() {
            Outcome::Done
        } else if retryable(status) {
            Outcome::retry(Reason::status("comm-history-writer answered", status.as_u16()))
        } else {
            Outcome::Dead {
                reason: Reason::status("comm-history-writer refused it:", status.as_u16()),
            }
        })
    }

    /// Deletes the pairings removed more than `pairing.removed_retention_days` before `now`, a
    /// batch at a time.
    async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        let cutoff = Timestamp::from_offset_date_time(now.as_offset_date_time() - self.removed_retention)
            .ok_or_else(|| anyhow::anyhow!("the retention cutoff falls before year 1"))?;
        for _ in 0..REMOVAL_CHUNKS {
            let deleted = self
                .pool
                .run(move |c| {
                    crate::store::delete_expired_removals(c, cutoff, REMOVAL_CHUNK).map_err(DatabaseError::from)
                })
                .await?;
            if deleted > 0 {
                tracing::info!(deleted, "removed pairings past their retention deleted");
            }
            if i64::try_from(deleted).unwrap_or(i64::MAX) < REMOVAL_CHUNK {
                break;
            }
        }
        Ok(())
    }
}

/// The outbox's runner as the service starts it (and tests build it, to `drain(now)`):
/// `[pairing]`'s settings and queue keys, metrics in `registry`.
pub fn runner(
    pool: DbPool,
    settings: &service_kit::configuration::Settings,
    registry: &prometheus::Registry,
) -> anyhow::Result<OutboxRunner> {
    let outbox = crate::outbox_settings(settings)?;
    let policy = Policy::read(settings, "pairing")?;
    Runner::new(
        pool.clone(),
        OutboxJob::new(pool, &outbox)?,
        PairingOutbox,
        policy,
        registry,
    )
}

#[cfg(test)]
mod tests {
    use super::retryable;
    use reqwest::StatusCode;

    #[test]
    fn only_a_slow_busy_or_failing_writer_is_retried() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [301, 400, 401, 403, 404, 409, 410, 413, 422, 425] {
            assert!(!retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }
}
