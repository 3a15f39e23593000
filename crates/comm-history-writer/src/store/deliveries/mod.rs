//! The delivery outbox to the bank's communication-history-manager (`[delivery]`): an entry per
//! stored record and per later change of its customer, queued in the write's transaction, sent
//! in its record's order by [`crate::delivery`], kept once delivered (a GDPR request reports what
//! reached the manager), dead-lettered after its budget and replayable: one of
//! [`service_kit::queue`]'s queues ([`DeliveryOutbox`]).

use crate::schema::{communication_records, delivery_outbox};
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use uuid::Uuid;

/// What an entry tells the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// A record stored here: the manager's `POST /communicationRecords`.
    Create,
    /// Its customer changed later (a late pairing, a withdrawal): `[delivery] update_mode`.
    Update,
}

impl DeliveryKind {
    pub const fn as_str(self) -> &'static str {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

/// Entry `id` while the claim leased until `until` still holds it: pending, leased until then.
macro_rules! still_ours {
    ($id:expr, $until:expr) => {
        delivery_outbox::table
            .find(DbUuid($id))
            .filter(delivery_outbox::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(delivery_outbox::next_attempt_at.eq(DbTimestamp::from($until)))
    };
}

fn corrupt(what: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("{what}: not a value this service writes").into())
}

mod outbox;
pub use outbox::DeliveryOutbox;

/// An entry as operators and GDPR reports see it: no personal data.
#[derive(Debug, Clone, serde::Serialize)]
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
    insert(connection, kind, records, now, false)
}

/// `blanks_body`: the purge's update of a held record ([`enqueue_body_blankings`]).
fn insert(
    connection: &mut AnyConnection,
    kind: DeliveryKind,
    records: &[DbUuid],
    now: Timestamp,
    blanks_body: bool,
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
                dsl::blanks_body.eq(blanks_body),
            )
        })
        .collect();
    per_backend!(connection, |c| diesel::insert_into(delivery_outbox::table)
        .values(&rows)
        .execute(c))
    .map(drop)
}

/// Queues an update of each of `records` that was queued for the manager (its create delivered,
/// under way or waiting), due at `now`: the update goes after the create, with the record as it
/// is then (a RECTIFY's correction, a body added later). A record never queued (no `[delivery]`)
/// has no copy to correct. Call inside the change's transaction.
pub fn enqueue_updates_of_queued(connection: &mut AnyConnection, records: &[Uuid], now: Timestamp) -> QueryResult<()> {
    let queued = with_create(connection, records, false)?;
    enqueue(connection, DeliveryKind::Update, &queued, now)
}

/// Queues the update that takes a blanked body to the manager, for each of `records` whose create
/// it was delivered (a record it never got has no body there): a purge blanked their bodies and
/// keeps them held, and this entry alone of a held record's goes out (the outbox's claim). Call
/// inside the purge's transaction.
pub fn enqueue_body_blankings(connection: &mut AnyConnection, records: &[Uuid], now: Timestamp) -> QueryResult<()> {
    let delivered = with_create(connection, records, true)?;
    insert(connection, DeliveryKind::Update, &delivered, now, true)
}

/// Those of `records` with a create queued (`delivered`: delivered).
fn with_create(connection: &mut AnyConnection, records: &[Uuid], delivered: bool) -> QueryResult<Vec<DbUuid>> {
    use delivery_outbox::dsl;
    let mut found: Vec<DbUuid> = Vec::new();
    for chunk in records.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let mut query = dsl::delivery_outbox
            .filter(dsl::record_id.eq_any(ids))
            .filter(dsl::kind.eq(DeliveryKind::Create.as_str()))
            .into_boxed();
        if delivered {
            query = query.filter(dsl::status.eq(DeliveryStatus::Delivered.as_str()));
        }
        found.extend(query.select(dsl::record_id).distinct().load::<DbUuid>(connection)?);
    }
    Ok(found)
}

/// What a claimed entry sends.
#[derive(Debug, Clone)]
pub struct ToDeliver {
    pub record_id: DbUuid,
    pub kind: DeliveryKind,
    /// The last attempt got no answer: this one is a resend.
    pub resend: bool,
    /// The manager's id from the record's delivered create, for an update's URL.
    pub external_id: Option<String>,
    /// The `Idempotency-Key` of the record's create, for an update sent as a new record.
    pub create_key: Option<String>,
}

/// The manager answered the create of entry `id` (claimed until `until`) with its id for the
/// record; answers whether the claim still held it.
pub fn note_external_id(
    connection: &mut AnyConnection,
    id: Uuid,
    until: Timestamp,
    external_id: &str,
) -> QueryResult<bool> {
    use delivery_outbox::dsl;
    let noted = diesel::update(still_ours!(id, until))
        .set(dsl::external_id.eq(Some(external_id)))
        .execute(connection)?;
    Ok(noted == 1)
}

/// The attempt of entry `id` (claimed until `until`) that just went out got no answer: the
/// manager may hold the record since it was sent (the first such attempt's time is kept), and the
/// next attempt is a resend. Answers whether the claim still held it.
pub fn note_unanswered(connection: &mut AnyConnection, id: Uuid, until: Timestamp) -> QueryResult<bool> {
    use delivery_outbox::dsl;
    let noted = diesel::update(still_ours!(id, until))
        .set(dsl::unanswered.eq(true))
        .execute(connection)?;
    diesel::update(still_ours!(id, until).filter(dsl::maybe_delivered_at.is_null()))
        .set(dsl::maybe_delivered_at.eq(dsl::sent_at))
        .execute(connection)?;
    Ok(noted == 1)
}

/// Entries in `status`, oldest first, `limit` after the entry `after`, as GDPR reports see them
/// (the operators' listing is the queue's, [`DeliveryOutbox`]).
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
    /// A GDPR forget holds its record: nothing is sent; the entry waits (postponed), its attempt
    /// given back.
    Held,
    /// The claim's lease ran out (another replica may hold the entry now): nothing is sent.
    NotOurs,
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
        // A held record's one entry that goes: the update a purge queued with its body blanked.
        let Some(blanks_body) = dsl::delivery_outbox
            .find(DbUuid(entry))
            .select(dsl::blanks_body)
            .first::<bool>(c)
            .optional()?
        else {
            return Ok(ToSend::NotOurs);
        };
        if forgotten_by.is_some() && !blanks_body {
            return Ok(ToSend::Held);
        }
        let sending = diesel::update(still_ours!(entry, until))
            .set((
                dsl::sending_until.eq(Some(DbTimestamp::from(until))),
                dsl::sent_at.eq(Some(DbTimestamp::from(Timestamp::now()))),
                dsl::unanswered.eq(false),
            ))
            .execute(c)?;
        if sending == 0 {
            return Ok(ToSend::NotOurs);
        }
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
