//! Accepting results (the webhook's, and those the sweep found in Genesys' analytics): each
//! result stored once, redeliveries found, forgotten subjects suppressed.

use super::*;
use domain::CustomerId;

/// What the webhook answers: the event's id, and whether it was already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: Uuid,
    pub duplicate: bool,
}

/// What became of a delivered result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Stored(Accepted),
    /// The result is about a subject forgotten after it happened, or a purge erased this very
    /// result: a late delivery that must not bring the data back. Nothing is stored.
    Suppressed,
}

/// A delivered result on its way into the inbox. `handle_key` is its ANI's search key,
/// `suppression_hashes` its identifiers as [`crate::suppression::SuppressionKey`] hashes them,
/// `erased_marks` what a purge's erasure recognises it by (its identity's fingerprint, its
/// conversation, its agent in it: [`crate::suppression::SuppressionKey::erased_marks_of_result`]),
/// `payload` its JSON as stored; `trace_context` the webhook
/// request's trace; `participant_customer` the customer its participant data names (already
/// minimised: [`crate::participant_data::ParticipantDataSettings::minimise`]).
pub struct Delivery {
    pub result: SupportResult,
    pub participant_customer: Option<CustomerId>,
    pub handle_key: String,
    pub payload: String,
    pub suppression_hashes: Vec<String>,
    pub erased_marks: Vec<String>,
    pub trace_context: Option<String>,
    pub origin: Origin,
}

impl Delivery {
    /// Everything the result's row needs, computed before it joins a batch.
    pub fn prepare(
        result: SupportResult,
        participant_customer: Option<CustomerId>,
        suppression: &crate::suppression::SuppressionKey,
        handles: &HandleNormaliser,
        trace_context: Option<String>,
    ) -> serde_json::Result<Self> {
        let handle_key = result.ani.key(handles).as_str().to_owned();
        Ok(Self {
            suppression_hashes: suppression.hashes_of_result(&result, &handle_key, participant_customer),
            participant_customer,
            erased_marks: suppression.erased_marks_of_result(&result),
            payload: serde_json::to_string(&result)?,
            handle_key,
            trace_context,
            result,
            origin: Origin::Webhook,
        })
    }

    /// The same result, found by the sweep rather than delivered by the webhook.
    pub fn swept(self) -> Self {
        Self {
            origin: Origin::Sweep,
            ..self
        }
    }
}

/// The natural key: the same conversation, agent and wrap-up code is the same result, whatever
/// event time each delivery carries (the webhook's and the sweep's differ).
type NaturalKey<'a> = (InteractionId, GenesysUserId, &'a str);

fn natural_key(result: &SupportResult) -> NaturalKey<'_> {
    (result.conversation_id, result.user_id, result.wrapup_code.as_str())
}

/// Stores each delivery as a pending event, or finds the event the same result created before
/// (same conversation, agent and wrap-up code), in a constant number of statements
/// for the whole batch, and only for redeliveries a statement more each. A result about a subject
/// forgotten after it happened, or a result a purge erased, is not stored
/// ([`Acceptance::Suppressed`]). Answers in the order
/// of `deliveries`. Atomic by itself: on PostgreSQL the batch is one statement (one round trip,
/// its own commit when no transaction is open), on SQLite one transaction.
pub fn accept_batch(
    connection: &mut AnyConnection,
    deliveries: &[Delivery],
    now: Timestamp,
) -> QueryResult<Vec<Acceptance>> {
    // The same result twice in one batch is one event: its first delivery decides, the others
    // are its duplicates.
    let keys: Vec<NaturalKey> = deliveries.iter().map(|d| natural_key(&d.result)).collect();
    let mut first_of_key: HashMap<&NaturalKey<'_>, usize> = HashMap::with_capacity(deliveries.len());
    let firsts: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(index, key)| *first_of_key.entry(key).or_insert(index))
        .collect();
    let batch = NewEvents {
        deliveries,
        firsts: &firsts,
        ids: deliveries.iter().map(|_| Uuid::now_v7()).collect(),
        now,
    };
    let Stored { inserted, suppressed } = match connection {
        AnyConnection::Postgresql(pg) => batch.store_in_one_statement(pg)?,
        AnyConnection::Sqlite(_) => connection.transaction(|c| batch.store_then_withdraw_suppressed(c))?,
    };

    let mut answers = Vec::with_capacity(deliveries.len());
    for (index, delivery) in deliveries.iter().enumerate() {
        let first = firsts[index];
        let answer = if suppressed[index] || suppressed[first] {
            Acceptance::Suppressed
        } else if inserted.contains(&batch.ids[first]) {
            Acceptance::Stored(Accepted {
                id: batch.ids[first],
                duplicate: first != index,
            })
        } else {
            // Delivered before this batch: rare enough for a lookup each.
            Acceptance::Stored(Accepted {
                id: existing_id(connection, &delivery.result)?,
                duplicate: true,
            })
        };
        answers.push(answer);
    }
    Ok(answers)
}

