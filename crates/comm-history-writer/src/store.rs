//! Reading and writing communication records, and the idempotency keys that make writes
//! exactly-once.

use crate::schema::{communication_records, idempotency_keys};
use diesel::prelude::*;
use domain::{
    BoundedText, Channel, CommunicationRecord, CommunicationRecordId, CustomerHandle, CustomerId, Direction,
    GenesysUserId, HandleNormaliser, InteractionId, NewCommunicationRecord, RecordDomain, Timestamp,
};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::pagination::{decode_cursor, encode_cursor};
use service_kit::per_backend;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = communication_records)]
pub(crate) struct RecordRow {
    id: DbUuid,
    direction: String,
    communicated_at: DbTimestamp,
    source: String,
    channel: String,
    domain: String,
    customer_id: Option<DbUuid>,
    customer_handle: String,
    customer_handle_key: String,
    interaction_id: DbUuid,
    bank_user_id: Option<String>,
    bank_user_name: Option<String>,
    purpose: Option<String>,
    title: String,
    body: String,
    created_at: DbTimestamp,
    genesys_user_id: Option<DbUuid>,
    /// A GDPR forget of the agent holds the record: served without the agent.
    agent_redacted: bool,
}

impl RecordRow {
    fn new(
        id: CommunicationRecordId,
        record: &NewCommunicationRecord,
        created_at: Timestamp,
        handles: &HandleNormaliser,
    ) -> Self {
        Self {
            id: id.into(),
            direction: record.direction.as_str().to_owned(),
            communicated_at: record.communicated_at.into(),
            source: record.source.as_str().to_owned(),
            channel: record.channel.as_str().to_owned(),
            domain: record.domain.as_str().to_owned(),
            customer_id: record.customer_id.map(DbUuid::from),
            customer_handle: record.customer_handle.as_str().to_owned(),
            customer_handle_key: record.customer_handle.key(handles).as_str().to_owned(),
            interaction_id: record.interaction_id.into(),
            bank_user_id: record.bank_user_id.as_ref().map(|v| v.as_str().to_owned()),
            bank_user_name: record.bank_user_name.as_ref().map(|v| v.as_str().to_owned()),
            purpose: record.purpose.as_ref().map(|v| v.as_str().to_owned()),
            title: record.title.as_str().to_owned(),
            body: record.body.as_str().to_owned(),
            created_at: created_at.into(),
            genesys_user_id: record.genesys_user_id.map(DbUuid::from),
            agent_redacted: false,
        }
    }

    /// A row that no longer parses was written around our validation: report it as corrupt. A
    /// record whose agent a GDPR forget holds is served without the agent.
    pub(crate) fn into_record(self) -> QueryResult<CommunicationRecord> {
        fn corrupt<E: std::fmt::Display>(column: &'static str) -> impl FnOnce(E) -> diesel::result::Error {
            move |e| diesel::result::Error::DeserializationError(format!("communication_records.{column}: {e}").into())
        }
        fn text<const MIN: usize, const MAX: usize>(
            value: &str,
            column: &'static str,
        ) -> QueryResult<BoundedText<MIN, MAX>> {
            BoundedText::parse(value).map_err(corrupt(column))
        }
        Ok(CommunicationRecord {
            id: self.id.into(),
            attributes: NewCommunicationRecord {
                direction: Direction::parse(&self.direction).map_err(corrupt("direction"))?,
                communicated_at: self.communicated_at.into_domain()?,
                source: text(&self.source, "source")?,
                channel: Channel::parse(&self.channel).map_err(corrupt("channel"))?,
                domain: RecordDomain::parse(&self.domain).map_err(corrupt("domain"))?,
                customer_id: self.customer_id.map(CustomerId::from),
                customer_handle: CustomerHandle::parse(&self.customer_handle).map_err(corrupt("customer_handle"))?,
                interaction_id: self.interaction_id.into(),
                bank_user_id: self
                    .bank_user_id
                    .as_deref()
                    .map(|v| text(v, "bank_user_id"))
                    .transpose()?,
                bank_user_name: self
                    .bank_user_name
                    .as_deref()
                    .filter(|_| !self.agent_redacted)
                    .map(|v| text(v, "bank_user_name"))
                    .transpose()?,
                genesys_user_id: self
                    .genesys_user_id
                    .filter(|_| !self.agent_redacted)
                    .map(GenesysUserId::from),
                purpose: self.purpose.as_deref().map(|v| text(v, "purpose")).transpose()?,
                title: text(&self.title, "title")?,
                body: text(&self.body, "body")?,
            },
            created_at: self.created_at.into_domain()?,
        })
    }
}

