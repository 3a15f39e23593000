//! Writing records exactly once per `Idempotency-Key`, alone or in batches; filling in a late
//! pairing's customer; forgetting old keys.

use super::*;
use crate::suppression::AssignmentKey;

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
    /// A purged GDPR forget erased what this write would store (410): its idempotency key's
    /// record, or the customer's part in the communication. Nothing is written.
    #[error("erased by a GDPR forget")]
    Erased,
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
    policy: &WritePolicy,
) -> Result<Created, CreateError> {
    // Immediate on SQLite: the write reads what purged forgets keep before it writes.
    service_kit::database::write_transaction(connection, |connection| {
        let outcome = match idempotency {
            None if policy.erased(connection, record, None)? => BatchOutcome::Erased,
            None => {
                let id = CommunicationRecordId::generate();
                let row = RecordRow::new(id, record, CustomerSource::Pairing, now, &policy.handles);
                diesel::insert_into(communication_records::table)
                    .values(&row)
                    .execute(connection)?;
                policy.attribute(connection, std::slice::from_ref(&row), now)?;
                policy.queue_delivery(connection, &[row.id], now)?;
                BatchOutcome::Created(id)
            }
            Some(idempotency) => {
                let entry = BatchEntry {
                    record: record.clone(),
                    customer_source: CustomerSource::Pairing,
                    idempotency: idempotency.clone(),
                };
                let mut outcomes = write_batch(connection, std::slice::from_ref(&entry), now, policy)?;
                outcomes.pop().ok_or(diesel::result::Error::NotFound)?
            }
        };
        let (id, replayed) = match outcome {
            BatchOutcome::Created(id) => (id, false),
            BatchOutcome::Replayed(id) => (id, true),
            BatchOutcome::Conflict(conflict, _) => return Err(conflict.into()),
            BatchOutcome::Erased => return Err(CreateError::Erased),
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
    /// How the record's customer was found (when it names one).
    pub customer_source: CustomerSource,
    pub idempotency: Idempotency,
}

/// What became of one entry of a batch; the same answers a single write would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    Created(CommunicationRecordId),
    /// The key was seen before (earlier, or earlier in this batch) with the same request.
    Replayed(CommunicationRecordId),
    /// Refused, as a single write would be with a 409; with the record the key made while it is
    /// there (its writer's earlier attempt made it with other content).
    Conflict(KeyConflict, Option<CommunicationRecordId>),
    /// A purged GDPR forget erased it (its key's record, or its customer's part in the
    /// communication): nothing written, as a single write would answer 410.
    Erased,
}

/// Writes a batch in one transaction and a constant number of statements: one multi-row insert
/// of the keys, one of the new records, and one lookup each of the keys and records seen before.
/// Each entry is answered as [`create`] would answer it alone, in the order of `entries`; the
/// first entry of a key repeated within the batch decides for the others.
pub fn create_batch(
    connection: &mut AnyConnection,
    entries: &[BatchEntry],
    now: Timestamp,
    policy: &WritePolicy,
) -> QueryResult<Vec<BatchOutcome>> {
    service_kit::database::write_transaction(connection, |connection| write_batch(connection, entries, now, policy))
}

/// [`create_batch`] inside the caller's transaction.
///
/// The keys are claimed first: on PostgreSQL a concurrent request with one of the same keys waits
/// on the key's unique index until this one commits, then sees it (and a purge, which locks the
/// keys, finishes first); on SQLite the transaction is immediate (it holds the write lock from its
/// start), so requests serialise. Then what purged GDPR forgets keep is read: an erased entry
/// gives its key back and stores nothing.
fn write_batch(
    connection: &mut AnyConnection,
    entries: &[BatchEntry],
    now: Timestamp,
    policy: &WritePolicy,
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
    // After the claim: a purge (which locks the keys on PostgreSQL) committed before it, and its
    // markers are seen now, or it waits for this write. An erased entry gives its key back and
    // stores nothing.
    let erased = policy.erased_entries(connection, entries, &firsts)?;
    let given_back: Vec<DbUuid> = unique
        .iter()
        .filter(|&&index| erased[index] && claimed.contains(&ids[index]))
        .map(|&index| DbUuid::from(ids[index]))
        .collect();
    if !given_back.is_empty() {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::record_id.eq_any(&given_back)))
            .execute(connection)?;
    }
    unique.retain(|&index| !erased[index]);
    let new_rows: Vec<RecordRow> = unique
        .iter()
        .filter(|&&index| claimed.contains(&ids[index]))
        .map(|&index| {
            let entry = &entries[index];
            RecordRow::new(ids[index], &entry.record, entry.customer_source, now, &policy.handles)
        })
        .collect();
    if !new_rows.is_empty() {
        per_backend!(connection, |c| diesel::insert_into(communication_records::table)
            .values(&new_rows)
            .execute(c))?;
        policy.attribute(connection, &new_rows, now)?;
        let ids: Vec<DbUuid> = new_rows.iter().map(|row| row.id).collect();
        policy.queue_delivery(connection, &ids, now)?;
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
            if erased[first] {
                return Ok(BatchOutcome::Erased);
            }
            let (first_hash, record_id, created_now) = if claimed.contains(&ids[first]) {
                (entries[first].idempotency.request_hash.as_str(), ids[first], true)
            } else {
                let key = (entry.idempotency.caller.clone(), entry.idempotency.key.0.clone());
                let (hash, record_id) = earlier.get(&key).ok_or(diesel::result::Error::NotFound)?;
                (hash.as_str(), *record_id, false)
            };
            let there = created_now || still_there.contains(&record_id);
            Ok(if first_hash != entry.idempotency.request_hash {
                BatchOutcome::Conflict(KeyConflict::ReusedWithDifferentRequest, there.then_some(record_id))
            } else if created_now && first == index {
                BatchOutcome::Created(record_id)
            } else if there {
                BatchOutcome::Replayed(record_id)
            } else {
                BatchOutcome::Conflict(KeyConflict::RecordGone, None)
            })
        })
        .collect()
}

