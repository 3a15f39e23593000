//! Reading and writing pairings: each interaction has a set of customers, one row each.

use crate::schema::interaction_customers::{self, dsl};
use diesel::prelude::*;
use domain::{CustomerId, InteractionId, SupportInteraction, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::collections::BTreeMap;

/// One customer of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairedCustomer {
    pub customer_id: CustomerId,
    pub paired_at: Timestamp,
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
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = interaction_customers)]
struct CustomerRow {
    id: DbUuid,
    interaction_id: DbUuid,
    customer_id: DbUuid,
    paired_at: DbTimestamp,
}

/// Groups rows (any order) into each interaction's pairing; interactions without rows are absent.
fn grouped(rows: Vec<CustomerRow>) -> QueryResult<Vec<StoredPairing>> {
    let mut by_interaction: BTreeMap<InteractionId, Vec<(PairedCustomer, uuid::Uuid)>> = BTreeMap::new();
    for row in rows {
        by_interaction
            .entry(InteractionId::from(row.interaction_id))
            .or_default()
            .push((
                PairedCustomer {
                    customer_id: CustomerId::from(row.customer_id),
                    paired_at: row.paired_at.into_domain()?,
                },
                row.id.0,
            ));
    }
    Ok(by_interaction
        .into_iter()
        .filter_map(|(interaction_id, mut customers)| {
            customers.sort_by_key(|(customer, id)| (customer.paired_at, *id));
            let (first, _) = *customers.first()?;
            let (latest, _) = *customers.last()?;
            Some(StoredPairing {
                pairing: SupportInteraction {
                    customer_id: latest.customer_id,
                    interaction_id,
                },
                created_at: first.paired_at,
                updated_at: latest.paired_at,
                customers: customers.into_iter().map(|(customer, _)| customer).collect(),
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
    /// Removing a pairing that does not exist.
    #[error("the customer is not paired with the interaction")]
    NotPaired,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Whether a pairing added a customer to the interaction or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paired {
    Added,
    AlreadyPaired,
}

/// Adds the customer to the interaction's set (the same pair again changes nothing), and queues
/// the assignment for comm-history-writer in the same transaction. On PostgreSQL a concurrent
/// insert of the same pair waits for the first's commit and finds it: exactly one adds it.
pub fn pair(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    now: Timestamp,
) -> Result<(StoredPairing, Paired), PairingRefused> {
    let row = CustomerRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        interaction_id: pairing.interaction_id.into(),
        customer_id: pairing.customer_id.into(),
        paired_at: now.into(),
    };
    connection.transaction(|connection| {
        let inserted = per_backend!(connection, |c| diesel::insert_into(interaction_customers::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c))?;
        let outcome = if inserted == 1 {
            crate::outbox::enqueue_assignment(connection, pairing, now)?;
            Paired::Added
        } else {
            let held: Option<Option<DbUuid>> = dsl::interaction_customers
                .filter(dsl::interaction_id.eq(row.interaction_id))
                .filter(dsl::customer_id.eq(row.customer_id))
                .select(dsl::forgotten_by)
                .first(connection)
                .optional()?;
            match held {
                Some(None) => Paired::AlreadyPaired,
                Some(Some(_)) => return Err(PairingRefused::HeldByForget),
                None => return Err(diesel::result::Error::NotFound.into()),
            }
        };
        let stored = find(connection, pairing.interaction_id)?.ok_or(diesel::result::Error::NotFound)?;
        Ok((stored, outcome))
    })
}

/// Removes a mistaken pairing and queues the withdrawal of that customer's records, in the name
/// of `actor`, in one transaction.
pub fn unpair(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    actor: &str,
    now: Timestamp,
) -> Result<(), PairingRefused> {
    connection.transaction(|connection| {
        let pair = dsl::interaction_customers
            .filter(dsl::interaction_id.eq(DbUuid::from(pairing.interaction_id)))
            .filter(dsl::customer_id.eq(DbUuid::from(pairing.customer_id)));
        let held: Option<Option<DbUuid>> = pair.select(dsl::forgotten_by).first(connection).optional()?;
        match held {
            None => return Err(PairingRefused::NotPaired),
            Some(Some(_)) => return Err(PairingRefused::HeldByForget),
            Some(None) => {}
        }
        diesel::delete(pair).execute(connection)?;
        crate::outbox::enqueue_withdrawal(connection, pairing, actor, now)?;
        Ok(())
    })
}

fn visible_rows(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<CustomerRow>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    dsl::interaction_customers
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_null())
        .select(CustomerRow::as_select())
        .load(connection)
}

pub fn find(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<Option<StoredPairing>> {
    Ok(grouped(visible_rows(connection, &[interaction_id])?)?.pop())
}

/// The pairings of those of `interaction_ids` that have one (not forgotten).
pub fn find_many(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<StoredPairing>> {
    grouped(visible_rows(connection, interaction_ids)?)
}

/// Those of `interaction_ids` with a pairing a GDPR forget holds (paired with someone not told).
pub fn find_held(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<InteractionId>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    let mut held: Vec<InteractionId> = dsl::interaction_customers
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_not_null())
        .select(dsl::interaction_id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(InteractionId::from)
        .collect();
    held.sort();
    held.dedup();
    Ok(held)
}

/// Pairings stored (one per customer of an interaction).
pub fn count(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::interaction_customers.count().get_result(connection)
}
