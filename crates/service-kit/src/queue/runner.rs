//! The one runner of every queue: claim → run → settle, dead letters, retention, metrics, health.

use super::metrics::QueueMetrics;
use super::policy::Policy;
use super::{Claim, Claimed, Job, Outcome, Reason, Settle, Settlement, Storage};
use crate::background::{Health, Shutdown};
use crate::database::{DatabaseError, DbPool};
use domain::Timestamp;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use uuid::Uuid;

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
    /// Where the walk of dead letters past their retention stopped ([`Storage::expired_dead`]):
    /// the next round goes on after it, so letters a job keeps (the oldest) never stall the rest.
    dead_cursor: Mutex<Option<(Timestamp, Uuid)>>,
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
            dead_cursor: Mutex::new(None),
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
            .run(move |c| {
                let claim = Claim {
                    now,
                    limit,
                    lease_until,
                };
                storage.claim(c, claim).map_err(DatabaseError::from)
            })
            .await?;
        let mut drained = Drained {
            claimed: claimed.len(),
            ..Drained::default()
        };
        if claimed.is_empty() {
            return Ok(drained);
        }
        let outcomes = self.job.run_batch(&claimed, now).await;
        if outcomes.len() != claimed.len() {
            anyhow::bail!(
                "the queue's job answered {} outcomes for {} entries; left to their lease",
                outcomes.len(),
                claimed.len()
            );
        }
        // Settled by outcome (one call a kind; a pass's entries are mostly of one), so what is
        // counted is what was applied: a settlement refused for a lost lease counts as lost.
        let mut by_outcome: [(&'static str, Vec<Settlement>); 4] = [
            ("done", Vec::new()),
            ("retry", Vec::new()),
            ("dead", Vec::new()),
            ("postponed", Vec::new()),
        ];
        for (entry, outcome) in claimed.iter().zip(outcomes) {
            match outcome {
                Ok(outcome) => {
                    let result = match outcome {
                        Outcome::DoneWith { result } => Some(result),
                        _ => None,
                    };
                    let settle = self.settle(entry, outcome, now)?;
                    let kind = match &settle {
                        Settle::Done => 0,
                        Settle::Retry { .. } => 1,
                        Settle::Dead { .. } => 2,
                        Settle::Postpone { .. } => 3,
                    };
                    by_outcome[kind].1.push(Settlement {
                        id: entry.id,
                        lease_until: entry.lease_until,
                        settle,
                        settled_at: now,
                        result,
                    });
                }
                Err(error) => {
                    drained.failed += 1;
                    tracing::warn!(queue = S::QUEUE, entry_id = %entry.id, error = %error, "running a queue entry failed on this side; left to its lease");
                }
            }
        }
        let storage = self.storage.clone();
        let applied = self
            .pool
            .run(move |c| {
                by_outcome
                    .into_iter()
                    .filter(|(_, settlements)| !settlements.is_empty())
                    .map(|(label, settlements)| {
                        let settled = storage.settle(c, &settlements)?;
                        Ok((label, settlements.len(), settled))
                    })
                    .collect::<Result<Vec<_>, DatabaseError>>()
            })
            .await?;
        for (label, sent, settled) in applied {
            self.metrics.settled.with_label_values(&[label]).inc_by(settled as u64);
            let count = match label {
                "done" => &mut drained.done,
                "retry" => &mut drained.retried,
                "dead" => &mut drained.dead,
                _ => &mut drained.postponed,
            };
            *count += settled;
            drained.lost_leases += sent.saturating_sub(settled);
        }
        if drained.lost_leases > 0 {
            self.metrics.lost_leases.inc_by(drained.lost_leases as u64);
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
            Outcome::Done | Outcome::DoneWith { .. } => Settle::Done,
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
        self.metrics.parked.set(depth.parked);
        let age = depth.oldest_pending.map_or(0, |at| {
            (now.as_offset_date_time() - at.as_offset_date_time()).whole_seconds()
        });
        self.metrics.oldest_pending_age_seconds.set(age.max(0));
        if let Some(retention) = self.policy.dead_retention {
            self.expire_dead(Policy::earlier(now, retention)?, now).await?;
        }
        self.job.housekeeping(now).await
    }

    /// Deletes dead letters that died before `before`, [`RETENTION_CHUNK`] at a statement, at most
    /// [`RETENTION_CHUNKS`] statements: those the storage lists ([`Storage::expired_dead`]) but
    /// what the job keeps ([`Job::keep_dead`]), asked again before each chunk; otherwise the
    /// storage's own [`Storage::delete_dead_before`].
    async fn expire_dead(&self, before: Timestamp, now: Timestamp) -> anyhow::Result<()> {
        let full = |n: usize| i64::try_from(n).unwrap_or(i64::MAX) >= RETENTION_CHUNK;
        for _ in 0..RETENTION_CHUNKS {
            let after = *self.dead_cursor.lock().unwrap_or_else(PoisonError::into_inner);
            let storage = self.storage.clone();
            let listed = self
                .pool
                .run(move |c| {
                    storage
                        .expired_dead(c, before, after, RETENTION_CHUNK)
                        .map_err(DatabaseError::from)
                })
                .await?;
            let storage = self.storage.clone();
            let (deleted, more) = match listed {
                None => {
                    let deleted = self
                        .pool
                        .run(move |c| {
                            storage
                                .delete_dead_before(c, before, RETENTION_CHUNK)
                                .map_err(DatabaseError::from)
                        })
                        .await?;
                    (deleted, full(deleted))
                }
                Some(listed) => {
                    // Where the next chunk starts; none: the walk reached the end, and the next
                    // round starts again from the oldest.
                    let last = full(listed.len()).then(|| listed.last().copied()).flatten();
                    let ids: Vec<Uuid> = listed.into_iter().map(|(_, id)| id).collect();
                    let deleted = if ids.is_empty() {
                        0
                    } else {
                        let Some(kept) = self.job.keep_dead(&ids, now).await? else {
                            tracing::warn!(
                                queue = S::QUEUE,
                                "dead letters past their retention not deleted this round: what keeps them is not known"
                            );
                            return Ok(());
                        };
                        self.metrics.dead_kept.inc_by(kept.len() as u64);
                        let expire: Vec<Uuid> = ids.into_iter().filter(|id| !kept.contains(id)).collect();
                        self.pool
                            .run(move |c| storage.delete_dead(c, &expire, before).map_err(DatabaseError::from))
                            .await?
                    };
                    *self.dead_cursor.lock().unwrap_or_else(PoisonError::into_inner) = last;
                    (deleted, last.is_some())
                }
            };
            if deleted > 0 {
                self.metrics.dead_deleted.inc_by(deleted as u64);
                tracing::info!(queue = S::QUEUE, deleted, "dead letters past their retention deleted");
            }
            if !more {
                break;
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::{AnyConnection, DatabaseSettings, DatabaseUrl};
    use crate::queue::{Budget, Depth, Page, Policy, Status, Summary};
    use diesel::QueryResult;
    use std::collections::BTreeSet;
    use std::num::NonZeroU32;
    use std::sync::{Mutex, PoisonError};
    use uuid::Uuid;

    /// An entry of the in-memory queue.
    #[derive(Debug, Clone)]
    struct Row {
        id: Uuid,
        attempts: u32,
        since: Timestamp,
        next: Timestamp,
        dead: Option<(Timestamp, String)>,
        done: bool,
    }

    /// A queue kept in memory (the connection is not used): what the runner asks of a table.
    /// With `lists`, it lists its dead letters past their retention for the job to keep some.
    #[derive(Default)]
    struct Memory(Arc<Mutex<Vec<Row>>>, bool);

    impl Memory {
        fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl Storage for Memory {
        const QUEUE: &'static str = "memory";
        type Item = ();

        fn claim(&self, _: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<()>>> {
            let (now, limit, lease_until) = (claim.now, claim.limit, claim.lease_until);
            let mut rows = self.rows();
            let due = rows
                .iter_mut()
                .filter(|row| !row.done && row.dead.is_none() && row.next <= now);
            Ok(due
                .take(usize::try_from(limit).unwrap())
                .map(|row| {
                    row.attempts += 1;
                    row.next = lease_until;
                    Claimed {
                        id: row.id,
                        attempts: NonZeroU32::new(row.attempts).unwrap(),
                        since: row.since,
                        lease_until,
                        item: (),
                    }
                })
                .collect())
        }

        fn settle(&self, _: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize> {
            let mut rows = self.rows();
            let mut settled = 0;
            for settlement in settlements {
                let Some(row) = rows
                    .iter_mut()
                    .find(|row| row.id == settlement.id && row.next == settlement.lease_until)
                else {
                    continue;
                };
                settled += 1;
                match &settlement.settle {
                    Settle::Done => row.done = true,
                    Settle::Retry { at, .. } => row.next = *at,
                    Settle::Dead { reason } => row.dead = Some((settlement.settled_at, reason.to_string())),
                    Settle::Postpone { at } => {
                        row.next = *at;
                        row.attempts -= 1;
                    }
                }
            }
            Ok(settled)
        }

        fn list(&self, _: &mut AnyConnection, _: Page) -> QueryResult<Vec<Summary>> {
            Ok(Vec::new())
        }

        fn status_of(&self, _: &mut AnyConnection, _: Uuid) -> QueryResult<Option<Status>> {
            Ok(None)
        }

        fn retry_dead(&self, _: &mut AnyConnection, _: Option<Uuid>, _: Timestamp) -> QueryResult<usize> {
            Ok(0)
        }

        fn depth(&self, _: &mut AnyConnection) -> QueryResult<Depth> {
            let rows = self.rows();
            Ok(Depth {
                pending: rows.iter().filter(|row| !row.done && row.dead.is_none()).count() as i64,
                dead: rows.iter().filter(|row| row.dead.is_some()).count() as i64,
                oldest_pending: None,
                parked: 0,
            })
        }

        fn delete_dead_before(&self, _: &mut AnyConnection, before: Timestamp, _: i64) -> QueryResult<usize> {
            let mut rows = self.rows();
            let count = rows.len();
            rows.retain(|row| row.dead.as_ref().is_none_or(|(at, _)| *at >= before));
            Ok(count - rows.len())
        }

        fn expired_dead(
            &self,
            _: &mut AnyConnection,
            before: Timestamp,
            after: Option<(Timestamp, Uuid)>,
            limit: i64,
        ) -> QueryResult<Option<Vec<(Timestamp, Uuid)>>> {
            if !self.1 {
                return Ok(None);
            }
            let mut dead: Vec<(Timestamp, Uuid)> = self
                .rows()
                .iter()
                .filter_map(|row| row.dead.as_ref().map(|(at, _)| (*at, row.id)))
                .filter(|&(at, id)| at < before && after.is_none_or(|after| (at, id) > after))
                .collect();
            dead.sort();
            dead.truncate(usize::try_from(limit).unwrap());
            Ok(Some(dead))
        }

        fn delete_dead(&self, _: &mut AnyConnection, ids: &[Uuid], _: Timestamp) -> QueryResult<usize> {
            let mut rows = self.rows();
            let count = rows.len();
            rows.retain(|row| !ids.contains(&row.id));
            Ok(count - rows.len())
        }
    }

    /// Every entry's every attempt comes to the same outcome.
    struct Always(Outcome);

    impl Job for Always {
        type Item = ();

        async fn run(&self, _: &Claimed<()>, _: Timestamp) -> anyhow::Result<Outcome> {
            Ok(self.0.clone())
        }
    }

    fn at(seconds: i64) -> Timestamp {
        let start = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        Timestamp::from_offset_date_time(start.as_offset_date_time() + time::Duration::seconds(seconds)).unwrap()
    }

    fn policy(budget: Budget) -> Policy {
        Policy {
            batch: NonZeroU32::new(10).unwrap(),
            poll_interval: Duration::from_millis(10),
            lease: Duration::from_secs(60),
            backoff: crate::queue::Backoff::new(Duration::from_secs(1), Duration::from_secs(100)).unwrap(),
            budget,
            dead_retention: Some(Duration::from_secs(86_400)),
        }
    }

    /// A runner of `outcome` over one entry queued at 0 s; its rows, to look at.
    fn queue_of(outcome: Outcome, budget: Budget) -> (Runner<Always, Memory>, Arc<Mutex<Vec<Row>>>, tempfile::TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let pool = DbPool::new(&DatabaseSettings {
            url: DatabaseUrl::Sqlite(directory.path().join("queue.db")),
            max_connections: 1,
            connect_timeout_seconds: 5,
            sqlite_busy_timeout_ms: 1000,
            migrate_on_start: false,
            runtime_role: None,
        })
        .unwrap();
        let memory = Memory::default();
        memory.rows().push(Row {
            id: Uuid::now_v7(),
            attempts: 0,
            since: at(0),
            next: at(0),
            dead: None,
            done: false,
        });
        let rows = memory.0.clone();
        let runner = Runner::new(
            pool,
            Always(outcome),
            memory,
            policy(budget),
            &prometheus::Registry::new(),
        )
        .unwrap();
        (runner, rows, directory)
    }

    fn failing() -> Outcome {
        Outcome::retry(Reason::new("the other side answered 503"))
    }

    #[tokio::test]
    async fn a_retry_waits_out_its_jittered_backoff_and_is_dead_once_its_attempts_are_spent() {
        let (runner, rows, _dir) = queue_of(failing(), Budget::Attempts(NonZeroU32::new(3).unwrap()));
        assert_eq!(runner.drain(at(0)).await.unwrap().retried, 1);
        let next = rows.lock().unwrap()[0].next;
        assert!(
            (at(1)..at(2)).contains(&next),
            "the first backoff is 1 s, with jitter under 2 s: {next}"
        );
        assert_eq!(
            runner.drain(at(0)).await.unwrap().claimed,
            0,
            "not due before its backoff"
        );
        assert_eq!(runner.drain(at(2)).await.unwrap().retried, 1);
        let next = rows.lock().unwrap()[0].next;
        assert!((at(4)..at(6)).contains(&next), "then 2 s, under 4 s: {next}");
        let last = runner.drain(at(10)).await.unwrap();
        assert_eq!((last.claimed, last.dead), (1, 1), "{last:?}");
        let dead = rows.lock().unwrap()[0].dead.clone().unwrap();
        assert_eq!(
            dead,
            (
                at(10),
                "gave up after 3 attempts: the other side answered 503".to_owned()
            )
        );
        assert_eq!(runner.metrics().settled.with_label_values(&["retry"]).get(), 2);
        assert_eq!(runner.metrics().settled.with_label_values(&["dead"]).get(), 1);
        assert_eq!(runner.metrics().dead.get(), 1);
        assert_eq!(
            runner.drain(at(100_000)).await.unwrap().claimed,
            0,
            "a dead letter waits for an operator"
        );
    }

    #[tokio::test]
    async fn a_retry_is_dead_once_its_time_is_spent_and_deleted_after_the_retention() {
        let (runner, rows, _dir) = queue_of(failing(), Budget::Time(Duration::from_secs(600)));
        assert_eq!(runner.drain(at(0)).await.unwrap().retried, 1);
        assert_eq!(runner.drain(at(599)).await.unwrap().retried, 1);
        assert_eq!(runner.drain(at(604)).await.unwrap().dead, 1);
        assert_eq!(
            rows.lock().unwrap()[0].dead.clone().unwrap().1,
            "gave up after 600s (3 attempts): the other side answered 503"
        );
        runner.drain(at(604 + 86_399)).await.unwrap();
        assert_eq!(rows.lock().unwrap().len(), 1, "kept a day");
        runner.drain(at(604 + 86_401)).await.unwrap();
        assert!(rows.lock().unwrap().is_empty(), "then deleted");
        assert_eq!(runner.metrics().dead_deleted.get(), 1);
    }

    /// Refuses every entry (a dead letter at once); of dead letters past their retention keeps
    /// those in `keep`, or knows not what keeps them (`None`).
    struct Keeping(Mutex<Option<BTreeSet<Uuid>>>);

    impl Job for Keeping {
        type Item = ();

        async fn run(&self, _: &Claimed<()>, _: Timestamp) -> anyhow::Result<Outcome> {
            Ok(Outcome::Dead {
                reason: Reason::status("the other side answered", 404),
            })
        }

        async fn keep_dead(&self, _: &[Uuid], _: Timestamp) -> anyhow::Result<Option<BTreeSet<Uuid>>> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    #[tokio::test]
    async fn dead_letters_a_job_keeps_outlive_their_retention_and_none_go_while_it_cannot_tell() {
        let (runner, rows, _dir) = queue_of(Outcome::Done, Budget::Attempts(NonZeroU32::new(1).unwrap()));
        let Runner {
            pool, storage, policy, ..
        } = runner;
        let listing = Memory(Arc::clone(&storage.0), true);
        let second = Uuid::now_v7();
        rows.lock().unwrap().push(Row {
            id: second,
            attempts: 0,
            since: at(0),
            next: at(0),
            dead: None,
            done: false,
        });
        let first = rows.lock().unwrap()[0].id;
        let runner = Runner::new(
            pool,
            Keeping(Mutex::new(None)),
            listing,
            policy,
            &prometheus::Registry::new(),
        )
        .unwrap();
        assert_eq!(runner.drain(at(0)).await.unwrap().dead, 2);
        runner.drain(at(86_401)).await.unwrap();
        assert_eq!(
            rows.lock().unwrap().len(),
            2,
            "nothing goes while what keeps them is unknown"
        );
        *runner.job().0.lock().unwrap() = Some([first].into());
        runner.drain(at(86_402)).await.unwrap();
        let left: Vec<Uuid> = rows.lock().unwrap().iter().map(|row| row.id).collect();
        assert_eq!(left, [first], "the one kept stays, the other is deleted");
        assert_eq!(runner.metrics().dead_deleted.get(), 1);
        assert_eq!(runner.metrics().dead_kept.get(), 1);
    }

    #[tokio::test]
    async fn a_refusal_is_dead_at_once_and_done_is_done() {
        let refused = Outcome::Dead {
            reason: Reason::status("the other side answered", 404),
        };
        let (runner, rows, _dir) = queue_of(refused, Budget::Attempts(NonZeroU32::new(50).unwrap()));
        assert_eq!(runner.drain(at(0)).await.unwrap().dead, 1);
        assert_eq!(
            rows.lock().unwrap()[0].dead.clone().unwrap().1,
            "the other side answered 404"
        );

        let (runner, rows, _dir) = queue_of(Outcome::Done, Budget::Attempts(NonZeroU32::new(1).unwrap()));
        assert_eq!(runner.drain(at(0)).await.unwrap().done, 1);
        assert!(rows.lock().unwrap()[0].done);
    }

    #[tokio::test]
    async fn a_postponed_entry_gives_its_attempt_back_and_ends_the_drain() {
        let (runner, rows, _dir) = queue_of(
            Outcome::Postpone { after: Duration::ZERO },
            Budget::Attempts(NonZeroU32::new(1).unwrap()),
        );
        let drained = runner.drain(at(0)).await.unwrap();
        assert_eq!((drained.claimed, drained.postponed), (1, 1), "{drained:?}");
        let row = rows.lock().unwrap()[0].clone();
        assert_eq!((row.attempts, row.next), (0, at(0)));
    }

    /// Runs past its lease: another replica claims the entry meanwhile (until 120 s).
    struct Overrunning(Arc<Mutex<Vec<Row>>>);

    impl Job for Overrunning {
        type Item = ();

        async fn run(&self, _: &Claimed<()>, _: Timestamp) -> anyhow::Result<Outcome> {
            self.0.lock().unwrap()[0].next = at(120);
            Ok(Outcome::Done)
        }
    }

    #[tokio::test]
    async fn a_settlement_after_the_lease_ran_out_changes_nothing_and_is_counted() {
        let (runner, rows, _dir) = queue_of(Outcome::Done, Budget::Attempts(NonZeroU32::new(5).unwrap()));
        let Runner {
            pool, storage, policy, ..
        } = runner;
        let overrunning = Runner {
            pool,
            job: Overrunning(rows.clone()),
            storage,
            policy,
            metrics: QueueMetrics::register(&prometheus::Registry::new(), "memory").unwrap(),
            dead_cursor: Mutex::new(None),
        };
        let pass = overrunning.pass(at(0)).await.unwrap();
        assert_eq!((pass.claimed, pass.lost_leases), (1, 1), "{pass:?}");
        assert!(!rows.lock().unwrap()[0].done, "the other replica's to settle");
        assert_eq!(pass.done, 0, "counted as lost, not as done");
        assert_eq!(overrunning.metrics().lost_leases.get(), 1);
        assert_eq!(overrunning.metrics().settled.with_label_values(&["done"]).get(), 0);
    }
}
