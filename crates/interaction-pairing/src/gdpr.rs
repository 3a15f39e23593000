//! The GDPR participant: a subject's pairings and the assignments still waiting in the outbox.
//! Every pairing names its customer, so a request reaches exactly the pairings of its customer
//! ids; a pairing of one of the subject's interactions that BOFE made with another customer (the
//! same interaction may have several) is left out and counted. The count also tells gdpr-orchestrator which interactions belong to the
//! subject's customer ids, so the other services can find results and records that carry no
//! customer id.

use crate::schema::{interaction_customers, pairing_outbox};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, ParticipantCall, ParticipantReport};
use domain::{InteractionId, Timestamp};
use gdpr_participant::{counts, holds, GdprStore, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

/// The participant; `key` fingerprints the pairs a purge erases ([`crate::suppression`]).
pub struct Pairings {
    pub key: crate::suppression::PairingKey,
}

const PAIRINGS: &str = "pairings";
const PENDING_ASSIGNMENTS: &str = "pendingAssignments";

/// What a hold is on: a pairing (an `interaction_customers` row) or an outbox entry, by id.
const HOLD_PAIRING: &str = "pairing";
const HOLD_ASSIGNMENT: &str = "assignment";

fn customers(reach: &Reach<'_>) -> Vec<DbUuid> {
    reach.subject.customer_ids.iter().map(|&id| id.into()).collect()
}

fn interactions(reach: &Reach<'_>) -> Vec<DbUuid> {
    reach.subject.interaction_ids.iter().map(|&id| id.into()).collect()
}

/// The subject's pairings, as (row id, interaction id) (hidden ones too when `visible_only` is
/// false).
fn pairings_of(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    visible_only: bool,
) -> QueryResult<Vec<(DbUuid, DbUuid)>> {
    use interaction_customers::dsl;
    let mut query = dsl::interaction_customers
        .filter(dsl::customer_id.eq_any(customers(reach)))
        .select((dsl::id, dsl::interaction_id))
        .into_boxed();
    if visible_only {
        query = query.filter(dsl::forgotten_by.is_null());
    }
    query.load(connection)
}

/// The subject's undelivered assignments.
fn assignments_of(connection: &mut AnyConnection, reach: &Reach<'_>, visible_only: bool) -> QueryResult<Vec<DbUuid>> {
    use pairing_outbox::dsl;
    let mut query = dsl::pairing_outbox
        .filter(dsl::customer_id.eq_any(customers(reach)))
        .select(dsl::id)
        .into_boxed();
    if visible_only {
        query = query.filter(dsl::forgotten_by.is_null());
    }
    query.load(connection)
}

/// Pairings of the subject's interactions that BOFE made with a customer outside the request.
fn left_out(connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
    use interaction_customers::dsl;
    let n: i64 = dsl::interaction_customers
        .filter(dsl::interaction_id.eq_any(interactions(reach)))
        .filter(dsl::customer_id.ne_all(customers(reach)))
        .filter(dsl::forgotten_by.is_null())
        .count()
        .get_result(connection)?;
    if n == 0 {
        return Ok(CategoryCounts::new());
    }
    counts([(PAIRINGS, n)])
}

/// Sets each row's `forgotten_by` to a request still holding it, or null when none does.
fn sync_flags(connection: &mut AnyConnection, kind: &str, released: Vec<(Uuid, Option<Uuid>)>) -> QueryResult<()> {
    for (holder, rows) in holds::by_holder(released) {
        let holder = holder.map(DbUuid);
        holds::chunked(&rows, |ids| {
            match kind {
                HOLD_PAIRING => {
                    diesel::update(interaction_customers::table.filter(interaction_customers::id.eq_any(ids)))
                        .set(interaction_customers::forgotten_by.eq(holder))
                        .execute(connection)
                }
                _ => diesel::update(pairing_outbox::table.filter(pairing_outbox::id.eq_any(ids)))
                    .set(pairing_outbox::forgotten_by.eq(holder))
                    .execute(connection),
            }
            .map(holds::changed)
        })?;
    }
    Ok(())
}

impl GdprStore for Pairings {
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let visible = pairings_of(connection, reach, true)?.len();
        let pending = assignments_of(connection, reach, true)?.len();
        let mut report = ParticipantReport::done(counts([
            (PAIRINGS, visible as i64),
            (PENDING_ASSIGNMENTS, pending as i64),
        ])?);
        report.left_out = left_out(connection, reach)?;
        // Every interaction of the subject's customers, hidden or not: it is who they are, not
        // what is shown.
        report.linked_interaction_ids = pairings_of(connection, reach, false)?
            .into_iter()
            .map(|(_, interaction)| InteractionId::from(interaction))
            .collect();
        Ok(report)
    }

    /// The subject's pairings, current and removed, with the reasons given for them and for
    /// their removal (free text about the customer); not who paired or removed them.
    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        type Exported = (
            DbUuid,
            DbUuid,
            DbTimestamp,
            Option<String>,
            Option<DbTimestamp>,
            Option<String>,
        );
        let rows: Vec<Exported> = interaction_customers::table
            .filter(interaction_customers::customer_id.eq_any(customers(reach)))
            .filter(interaction_customers::forgotten_by.is_null())
            .select((
                interaction_customers::interaction_id,
                interaction_customers::customer_id,
                interaction_customers::paired_at,
                interaction_customers::pairing_reason,
                interaction_customers::removed_at,
                interaction_customers::removal_reason,
            ))
            .order(interaction_customers::paired_at)
            .load(connection)?;
        let pairings = rows
            .into_iter()
            .map(|(interaction, customer, paired, reason, removed, removal_reason)| {
                let mut pairing = serde_json::json!({
                    "interactionId": interaction.0,
                    "customerId": customer.0,
                    "pairedAt": paired.into_domain()?,
                });
                if let Some(reason) = reason {
                    pairing["reason"] = reason.into();
                }
                if let Some(removed) = removed {
                    pairing["removedAt"] = serde_json::json!(removed.into_domain()?);
                }
                if let Some(reason) = removal_reason {
                    pairing["removalReason"] = reason.into();
                }
                Ok(pairing)
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([(PAIRINGS, pairings.len() as i64)])?);
        report.left_out = left_out(connection, reach)?;
        report.data = Some([(PAIRINGS.to_owned(), pairings)].into());
        Ok(report)
    }

    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        _call: &ParticipantCall,
        reach: &Reach<'_>,
        _now: Timestamp,
    ) -> QueryResult<CategoryCounts> {
        let left_out = left_out(connection, reach)?;
        let holder = Some(DbUuid(request_id));
        let pairings: Vec<Uuid> = pairings_of(connection, reach, false)?
            .into_iter()
            .map(|(id, _)| id.0)
            .collect();
        holds::hold(connection, request_id, HOLD_PAIRING, &pairings)?;
        holds::chunked(&pairings, |ids| {
            diesel::update(
                interaction_customers::table
                    .filter(interaction_customers::id.eq_any(ids))
                    .filter(interaction_customers::forgotten_by.is_null()),
            )
            .set(interaction_customers::forgotten_by.eq(holder))
            .execute(connection)
            .map(holds::changed)
        })?;
        let assignments: Vec<Uuid> = assignments_of(connection, reach, false)?
            .into_iter()
            .map(|id| id.0)
            .collect();
        holds::hold(connection, request_id, HOLD_ASSIGNMENT, &assignments)?;
        holds::chunked(&assignments, |ids| {
            diesel::update(
                pairing_outbox::table
                    .filter(pairing_outbox::id.eq_any(ids))
                    .filter(pairing_outbox::forgotten_by.is_null()),
            )
            .set(pairing_outbox::forgotten_by.eq(holder))
            .execute(connection)
            .map(holds::changed)
        })?;
        Ok(left_out)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let held = self.held(connection, request_id)?;
        for kind in [HOLD_PAIRING, HOLD_ASSIGNMENT] {
            let released = holds::release(connection, request_id, kind)?;
            sync_flags(connection, kind, released)?;
        }
        Ok(held)
    }

    /// Deletes what the request holds, and keeps the fingerprints of the (interaction, customer)
    /// pairs it deletes, so that pairing them again is refused ([`crate::suppression`]).
    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let pairings = holds::held_rows(connection, request_id, HOLD_PAIRING)?;
        let mut fingerprints = Vec::new();
        holds::chunked(&pairings, |ids| {
            let pairs: Vec<(DbUuid, DbUuid)> = interaction_customers::table
                .filter(interaction_customers::id.eq_any(ids))
                .select((
                    interaction_customers::interaction_id,
                    interaction_customers::customer_id,
                ))
                .load(connection)?;
            fingerprints.extend(pairs.into_iter().map(|(interaction, customer)| {
                self.key
                    .fingerprint(InteractionId::from(interaction), domain::CustomerId::from(customer))
            }));
            Ok(0)
        })?;
        crate::suppression::keep(connection, request_id, &fingerprints)?;
        let deleted_pairings = holds::chunked(&pairings, |ids| {
            diesel::delete(interaction_customers::table.filter(interaction_customers::id.eq_any(ids)))
                .execute(connection)
                .map(holds::changed)
        })?;
        holds::drop_rows(connection, HOLD_PAIRING, &pairings)?;
        let assignments = holds::held_rows(connection, request_id, HOLD_ASSIGNMENT)?;
        let deleted_assignments = holds::chunked(&assignments, |ids| {
            diesel::delete(pairing_outbox::table.filter(pairing_outbox::id.eq_any(ids)))
                .execute(connection)
                .map(holds::changed)
        })?;
        holds::drop_rows(connection, HOLD_ASSIGNMENT, &assignments)?;
        counts([(PAIRINGS, deleted_pairings), (PENDING_ASSIGNMENTS, deleted_assignments)])
    }

    /// An assignment the outbox worker claimed before the forget may still reach
    /// comm-history-writer after it, and give the customer a record there that no hold covers:
    /// while one of the request's held entries is in a worker's hands, the forget is answered
    /// `pending_external` and asked again, so that comm-history-writer's forget, when it runs after
    /// this one, holds what the assignment wrote. (Held entries are never claimed again.)
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let entries = holds::held_rows(connection, request_id, HOLD_ASSIGNMENT)?;
        let now = Timestamp::now();
        let in_hands = holds::chunked(&entries, |ids| crate::outbox::in_workers_hands(connection, ids, now))?;
        Ok(in_hands > 0)
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let pairings = holds::held_rows(connection, request_id, HOLD_PAIRING)?;
        let held_pairings = holds::chunked(&pairings, |ids| {
            interaction_customers::table
                .filter(interaction_customers::id.eq_any(ids))
                .count()
                .get_result(connection)
        })?;
        let assignments = holds::held_rows(connection, request_id, HOLD_ASSIGNMENT)?;
        let held_assignments = holds::chunked(&assignments, |ids| {
            pairing_outbox::table
                .filter(pairing_outbox::id.eq_any(ids))
                .count()
                .get_result(connection)
        })?;
        counts([(PAIRINGS, held_pairings), (PENDING_ASSIGNMENTS, held_assignments)])
    }
}
