//! The delivery outbox to the bank's communication-history-manager (`[delivery]`): an entry per
//! stored record and per later change of its customer, queued in the write's transaction, sent
//! in its record's order by [`crate::delivery`], kept once delivered (a GDPR request reports what
//! reached the manager), dead-lettered after its budget and replayable.

use crate::schema::{communication_records, delivery_outbox};
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// What an entry tells the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// A record stored here: the manager's `POST /communicationRecords`.
    Create,
    /// Its customer changed later (a late pairing, a withdrawal): `[delivery] update_mode`.
    Update,
}

impl DeliveryKind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
        }
    }

    fn parse(value: &str) -> QueryResult<Self> {
        match value {
            "create" => Ok(Self::Create),
            "update" => Ok(Self::Update),
            other => Err(corrupt(format!("delivery_outbox.kind {other:?}"))),
        }
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Refused by the manager, or out of attempts: waits for an operator's retry.
    Dead,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn parse(value: &str) -> QueryResult<Self> {
        match value {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(corrupt(format!("delivery_outbox.status {other:?}"))),
        }
    }
}

fn corrupt(what: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("{what}: not a value this service writes").into())
}

/// An entry as operators and GDPR reports see it: no personal data.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    pub record_id: Uuid,
    pub kind: DeliveryKind,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The `Idempotency-Key` header every attempt of this entry carries.
    pub idempotency_key: String,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    /// The id the manager answered the create with, if it answered one.
    pub external_id: Option<String>,
    pub last_error: Option<String>,
}

/// The `Idempotency-Key` of an entry: the same on every attempt, different for every entry.
pub fn idempotency_key(entry_id: Uuid) -> String {
    format!("ccbridge-delivery-{entry_id}")
}

type DeliveryRow = (
    DbUuid,
    DbUuid,
    String,
    String,
    i32,
    DbTimestamp,
    DbTimestamp,
    Option<DbTimestamp>,
    Option<String>,
    Option<String>,
);

fn columns() -> (
    delivery_outbox::id,
    delivery_outbox::record_id,
    delivery_outbox::kind,
    delivery_outbox::status,
    delivery_outbox::attempts,
    delivery_outbox::next_attempt_at,
    delivery_outbox::created_at,
    delivery_outbox::delivered_at,
    delivery_outbox::external_id,
    delivery_outbox::last_error,
) {
    use delivery_outbox::dsl;
    (
        dsl::id,
        dsl::record_id,
        dsl::kind,
        dsl::status,
        dsl::attempts,
        dsl::next_attempt_at,
        dsl::created_at,
        dsl::delivered_at,
        dsl::external_id,
        dsl::last_error,
    )
}

fn from_row(row: DeliveryRow) -> QueryResult<Delivery> {
    let (id, record_id, kind, status, attempts, next, created, delivered, external_id, last_error) = row;
    let status = DeliveryStatus::parse(&status)?;
    Ok(Delivery {
        id: id.0,
        record_id: record_id.0,
        kind: DeliveryKind::parse(&kind)?,
        status,
        attempts,
        idempotency_key: idempotency_key(id.0),
        created_at: created.into_domain()?,
        next_attempt_at: match status {
            DeliveryStatus::Pending => Some(next.into_domain()?),
            DeliveryStatus::Delivered | DeliveryStatus::Dead => None,
        },
        delivered_at: delivered.map(DbTimestamp::into_domain).transpose()?,
        external_id,
        last_error,
    })
}

/// Queues an entry of `kind` for each of `records`, due at `now`; call inside the write's
/// transaction.
pub fn enqueue(
    connection: &mut AnyConnection,
    kind: DeliveryKind,
    records: &[DbUuid],
    now: Timestamp,
) -> QueryResult<()> {
    use delivery_outbox::dsl;
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = records
        .iter()
        .map(|record| {
            (
                dsl::id.eq(DbUuid(Uuid::now_v7())),
                dsl::record_id.eq(*record),
                dsl::kind.eq(kind.as_str()),
                dsl::status.eq(DeliveryStatus::Pending.as_str()),
                dsl::attempts.eq(0),
                dsl::next_attempt_at.eq(DbTimestamp::from(now)),
                dsl::created_at.eq(DbTimestamp::from(now)),
                dsl::unanswered.eq(false),
            )
        })
        .collect();
    per_backend!(connection, |c| diesel::insert_into(delivery_outbox::table)
        .values(&rows)
        .execute(c))
    .map(drop)
}

/// An entry claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub record_id: DbUuid,
    pub kind: DeliveryKind,
    /// Including this one.
    pub attempts: i32,
    /// The last attempt got no answer: this one is a resend.
    pub resend: bool,
    /// The manager's id from the record's delivered create, for an update's URL.
    pub external_id: Option<String>,
    /// The `Idempotency-Key` of the record's create, for an update sent as a new record.
    pub create_key: Option<String>,
    /// When the claim runs out: an attempt out to the manager is in flight until then.
    pub lease_until: Timestamp,
}

