//! Reading and writing pairings: each interaction has a set of customers, one row each, in the
//! name of who paired it (caller and person), and kept with who removed it once removed.

use crate::schema::interaction_customers::{self, dsl};
use crate::suppression::PairingKey;
use diesel::prelude::*;
use domain::{CustomerId, InteractionId, SupportInteraction, Timestamp};
use gdpr_participant::expiry::Position;
use gdpr_participant::holds::Filter;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{write_transaction, AnyConnection};
use std::collections::BTreeMap;

/// The wire types of a pairing (contracts::pairing): who paired, the customers and the removed.
pub use contracts::pairing::{Actor, PairedCustomer, PairingMode, RemovedCustomer};

/// The caller of a request and the person it acts for.
pub fn actor_of(caller: &service_kit::auth::Caller) -> Actor {
    Actor {
        caller: caller.name.clone(),
        subject: caller.person.as_ref().map(|person| person.subject.clone()),
        display_name: caller.person.as_ref().map(|person| person.display_name.clone()),
    }
}

/// The name the outbox's withdrawal carries: the person, else the caller.
fn person_of(actor: &Actor) -> &str {
    actor.subject.as_deref().unwrap_or(&actor.caller)
}

fn actor_from_columns(caller: Option<String>, subject: Option<String>, display_name: Option<String>) -> Option<Actor> {
    caller.map(|caller| Actor {
        caller,
        subject,
        display_name,
    })
}

/// An interaction's pairings as stored (the visible ones), first paired first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPairing {
    /// The interaction and its latest customer.
    pub pairing: SupportInteraction,
    /// When its first customer was paired.
    pub created_at: Timestamp,
    /// When its latest customer was paired.
    pub updated_at: Timestamp,
    pub customers: Vec<PairedCustomer>,
    /// Its removed pairings (not held by a GDPR forget), first removed first.
    pub removed: Vec<RemovedCustomer>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = interaction_customers)]
struct CustomerRow {
    id: DbUuid,
    interaction_id: DbUuid,
    customer_id: DbUuid,
    paired_at: DbTimestamp,
    paired_by_caller: Option<String>,
    paired_by_subject: Option<String>,
    paired_by_name: Option<String>,
    pairing_reason: Option<String>,
}

impl CustomerRow {
    fn customer(self) -> QueryResult<PairedCustomer> {
        Ok(PairedCustomer {
            customer_id: CustomerId::from(self.customer_id),
            paired_at: self.paired_at.into_domain()?,
            paired_by: actor_from_columns(self.paired_by_caller, self.paired_by_subject, self.paired_by_name),
            reason: self.pairing_reason,
        })
    }
}

/// A removed pairing's row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = interaction_customers)]
struct RemovedRow {
    #[diesel(embed)]
    pairing: CustomerRow,
    removed_at: Option<DbTimestamp>,
    removed_by_caller: Option<String>,
    removed_by_subject: Option<String>,
    removed_by_name: Option<String>,
    removal_reason: Option<String>,
}

/// Groups rows (any order) into each interaction's pairing; interactions without rows are absent.
fn grouped(rows: Vec<CustomerRow>) -> QueryResult<Vec<StoredPairing>> {
    let mut by_interaction: BTreeMap<InteractionId, Vec<(PairedCustomer, uuid::Uuid)>> = BTreeMap::new();
    for row in rows {
        let id = row.id.0;
        by_interaction
            .entry(InteractionId::from(row.interaction_id))
            .or_default()
            .push((row.customer()?, id));
    }
    Ok(by_interaction
        .into_iter()
        .filter_map(|(interaction_id, mut customers)| {
            customers.sort_by_key(|(customer, id)| (customer.paired_at, *id));
            let (first, _) = customers.first()?;
            let (latest, _) = customers.last()?;
            Some(StoredPairing {
                pairing: SupportInteraction {
                    customer_id: latest.customer_id,
                    interaction_id,
                },
                created_at: first.paired_at,
                updated_at: latest.paired_at,
                customers: customers.into_iter().map(|(customer, _)| customer).collect(),
                removed: Vec::new(),
            })
        })
        .collect())
}

