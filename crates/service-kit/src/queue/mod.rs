//! One queue shape for every background queue (the ingest inbox, the pairing outbox, the delivery
//! outbox, the GDPR steps).
//!
//! Each queue keeps its own table (its columns differ) behind a [`Storage`]; what an entry asks
//! for is a [`Job`]. The [`Runner`] owns the rest, the same for every queue: it claims due entries
//! (leased; `SKIP LOCKED` on PostgreSQL, so any number of replicas work one table), runs them,
//! settles each by its [`Outcome`] under the [`Policy`] (backoff with jitter, a budget of attempts
//! or of time, then a dead letter), deletes dead letters past their retention, keeps the metrics
//! (`ccbridge_queue_*{queue}`) and reports to the task's health. [`Runner::drain`] does it at a
//! given time, so tests move time instead of sleeping. [`operator::config`] mounts the operator
//! routes (list, retry one, retry every dead letter) for a queue.
//!
//! ```ignore
//! let policy = Policy::read(settings, "pairing")?;
//! let runner = Runner::new(pool.clone(), OutboxJob::new(..)?, PairingOutbox, policy, registry)?;
//! background.spawn(PairingOutbox::QUEUE, |shutdown, health| runner.run(shutdown, health));
//! // routes: service_kit::queue::operator::config::<PairingOutbox, PairingOperate>(cfg, "/pairing-outbox", PairingOutbox);
//! ```

mod metrics;
pub mod operator;
pub mod policy;
mod runner;

pub use metrics::QueueMetrics;
pub use policy::{Backoff, Budget, Policy, PolicyKeys};
pub use runner::{Drained, Runner};

use crate::database::AnyConnection;
use diesel::QueryResult;
use domain::Timestamp;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;
use uuid::Uuid;

/// Why an entry is retried or dead: fixed words and status codes, never personal data (it is
/// stored, listed to operators and logged). Built only from `&'static str` and numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(Cow<'static, str>);

impl Reason {
    /// Fixed words: `Reason::new("comm-history-writer: unreachable")`.
    pub const fn new(words: &'static str) -> Self {
        Self(Cow::Borrowed(words))
    }

    /// Fixed words the caller built (e.g. a sibling client's failure: fixed words and a status):
    /// the caller promises they hold no personal data (no value from a request or an answer).
    pub fn fixed(words: String) -> Self {
        Self(Cow::Owned(words))
    }

    /// Fixed words and an HTTP status: `Reason::status("comm-history-writer answered", 404)`.
    pub fn status(words: &'static str, status: u16) -> Self {
        Self(Cow::Owned(format!("{words} {status}")))
    }

