//! The one runner of every queue: claim → run → settle, dead letters, retention, metrics, health.

use super::metrics::QueueMetrics;
use super::policy::Policy;
use super::{Claimed, Job, Outcome, Reason, Settle, Settlement, Storage};
use crate::background::{Health, Shutdown};
use crate::database::{DatabaseError, DbPool};
use domain::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// How often the runner's housekeeping (gauges, dead-letter retention, the job's own) runs.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(15);

/// Dead letters deleted a statement, at most `RETENTION_CHUNKS` statements a housekeeping round.
const RETENTION_CHUNK: i64 = 500;
const RETENTION_CHUNKS: usize = 20;

/// What passes did: entries claimed, and how each was settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
    pub postponed: usize,
    /// Entries whose run failed on this service's side: left to their lease.
    pub failed: usize,
    /// Settlements refused because the lease had run out (another replica claimed them since).
    pub lost_leases: usize,
}

impl Drained {
    fn add(&mut self, other: Self) {
        self.claimed += other.claimed;
        self.done += other.done;
        self.retried += other.retried;
        self.dead += other.dead;
        self.postponed += other.postponed;
        self.failed += other.failed;
        self.lost_leases += other.lost_leases;
    }
}

/// Works one queue: `job` runs the entries `storage` holds, as `policy` says.
pub struct Runner<J, S> {
    pool: DbPool,
    job: J,
    storage: Arc<S>,
    policy: Policy,
    metrics: QueueMetrics,
}