/// Why a pairing was not stored or removed.
#[derive(Debug, thiserror::Error)]
pub enum PairingRefused {
    /// This customer's pairing of the interaction is hidden by a GDPR FORGET: pairing or removing
    /// it must not bring it back into view. It can be changed once the FORGET is undone or purged.
    #[error("the pairing is held by a GDPR forget")]
    HeldByForget,
    /// A purged GDPR forget erased this customer's pairing of the interaction: it is not made
    /// again ([`crate::suppression`]).
    #[error("this customer's data for this interaction was erased on request")]
    Erased,
    /// Removing a pairing that does not exist.
    #[error("the customer is not paired with the interaction")]
    NotPaired,
    /// Pairing an interaction as unassigned when another customer has it already.
    #[error("the interaction is paired with another customer already")]
    AlreadyAssigned,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Whether a pairing added a customer to the interaction or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paired {
    Added,
    AlreadyPaired,
}

/// Who changes a pairing, and why.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub reason: Option<&'a str>,
    pub now: Timestamp,
}

/// Serialises changes of one interaction's pairings: PostgreSQL takes a transaction-scoped
/// advisory lock on the interaction (a check of its other customers and an insert of a new one
/// are then one step); SQLite's write transaction holds the database's write lock already.
fn lock_interaction(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<()> {
    match connection {
        AnyConnection::Postgresql(pg) => diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(interaction_id.to_string())
            .execute(pg)
            .map(drop),
        AnyConnection::Sqlite(_) => Ok(()),
    }
}

/// The interaction's current (not removed) pairings: row id, customer, GDPR holder.
fn current(
    connection: &mut AnyConnection,
    interaction_id: InteractionId,
) -> QueryResult<Vec<(DbUuid, DbUuid, Option<DbUuid>)>> {
    dsl::interaction_customers
        .filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)))
        .filter(dsl::removed_at.is_null())
        .select((dsl::id, dsl::customer_id, dsl::forgotten_by))
        .load(connection)
}

/// Marks a pairing removed, in the name of `change`'s actor, and queues the withdrawal of that
/// customer's records.
fn remove(
    connection: &mut AnyConnection,
    row: DbUuid,
    pairing: &SupportInteraction,
    change: &Change<'_>,
) -> QueryResult<()> {
    diesel::update(dsl::interaction_customers.find(row))
        .set((
            dsl::removed_at.eq(Some(DbTimestamp::from(change.now))),
            dsl::removed_by_caller.eq(Some(change.actor.caller.as_str())),
            dsl::removed_by_subject.eq(change.actor.subject.as_deref()),
            dsl::removed_by_name.eq(change.actor.display_name.as_deref()),
            dsl::removal_reason.eq(change.reason),
        ))
        .execute(connection)?;
    crate::outbox::enqueue_withdrawal(connection, pairing, person_of(change.actor), change.now)
}