    /// `self`, with fixed words before it (`"gave up after 5 attempts: ..."`).
    pub(crate) fn after(self, words: &str) -> Self {
        Self(Cow::Owned(format!("{words}: {}", self.0)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An answer's `Retry-After` in seconds (an HTTP date is not honoured: the backoff applies), at
/// most an hour: for [`Outcome::Retry`]'s `after`.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

/// What running an entry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the entry leaves the queue (or is kept as done, as its storage does).
    Done,
    /// Done, having made `result` (the inbox's record and its channel), which a storage that
    /// keeps done entries may keep ([`Settlement::result`]).
    DoneWith { result: Made },
    /// Worth another attempt after the policy's backoff (at least `after`, e.g. a
    /// `Retry-After`), while the budget allows; then a dead letter.
    Retry { reason: Reason, after: Option<Duration> },
    /// Another attempt would fail the same way: a dead letter at once, until an operator
    /// retries it.
    Dead { reason: Reason },
    /// Not attempted (something holds it back): the attempt is given back and the entry is due
    /// again after `after`.
    Postpone { after: Duration },
}

impl Outcome {
    /// [`Outcome::Retry`] after the policy's backoff alone.
    pub const fn retry(reason: Reason) -> Self {
        Self::Retry { reason, after: None }
    }
}

/// What a queue's entries do: the one thing a queue's own code says. Whatever else (claims,
/// retries, dead letters, retention, metrics, health) is the [`Runner`]'s.
pub trait Job: Send + Sync + 'static {
    /// What [`Storage::claim`] hands over of an entry.
    type Item: Send + Sync + 'static;

    /// Whether a batch's entries run at once (the default) or one after another (each sees
    /// what the one before it changed, e.g. a GDPR forget that came meanwhile).
    const CONCURRENT: bool = true;

    /// Runs one claimed entry at `now`. An `Err` is this service's own failure (its database),
    /// not the entry's: the entry is left to its lease (due again when it ends) and the task's
    /// health counts a failure.
    fn run(&self, entry: &Claimed<Self::Item>, now: Timestamp) -> impl Future<Output = anyhow::Result<Outcome>> + Send;

    /// Runs a pass's claimed entries, answering one outcome an entry, in their order. By default
    /// each entry's [`Job::run`], at once or one after another as [`Job::CONCURRENT`] says; a
    /// queue whose work is cheaper a batch at a time (one lookup, one write for many entries: the
    /// ingest inbox) runs them together.
    fn run_batch(
        &self,
        entries: &[Claimed<Self::Item>],
        now: Timestamp,
    ) -> impl Future<Output = Vec<anyhow::Result<Outcome>>> + Send {
        async move {
            if Self::CONCURRENT {
                futures_util::future::join_all(entries.iter().map(|entry| self.run(entry, now))).await
            } else {
                let mut outcomes = Vec::with_capacity(entries.len());
                for entry in entries {
                    outcomes.push(self.run(entry, now).await);
                }
                outcomes
            }
        }
    }

    /// Work beside the queue (a service's own retention), with the runner's housekeeping.
    fn housekeeping(&self, _now: Timestamp) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Of dead letters past their retention (`ids`, listed by a storage that lists them,
    /// [`Storage::expired_dead`]), those to keep at `now` (e.g. a legal hold covers them); the rest
    /// are deleted. `None`: what keeps them is not known now, so none is deleted this round. By
    /// default none is kept.
    fn keep_dead(
        &self,
        _ids: &[Uuid],
        _now: Timestamp,
    ) -> impl Future<Output = anyhow::Result<Option<BTreeSet<Uuid>>>> + Send {
        async { Ok(Some(BTreeSet::new())) }
    }
}

/// What a done entry made: its id, and what kind of thing it is, in the storage's own words
/// (the inbox: the record's channel, which its settlement queues the record's content job by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub id: Uuid,
    pub kind: &'static str,
}

/// An entry claimed by a runner.
#[derive(Debug, Clone)]
pub struct Claimed<T> {
    pub id: Uuid,
    /// Attempts since the budget began, this one included.
    pub attempts: NonZeroU32,
    /// When the budget began: the entry was queued, or an operator retried it.
    pub since: Timestamp,
    /// The claim's end: the runner settles only while the entry is still leased until then.
    pub lease_until: Timestamp,
    pub item: T,
}

/// How the runner settles a claimed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Done,
    /// Due again at `at`, with the reason.
    Retry {
        at: Timestamp,
        reason: Reason,
    },
    /// A dead letter (with the reason) until an operator retries it.
    Dead {
        reason: Reason,
    },
    /// The attempt given back; due again at `at`.
    Postpone {
        at: Timestamp,
    },
}

/// A claimed entry's settlement. `lease_until` fences it: a storage changes the entry only while
/// it is still leased until then, so a worker whose lease ran out (another replica claimed it
/// since) changes nothing.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub id: Uuid,
    pub lease_until: Timestamp,
    pub settle: Settle,
    /// The pass's time (a dead letter's `dead_at`, for its retention).
    pub settled_at: Timestamp,
    /// What a done entry made ([`Outcome::DoneWith`]), for a storage that keeps it.
    pub result: Option<Made>,
}

/// Where an entry stands. Operators list `Pending` or `Dead` ([`Storage::list`] is never asked
/// for `Done`); `Done` is for a storage that keeps done entries ([`Storage::status_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Dead,
    Done,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Dead => "dead",
            Self::Done => "done",
        }
    }
}

/// What a runner claims: up to `limit` entries due at `now`, leased until `lease_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub now: Timestamp,
    pub limit: i64,
    pub lease_until: Timestamp,
}

/// A page an operator asks for: `limit` entries in `status` after the keyset `after`
/// (`created_at`, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub status: Status,
    pub after: Option<(Timestamp, Uuid)>,
    pub limit: i64,
}

/// Loads a claim's due rows: on PostgreSQL locking them, skipping rows another replica holds
/// (`FOR UPDATE SKIP LOCKED`); SQLite's immediate transaction holds the database already:
/// `skip_locked!(connection, table.filter(due).order(next_attempt_at).limit(limit).select(id))`.
#[macro_export]
macro_rules! skip_locked {
    ($connection:expr, $query:expr) => {
        match $connection {
            $crate::database::AnyConnection::Postgresql(pg) => $query.for_update().skip_locked().load(pg),
            $crate::database::AnyConnection::Sqlite(sqlite) => $query.load(sqlite),
        }
    };
}

/// An operator's page of a boxed diesel query: oldest first by `(created_at, id)` (the columns
/// given), only what comes after the keyset `after`, at most `limit`:
/// `oldest_first_after!(query, dsl::created_at, dsl::id, page.after, page.limit).select(..)`.
#[macro_export]
macro_rules! oldest_first_after {
    ($query:expr, $created_at:expr, $id:expr, $after:expr, $limit:expr) => {{
        let mut query = $query;
        if let Some((at, id)) = $after {
            let at = $crate::database::sql_types::DbTimestamp::from(at);
            let id = $crate::database::sql_types::DbUuid(id);
            query = query.filter($created_at.gt(at).or($created_at.eq(at).and($id.gt(id))));
        }
        query.order(($created_at, $id)).limit($limit)
    }};
}

