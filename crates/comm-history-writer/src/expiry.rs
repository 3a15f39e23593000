//! The records' retention (issue #30's retention schedule): a record is erased once its channel's
//! retention (`records.retention_days`, `records.retention_days_by_channel`) has passed since its
//! communication, unless a legal hold or a statutory retention rule keeps it. Every round first
//! asks gdpr-orchestrator for the holds in force and the rules (`GET /internal/gdpr/retentions`):
//! when it cannot be asked, nothing expires that round (counted in
//! `ccbridge_records_expiry_skipped_total`): never without knowing the holds.
//!
//! A hold or a rule covers a record exactly as at a FORGET's purge
//! ([`gdpr_participant::retention::covered`], with the purge's own conditions on records). A
//! record a GDPR request holds (a FORGET in grace or kept at its purge, a RESTRICT; the agent on
//! it hidden) is left to that request: its purge erases it, or its undo lets it expire later.
//!
//! Records go [`BATCH`] at a statement, oldest first, at most [`BATCHES`] statements a round, each
//! batch in its own short transaction, so writes keep their latency. The holds and rules are asked
//! for again before each batch ([`RetentionSource`]): a hold placed during a round keeps what it
//! covers from the next batch on. Rounds walk the expired
//! records by (communicated_at, id) from where the last stopped, so records a hold keeps (always
//! the oldest) do not stall the expiry of those behind them; a walk that reaches the end starts
//! again from the oldest.
//!
//! With a record go its entries in the delivery outbox (nothing more is sent). Copies the bank's
//! communication-history-manager holds (or may hold: an answer lost) are noted in
//! `expired_copies` ([`copies`]: ids only, in the batch's transaction) and counted
//! (`ccbridge_records_expired_delivered_total`): operators list them at `GET /expired-copies`
//! (`records:operate`), erase them at the manager, which ccbridge cannot reach for it, and
//! acknowledge each ([`acknowledge`]). The record's idempotency keys
//! stay until `records.idempotency_retention_days` forgets them (they hold no personal data): a
//! write sent again with one meanwhile is answered as a key whose record is gone, never stored
//! anew; one sent after that with the same old communication is stored, and the next round
//! erases it again.

use crate::gdpr::{reached, ruled, Records};
use crate::metrics::ExpiryMetrics;
use crate::schema::communication_records::dsl;
use crate::settings::RecordsSettings;
use crate::store::deliveries;
use contracts::participant::Retentions;
use contracts::retention::{ExpiryRound, RoundOutcome};
use diesel::prelude::*;
use domain::{Channel, Timestamp};
use gdpr_participant::expiry::{kept, RetentionSource};
use gdpr_participant::holds::Filter;
use service_kit::background::{Health, Shutdown};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{write_transaction, AnyConnection, DatabaseError, DbPool};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

mod copies;
pub use copies::{acknowledge, expired_copies, ExpiredCopy};

/// How often a round runs.
pub const EVERY: Duration = Duration::from_secs(300);
/// Records looked at (and erased at most) a statement: small, so a webhook that meets one waits
/// little (a batch of 500 stalled the accept path's p99 past 2x on a 2-core machine).
pub const BATCH: usize = 100;
/// Statements a round, at most: 10,000 records a round, about 2.9 million a day.
pub const BATCHES: usize = 100;

type RecordFilter = Filter<crate::schema::communication_records::table>;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Records erased.
    pub expired: u64,
    /// Records past their retention that a legal hold or a statutory rule keeps.
    pub kept: u64,
    /// Copies of the erased records the communication-history-manager holds (or may hold).
    pub delivered_copies: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    /// Nothing expired: the holds in force are not known.
    #[error("gdpr-orchestrator could not be asked for the legal holds in force; nothing expired")]
    Unasked,
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

impl From<diesel::result::Error> for ExpiryError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error.into())
    }
}

/// The records' expiry: [`Expiry::run_once`] a round at a given time (tests), [`Expiry::run`]
/// rounds until shutdown.
pub struct Expiry {
    pool: DbPool,
    retention_days: NonZeroU32,
    by_channel: Vec<(Channel, NonZeroU32)>,
    /// Asked before each batch; with no token set nothing ever expires (each round counted as
    /// skipped).
    orchestrator: RetentionSource,
    metrics: ExpiryMetrics,
    /// Where the walk stopped: the next round starts after it.
    cursor: Mutex<Option<(DbTimestamp, DbUuid)>>,
}