/// Pairs the customer with the interaction as `mode` says (the same pair again changes nothing),
/// in the name of `change`'s actor, and queues the assignment (and, re-assigning, the others'
/// withdrawals) for comm-history-writer in the same transaction. A pair a purged GDPR forget
/// erased (its fingerprint under `key`) is refused, and nothing is stored or queued.
pub fn pair(
    connection: &mut AnyConnection,
    key: &PairingKey,
    pairing: &SupportInteraction,
    mode: PairingMode,
    change: &Change<'_>,
) -> Result<(StoredPairing, Paired), PairingRefused> {
    let fingerprint = key.fingerprint(pairing.interaction_id, pairing.customer_id);
    write_transaction(connection, |connection| {
        lock_interaction(connection, pairing.interaction_id)?;
        if crate::suppression::is_erased(connection, &fingerprint)? {
            return Err(PairingRefused::Erased);
        }
        let customer = DbUuid::from(pairing.customer_id);
        let rows = current(connection, pairing.interaction_id)?;
        let mine = rows.iter().find(|(_, c, _)| *c == customer);
        if mine.is_some_and(|(_, _, held)| held.is_some()) {
            return Err(PairingRefused::HeldByForget);
        }
        let others: Vec<_> = rows.iter().filter(|(_, c, _)| *c != customer).collect();
        match mode {
            PairingMode::Add => {}
            PairingMode::Unassigned if !others.is_empty() => return Err(PairingRefused::AlreadyAssigned),
            PairingMode::Unassigned => {}
            PairingMode::Reassign => {
                if others.iter().any(|(_, _, held)| held.is_some()) {
                    return Err(PairingRefused::HeldByForget);
                }
                for (row, other, _) in &others {
                    let removed = SupportInteraction {
                        customer_id: CustomerId::from(*other),
                        interaction_id: pairing.interaction_id,
                    };
                    remove(connection, *row, &removed, change)?;
                }
            }
        }
        let outcome = if mine.is_some() {
            Paired::AlreadyPaired
        } else {
            let row = CustomerRow {
                id: DbUuid(uuid::Uuid::now_v7()),
                interaction_id: pairing.interaction_id.into(),
                customer_id: customer,
                paired_at: change.now.into(),
                paired_by_caller: Some(change.actor.caller.clone()),
                paired_by_subject: change.actor.subject.clone(),
                paired_by_name: change.actor.display_name.clone(),
                pairing_reason: change.reason.map(str::to_owned),
            };
            diesel::insert_into(interaction_customers::table)
                .values(&row)
                .execute(connection)?;
            crate::outbox::enqueue_assignment(connection, pairing, change.now)?;
            Paired::Added
        };
        let stored = find(connection, pairing.interaction_id)?.ok_or(diesel::result::Error::NotFound)?;
        Ok((stored, outcome))
    })
}

/// Removes a mistaken pairing (kept, marked removed, with who, when and why) and queues the
/// withdrawal of that customer's records, in one transaction.
pub fn unpair(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    change: &Change<'_>,
) -> Result<(), PairingRefused> {
    write_transaction(connection, |connection| {
        lock_interaction(connection, pairing.interaction_id)?;
        let customer = DbUuid::from(pairing.customer_id);
        let rows = current(connection, pairing.interaction_id)?;
        match rows.into_iter().find(|(_, c, _)| *c == customer) {
            None => Err(PairingRefused::NotPaired),
            Some((_, _, Some(_))) => Err(PairingRefused::HeldByForget),
            Some((row, _, None)) => Ok(remove(connection, row, pairing, change)?),
        }
    })
}

fn visible_rows(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<CustomerRow>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    dsl::interaction_customers
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::removed_at.is_null())
        .select(CustomerRow::as_select())
        .load(connection)
}

/// The interaction's removed pairings a GDPR forget does not hold, first removed first.
fn removed(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<Vec<RemovedCustomer>> {
    let rows: Vec<RemovedRow> = dsl::interaction_customers
        .filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)))
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::removed_at.is_not_null())
        .order((dsl::removed_at, dsl::id))
        .select(RemovedRow::as_select())
        .load(connection)?;
    rows.into_iter()
        .map(|row| {
            Ok(RemovedCustomer {
                pairing: row.pairing.customer()?,
                removed_at: row.removed_at.ok_or(diesel::result::Error::NotFound)?.into_domain()?,
                removed_by: actor_from_columns(row.removed_by_caller, row.removed_by_subject, row.removed_by_name),
                removal_reason: row.removal_reason,
            })
        })
        .collect()
}