/// Claims up to `limit` due entries for `lease`. An entry waits while an earlier entry of its
/// record is not delivered (a create before its updates), and while a GDPR forget holds its
/// record; either is looked at again after `lease`.
pub fn claim_due(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    use delivery_outbox::dsl;
    let now_db = DbTimestamp::from(now);
    let lease_end = Timestamp::from_offset_date_time(now.as_offset_date_time() + lease)
        .ok_or_else(|| corrupt("the lease would fall past year 9999".to_owned()))?;
    let lease_until = DbTimestamp::from(lease_end);
    service_kit::database::write_transaction(connection, |c| {
        let due = || {
            dsl::delivery_outbox
                .filter(dsl::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(dsl::next_attempt_at.le(now_db))
                .order(dsl::next_attempt_at)
                .limit(limit)
                .select((dsl::id, dsl::record_id, dsl::kind, dsl::attempts, dsl::unanswered))
        };
        let candidates: Vec<(DbUuid, DbUuid, String, i32, bool)> = match c {
            AnyConnection::Postgresql(pg) => due().for_update().skip_locked().load(pg)?,
            AnyConnection::Sqlite(sqlite) => due().load(sqlite)?,
        };
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<DbUuid> = candidates.iter().map(|candidate| candidate.0).collect();
        diesel::update(dsl::delivery_outbox.filter(dsl::id.eq_any(&ids)))
            .set(dsl::next_attempt_at.eq(lease_until))
            .execute(c)?;
        let records: Vec<DbUuid> = candidates.iter().map(|candidate| candidate.1).collect();
        let held: std::collections::HashSet<DbUuid> = communication_records::table
            .filter(communication_records::id.eq_any(&records))
            .filter(communication_records::forgotten_by.is_not_null())
            .select(communication_records::id)
            .load(c)?
            .into_iter()
            .collect();
        // Every entry of these records, oldest first: which comes first, and what the create left.
        let siblings: Vec<(DbUuid, DbUuid, String, String, Option<String>)> = dsl::delivery_outbox
            .filter(dsl::record_id.eq_any(&records))
            .order(dsl::id)
            .select((dsl::id, dsl::record_id, dsl::kind, dsl::status, dsl::external_id))
            .load(c)?;
        let mut first_undelivered: HashMap<DbUuid, DbUuid> = HashMap::new();
        let mut creates: HashMap<DbUuid, (Uuid, Option<String>)> = HashMap::new();
        for (id, record, kind, status, external_id) in siblings {
            if status != DeliveryStatus::Delivered.as_str() {
                first_undelivered.entry(record).or_insert(id);
            }
            if kind == DeliveryKind::Create.as_str() {
                creates.entry(record).or_insert((id.0, external_id));
            }
        }
        let mut claimed = Vec::new();
        for (id, record, kind, attempts, unanswered) in candidates {
            if held.contains(&record) || first_undelivered.get(&record) != Some(&id) {
                continue;
            }
            let create = creates.get(&record);
            claimed.push(Claimed {
                id: id.0,
                record_id: record,
                kind: DeliveryKind::parse(&kind)?,
                attempts: attempts + 1,
                resend: unanswered,
                external_id: create.and_then(|(_, external)| external.clone()),
                create_key: create.map(|(create_id, _)| idempotency_key(*create_id)),
                lease_until: lease_end,
            });
        }
        let taken: Vec<DbUuid> = claimed.iter().map(|entry| DbUuid(entry.id)).collect();
        if !taken.is_empty() {
            diesel::update(dsl::delivery_outbox.filter(dsl::id.eq_any(&taken)))
                .set(dsl::attempts.eq(dsl::attempts + 1))
                .execute(c)?;
        }
        Ok(claimed)
    })
}

/// The manager accepted the entry.
pub fn mark_delivered(
    connection: &mut AnyConnection,
    id: Uuid,
    now: Timestamp,
    external_id: Option<String>,
) -> QueryResult<()> {
    use delivery_outbox::dsl;
    diesel::update(dsl::delivery_outbox.find(DbUuid(id)))
        .set((
            dsl::status.eq(DeliveryStatus::Delivered.as_str()),
            dsl::delivered_at.eq(Some(DbTimestamp::from(now))),
            dsl::external_id.eq(external_id),
            dsl::last_error.eq(None::<String>),
            dsl::unanswered.eq(false),
            dsl::sending_until.eq(None::<DbTimestamp>),
        ))
        .execute(connection)
        .map(drop)
}

/// Not delivered: due again at `next`, with the reason; `unanswered` when the manager may have
/// stored it all the same.
pub fn reschedule(
    connection: &mut AnyConnection,
    id: Uuid,
    next: Timestamp,
    reason: &str,
    unanswered: bool,
) -> QueryResult<()> {
    use delivery_outbox::dsl;
    diesel::update(dsl::delivery_outbox.find(DbUuid(id)))
        .set((
            dsl::next_attempt_at.eq(DbTimestamp::from(next)),
            dsl::last_error.eq(Some(reason)),
            dsl::unanswered.eq(unanswered),
            dsl::sending_until.eq(None::<DbTimestamp>),
        ))
        .execute(connection)?;
    if unanswered {
        note_maybe_delivered(connection, id)?;
    }
    Ok(())
}

/// The attempt that just went out got no answer: the manager may hold the record since it was
/// sent (the first such attempt's time is kept).
fn note_maybe_delivered(connection: &mut AnyConnection, id: Uuid) -> QueryResult<()> {
    use delivery_outbox::dsl;
    diesel::update(
        dsl::delivery_outbox
            .find(DbUuid(id))
            .filter(dsl::maybe_delivered_at.is_null()),
    )
    .set(dsl::maybe_delivered_at.eq(dsl::sent_at))
    .execute(connection)
    .map(drop)
}

/// Refused, or out of attempts: a dead letter until an operator retries it.
pub fn mark_dead(connection: &mut AnyConnection, id: Uuid, reason: &str, unanswered: bool) -> QueryResult<()> {
    use delivery_outbox::dsl;
    diesel::update(dsl::delivery_outbox.find(DbUuid(id)))
        .set((
            dsl::status.eq(DeliveryStatus::Dead.as_str()),
            dsl::last_error.eq(Some(reason)),
            dsl::unanswered.eq(unanswered),
            dsl::sending_until.eq(None::<DbTimestamp>),
        ))
        .execute(connection)?;
    if unanswered {
        note_maybe_delivered(connection, id)?;
    }
    Ok(())
}

/// Dead entries back to pending, due at `now`, with a fresh budget: one (`Some(id)`) or all.
/// Answers how many.
pub fn retry_dead(connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
    use delivery_outbox::dsl;
    let mut query = diesel::update(dsl::delivery_outbox)
        .filter(dsl::status.eq(DeliveryStatus::Dead.as_str()))
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(dsl::id.eq(DbUuid(id)));
    }
    query
        .set((
            dsl::status.eq(DeliveryStatus::Pending.as_str()),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
        ))
        .execute(connection)
}

