//! The outbox's job: delivers a queued pairing (or removal) to comm-history-writer. The runner
//! ([`service_kit::queue::Runner`]) does the rest, in any number of replicas: claims are leased
//! (PostgreSQL claims with `SKIP LOCKED`). The call is idempotent, so a retry after a crash does
//! no harm.
//!
//! The bodies are `contracts::history`'s. 2xx with the contract's answer: done (the entry goes).
//! 408, 429, 5xx (at least their `Retry-After`), a timeout or no connection, and 401/403 (our own
//! token, which an operator fixes): retried with backoff until `pairing.retry_budget`, then a
//! dead letter. Any other answer (a 4xx, a 3xx) is a refusal another attempt would get too: a
//! dead letter at once, the status its reason. An operator retries dead letters
//! (`/pairing-outbox`) once the cause is fixed.

use crate::outbox::{Action, Entry, PairingOutbox};
use crate::settings::OutboxSettings;
use contracts::history::{AssignedBy, Assignment, Updated, Withdrawal};
use contracts::{Client, ClientError};
use domain::{BoundedText, Timestamp};
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::{retry_after, Claimed, Job, Outcome, Policy, Reason, Runner};
use std::time::Duration;

/// The outbox's runner.
pub type OutboxRunner = Runner<OutboxJob, PairingOutbox>;

/// Removed pairings past their retention are deleted this many at a statement, at most
/// `REMOVAL_CHUNKS` statements a housekeeping round.
const REMOVAL_CHUNK: i64 = 500;
const REMOVAL_CHUNKS: usize = 20;

pub struct OutboxJob {
    pool: DbPool,
    /// comm-history-writer, with interaction-pairing's token there.
    writer: Client,
    removed_retention: time::Duration,
}

impl OutboxJob {
    pub fn new(pool: DbPool, settings: &OutboxSettings) -> anyhow::Result<Self> {
        let http = service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms.get()))?;
        Ok(Self {
            pool,
            writer: Client::new(http, settings.comm_history_url.clone()).with_token(settings.internal_token.clone()),
            removed_retention: time::Duration::days(i64::from(settings.removed_retention_days.get())),
        })
    }
}

/// What comm-history-writer's failed answer comes to: 408, 429 and 5xx an outage (at least
/// their `Retry-After`); 401 and 403 our own token, which an operator fixes (retried, not dead);
/// any other answer a refusal another attempt would get too.
fn failure(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap) -> Outcome {
    use reqwest::StatusCode;
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Outcome::retry(Reason::status(
            "comm-history-writer refused our token (pairing.internal_token):",
            code,
        )),
        _ if status.is_server_error()
            || matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) =>
        {
            Outcome::Retry {
                reason: Reason::status("comm-history-writer answered", code),
                after: retry_after(headers),
            }
        }
        _ => Outcome::Dead {
            reason: Reason::status("comm-history-writer refused it:", code),
        },
    }
}

impl Job for OutboxJob {
    type Item = Entry;

    async fn run(&self, entry: &Claimed<Entry>, _now: Timestamp) -> anyhow::Result<Outcome> {
        let item = &entry.item;
        let (interaction_id, customer_id) = (item.interaction_id, item.customer_id);
        let request = match &item.action {
            Action::Assign => self.writer.post("/internal/customerAssignments").json(&Assignment {
                interaction_id,
                customer_id,
                source: AssignedBy::LatePairing,
            }),
            Action::Withdraw { actor } => {
                let Some(withdrawn_by) = BoundedText::fitting(actor) else {
                    return Ok(Outcome::Dead {
                        reason: Reason::new("the withdrawal names nobody who removed the pairing"),
                    });
                };
                self.writer.post("/internal/customerWithdrawals").json(&Withdrawal {
                    interaction_id,
                    customer_id,
                    withdrawn_by,
                })
            }
        };
        Ok(match request.send::<Updated>().await {
            Ok(_) => Outcome::Done,
            Err(ClientError::Problem { status, headers, .. } | ClientError::UnexpectedStatus { status, headers }) => {
                failure(status, &headers)
            }
            // A 2xx off the contract is said, not taken for done; a failure's body off the
            // problem contract is judged by its status.
            Err(ClientError::UnexpectedBody { status, .. }) if status.is_success() => Outcome::Dead {
                reason: Reason::new("comm-history-writer answered 2xx with a body off its contract (Updated)"),
            },
            Err(ClientError::UnexpectedBody { status, .. }) => failure(status, &reqwest::header::HeaderMap::new()),
            Err(ClientError::Transport { timeout: true, .. }) => {
                Outcome::retry(Reason::new("comm-history-writer: timed out"))
            }
            Err(ClientError::Transport { timeout: false, .. }) => {
                Outcome::retry(Reason::new("comm-history-writer: unreachable"))
            }
            Err(error @ (ClientError::InvalidPath { .. } | ClientError::InvalidHeader { .. })) => {
                anyhow::bail!("the call to comm-history-writer could not be made: {error}")
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
    use super::failure;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use reqwest::StatusCode;
    use service_kit::queue::Outcome;
    use std::time::Duration;

    fn of(status: u16) -> Outcome {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        failure(StatusCode::from_u16(status).unwrap(), &headers)
    }

    #[test]
    fn an_outage_or_our_own_token_is_retried_and_a_refusal_is_dead() {
        for status in [408, 429, 500, 502, 503, 504] {
            let Outcome::Retry { after, .. } = of(status) else {
                panic!("{status} is retried");
            };
            assert_eq!(after, Some(Duration::from_secs(30)), "{status} honours Retry-After");
        }
        for status in [401, 403] {
            assert!(
                matches!(of(status), Outcome::Retry { .. }),
                "{status}: our token, retried"
            );
        }
        for status in [301, 400, 404, 409, 410, 413, 422, 425] {
            assert!(matches!(of(status), Outcome::Dead { .. }), "{status}");
        }
    }
}