/// The interaction's pairing (none while no customer is paired with it), with its removed
/// pairings.
pub fn find(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<Option<StoredPairing>> {
    let Some(mut stored) = grouped(visible_rows(connection, &[interaction_id])?)?.pop() else {
        return Ok(None);
    };
    stored.removed = removed(connection, interaction_id)?;
    Ok(Some(stored))
}

/// The pairings of those of `interaction_ids` that have one (not forgotten), without their
/// removed pairings.
pub fn find_many(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<StoredPairing>> {
    grouped(visible_rows(connection, interaction_ids)?)
}

/// Those of `interaction_ids` with a pairing a GDPR forget holds (paired with someone not told).
pub fn find_held(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<InteractionId>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    let mut held: Vec<InteractionId> = dsl::interaction_customers
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_not_null())
        .filter(dsl::removed_at.is_null())
        .select(dsl::interaction_id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(InteractionId::from)
        .collect();
    held.sort();
    held.dedup();
    Ok(held)
}

/// Which pairings a retention is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingState {
    /// Current pairings, by when they were made (`pairing.retention_days`).
    Current,
    /// Removed pairings, by when they were removed (`pairing.removed_retention_days`).
    Removed,
}

impl PairingState {
    /// The metrics' label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Removed => "removed",
        }
    }

    /// The time the retention counts from, and the pairings it is about.
    fn since(self) -> (Filter<interaction_customers::table>, ExpiryColumn) {
        match self {
            Self::Current => (Box::new(dsl::removed_at.is_null()), ExpiryColumn::Paired),
            Self::Removed => (Box::new(dsl::removed_at.is_not_null()), ExpiryColumn::Removed),
        }
    }
}

#[derive(Clone, Copy)]
enum ExpiryColumn {
    Paired,
    Removed,
}

impl ExpiryColumn {
    fn before(self, cutoff: DbTimestamp) -> Filter<interaction_customers::table> {
        match self {
            Self::Paired => Box::new(dsl::paired_at.lt(cutoff)),
            Self::Removed => Box::new(dsl::removed_at.assume_not_null().lt(cutoff)),
        }
    }
}

/// Up to `batch` pairings in `state` past their retention at `cutoff` (made, or removed, before
/// it) that no GDPR request holds (a FORGET in grace, a RESTRICT, a purge's keeping for a legal
/// hold: the request's, whatever their age), oldest first by (that time, id) after `after`: the
/// partial indexes `interaction_customers_paired_at` and `interaction_customers_removed_at` read
/// just the batch.
pub fn expired(
    connection: &mut AnyConnection,
    state: PairingState,
    cutoff: Timestamp,
    after: Option<Position>,
    batch: i64,
) -> QueryResult<Vec<Position>> {
    let (which, column) = state.since();
    let cutoff = DbTimestamp::from(cutoff);
    let mut query = dsl::interaction_customers
        .filter(which)
        .filter(column.before(cutoff))
        .filter(dsl::forgotten_by.is_null())
        .filter(crate::gdpr::expirable_pairings())
        .into_boxed();
    match (column, after) {
        (_, None) => {}
        (ExpiryColumn::Paired, Some((at, id))) => {
            query = query.filter(dsl::paired_at.gt(at).or(dsl::paired_at.eq(at).and(dsl::id.gt(id))));
        }
        (ExpiryColumn::Removed, Some((at, id))) => {
            let removed_at = dsl::removed_at.assume_not_null();
            query = query.filter(removed_at.gt(at).or(removed_at.eq(at).and(dsl::id.gt(id))));
        }
    }
    match column {
        ExpiryColumn::Paired => query
            .order((dsl::paired_at, dsl::id))
            .select((dsl::paired_at, dsl::id))
            .limit(batch)
            .load(connection),
        ExpiryColumn::Removed => query
            .order((dsl::removed_at, dsl::id))
            .select((dsl::removed_at.assume_not_null(), dsl::id))
            .limit(batch)
            .load(connection),
    }
}

/// Deletes those of `ids` ([`expired`]'s) still in `state`, past their retention at `cutoff` and
/// held by no GDPR request (checked again as they go); answers how many went.
pub fn delete_expired(
    connection: &mut AnyConnection,
    state: PairingState,
    ids: Vec<DbUuid>,
    cutoff: Timestamp,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let (which, column) = state.since();
    diesel::delete(
        dsl::interaction_customers
            .filter(dsl::id.eq_any(ids))
            .filter(which)
            .filter(column.before(DbTimestamp::from(cutoff)))
            .filter(dsl::forgotten_by.is_null())
            .filter(crate::gdpr::expirable_pairings()),
    )
    .execute(connection)
}

/// Current pairings stored (one per customer of an interaction; removed ones not counted).
pub fn count(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::interaction_customers
        .filter(dsl::removed_at.is_null())
        .count()
        .get_result(connection)
}