pub fn find(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Delivery>> {
    delivery_outbox::table
        .find(DbUuid(id))
        .select(columns())
        .first::<DeliveryRow>(connection)
        .optional()?
        .map(from_row)
        .transpose()
}

/// Entries in `status`, oldest first, `limit` after the entry `after`.
pub fn list(
    connection: &mut AnyConnection,
    status: DeliveryStatus,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    use delivery_outbox::dsl;
    let mut query = dsl::delivery_outbox
        .filter(dsl::status.eq(status.as_str()))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(dsl::id.gt(DbUuid(after)));
    }
    query
        .order(dsl::id)
        .limit(limit)
        .select(columns())
        .load::<DeliveryRow>(connection)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// How many entries wait, how many are dead, and when the oldest waiting one was queued.
pub fn depth(connection: &mut AnyConnection) -> QueryResult<(i64, i64, Option<Timestamp>)> {
    use delivery_outbox::dsl;
    let pending = dsl::delivery_outbox.filter(dsl::status.eq(DeliveryStatus::Pending.as_str()));
    let waiting: i64 = pending.count().get_result(connection)?;
    let oldest: Option<DbTimestamp> = pending
        .order(dsl::next_attempt_at)
        .select(dsl::created_at)
        .first(connection)
        .optional()?;
    let dead: i64 = dsl::delivery_outbox
        .filter(dsl::status.eq(DeliveryStatus::Dead.as_str()))
        .count()
        .get_result(connection)?;
    Ok((waiting, dead, oldest.map(DbTimestamp::into_domain).transpose()?))
}

/// A copy of a record the manager holds, or may hold.
pub struct ManagerCopy {
    pub delivery: Delivery,
    /// When it was delivered; for one the manager may hold, when the attempt went out.
    pub at: Timestamp,
}

/// An entry with when it may have been delivered, when its last attempt went out, and until when
/// that attempt is in flight.
type CopyRow = (
    DeliveryRow,
    Option<DbTimestamp>,
    Option<DbTimestamp>,
    Option<DbTimestamp>,
);

/// What of `records` the manager holds: the delivered entries (with its id), and those it may
/// hold: an attempt got no answer (a lost answer), or went out and its writer died before the
/// answer (its lease over at `now`). Oldest first.
pub fn copies_of(connection: &mut AnyConnection, records: &[Uuid], now: Timestamp) -> QueryResult<Vec<ManagerCopy>> {
    use delivery_outbox::dsl;
    let mut copies = Vec::new();
    for chunk in records.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<CopyRow> = dsl::delivery_outbox
            .filter(dsl::record_id.eq_any(ids))
            .filter(
                dsl::status
                    .eq(DeliveryStatus::Delivered.as_str())
                    .or(dsl::maybe_delivered_at.is_not_null())
                    .or(dsl::sending_until.le(DbTimestamp::from(now))),
            )
            .order(dsl::id)
            .select((columns(), dsl::maybe_delivered_at, dsl::sent_at, dsl::sending_until))
            .load(connection)?;
        for (row, maybe, sent, sending) in rows {
            let delivery = from_row(row)?;
            let at = match (delivery.delivered_at, maybe, sending.and(sent)) {
                (Some(delivered), _, _) => delivered,
                (None, Some(at), _) | (None, None, Some(at)) => at.into_domain()?,
                (None, None, None) => continue,
            };
            copies.push(ManagerCopy { delivery, at });
        }
    }
    copies.sort_by_key(|copy| copy.delivery.id);
    Ok(copies)
}