/// An `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if value.is_empty() || value.len() > 255 {
            return Err("must be 1 to 255 characters");
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters without spaces");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who asked, with which key, for what: the same key from the same caller with the same request
/// hash is a retry; with another hash it is a client bug.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub caller: String,
    pub key: IdempotencyKey,
    pub request_hash: String,
}

/// The fingerprint of a request: SHA-256 of its parsed form, so white space and field order do
/// not matter but every value does.
pub fn request_hash(record: &NewCommunicationRecord) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(record)?)))
}

#[derive(Debug)]
pub enum Created {
    New(CommunicationRecord),
    /// The key was seen before with the same request: the first record, nothing written.
    Replayed(CommunicationRecord),
}

/// Why a write with an idempotency key was refused (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyConflict {
    #[error("this Idempotency-Key was already used with a different request")]
    ReusedWithDifferentRequest,
    #[error("the record first created with this Idempotency-Key no longer exists")]
    RecordGone,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Conflict(#[from] KeyConflict),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Inserts the record, or with an idempotency key returns the record the key first created
/// (answered as a batch of one, see [`create_batch`]).
pub fn create(
    connection: &mut AnyConnection,
    record: &NewCommunicationRecord,
    idempotency: Option<&Idempotency>,
    now: Timestamp,
    handles: &HandleNormaliser,
) -> Result<Created, CreateError> {
    connection.transaction(|connection| {
        let outcome = match idempotency {
            None => {
                let id = CommunicationRecordId::generate();
                diesel::insert_into(communication_records::table)
                    .values(RecordRow::new(id, record, now, handles))
                    .execute(connection)?;
                BatchOutcome::Created(id)
            }
            Some(idempotency) => {
                let entry = BatchEntry {
                    record: record.clone(),
                    idempotency: idempotency.clone(),
                };
                let mut outcomes = write_batch(connection, std::slice::from_ref(&entry), now, handles)?;
                outcomes.pop().ok_or(diesel::result::Error::NotFound)?
            }
        };
        let (id, replayed) = match outcome {
            BatchOutcome::Created(id) => (id, false),
            BatchOutcome::Replayed(id) => (id, true),
            BatchOutcome::Conflict(conflict) => return Err(conflict.into()),
        };
        let stored = find(connection, id)?.ok_or(diesel::result::Error::NotFound)?;
        Ok(if replayed {
            Created::Replayed(stored)
        } else {
            Created::New(stored)
        })
    })
}

/// One record of a batch with its idempotency key (a batch entry always has one).
pub struct BatchEntry {
    pub record: NewCommunicationRecord,
    pub idempotency: Idempotency,
}

/// What became of one entry of a batch; the same answers a single write would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    Created(CommunicationRecordId),
    /// The key was seen before (earlier, or earlier in this batch) with the same request.
    Replayed(CommunicationRecordId),
    /// Refused, as a single write would be with a 409.
    Conflict(KeyConflict),
}

/// Writes a batch in one transaction and a constant number of statements: one multi-row insert
/// of the keys, one of the new records, and one lookup each of the keys and records seen before.
/// Each entry is answered as [`create`] would answer it alone, in the order of `entries`; the
/// first entry of a key repeated within the batch decides for the others.
pub fn create_batch(
    connection: &mut AnyConnection,
    entries: &[BatchEntry],
    now: Timestamp,
    handles: &HandleNormaliser,
) -> QueryResult<Vec<BatchOutcome>> {
    connection.transaction(|connection| write_batch(connection, entries, now, handles))
}

