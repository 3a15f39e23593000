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

use crate::gdpr::{assignments_of, of_customer, OutboxRows, PairingRows};
use crate::metrics::PairingMetrics;
use crate::outbox::{Action, Entry, PairingOutbox};
use crate::settings::OutboxSettings;
use crate::store::PairingState;
use contracts::history::{AssignedBy, Assignment, Updated, Withdrawal};
use contracts::{Client, ClientError};
use domain::{BoundedText, Timestamp};
use gdpr_participant::expiry::{RetentionSource, SweepError, Walk};
use service_kit::database::DbPool;
use service_kit::queue::{retry_after, Claimed, Job, Outcome, Policy, Reason, Runner};
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

/// The outbox's runner.
pub type OutboxRunner = Runner<OutboxJob, PairingOutbox>;

/// Pairings past their retention (current or removed) are deleted this many at a statement, at
/// most `REMOVAL_CHUNKS` statements a housekeeping round each, the legal holds asked for before
/// each.
const REMOVAL_CHUNK: i64 = 500;
const REMOVAL_CHUNKS: usize = 20;

pub struct OutboxJob {
    pool: DbPool,
    /// comm-history-writer, with interaction-pairing's token there.
    writer: Client,
    removed_retention: time::Duration,
    retention: time::Duration,
    /// Asked for the legal holds in force before anything past its retention goes.
    retentions: RetentionSource,
    current: Walk<PairingRows>,
    removed: Walk<PairingRows>,
    metrics: PairingMetrics,
}

impl OutboxJob {
    /// The job, its metrics in `registry`.
    pub fn new(pool: DbPool, settings: &OutboxSettings, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let http = service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms.get()))?;
        Ok(Self {
            pool,
            writer: Client::new(http, settings.comm_history_url.clone()).with_token(settings.internal_token.clone()),
            removed_retention: time::Duration::days(i64::from(settings.removed_retention_days.get())),
            retention: time::Duration::days(i64::from(settings.retention_days.get())),
            retentions: RetentionSource::new(
                &settings.orchestrator_url,
                &settings.orchestrator_token,
                "pairing.orchestrator_token",
            )?,
            current: Walk::new(REMOVAL_CHUNK, REMOVAL_CHUNKS),
            removed: Walk::new(REMOVAL_CHUNK, REMOVAL_CHUNKS),
            metrics: PairingMetrics::register(registry)?,
        })
    }

    /// Deletes the pairings in `state` past `retention` at `now` but those a legal hold covers;
    /// answers whether the orchestrator could be asked whenever it had to be.
    async fn expire(&self, state: PairingState, retention: time::Duration, now: Timestamp) -> anyhow::Result<bool> {
        let cutoff = Timestamp::from_offset_date_time(now.as_offset_date_time() - retention)
            .ok_or_else(|| anyhow::anyhow!("the retention cutoff falls before year 1"))?;
        let walk = match state {
            PairingState::Current => &self.current,
            PairingState::Removed => &self.removed,
        };
        let round = walk
            .round(
                &self.pool,
                &self.retentions,
                now,
                move |c, after, batch| crate::store::expired(c, state, cutoff, after, batch),
                of_customer,
                move |c, ids| crate::store::delete_expired(c, state, ids, cutoff),
            )
            .await;
        let (swept, asked) = match round {
            Ok(swept) => (swept, true),
            Err(SweepError::Unasked { done }) => (done, false),
            Err(SweepError::Database(error)) => return Err(error.into()),
        };
        self.metrics
            .expired
            .with_label_values(&[state.as_str()])
            .inc_by(swept.expired);
        if swept.expired > 0 || swept.kept > 0 {
            tracing::info!(
                state = state.as_str(),
                deleted = swept.expired,
                kept = swept.kept,
                "pairings past their retention deleted"
            );
        }
        Ok(asked)
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

    /// Deletes the pairings past their retention (current ones `pairing.retention_days` after
    /// they were made, removed ones `pairing.removed_retention_days` after their removal), a batch
    /// at a time, but those a legal hold keeps (or a GDPR request holds).
    async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        // A round that could not ask for the holds stops there, counted once.
        let asked = self.expire(PairingState::Removed, self.removed_retention, now).await?
            && self.expire(PairingState::Current, self.retention, now).await?;
        if !asked {
            self.metrics.expiry_skipped.inc();
        }
        Ok(())
    }

    /// Of the outbox's dead letters past `pairing.dead_retention_days`, those a legal hold covers;
    /// `None` (counted as a skipped round) when the orchestrator cannot be asked.
    async fn keep_dead(&self, ids: &[Uuid], now: Timestamp) -> anyhow::Result<Option<BTreeSet<Uuid>>> {
        let kept = self
            .retentions
            .keep::<OutboxRows>(&self.pool, ids, now, assignments_of)
            .await?;
        if kept.is_none() {
            self.metrics.expiry_skipped.inc();
        }
        Ok(kept)
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
        OutboxJob::new(pool, &outbox, registry)?,
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
