//! A RECTIFY's correction here (GDPR Art. 16): interactions BOFE paired with the subject's
//! customer that belong to another move to that customer: their pairings (current and removed,
//! with their reasons and actors: the history stays, under the right customer) and the
//! assignments still waiting in the outbox. A current pairing the right customer already has
//! makes the subject's a duplicate, which goes. This service stores no handle: a replaced phone
//! number or e-mail address changes nothing here.

use super::{PAIRINGS, PENDING_ASSIGNMENTS};
use crate::schema::{interaction_customers, pairing_outbox};
use contracts::participant::{CategoryCounts, CustomerCorrection, Rectification};
use diesel::prelude::*;
use gdpr_participant::{counts, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::HashSet;

/// The subject's pairings and waiting assignments of the named interactions: what a customer
/// correction would move.
pub(super) fn would_change(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<CategoryCounts> {
    match &rectification.customer {
        None => nothing(),
        Some(correction) => of_customers(connection, &interactions_of(correction), &reach.customers()),
    }
}

fn nothing() -> QueryResult<CategoryCounts> {
    counts([(PAIRINGS, 0), (PENDING_ASSIGNMENTS, 0)])
}

fn interactions_of(correction: &CustomerCorrection) -> Vec<DbUuid> {
    correction.interaction_ids.iter().map(|&id| id.into()).collect()
}

/// The pairings and waiting assignments of `interactions` to one of `customers`.
fn of_customers(
    connection: &mut AnyConnection,
    interactions: &[DbUuid],
    customers: &[DbUuid],
) -> QueryResult<CategoryCounts> {
    let pairings: i64 = interaction_customers::table
        .filter(interaction_customers::interaction_id.eq_any(interactions))
        .filter(interaction_customers::customer_id.eq_any(customers))
        .count()
        .get_result(connection)?;
    let pending: i64 = pairing_outbox::table
        .filter(pairing_outbox::interaction_id.eq_any(interactions))
        .filter(pairing_outbox::customer_id.eq_any(customers))
        .count()
        .get_result(connection)?;
    counts([(PAIRINGS, pairings), (PENDING_ASSIGNMENTS, pending)])
}

pub(super) fn rectify(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<CategoryCounts> {
    let Some(correction) = &rectification.customer else {
        return nothing();
    };
    let interactions = interactions_of(correction);
    let to = DbUuid::from(correction.to);
    {
        use interaction_customers::dsl;
        let theirs: HashSet<DbUuid> = dsl::interaction_customers
            .filter(dsl::interaction_id.eq_any(&interactions))
            .filter(dsl::customer_id.eq(to))
            .filter(dsl::removed_at.is_null())
            .select(dsl::interaction_id)
            .load::<DbUuid>(connection)?
            .into_iter()
            .collect();
        let subjects: Vec<(DbUuid, DbUuid, Option<DbTimestamp>)> = dsl::interaction_customers
            .filter(dsl::interaction_id.eq_any(&interactions))
            .filter(dsl::customer_id.eq_any(reach.customers()))
            .select((dsl::id, dsl::interaction_id, dsl::removed_at))
            .load(connection)?;
        for (id, interaction, removed_at) in subjects {
            if removed_at.is_none() && theirs.contains(&interaction) {
                diesel::delete(dsl::interaction_customers.filter(dsl::id.eq(id))).execute(connection)?;
            } else {
                diesel::update(dsl::interaction_customers.filter(dsl::id.eq(id)))
                    .set(dsl::customer_id.eq(to))
                    .execute(connection)?;
            }
        }
    }
    diesel::update(
        pairing_outbox::table
            .filter(pairing_outbox::interaction_id.eq_any(&interactions))
            .filter(pairing_outbox::customer_id.eq_any(reach.customers())),
    )
    .set(pairing_outbox::customer_id.eq(to))
    .execute(connection)?;
    // What the right customer holds of the interactions now: the same on a repeated call.
    of_customers(connection, &interactions, &[to])
}