/// The entries of purged records go with them; answers how many.
pub fn remove_of(connection: &mut AnyConnection, records: &[DbUuid]) -> QueryResult<usize> {
    use delivery_outbox::dsl;
    let mut removed = 0;
    for chunk in records.chunks(500) {
        removed += diesel::delete(dsl::delivery_outbox.filter(dsl::record_id.eq_any(chunk))).execute(connection)?;
    }
    Ok(removed)
}

/// What an entry's attempt finds when it is about to go out.
pub enum ToSend {
    /// Its record is gone (which a purge, removing its entries too, never leaves).
    Gone,
    /// A GDPR forget holds its record: nothing is sent; the entry waits, its attempt given back.
    Held,
    /// The record as it is now (a withdrawn one without its customer): the attempt is in flight.
    Record(Box<domain::CommunicationRecord>),
}

/// Checks `entry`'s record against the holds as its attempt goes out, and marks the attempt in
/// flight until `until` (its lease), in one transaction with the record's row locked. A GDPR
/// forget either comes first (its hold is seen, nothing is sent) or finds the attempt in flight
/// ([`in_flight_of`]) and waits for its answer.
pub fn begin_send(
    connection: &mut AnyConnection,
    entry: Uuid,
    record_id: DbUuid,
    until: Timestamp,
) -> QueryResult<ToSend> {
    use delivery_outbox::dsl;
    service_kit::database::write_transaction(connection, |c| {
        if let AnyConnection::Postgresql(pg) = c {
            // A forget's update of the row waits for this transaction, or this read for it.
            communication_records::table
                .find(record_id)
                .select(communication_records::id)
                .for_update()
                .first::<DbUuid>(pg)
                .optional()?;
        }
        let found: Option<(super::RecordRow, Option<DbUuid>)> = communication_records::table
            .find(record_id)
            .select((super::RecordRow::as_select(), communication_records::forgotten_by))
            .first(c)
            .optional()?;
        let Some((row, forgotten_by)) = found else {
            return Ok(ToSend::Gone);
        };
        if forgotten_by.is_some() {
            diesel::update(dsl::delivery_outbox.find(DbUuid(entry)))
                .set(dsl::attempts.eq(dsl::attempts - 1))
                .execute(c)?;
            return Ok(ToSend::Held);
        }
        diesel::update(dsl::delivery_outbox.find(DbUuid(entry)))
            .set((
                dsl::sending_until.eq(Some(DbTimestamp::from(until))),
                dsl::sent_at.eq(Some(DbTimestamp::from(Timestamp::now()))),
            ))
            .execute(c)?;
        let withdrawn = row.withdrawn_at()?.is_some();
        let mut record = row.into_record()?;
        if withdrawn {
            record.attributes.customer_id = None;
        }
        Ok(ToSend::Record(Box::new(record)))
    })
}

/// Whether an attempt for one of `records` is out to the manager at `now`, its answer not in.
pub fn in_flight_of(connection: &mut AnyConnection, records: &[Uuid], now: Timestamp) -> QueryResult<bool> {
    use delivery_outbox::dsl;
    for chunk in records.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let out: i64 = dsl::delivery_outbox
            .filter(dsl::record_id.eq_any(ids))
            .filter(dsl::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(dsl::sending_until.gt(DbTimestamp::from(now)))
            .count()
            .get_result(connection)?;
        if out > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