impl Expiry {
    /// The expiry of `pool`'s records by `records`, its metrics in `registry`.
    pub fn new(pool: DbPool, records: &RecordsSettings, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let orchestrator = RetentionSource::new(
            &records.orchestrator_url,
            &records.orchestrator_token,
            "records.orchestrator_token",
        )?;
        let mut by_channel: Vec<_> = records
            .retention_days_by_channel
            .iter()
            .map(|(&channel, &days)| (channel, days))
            .collect();
        by_channel.sort_by_key(|(channel, _)| channel.as_str());
        Ok(Self {
            pool,
            retention_days: records.retention_days,
            by_channel,
            orchestrator,
            metrics: ExpiryMetrics::register(registry)?,
            cursor: Mutex::new(None),
        })
    }

    /// Runs until shutdown: a round every [`EVERY`]. A round that could not ask the orchestrator
    /// does not fail the task (the service's readiness stays: writes go on); it is counted.
    pub async fn run(self, mut shutdown: Shutdown, health: Health) {
        while !shutdown.is_requested() {
            match self.run_once(Timestamp::now()).await {
                Ok(_) | Err(ExpiryError::Unasked) => health.succeeded(),
                Err(ExpiryError::Database(error)) => {
                    health.failed("erasing records past their retention failed");
                    tracing::warn!(error = %error, "erasing records past their retention failed");
                }
            }
            shutdown.sleep(EVERY).await;
        }
    }

    /// One round at `now`: up to [`BATCHES`] batches of records past their retention, each after
    /// asking for the holds and rules, erasing those none covers. A round that cannot ask before
    /// its first batch is skipped; one that cannot ask later stops there (what it erased stands).
    pub async fn run_once(&self, now: Timestamp) -> Result<Round, ExpiryError> {
        let conditions = self.expired_by(now);
        let mut round = Round::default();
        for batch in 0..BATCHES {
            let Some(retentions) = self.orchestrator.fetch().await else {
                if batch > 0 {
                    break;
                }
                self.metrics.skipped.inc();
                self.note(now, RoundOutcome::Skipped, Round::default()).await?;
                return Err(ExpiryError::Unasked);
            };
            let after = *self.cursor.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let conditions = conditions.clone();
            let started = std::time::Instant::now();
            let batch = self
                .pool
                .run(move |c| {
                    write_transaction(c, |c| expire_batch(c, &retentions, &conditions, now, after))
                        .map_err(ExpiryError::from)
                })
                .await?;
            // Writes keep their latency: before the next batch the expiry leaves the database
            // alone as long as this one held it (at most half its time, never a burst). A day's
            // 27,000 records at 10,000,000 take about twice their work: a few seconds.
            if batch.last.is_some() {
                tokio::time::sleep(started.elapsed()).await;
            }
            round.expired += batch.expired;
            round.kept += batch.kept;
            round.delivered_copies += batch.delivered_copies;
            *self.cursor.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = batch.last;
            if batch.last.is_none() {
                break;
            }
        }
        self.note(now, RoundOutcome::Ran, round).await?;
        self.metrics.expired.inc_by(round.expired);
        self.metrics.delivered.inc_by(round.delivered_copies);
        if round.expired > 0 {
            tracing::info!(
                expired = round.expired,
                kept = round.kept,
                "erased records past their retention"
            );
        }
        if round.delivered_copies > 0 {
            tracing::warn!(
                copies = round.delivered_copies,
                "records erased past their retention had copies at the communication-history-manager: listed at GET /expired-copies: erase them there and acknowledge each"
            );
        }
        Ok(round)
    }

    /// Notes the round as the last one, for the DPOs' Retention page (stored: any replica may
    /// have run it).
    async fn note(&self, now: Timestamp, outcome: RoundOutcome, round: Round) -> Result<(), ExpiryError> {
        let last = ExpiryRound {
            ran_at: now,
            outcome,
            expired: round.expired,
            kept: round.kept,
        };
        self.pool
            .run(move |c| crate::retention::note_round(c, &last).map_err(ExpiryError::from))
            .await
    }

    /// Per channel with a retention of its own, and for every other channel, the time before
    /// which a record's communication is past its retention at `now` (`None`: further back than
    /// a timestamp goes, so none is).
    fn expired_by(&self, now: Timestamp) -> Conditions {
        let before = |days: NonZeroU32| {
            let age = time::Duration::days(i64::from(days.get()));
            now.as_offset_date_time()
                .checked_sub(age)
                .and_then(Timestamp::from_offset_date_time)
        };
        Conditions {
            by_channel: self
                .by_channel
                .iter()
                .map(|&(channel, days)| (channel, before(days)))
                .collect(),
            otherwise: before(self.retention_days),
        }
    }
}