/// [`create_batch`] inside the caller's transaction.
///
/// The keys are claimed first: on PostgreSQL a concurrent request with one of the same keys waits
/// on the key's unique index until this one commits, then sees it; on SQLite the first statement
/// takes the write lock, so requests serialise.
fn write_batch(
    connection: &mut AnyConnection,
    entries: &[BatchEntry],
    now: Timestamp,
    handles: &HandleNormaliser,
) -> QueryResult<Vec<BatchOutcome>> {
    let mut first_of_key: HashMap<(&str, &str), usize> = HashMap::with_capacity(entries.len());
    let firsts: Vec<usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let key = (entry.idempotency.caller.as_str(), entry.idempotency.key.0.as_str());
            *first_of_key.entry(key).or_insert(index)
        })
        .collect();
    let ids: Vec<CommunicationRecordId> = entries.iter().map(|_| CommunicationRecordId::generate()).collect();
    let mut unique: Vec<usize> = (0..entries.len()).filter(|&index| firsts[index] == index).collect();
    // Keys are inserted in one order by every batch, so two batches sharing keys wait on each
    // other instead of deadlocking.
    unique.sort_by(|&a, &b| {
        let key = |index: usize| (&entries[index].idempotency.caller, &entries[index].idempotency.key.0);
        key(a).cmp(&key(b))
    });
    let key_rows: Vec<_> = unique
        .iter()
        .map(|&index| {
            let idempotency = &entries[index].idempotency;
            (
                idempotency_keys::caller.eq(idempotency.caller.as_str()),
                idempotency_keys::idempotency_key.eq(idempotency.key.0.as_str()),
                idempotency_keys::request_hash.eq(idempotency.request_hash.as_str()),
                idempotency_keys::record_id.eq(DbUuid::from(ids[index])),
                idempotency_keys::created_at.eq(DbTimestamp::from(now)),
            )
        })
        .collect();
    let claimed: Vec<DbUuid> = per_backend!(connection, |c| diesel::insert_into(idempotency_keys::table)
        .values(&key_rows)
        .on_conflict_do_nothing()
        .returning(idempotency_keys::record_id)
        .get_results(c))?;
    let claimed: HashSet<CommunicationRecordId> = claimed.into_iter().map(CommunicationRecordId::from).collect();
    let new_rows: Vec<RecordRow> = unique
        .iter()
        .filter(|&&index| claimed.contains(&ids[index]))
        .map(|&index| RecordRow::new(ids[index], &entries[index].record, now, handles))
        .collect();
    if !new_rows.is_empty() {
        per_backend!(connection, |c| diesel::insert_into(communication_records::table)
            .values(&new_rows)
            .execute(c))?;
    }

    // Keys used before this batch: their first request, and whether its record is still there.
    let seen_before: Vec<(&str, &str)> = unique
        .iter()
        .filter(|&&index| !claimed.contains(&ids[index]))
        .map(|&index| {
            (
                entries[index].idempotency.caller.as_str(),
                entries[index].idempotency.key.0.as_str(),
            )
        })
        .collect();
    let mut earlier: HashMap<(String, String), (String, CommunicationRecordId)> = HashMap::new();
    for caller in seen_before.iter().map(|(caller, _)| *caller).collect::<HashSet<_>>() {
        let keys: Vec<&str> = seen_before
            .iter()
            .filter(|(c, _)| *c == caller)
            .map(|(_, key)| *key)
            .collect();
        let rows: Vec<(String, String, DbUuid)> = idempotency_keys::table
            .filter(idempotency_keys::caller.eq(caller))
            .filter(idempotency_keys::idempotency_key.eq_any(keys))
            .select((
                idempotency_keys::idempotency_key,
                idempotency_keys::request_hash,
                idempotency_keys::record_id,
            ))
            .load(connection)?;
        for (key, hash, record_id) in rows {
            earlier.insert((caller.to_owned(), key), (hash, record_id.into()));
        }
    }
    let earlier_ids: Vec<DbUuid> = earlier.values().map(|(_, id)| DbUuid::from(*id)).collect();
    let still_there: HashSet<CommunicationRecordId> = if earlier_ids.is_empty() {
        HashSet::new()
    } else {
        communication_records::table
            .filter(communication_records::id.eq_any(earlier_ids))
            .filter(communication_records::forgotten_by.is_null())
            .select(communication_records::id)
            .load::<DbUuid>(connection)?
            .into_iter()
            .map(CommunicationRecordId::from)
            .collect()
    };

    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let first = firsts[index];
            let (first_hash, record_id, created_now) = if claimed.contains(&ids[first]) {
                (entries[first].idempotency.request_hash.as_str(), ids[first], true)
            } else {
                let key = (entry.idempotency.caller.clone(), entry.idempotency.key.0.clone());
                let (hash, record_id) = earlier.get(&key).ok_or(diesel::result::Error::NotFound)?;
                (hash.as_str(), *record_id, false)
            };
            Ok(if first_hash != entry.idempotency.request_hash {
                BatchOutcome::Conflict(KeyConflict::ReusedWithDifferentRequest)
            } else if created_now && first == index {
                BatchOutcome::Created(record_id)
            } else if created_now || still_there.contains(&record_id) {
                BatchOutcome::Replayed(record_id)
            } else {
                BatchOutcome::Conflict(KeyConflict::RecordGone)
            })
        })
        .collect()
}

