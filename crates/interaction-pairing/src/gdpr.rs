//! The GDPR participant: a subject's pairings and the assignments still waiting in the outbox.
//! Every pairing names its customer, so a request reaches exactly the pairings of its customer
//! ids; a pairing of one of the subject's interactions that BOFE made with another customer (the
//! same interaction may have several) is left out and counted. The count also tells gdpr-orchestrator which interactions belong to the
//! subject's customer ids, so the other services can find results and records that carry no
//! customer id.
//!
//! A legal hold's window is about when a pairing was made (`paired_at`) and when an assignment
//! was queued (`created_at`): this service holds no time of the interaction itself, and a pairing
//! is made while or just after the customer is served.

mod rectify;

use crate::schema::{interaction_customers, pairing_outbox};
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, ParticipantReport, Rectification};
use diesel::prelude::*;
use domain::{InteractionId, Timestamp};
use gdpr_participant::holds::{Filter, HeldTable};
use gdpr_participant::{counts, counts_if_any, GdprStore, Keepers, Purge, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

/// The participant; `key` fingerprints the pairs a purge erases ([`crate::suppression`]).
pub struct Pairings {
    pub key: crate::suppression::PairingKey,
}

const PAIRINGS: &str = "pairings";
const PENDING_ASSIGNMENTS: &str = "pendingAssignments";

// What a hold is on: a pairing (an `interaction_customers` row) or an outbox entry. Neither
// stores a customer handle, so a legal hold on a phone number or an e-mail address keeps none
// (only its customer ids and the interactions it names or links do).
gdpr_participant::held_table!(
    pub(crate) PairingRows = interaction_customers {
        hold: "pairing",
        time: paired_at,
        interaction: interaction_id
    }
);
gdpr_participant::held_table!(
    pub(crate) OutboxRows = pairing_outbox {
        hold: "assignment",
        time: created_at,
        interaction: interaction_id
    }
);

/// The subject's pairings, hidden ones too.
pub(crate) fn of_customer(reach: &Reach<'_>) -> Filter<interaction_customers::table> {
    Box::new(interaction_customers::customer_id.eq_any(reach.customers()))
}

/// The subject's undelivered assignments, hidden ones too.
pub(crate) fn assignments_of(reach: &Reach<'_>) -> Filter<pairing_outbox::table> {
    Box::new(pairing_outbox::customer_id.eq_any(reach.customers()))
}

impl GdprStore for Pairings {
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let visible = PairingRows::count_where(
            connection,
            Box::new(of_customer(reach).and(interaction_customers::forgotten_by.is_null())),
        )?;
        let pending = OutboxRows::count_where(
            connection,
            Box::new(assignments_of(reach).and(pairing_outbox::forgotten_by.is_null())),
        )?;
        let mut report = ParticipantReport::done(counts([(PAIRINGS, visible), (PENDING_ASSIGNMENTS, pending)])?);
        // Every interaction of the subject's customers, hidden or not: it is who they are, not
        // what is shown.
        report.linked_interaction_ids = interaction_customers::table
            .filter(of_customer(reach))
            .select(interaction_customers::interaction_id)
            .load::<DbUuid>(connection)?
            .into_iter()
            .map(InteractionId::from)
            .collect();
        Ok(report)
    }

    /// The subject's pairings, current and removed, with the reasons given for them and for
    /// their removal (free text about the customer); not who paired or removed them. Pairings a
    /// purge kept for a legal hold are the subject's too; those a FORGET in grace holds are not.
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
            .filter(of_customer(reach))
            .filter(PairingRows::exportable())
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
        report.data = Some([(PAIRINGS.to_owned(), pairings)].into());
        Ok(report)
    }

    /// Pairings of the subject's interactions that BOFE made with a customer outside the request.
    fn left_out(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
        use interaction_customers::dsl;
        let elsewhere = dsl::interaction_id
            .eq_any(reach.interactions())
            .and(dsl::customer_id.ne_all(reach.customers()))
            .and(dsl::forgotten_by.is_null());
        counts_if_any(PAIRINGS, PairingRows::count_where(connection, Box::new(elsewhere))?)
    }

    fn hold(&self, connection: &mut AnyConnection, request_id: Uuid, reach: &Reach<'_>) -> QueryResult<()> {
        PairingRows::hold_where(connection, request_id, of_customer(reach))?;
        OutboxRows::hold_where(connection, request_id, assignments_of(reach))?;
        Ok(())
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
        PairingRows::release(connection, request_id)?;
        OutboxRows::release(connection, request_id)
    }

    /// Deletes what the request holds but what a retention keeps, and keeps the fingerprints of
    /// the (interaction, customer) pairs it deletes, so that pairing them again is refused
    /// ([`crate::suppression`]); a kept pairing gets its fingerprint when a purge deletes it.
    fn purge(&self, connection: &mut AnyConnection, purge: &Purge<'_>) -> QueryResult<Vec<Retained>> {
        let request_id = purge.request_id;
        let pairings = PairingRows::keep_retained(connection, purge, PairingRows::HOLD, PAIRINGS, of_customer)?;
        let assignments =
            OutboxRows::keep_retained(connection, purge, OutboxRows::HOLD, PENDING_ASSIGNMENTS, assignments_of)?;
        let pairings_kept = pairings.retained;
        let pairings = pairings.erase;
        let mut fingerprints = Vec::new();
        gdpr_participant::holds::chunked(&pairings, |ids| {
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
        PairingRows::delete(connection, &pairings)?;
        OutboxRows::delete(connection, &assignments.erase)?;
        Ok([pairings_kept, assignments.retained].concat())
    }

    /// An assignment the outbox worker claimed before the forget may still reach
    /// comm-history-writer after it, and give the customer a record there that no hold covers:
    /// while one of the request's held entries is in a worker's hands, the forget is answered
    /// `pending_external` and asked again, so that comm-history-writer's forget, when it runs after
    /// this one, holds what the assignment wrote. (Held entries are never claimed again.)
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let entries = OutboxRows::held_rows(connection, request_id)?;
        let now = Timestamp::now();
        let in_hands =
            gdpr_participant::holds::chunked(&entries, |ids| crate::outbox::in_workers_hands(connection, ids, now))?;
        Ok(in_hands > 0)
    }

    /// Moves the interactions a customer correction names ([`rectify`]).
    fn rectify(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        rectify::rectify(c, reach, fix, keepers)
    }

    fn count_rectify(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        rectify::would_change(c, reach, fix, keepers)
    }

    /// Pairings and waiting assignments a hold keeps: they stay with the subject's customer.
    fn kept_unchanged(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<Vec<Retained>> {
        rectify::kept_unchanged(c, reach, fix, keepers)
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        counts([
            (PAIRINGS, PairingRows::count_held(connection, request_id)?),
            (PENDING_ASSIGNMENTS, OutboxRows::count_held(connection, request_id)?),
        ])
    }
}

/// The pairings an age-based clean-up may delete: none a request holds (a FORGET in grace, a
/// RESTRICT, a purge's keeping for a hold) and none noted kept ([`HeldTable::expirable`]).
pub(crate) fn expirable_pairings() -> Filter<interaction_customers::table> {
    PairingRows::expirable()
}

/// The outbox entries an age-based clean-up may delete (as [`expirable_pairings`]).
pub(crate) fn expirable_assignments() -> Filter<pairing_outbox::table> {
    OutboxRows::expirable()
}
