//! Sweeps and the sweeper's lease and watermark in the database.

use super::{Sweep, SweepCounts, SweepOrigin, SweepStatus};
use crate::schema::sweeper;
use crate::schema::sweeps::{self, dsl};
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{write_transaction, AnyConnection};
use std::time::Duration;
use uuid::Uuid;

/// The one row of `sweeper`.
const SWEEPER: &str = "sweeper";

#[derive(Queryable)]
struct SweepRow {
    id: DbUuid,
    origin: String,
    requested_by: Option<String>,
    started_from: DbTimestamp,
    started_before: DbTimestamp,
    status: String,
    cursor_at: DbTimestamp,
    cursor_page: i32,
    held_at: Option<DbTimestamp>,
    next_attempt_at: DbTimestamp,
    attempts: i32,
    last_error: Option<String>,
    pages: i32,
    requests: i32,
    conversations: i32,
    results: i32,
    recovered: i32,
    confirmed: i32,
    suppressed: i32,
    unusable: i32,
    created_at: DbTimestamp,
    _updated_at: DbTimestamp,
    finished_at: Option<DbTimestamp>,
}

impl SweepRow {
    fn into_sweep(self) -> QueryResult<Sweep> {
        let from = self.started_from.into_domain()?;
        let to = self.started_before.into_domain()?;
        let status = SweepStatus::parse(&self.status).ok_or_else(|| super::unknown("status", &self.status))?;
        let origin = SweepOrigin::parse(&self.origin).ok_or_else(|| super::unknown("origin", &self.origin))?;
        let read_up_to = self.cursor_at.into_domain()?;
        Ok(Sweep {
            view: contracts::ingest::Sweep {
                id: self.id.0,
                origin,
                requested_by: self.requested_by,
                from,
                to,
                status,
                read_up_to,
                held_at: self.held_at.map(DbTimestamp::into_domain).transpose()?,
                progress_percent: Sweep::progress(from, to, read_up_to, status),
                counts: SweepCounts {
                    pages: self.pages,
                    genesys_requests: self.requests,
                    conversations: self.conversations,
                    results: self.results,
                    recovered: self.recovered,
                    confirmed: self.confirmed,
                    suppressed: self.suppressed,
                    unusable: self.unusable,
                },
                last_error: self.last_error,
                next_attempt_at: self.next_attempt_at.into_domain()?,
                created_at: self.created_at.into_domain()?,
                finished_at: self.finished_at.map(DbTimestamp::into_domain).transpose()?,
            },
            cursor_page: self.cursor_page,
            attempts: self.attempts,
        })
    }
}

/// A sweep to create.
pub struct NewSweep {
    pub origin: SweepOrigin,
    pub requested_by: Option<String>,
    pub from: Timestamp,
    pub to: Timestamp,
}