pub fn find(connection: &mut AnyConnection, id: CommunicationRecordId) -> QueryResult<Option<CommunicationRecord>> {
    // A record a GDPR forget hid is gone for every reader until UNDO_FORGET.
    communication_records::table
        .find(DbUuid::from(id))
        .filter(communication_records::forgotten_by.is_null())
        .select(RecordRow::as_select())
        .first(connection)
        .optional()?
        .map(RecordRow::into_record)
        .transpose()
}

/// Where the next page starts: the last record served, by `(communicatedAt, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    communicated_at: Timestamp,
    id: CommunicationRecordId,
}

impl Cursor {
    /// Opaque to clients (`service_kit::pagination`).
    pub fn encode(&self) -> String {
        encode_cursor(self.communicated_at, *self.id.as_uuid())
    }

    pub fn decode(cursor: &str) -> Option<Self> {
        let (communicated_at, id) = decode_cursor(cursor)?;
        Some(Self {
            communicated_at,
            id: CommunicationRecordId::from_uuid(id),
        })
    }
}

/// Which records a listing covers; at least one filter is set (checked by the route).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub customer_id: Option<CustomerId>,
    pub interaction_id: Option<InteractionId>,
}

pub struct Page {
    pub records: Vec<CommunicationRecord>,
    pub next: Option<Cursor>,
}

/// Newest first by `(communicated_at, id)`, `limit` at a time, after `cursor`. The predicate is
/// written as `communicated_at <= c AND (communicated_at < c OR id < i)` so that the first half is
/// a range on the `(customer_id|interaction_id, communicated_at, id)` indexes: each page costs
/// the same however deep it is and however large the table.
pub fn list(
    connection: &mut AnyConnection,
    filter: ListFilter,
    cursor: Option<Cursor>,
    limit: usize,
) -> QueryResult<Page> {
    use communication_records::dsl;
    let mut query = dsl::communication_records
        .select(RecordRow::as_select())
        .filter(dsl::forgotten_by.is_null())
        .into_boxed();
    if let Some(customer_id) = filter.customer_id {
        query = query.filter(dsl::customer_id.eq(DbUuid::from(customer_id)));
    }
    if let Some(interaction_id) = filter.interaction_id {
        query = query.filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)));
    }
    if let Some(cursor) = cursor {
        let at = DbTimestamp::from(cursor.communicated_at);
        query = query.filter(
            dsl::communicated_at
                .le(at)
                .and(dsl::communicated_at.lt(at).or(dsl::id.lt(DbUuid::from(cursor.id)))),
        );
    }
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let rows: Vec<RecordRow> = query
        .order((dsl::communicated_at.desc(), dsl::id.desc()))
        .limit(fetch)
        .load(connection)?;
    let has_more = rows.len() > limit;
    let records = rows
        .into_iter()
        .take(limit)
        .map(RecordRow::into_record)
        .collect::<QueryResult<Vec<_>>>()?;
    let next = has_more
        .then(|| {
            records.last().map(|last| Cursor {
                communicated_at: last.attributes.communicated_at,
                id: last.id,
            })
        })
        .flatten();
    Ok(Page { records, next })
}

pub fn count(connection: &mut AnyConnection) -> QueryResult<i64> {
    communication_records::table.count().get_result(connection)
}

/// Gives the interaction's records that have no customer yet this customer; records that have
/// one keep it, and so do records a GDPR forget holds (they were the forgotten subject's when it
/// was confirmed). Idempotent. Returns how many records changed.
pub fn assign_customer(
    connection: &mut AnyConnection,
    interaction_id: InteractionId,
    customer_id: CustomerId,
) -> QueryResult<usize> {
    use communication_records::dsl;
    diesel::update(
        dsl::communication_records
            .filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)))
            .filter(dsl::customer_id.is_null())
            .filter(dsl::forgotten_by.is_null()),
    )
    .set(dsl::customer_id.eq(Some(DbUuid::from(customer_id))))
    .execute(connection)
}

/// Forgets idempotency keys created before `before`; returns how many.
pub fn remove_idempotency_keys_before(connection: &mut AnyConnection, before: Timestamp) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(DbTimestamp::from(before))))
        .execute(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            communicated_at: Timestamp::parse("2026-11-20T09:41:07.512Z").unwrap(),
            id: CommunicationRecordId::generate(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for garbage in ["", "not base64!", "bm8gc2VwYXJhdG9y", "eHx5"] {
            assert_eq!(Cursor::decode(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("0b9c2a51-inbox-42").is_ok());
        for bad in ["", "has space", "tab\t", "ünïcode", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