/// How records are written: their handles' search keys, and whether one written without a
/// customer takes the one customer its handle belongs to (`records.auto_assign_by_handle`, over
/// the last `records.auto_assign_window_days`).
#[derive(Debug, Clone)]
pub struct WritePolicy {
    pub handles: HandleNormaliser,
    pub auto_assign_window: Option<std::time::Duration>,
    /// Records given a customer by their handle.
    pub auto_assigned: Option<prometheus::IntCounter>,
    /// Every record stored, and every later change of its customer, is queued for the bank's
    /// communication-history-manager (`[delivery] url` set).
    pub deliver: bool,
    /// What purged GDPR forgets keep ([`crate::suppression`]): no write brings back what they
    /// erased.
    pub suppression: AssignmentKey,
    /// Writes and assignments refused because a purged forget erased them (no labels).
    pub suppressed: Option<prometheus::IntCounter>,
    /// Pairings that made a record participant data had named another customer's theirs.
    pub conflicts: Option<prometheus::IntCounter>,
}

impl WritePolicy {
    /// Counts records a pairing took over from the customer participant data named.
    pub fn count_conflicts(&self, n: usize) {
        if let Some(counter) = &self.conflicts {
            counter.inc_by(n as u64);
        }
    }

    /// Counts a write or assignment a purged forget refused.
    pub fn count_suppressed(&self, n: usize) {
        if let Some(counter) = &self.suppressed {
            counter.inc_by(n as u64);
        }
    }

    /// Whether a purged GDPR forget erased what `record` would store: its customer's part in the
    /// communication, or (`key`, with the caller) the record first written with that key.
    fn erased(
        &self,
        connection: &mut AnyConnection,
        record: &NewCommunicationRecord,
        key: Option<&Idempotency>,
    ) -> QueryResult<bool> {
        let wanted: Vec<String> = self.markers(record, key).collect();
        let erased = !crate::suppression::purged_among(connection, &wanted)?.is_empty();
        if erased {
            self.count_suppressed(1);
        }
        Ok(erased)
    }