/// Settles each of `settlements` with `one` (answering how many rows it changed: 0 when the
/// lease was no longer the claim's), in one write transaction; answers how many were settled.
pub fn settle_each(
    connection: &mut AnyConnection,
    settlements: &[Settlement],
    mut one: impl FnMut(&mut AnyConnection, &Settlement) -> QueryResult<usize>,
) -> QueryResult<usize> {
    crate::database::write_transaction(connection, |c| {
        settlements
            .iter()
            .try_fold(0, |settled, settlement| Ok(settled + one(c, settlement)?))
    })
}

/// An entry as operators see it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: Uuid,
    /// What the entry asks for, a fixed word of its queue (`assign`, `create`, ...).
    pub kind: &'static str,
    pub status: Status,
    /// Attempts since its budget began.
    pub attempts: u32,
    /// When it was queued; the listing's order with the id.
    pub created_at: Timestamp,
    /// Pending: when it is next due (while claimed, the lease's end).
    pub next_attempt_at: Option<Timestamp>,
    /// The last attempt's reason (a [`Reason`]).
    pub last_error: Option<String>,
}

/// How full a queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    /// Entries due by time (now or later), parked ones not among them.
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending entry (not parked) was queued.
    pub oldest_pending: Option<Timestamp>,
    /// Entries parked: held back by something outside the queue (a GDPR RESTRICT of their
    /// subject), due only once it ends. Reported apart: a long restriction is no stuck backlog.
    pub parked: i64,
}

/// A queue's table. Every method runs on a connection the runner or the operator routes hold;
/// none runs a job.
pub trait Storage: Send + Sync + 'static {
    /// The queue's name: its metrics' `queue` label, its task's health, its logs. Fixed words.
    const QUEUE: &'static str;

    type Item: Send + Sync + 'static;

    /// Claims up to `claim.limit` entries due at `claim.now` (never one a GDPR forget holds,
    /// never a dead letter), leases them until `claim.lease_until` and counts their attempt, in one short
    /// transaction: `SKIP LOCKED` on PostgreSQL, SQLite's immediate transaction
    /// ([`crate::database::claim_due_ids`]).
    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<Self::Item>>>;

    /// Settles claimed entries, each only while still leased until its `lease_until`; answers
    /// how many were settled.
    fn settle(&self, connection: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize>;

    /// `page.limit` entries in `page.status`, oldest first (`created_at`, then id), after the
    /// keyset `page.after`.
    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>>;

    /// Where entry `id` stands: `None` when there is none (deleted once done, or never was).
    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>>;

    /// Dead letters back to pending, due at `now` with a fresh budget (attempts and `since`): the
    /// one named, or all. Answers how many.
    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize>;

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth>;

    /// Deletes up to `limit` dead letters that died before `before`; answers how many. By default
    /// the oldest [`Storage::expired_dead`] lists, none kept (a storage that lists none must say).
    fn delete_dead_before(&self, connection: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<usize> {
        let listed = self.expired_dead(connection, before, None, limit)?.ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(format!("{}: lists no dead letters to delete", Self::QUEUE).into())
        })?;
        let ids: Vec<Uuid> = listed.into_iter().map(|(_, id)| id).collect();
        self.delete_dead(connection, &ids, before)
    }

    /// Up to `limit` dead letters that died before `before` and that a clean-up may delete, oldest
    /// first by the storage's keyset (a time of the entry's, then its id) after `after`: what the runner asks its job
    /// which to keep of ([`Job::keep_dead`]) before it deletes the rest ([`Storage::delete_dead`]).
    /// `None` (the default): this storage lists none, [`Storage::delete_dead_before`] deletes them
    /// and no job keeps any.
    fn expired_dead(
        &self,
        _connection: &mut AnyConnection,
        _before: Timestamp,
        _after: Option<(Timestamp, Uuid)>,
        _limit: i64,
    ) -> QueryResult<Option<Vec<(Timestamp, Uuid)>>> {
        Ok(None)
    }

    /// Deletes those of `ids` ([`Storage::expired_dead`]'s) that are still dead letters that died
    /// before `before` and that a clean-up may delete; answers how many.
    fn delete_dead(&self, _connection: &mut AnyConnection, _ids: &[Uuid], _before: Timestamp) -> QueryResult<usize> {
        Err(diesel::result::Error::QueryBuilderError(
            format!("{}: lists no dead letters to delete by id", Self::QUEUE).into(),
        ))
    }
}