fn insert(connection: &mut AnyConnection, new: &NewSweep, now: Timestamp) -> QueryResult<Option<Uuid>> {
    let id = Uuid::now_v7();
    let now = DbTimestamp::from(now);
    let values = (
        dsl::id.eq(DbUuid(id)),
        dsl::origin.eq(new.origin.as_str()),
        dsl::requested_by.eq(new.requested_by.as_deref()),
        dsl::started_from.eq(DbTimestamp::from(new.from)),
        dsl::started_before.eq(DbTimestamp::from(new.to)),
        dsl::status.eq(SweepStatus::Pending.as_str()),
        dsl::cursor_at.eq(DbTimestamp::from(new.from)),
        dsl::cursor_page.eq(1),
        dsl::next_attempt_at.eq(now),
        dsl::created_at.eq(now),
        dsl::updated_at.eq(now),
    );
    // At most one open scheduled sweep (`sweeps_one_open_schedule`).
    let inserted = service_kit::per_backend!(connection, |c| diesel::insert_into(sweeps::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok((inserted == 1).then_some(id))
}

/// A new sweep, due now.
pub fn create(connection: &mut AnyConnection, new: &NewSweep, now: Timestamp) -> QueryResult<Sweep> {
    let id = insert(connection, new, now)?.ok_or(diesel::result::Error::NotFound)?;
    get(connection, id)?.ok_or(diesel::result::Error::NotFound)
}

/// An operator's sweep, due now, unless `max_open` operator sweeps are open already (`None`).
/// Counted and created in one transaction under the `sweeper` row's lock, so concurrent requests
/// cannot pass the bound together.
pub fn create_bounded(
    connection: &mut AnyConnection,
    new: &NewSweep,
    now: Timestamp,
    max_open: u32,
) -> QueryResult<Option<Sweep>> {
    write_transaction(connection, |c| {
        if let AnyConnection::Postgresql(pg) = c {
            // SQLite's write transaction holds the database's write lock already.
            sweeper::table
                .filter(sweeper::name.eq(SWEEPER))
                .select(sweeper::name)
                .for_update()
                .first::<String>(pg)?;
        }
        let open: i64 = dsl::sweeps
            .filter(dsl::origin.eq(new.origin.as_str()))
            .filter(dsl::status.ne(SweepStatus::Done.as_str()))
            .count()
            .get_result(c)?;
        if open >= i64::from(max_open) {
            return Ok(None);
        }
        create(c, new, now).map(Some)
    })
}

pub fn get(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Sweep>> {
    dsl::sweeps
        .find(DbUuid(id))
        .first::<SweepRow>(connection)
        .optional()?
        .map(SweepRow::into_sweep)
        .transpose()
}

/// Sweeps, newest first, `limit` after the `(created_at, id)` cursor.
pub fn list(connection: &mut AnyConnection, before: Option<(Timestamp, Uuid)>, limit: i64) -> QueryResult<Vec<Sweep>> {
    let mut query = dsl::sweeps.into_boxed();
    if let Some((at, id)) = before {
        let at = DbTimestamp::from(at);
        query = query.filter(
            dsl::created_at
                .le(at)
                .and(dsl::created_at.lt(at).or(dsl::id.lt(DbUuid(id)))),
        );
    }
    query
        .order((dsl::created_at.desc(), dsl::id.desc()))
        .limit(limit)
        .load::<SweepRow>(connection)?
        .into_iter()
        .map(SweepRow::into_sweep)
        .collect()
}

/// The open sweep due first at `now`: the schedule's when it is due (operators' sweeps, however
/// many and long, never hold it back), else the oldest.
pub(super) fn next_due(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<Option<Sweep>> {
    let due = || {
        dsl::sweeps
            .filter(dsl::status.ne(SweepStatus::Done.as_str()))
            .filter(dsl::next_attempt_at.le(DbTimestamp::from(now)))
            .order((dsl::created_at, dsl::id))
            .into_boxed()
    };
    let scheduled = due()
        .filter(dsl::origin.eq(SweepOrigin::Schedule.as_str()))
        .first::<SweepRow>(connection)
        .optional()?;
    let row = match scheduled {
        Some(row) => Some(row),
        None => due().first::<SweepRow>(connection).optional()?,
    };
    row.map(SweepRow::into_sweep).transpose()
}

/// Takes (or renews) the sweeper's lease for `holder` until `until`: when nobody holds it, it
/// ran out, or `holder` holds it already.
pub(super) fn take_lease(
    connection: &mut AnyConnection,
    holder: Uuid,
    now: Timestamp,
    until: Timestamp,
) -> QueryResult<bool> {
    let updated = diesel::update(sweeper::table)
        .filter(sweeper::name.eq(SWEEPER))
        .filter(
            sweeper::holder
                .eq(Some(DbUuid(holder)))
                .or(sweeper::leased_until.is_null())
                .or(sweeper::leased_until.le(Some(DbTimestamp::from(now)))),
        )
        .set((
            sweeper::holder.eq(Some(DbUuid(holder))),
            sweeper::leased_until.eq(Some(DbTimestamp::from(until))),
        ))
        .execute(connection)?;
    Ok(updated == 1)
}

/// Lets the lease go, if `holder` has it.
pub(super) fn release_lease(connection: &mut AnyConnection, holder: Uuid) -> QueryResult<()> {
    diesel::update(sweeper::table)
        .filter(sweeper::name.eq(SWEEPER))
        .filter(sweeper::holder.eq(Some(DbUuid(holder))))
        .set((
            sweeper::holder.eq(None::<DbUuid>),
            sweeper::leased_until.eq(None::<DbTimestamp>),
        ))
        .execute(connection)
        .map(drop)
}

/// The schedule's watermark: every conversation that started before it is read (none yet: null).
pub fn watermark(connection: &mut AnyConnection) -> QueryResult<Option<Timestamp>> {
    let watermark: Option<DbTimestamp> = sweeper::table
        .filter(sweeper::name.eq(SWEEPER))
        .select(sweeper::watermark)
        .first(connection)?;
    watermark.map(DbTimestamp::into_domain).transpose()
}

/// When the schedule is due at `now` (no scheduled sweep open, the last created `interval` ago
/// or more), its next window: from the watermark less `overlap` (never beyond `reach`) to `now -
/// settle`. Without a watermark yet, it sets one at `now - settle` and sweeps nothing.
pub(super) fn schedule_next(
    connection: &mut AnyConnection,
    now: Timestamp,
    interval: Duration,
    settle: Duration,
    overlap: Duration,
    reach: Duration,
) -> QueryResult<Option<Uuid>> {
    let schedule = dsl::sweeps.filter(dsl::origin.eq(SweepOrigin::Schedule.as_str()));
    let open: i64 = schedule
        .filter(dsl::status.ne(SweepStatus::Done.as_str()))
        .count()
        .get_result(connection)?;
    if open > 0 {
        return Ok(None);
    }
    let last: Option<DbTimestamp> = schedule
        .order(dsl::created_at.desc())
        .select(dsl::created_at)
        .first(connection)
        .optional()?;
    let now_at = now.as_offset_date_time();
    if let Some(last) = last {
        if last.into_domain()?.as_offset_date_time() + interval > now_at {
            return Ok(None);
        }
    }
    let to = now_at - settle;
    let Some(watermark) = watermark(connection)? else {
        // The schedule's first round only sets its watermark: conversations before the first
        // sweeper started are an operator's to sweep, for the window they choose.
        set_watermark(connection, to)?;
        return Ok(None);
    };
    let mut from = watermark.as_offset_date_time() - overlap;
    if from < now_at - reach {
        // Results older than the retention are removed from the inbox: one found again there
        // could not be known as written. Those conversations are given up (the watermark lag
        // alert has fired for days by then).
        tracing::error!(
            behind_seconds = (now_at - reach - from).whole_seconds(),
            "the sweep's watermark is older than ingest.retention_days; the schedule starts at the retention"
        );
        from = now_at - reach;
    }
    let (Some(from), Some(to)) = (
        Timestamp::from_offset_date_time(from),
        Timestamp::from_offset_date_time(to),
    ) else {
        return Err(diesel::result::Error::QueryBuilderError(
            "the schedule's window lies outside years 1 to 9999".into(),
        ));
    };
    if to <= from {
        return Ok(None);
    }
    let new = NewSweep {
        origin: SweepOrigin::Schedule,
        requested_by: None,
        from,
        to,
    };
    insert(connection, &new, now)
}

/// What one page changed: the sweep as it now stands and, for the schedule, its watermark.
pub(super) struct Progress<'a> {
    pub sweep: &'a Sweep,
    pub watermark: Option<Timestamp>,
}

/// Saves a page's progress, renewing the lease until `lease_until`, only while `holder` still
/// holds the lease (a sweeper that lost it saves nothing: another took the sweep over). Answers
/// whether it saved. The watermark only moves forward.
pub(super) fn save_progress(
    connection: &mut AnyConnection,
    holder: Uuid,
    now: Timestamp,
    lease_until: Timestamp,
    progress: &Progress<'_>,
) -> QueryResult<bool> {
    write_transaction(connection, |c| {
        if !take_lease(c, holder, now, lease_until)? {
            return Ok(false);
        }
        let (sweep, cursor_page, attempts) = (
            &progress.sweep.view,
            progress.sweep.cursor_page,
            progress.sweep.attempts,
        );
        let counts = &sweep.counts;
        diesel::update(dsl::sweeps.find(DbUuid(sweep.id)))
            .set((
                dsl::status.eq(sweep.status.as_str()),
                dsl::cursor_at.eq(DbTimestamp::from(sweep.read_up_to)),
                dsl::cursor_page.eq(cursor_page),
                dsl::held_at.eq(sweep.held_at.map(DbTimestamp::from)),
                dsl::next_attempt_at.eq(DbTimestamp::from(sweep.next_attempt_at)),
                dsl::attempts.eq(attempts),
                dsl::last_error.eq(sweep.last_error.as_deref()),
                dsl::pages.eq(counts.pages),
                dsl::requests.eq(counts.genesys_requests),
                dsl::conversations.eq(counts.conversations),
                dsl::results.eq(counts.results),
                dsl::recovered.eq(counts.recovered),
                dsl::confirmed.eq(counts.confirmed),
                dsl::suppressed.eq(counts.suppressed),
                dsl::unusable.eq(counts.unusable),
                dsl::updated_at.eq(DbTimestamp::from(now)),
                dsl::finished_at.eq(sweep.finished_at.map(DbTimestamp::from)),
            ))
            .execute(c)?;
        if let Some(watermark) = progress.watermark {
            set_watermark(c, watermark.as_offset_date_time())?;
        }
        Ok(true)
    })
}

/// Moves the schedule's watermark to `at`, never back.
fn set_watermark(connection: &mut AnyConnection, at: time::OffsetDateTime) -> QueryResult<()> {
    let at = DbTimestamp::from(
        Timestamp::from_offset_date_time(at)
            .ok_or_else(|| diesel::result::Error::QueryBuilderError("a watermark outside years 1 to 9999".into()))?,
    );
    diesel::update(sweeper::table)
        .filter(sweeper::name.eq(SWEEPER))
        .filter(sweeper::watermark.is_null().or(sweeper::watermark.lt(Some(at))))
        .set(sweeper::watermark.eq(Some(at)))
        .execute(connection)
        .map(drop)
}

/// Removes sweeps finished before `cutoff`; answers how many.
pub(super) fn remove_finished_before(connection: &mut AnyConnection, cutoff: Timestamp) -> QueryResult<usize> {
    diesel::delete(
        dsl::sweeps
            .filter(dsl::status.eq(SweepStatus::Done.as_str()))
            .filter(dsl::finished_at.lt(Some(DbTimestamp::from(cutoff)))),
    )
    .execute(connection)
}

/// Open sweeps (pending or running).
pub(super) fn open_count(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::sweeps
        .filter(dsl::status.ne(SweepStatus::Done.as_str()))
        .count()
        .get_result(connection)
}