/// A webhook batch on its way into the inbox: a fresh id for each delivery; only the first
/// delivery of each natural key (`firsts[index] == index`) becomes a row.
struct NewEvents<'a> {
    deliveries: &'a [Delivery],
    firsts: &'a [usize],
    ids: Vec<Uuid>,
    now: Timestamp,
}

/// What a batch's write found: the ids it inserted (a redelivery of a stored result conflicts and
/// is not among them) and, for each delivery, whether a forget suppresses it.
struct Stored {
    inserted: HashSet<Uuid>,
    suppressed: Vec<bool>,
}

#[derive(QueryableByName)]
struct BatchOutcome {
    /// An event the statement inserted.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    inserted: Option<Uuid>,
    /// The index of a delivery a forget suppresses.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    suppressed: Option<i32>,
}

impl NewEvents<'_> {
    fn is_first(&self, index: usize) -> bool {
        self.firsts[index] == index
    }

    /// One column of the rows to insert (`rows`: their deliveries' indexes), for an array bind.
    fn column<'s, T>(&'s self, rows: &[usize], value: impl Fn(&'s Delivery) -> T) -> Vec<T> {
        rows.iter().map(|&index| value(&self.deliveries[index])).collect()
    }

    /// PostgreSQL: the suppression check and the insert of the rows it lets through, as one
    /// statement. The check must see a forget that commits while this batch waits for it: the
    /// forget holds a lock on `inbox_events` that conflicts with the insert's, and PostgreSQL
    /// takes a statement's locks (at parse and bind) before the snapshot it executes with (read
    /// committed), so a batch that waited reads the forget's suppressions and stores nothing it
    /// suppresses; a forget that comes later waits for this commit and hides the rows itself.
    /// (`forget_race` tests both orders.)
    fn store_in_one_statement(&self, connection: &mut diesel::PgConnection) -> QueryResult<Stored> {
        let index_of = |index: usize| i32::try_from(index).unwrap_or(i32::MAX);
        let (mut hash_delivery, mut hashes, mut hash_event_times) = (Vec::new(), Vec::new(), Vec::new());
        for (index, delivery) in self.deliveries.iter().enumerate() {
            for hash in &delivery.suppression_hashes {
                hash_delivery.push(index_of(index));
                hashes.push(hash.as_str());
                hash_event_times.push(delivery.result.event_time.as_offset_date_time());
            }
        }
        let rows: Vec<usize> = (0..self.deliveries.len()).filter(|&i| self.is_first(i)).collect();
        let statement = postgres::AcceptBatchStatement {
            hash_delivery,
            hashes,
            hash_event_times,
            fingerprint_delivery: self
                .deliveries
                .iter()
                .enumerate()
                .flat_map(|(index, d)| d.erased_marks.iter().map(move |_| index_of(index)))
                .collect(),
            fingerprints: self
                .deliveries
                .iter()
                .flat_map(|d| d.erased_marks.iter().map(String::as_str))
                .collect(),
            now: self.now.as_offset_date_time(),
            row_delivery: rows.iter().map(|&i| index_of(i)).collect(),
            ids: rows.iter().map(|&i| self.ids[i]).collect(),
            conversation_ids: self.column(&rows, |d| DbUuid::from(d.result.conversation_id).0),
            user_ids: self.column(&rows, |d| DbUuid::from(d.result.user_id).0),
            wrapup_codes: self.column(&rows, |d| d.result.wrapup_code.as_str()),
            event_times: self.column(&rows, |d| d.result.event_time.as_offset_date_time()),
            payloads: self.column(&rows, |d| d.payload.as_str()),
            handle_keys: self.column(&rows, |d| d.handle_key.as_str()),
            trace_contexts: self.column(&rows, |d| d.trace_context.as_deref()),
            origins: self.column(&rows, |d| d.origin.as_str()),
            participant_customer_ids: self.column(&rows, |d| d.participant_customer.map(|c| DbUuid::from(c).0)),
            channels: self.column(&rows, |d| d.result.channel().as_str()),
        };
        let outcomes: Vec<BatchOutcome> = statement.load(connection)?;
        let mut stored = Stored {
            inserted: HashSet::with_capacity(rows.len()),
            suppressed: vec![false; self.deliveries.len()],
        };
        for outcome in outcomes {
            stored.inserted.extend(outcome.inserted);
            if let Some(index) = outcome.suppressed {
                let flag = usize::try_from(index).ok().and_then(|i| stored.suppressed.get_mut(i));
                *flag.ok_or_else(|| {
                    diesel::result::Error::DeserializationError(
                        format!(
                            "the batch statement named delivery {index} of {}",
                            self.deliveries.len()
                        )
                        .into(),
                    )
                })? = true;
            }
        }
        Ok(stored)
    }

    /// SQLite: one multi-row insert, then the suppression check, then the suppressed rows taken
    /// out again, in one transaction (`accept_batch`'s). Checked after the insert, whose write lock
    /// serialises it with a concurrent forget (a read first would have to upgrade its lock, and
    /// fail, under concurrency).
    fn store_then_withdraw_suppressed(&self, connection: &mut AnyConnection) -> QueryResult<Stored> {
        let now = DbTimestamp::from(self.now);
        let rows: Vec<_> = (0..self.deliveries.len())
            .filter(|&index| self.is_first(index))
            .map(|index| {
                let delivery = &self.deliveries[index];
                let result = &delivery.result;
                (
                    dsl::id.eq(DbUuid(self.ids[index])),
                    dsl::conversation_id.eq(DbUuid::from(result.conversation_id)),
                    dsl::user_id.eq(DbUuid::from(result.user_id)),
                    dsl::wrapup_code.eq(result.wrapup_code.as_str()),
                    dsl::event_time.eq(DbTimestamp::from(result.event_time)),
                    dsl::payload.eq(delivery.payload.as_str()),
                    dsl::customer_handle_key.eq(Some(delivery.handle_key.as_str())),
                    dsl::trace_context.eq(delivery.trace_context.as_deref()),
                    dsl::origin.eq(delivery.origin.as_str()),
                    dsl::participant_customer_id.eq(delivery.participant_customer.map(DbUuid::from)),
                    dsl::channel.eq(Some(result.channel().as_str())),
                    dsl::status.eq(InboxStatus::Pending.as_str()),
                    dsl::attempts.eq(0),
                    dsl::next_attempt_at.eq(now),
                    dsl::accepted_at.eq(now),
                    dsl::budget_started_at.eq(now),
                )
            })
            .collect();
        let inserted: Vec<DbUuid> = per_backend!(connection, |c| diesel::insert_into(inbox_events::table)
            .values(&rows)
            .on_conflict((dsl::conversation_id, dsl::user_id, dsl::wrapup_code))
            .do_nothing()
            .returning(dsl::id)
            .get_results(c))?;
        let mut inserted: HashSet<Uuid> = inserted.into_iter().map(|id| id.0).collect();

        let forgotten = crate::suppression::suppressed_among(
            connection,
            self.deliveries
                .iter()
                .map(|d| (d.suppression_hashes.as_slice(), d.result.event_time)),
        )?;
        let marks = self
            .deliveries
            .iter()
            .flat_map(|d| d.erased_marks.iter().map(String::as_str));
        let mut found = crate::suppression::erased_among(connection, marks)?.into_iter();
        let erased: Vec<bool> = self
            .deliveries
            .iter()
            .map(|d| d.erased_marks.iter().filter(|_| found.next().unwrap_or(false)).count() > 0)
            .collect();
        let suppressed: Vec<bool> = forgotten.iter().zip(&erased).map(|(f, e)| *f || *e).collect();
        let withdrawn: Vec<DbUuid> = (0..self.deliveries.len())
            .filter(|&index| suppressed[index] && inserted.remove(&self.ids[index]))
            .map(|index| DbUuid(self.ids[index]))
            .collect();
        if !withdrawn.is_empty() {
            diesel::delete(dsl::inbox_events.filter(dsl::id.eq_any(&withdrawn))).execute(connection)?;
        }
        Ok(Stored { inserted, suppressed })
    }
}

fn existing_id(connection: &mut AnyConnection, result: &SupportResult) -> QueryResult<Uuid> {
    let existing: DbUuid = dsl::inbox_events
        .filter(dsl::conversation_id.eq(DbUuid::from(result.conversation_id)))
        .filter(dsl::user_id.eq(DbUuid::from(result.user_id)))
        .filter(dsl::wrapup_code.eq(result.wrapup_code.as_str()))
        .select(dsl::id)
        .first(connection)?;
    Ok(existing.0)
}