/// When records are past their retention, per channel.
#[derive(Clone)]
struct Conditions {
    by_channel: Vec<(Channel, Option<Timestamp>)>,
    otherwise: Option<Timestamp>,
}

impl Conditions {
    /// Records past their retention that no GDPR request holds, or `None` when none can be.
    fn filter(&self) -> Option<RecordFilter> {
        let mut past: Vec<RecordFilter> = Vec::new();
        for (channel, before) in &self.by_channel {
            if let Some(before) = before {
                past.push(Box::new(
                    dsl::channel
                        .eq(channel.as_str())
                        .and(dsl::communicated_at.lt(DbTimestamp::from(*before))),
                ));
            }
        }
        if let Some(before) = self.otherwise {
            let own: Vec<&str> = self.by_channel.iter().map(|(channel, _)| channel.as_str()).collect();
            past.push(Box::new(
                dsl::channel
                    .ne_all(own)
                    .and(dsl::communicated_at.lt(DbTimestamp::from(before))),
            ));
        }
        let past = past.into_iter().reduce(|a, b| Box::new(a.or(b)))?;
        // Held by a FORGET or a RESTRICT (the record, or the agent on it): the request's.
        Some(Box::new(
            dsl::forgotten_by.is_null().and(dsl::agent_redacted.eq(false)).and(past),
        ))
    }
}

/// What one batch did, and where the walk goes on (`None`: it reached the end).
struct Batch {
    expired: u64,
    kept: u64,
    delivered_copies: u64,
    last: Option<(DbTimestamp, DbUuid)>,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Up to [`BATCH`] records past their retention after `after`, oldest first: those no hold or
/// rule covers are erased with their delivery entries, in the caller's transaction.
fn expire_batch(
    connection: &mut AnyConnection,
    retentions: &Retentions,
    conditions: &Conditions,
    now: Timestamp,
    after: Option<(DbTimestamp, DbUuid)>,
) -> QueryResult<Batch> {
    let Some(mut filter) = conditions.filter() else {
        return Ok(Batch {
            expired: 0,
            kept: 0,
            delivered_copies: 0,
            last: None,
        });
    };
    if let Some((at, id)) = after {
        filter = Box::new(
            filter.and(
                dsl::communicated_at
                    .gt(at)
                    .or(dsl::communicated_at.eq(at).and(dsl::id.gt(id))),
            ),
        );
    }
    let page: Vec<(DbUuid, DbTimestamp)> = dsl::communication_records
        .filter(filter)
        .select((dsl::id, dsl::communicated_at))
        .order((dsl::communicated_at, dsl::id))
        .limit(i64::try_from(BATCH).unwrap_or(i64::MAX))
        .load(connection)?;
    let last = (page.len() == BATCH)
        .then(|| page.last().map(|&(id, at)| (at, id)))
        .flatten();
    let candidates: Vec<Uuid> = page.iter().map(|(id, _)| id.0).collect();
    // What a purge would keep of these: every hold's reach, window and interactions, every rule.
    let kept = kept::<Records>(connection, retentions, now, &candidates, reached, ruled)?;
    let expire: Vec<DbUuid> = candidates
        .iter()
        .filter(|id| !kept.contains_key(id))
        .map(|&id| DbUuid(id))
        .collect();
    // Checked again as it is deleted: a FORGET that held one meanwhile keeps it (PostgreSQL
    // re-reads a row changed under the statement; SQLite's writer lock orders them).
    let erased: Vec<DbUuid> = service_kit::per_backend!(&mut *connection, |c| diesel::delete(
        dsl::communication_records
            .filter(dsl::id.eq_any(&expire))
            .filter(dsl::forgotten_by.is_null())
            .filter(dsl::agent_redacted.eq(false))
    )
    .returning(dsl::id)
    .get_results(c))?;
    let ids: Vec<Uuid> = erased.iter().map(|id| id.0).collect();
    let delivered = deliveries::copies_of(connection, &ids, now)?;
    copies::note(connection, &delivered, now)?;
    let delivered_copies = delivered.len();
    deliveries::remove_of(connection, &erased)?;
    Ok(Batch {
        expired: count(erased.len()),
        kept: count(kept.len()),
        delivered_copies: count(delivered_copies),
        last,
    })
}