    fn markers<'a>(
        &'a self,
        record: &NewCommunicationRecord,
        key: Option<&'a Idempotency>,
    ) -> impl Iterator<Item = String> + 'a {
        let pair = record
            .customer_id
            .map(|customer| self.suppression.fingerprint(record.interaction_id, customer));
        let key = key.map(|k| self.suppression.idempotency_key_marker(&k.caller, k.key.as_str()));
        pair.into_iter().chain(key)
    }

    /// For each entry, whether a purged forget erased what its key's first entry would store; one
    /// lookup for the batch.
    fn erased_entries(
        &self,
        connection: &mut AnyConnection,
        entries: &[BatchEntry],
        firsts: &[usize],
    ) -> QueryResult<Vec<bool>> {
        let markers: Vec<Vec<String>> = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                if firsts[index] == index {
                    self.markers(&entry.record, Some(&entry.idempotency)).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let wanted: Vec<String> = markers.iter().flatten().cloned().collect();
        let found = crate::suppression::purged_among(connection, &wanted)?;
        let erased: Vec<bool> = markers
            .iter()
            .map(|of_entry| of_entry.iter().any(|marker| found.contains(marker)))
            .collect();
        self.count_suppressed(erased.iter().filter(|&&e| e).count());
        Ok(erased)
    }

    /// Queues the new `records` for the manager, when delivery is on; inside the write's
    /// transaction, after [`WritePolicy::attribute`] (the record is rendered when it is sent).
    fn queue_delivery(&self, connection: &mut AnyConnection, records: &[DbUuid], now: Timestamp) -> QueryResult<()> {
        if self.deliver {
            deliveries::enqueue(connection, DeliveryKind::Create, records, now)?;
        }
        Ok(())
    }

    /// With auto-assignment on: each of `rows` without a customer takes the one customer its
    /// handle belongs to, `handle_match`; a shared handle never matches. Inside the write's
    /// transaction.
    fn attribute(&self, connection: &mut AnyConnection, rows: &[RecordRow], now: Timestamp) -> QueryResult<()> {
        use communication_records::dsl;
        let Some(window) = self.auto_assign_window else {
            return Ok(());
        };
        let since = Timestamp::from_offset_date_time(now.as_offset_date_time() - window).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError("records.auto_assign_window_days reaches before year 1".into())
        })?;
        let mut by_handle: HashMap<&str, Vec<(DbUuid, InteractionId)>> = HashMap::new();
        for row in rows.iter().filter(|row| row.customer_id.is_none()) {
            by_handle
                .entry(row.customer_handle_key.as_str())
                .or_default()
                .push((row.id, row.interaction_id.into()));
        }
        for (handle_key, rows_of_handle) in by_handle {
            let Some(customer) = sole_customer_of_handle(connection, handle_key, since)? else {
                continue;
            };
            // Never a customer whose purged forget reached the communication.
            let fingerprints: Vec<String> = rows_of_handle
                .iter()
                .map(|(_, interaction)| self.suppression.fingerprint(*interaction, customer))
                .collect();
            let suppressed = crate::suppression::purged_among(connection, &fingerprints)?;
            let ids: Vec<DbUuid> = rows_of_handle
                .iter()
                .zip(&fingerprints)
                .filter(|(_, fingerprint)| !suppressed.contains(*fingerprint))
                .map(|((id, _), _)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let assigned = diesel::update(dsl::communication_records.filter(dsl::id.eq_any(&ids)))
                .set((
                    dsl::customer_id.eq(Some(DbUuid::from(customer))),
                    dsl::customer_source.eq(Some(CustomerSource::HandleMatch.as_str())),
                ))
                .execute(connection)?;
            if let Some(counter) = &self.auto_assigned {
                counter.inc_by(assigned as u64);
            }
        }
        Ok(())
    }
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
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("0b9c2a51-inbox-42").is_ok());
        for bad in ["", "has space", "tab\t", "ünïcode", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