impl<J, S> Runner<J, S>
where
    J: Job,
    S: Storage<Item = J::Item>,
{
    /// Registers the queue's metrics in `registry`.
    pub fn new(
        pool: DbPool,
        job: J,
        storage: S,
        policy: Policy,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            job,
            storage: Arc::new(storage),
            policy,
            metrics: QueueMetrics::register(registry, S::QUEUE)?,
        })
    }

    pub const fn policy(&self) -> &Policy {
        &self.policy
    }

    pub const fn job(&self) -> &J {
        &self.job
    }

    pub const fn metrics(&self) -> &QueueMetrics {
        &self.metrics
    }

    /// One pass at `now`: claims a batch of due entries, runs them (concurrently), settles them.
    pub async fn pass(&self, now: Timestamp) -> anyhow::Result<Drained> {
        let limit = i64::from(self.policy.batch.get());
        let lease_until = Policy::later(now, self.policy.lease)?;
        let storage = self.storage.clone();
        let claimed = self
            .pool
            .run(move |c| storage.claim(c, now, limit, lease_until).map_err(DatabaseError::from))
            .await?;
        let mut drained = Drained {
            claimed: claimed.len(),
            ..Drained::default()
        };
        if claimed.is_empty() {
            return Ok(drained);
        }
        let outcomes = futures_util::future::join_all(claimed.iter().map(|entry| self.job.run(entry, now))).await;
        let mut settlements = Vec::with_capacity(claimed.len());
        for (entry, outcome) in claimed.iter().zip(outcomes) {
            match outcome {
                Ok(outcome) => {
                    let settle = self.settle(entry, outcome, now)?;
                    let (count, label) = match &settle {
                        Settle::Done => (&mut drained.done, "done"),
                        Settle::Retry { .. } => (&mut drained.retried, "retry"),
                        Settle::Dead { .. } => (&mut drained.dead, "dead"),
                        Settle::Postpone { .. } => (&mut drained.postponed, "postponed"),
                    };
                    *count += 1;
                    self.metrics.settled.with_label_values(&[label]).inc();
                    settlements.push(Settlement {
                        id: entry.id,
                        lease_until: entry.lease_until,
                        settle,
                        settled_at: now,
                    });
                }
                Err(error) => {
                    drained.failed += 1;
                    tracing::warn!(queue = S::QUEUE, entry_id = %entry.id, error = %error, "running a queue entry failed on this side; left to its lease");
                }
            }
        }
        let storage = self.storage.clone();
        let count = settlements.len();
        let settled = self
            .pool
            .run(move |c| storage.settle(c, &settlements).map_err(DatabaseError::from))
            .await?;
        drained.lost_leases = count.saturating_sub(settled);
        if drained.lost_leases > 0 {
            tracing::warn!(
                queue = S::QUEUE,
                lost = drained.lost_leases,
                "leases ran out before their entries were settled"
            );
        }
        if drained.failed > 0 {
            anyhow::bail!("{} of the queue's entries failed on this side", drained.failed);
        }
        Ok(drained)
    }

    /// What an entry's outcome comes to under the policy: a retry past the budget is dead.
    fn settle(&self, entry: &Claimed<J::Item>, outcome: Outcome, now: Timestamp) -> anyhow::Result<Settle> {
        Ok(match outcome {
            Outcome::Done => Settle::Done,
            Outcome::Dead { reason } => {
                tracing::warn!(queue = S::QUEUE, entry_id = %entry.id, reason = %reason, "a dead letter");
                Settle::Dead { reason }
            }
            Outcome::Retry { reason, after } => {
                let attempts = entry.attempts;
                if self.policy.budget.allows_another(attempts.get(), entry.since, now) {
                    let delay = self.policy.backoff.delay(attempts).max(after.unwrap_or_default());
                    tracing::info!(queue = S::QUEUE, entry_id = %entry.id, reason = %reason, retry_in_ms = delay.as_millis(), "a queue entry to retry");
                    Settle::Retry {
                        at: Policy::later(now, delay)?,
                        reason,
                    }
                } else {
                    let reason: Reason = reason.after(&self.policy.budget.spent(attempts.get()));
                    tracing::warn!(queue = S::QUEUE, entry_id = %entry.id, reason = %reason, "out of its budget: a dead letter");
                    Settle::Dead { reason }
                }
            }
            Outcome::Postpone { after } => Settle::Postpone {
                at: Policy::later(now, after)?,
            },
        })
    }

    /// Passes at `now` until nothing more is due then, then the housekeeping at `now`: what a
    /// test calls instead of sleeping (move `now` on to reach a retry).
    pub async fn drain(&self, now: Timestamp) -> anyhow::Result<Drained> {
        let mut drained = Drained::default();
        loop {
            let pass = self.pass(now).await?;
            drained.add(pass);
            // Postponed entries would come back at once (after zero): a pass that only postponed
            // ends the drain.
            if pass.claimed == 0 || pass.claimed == pass.postponed {
                break;
            }
        }
        self.housekeeping(now).await?;
        Ok(drained)
    }

    /// The gauges, dead letters past their retention, then the job's own housekeeping.
    pub async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        let storage = self.storage.clone();
        let depth = self
            .pool
            .run(move |c| storage.depth(c).map_err(DatabaseError::from))
            .await?;
        self.metrics.depth.set(depth.pending);
        self.metrics.dead.set(depth.dead);
        let age = depth.oldest_pending.map_or(0, |at| {
            (now.as_offset_date_time() - at.as_offset_date_time()).whole_seconds()
        });
        self.metrics.oldest_pending_age_seconds.set(age.max(0));
        if let Some(retention) = self.policy.dead_retention {
            let before = Policy::earlier(now, retention)?;
            for _ in 0..RETENTION_CHUNKS {
                let storage = self.storage.clone();
                let deleted = self
                    .pool
                    .run(move |c| {
                        storage
                            .delete_dead_before(c, before, RETENTION_CHUNK)
                            .map_err(DatabaseError::from)
                    })
                    .await?;
                if deleted > 0 {
                    self.metrics.dead_deleted.inc_by(deleted as u64);
                    tracing::info!(queue = S::QUEUE, deleted, "dead letters past their retention deleted");
                }
                if i64::try_from(deleted).unwrap_or(i64::MAX) < RETENTION_CHUNK {
                    break;
                }
            }
        }
        self.job.housekeeping(now).await
    }

    /// Works the queue until shutdown is requested (a pass in hand is finished first): passes
    /// while there is work, a poll interval's sleep when there is none, housekeeping every 15
    /// seconds. A failing pass or housekeeping counts against the task's health (and is logged);
    /// an entry that fails is the queue's to retry, not the task's failure.
    pub async fn run(self, mut shutdown: Shutdown, health: Health) {
        let idle = self.policy.poll_interval;
        let mut last_housekeeping: Option<tokio::time::Instant> = None;
        while !shutdown.is_requested() {
            let now = Timestamp::now();
            let pass = self.pass(now).await;
            let mut housekept = Ok(());
            if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING_EVERY) {
                housekept = self.housekeeping(now).await;
                last_housekeeping = Some(tokio::time::Instant::now());
            }
            if let Err(error) = &housekept {
                tracing::warn!(queue = S::QUEUE, error = %error, "queue housekeeping failed");
                health.failed("housekeeping failed");
            }
            match pass {
                Ok(drained) => {
                    if housekept.is_ok() {
                        health.succeeded();
                    }
                    if drained.claimed == 0 || drained.claimed == drained.postponed {
                        shutdown.sleep(idle).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(queue = S::QUEUE, error = %error, "a queue pass failed");
                    health.failed("a pass failed");
                    shutdown.sleep(idle.max(Duration::from_secs(1))).await;
                }
            }
        }
    }
}
