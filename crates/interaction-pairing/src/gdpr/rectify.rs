//! A RECTIFY's correction here (GDPR Art. 16): interactions BOFE paired with the subject's
//! customer that belong to another move to that customer: their pairings (current and removed,
//! with their reasons and actors: the history stays, under the right customer) and the
//! assignments still waiting in the outbox. A current pairing the right customer already has
//! makes the subject's a duplicate, which goes. This service stores no handle: a replaced phone
//! number or e-mail address changes nothing here.
//!
//! A pairing or a waiting assignment a legal hold keeps (what a purge now would keep: the hold's
//! customer ids and the interactions it names or links, within its window; no statutory rule is
//! about pairings) is evidence of who the bank attributed the interaction to: it stays with the
//! subject's customer as it was, and is counted as kept unchanged ([`kept_unchanged`]).

use super::{assignments_of, of_customer, OutboxRows, PairingRows, PAIRINGS, PENDING_ASSIGNMENTS};
use crate::schema::{interaction_customers, pairing_outbox};
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, CustomerCorrection, Rectification};
use diesel::prelude::*;
use gdpr_participant::retention::{unchanged, Unchanged};
use gdpr_participant::{counts, Keepers, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::HashSet;
use uuid::Uuid;

/// The subject's pairings and waiting assignments of the named interactions: what a customer
/// correction would move.
pub(super) fn would_change(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<CategoryCounts> {
    let Some(correction) = &rectification.customer else {
        return nothing();
    };
    let (pairings, assignments) = split(connection, reach, correction, keepers)?;
    counts([
        (PAIRINGS, pairings.change.len() as i64),
        (PENDING_ASSIGNMENTS, assignments.change.len() as i64),
    ])
}

/// Of the pairings and waiting assignments a customer correction names, those a legal hold keeps
/// as evidence, per basis: left with the subject's customer.
pub(super) fn kept_unchanged(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<Vec<Retained>> {
    let Some(correction) = &rectification.customer else {
        return Ok(Vec::new());
    };
    let (pairings, assignments) = split(connection, reach, correction, keepers)?;
    Ok([pairings.kept, assignments.kept].concat())
}

/// The subject's pairings and waiting assignments of the named interactions, each split into
/// those to move and those a legal hold keeps (the same question a purge asks).
fn split(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    correction: &CustomerCorrection,
    keepers: &Keepers<'_>,
) -> QueryResult<(Unchanged, Unchanged)> {
    let interactions = interactions_of(correction);
    let customers = reach.customers();
    let ids = |found: Vec<DbUuid>| found.into_iter().map(|id| id.0).collect::<Vec<Uuid>>();
    let pairings: Vec<DbUuid> = interaction_customers::table
        .filter(interaction_customers::interaction_id.eq_any(&interactions))
        .filter(interaction_customers::customer_id.eq_any(&customers))
        .select(interaction_customers::id)
        .load(connection)?;
    let assignments: Vec<DbUuid> = pairing_outbox::table
        .filter(pairing_outbox::interaction_id.eq_any(&interactions))
        .filter(pairing_outbox::customer_id.eq_any(&customers))
        .select(pairing_outbox::id)
        .load(connection)?;
    // No statutory rule is about pairings.
    Ok((
        unchanged::<PairingRows>(connection, keepers, PAIRINGS, ids(pairings), of_customer, |_| None)?,
        unchanged::<OutboxRows>(
            connection,
            keepers,
            PENDING_ASSIGNMENTS,
            ids(assignments),
            assignments_of,
            |_| None,
        )?,
    ))
}

fn nothing() -> QueryResult<CategoryCounts> {
    counts([(PAIRINGS, 0), (PENDING_ASSIGNMENTS, 0)])
}

fn interactions_of(correction: &CustomerCorrection) -> Vec<DbUuid> {
    correction.interaction_ids.iter().map(|&id| id.into()).collect()
}

pub(super) fn rectify(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<CategoryCounts> {
    let Some(correction) = &rectification.customer else {
        return nothing();
    };
    let interactions = interactions_of(correction);
    let to = DbUuid::from(correction.to);
    let (pairings, assignments) = split(connection, reach, correction, keepers)?;
    let moved: HashSet<Uuid> = pairings.change.into_iter().collect();
    let mut moved_now = 0i64;
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
        for (id, interaction, removed_at) in subjects.into_iter().filter(|(id, ..)| moved.contains(&id.0)) {
            moved_now += 1;
            if removed_at.is_none() && theirs.contains(&interaction) {
                diesel::delete(dsl::interaction_customers.filter(dsl::id.eq(id))).execute(connection)?;
            } else {
                diesel::update(dsl::interaction_customers.filter(dsl::id.eq(id)))
                    .set(dsl::customer_id.eq(to))
                    .execute(connection)?;
            }
        }
    }
    let reassigned = gdpr_participant::holds::chunked(&assignments.change, |ids| {
        diesel::update(pairing_outbox::table.filter(pairing_outbox::id.eq_any(ids)))
            .set(pairing_outbox::customer_id.eq(to))
            .execute(connection)
            .and_then(gdpr_participant::holds::changed)
    })?;
    // What this call moved (or dropped as a duplicate), and no other: never what the right
    // customer had of the interactions already. A repeated call moves nothing more and answers 0.
    counts([(PAIRINGS, moved_now), (PENDING_ASSIGNMENTS, reassigned)])
}
