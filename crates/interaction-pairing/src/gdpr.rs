//! The GDPR participant: a subject's pairings (by customer id or linked interaction) and the
//! assignments still waiting in the outbox. Its count also tells gdpr-orchestrator which
//! interactions belong to the subject's customer ids, so the other services can find results and
//! records that carry no customer id.

use crate::schema::{pairing_outbox, support_interactions};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantCall, ParticipantReport};
use domain::{InteractionId, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::gdpr_participant::{counts, GdprStore};
use uuid::Uuid;

pub struct Pairings;

const PAIRINGS: &str = "pairings";
const PENDING_ASSIGNMENTS: &str = "pendingAssignments";

type AnyBackend = <AnyConnection as Connection>::Backend;
type PairingFilter =
    Box<dyn BoxableExpression<support_interactions::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;
type OutboxFilter = Box<dyn BoxableExpression<pairing_outbox::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;

fn ids(subject: &DataSubject) -> (Vec<DbUuid>, Vec<DbUuid>) {
    (
        subject.customer_ids.iter().map(|&id| id.into()).collect(),
        subject.interaction_ids.iter().map(|&id| id.into()).collect(),
    )
}

fn pairings_of(subject: &DataSubject) -> PairingFilter {
    use support_interactions::dsl;
    let (customers, interactions) = ids(subject);
    Box::new(
        dsl::forgotten_by.is_null().and(
            dsl::customer_id
                .eq_any(customers)
                .or(dsl::interaction_id.eq_any(interactions)),
        ),
    )
}

fn outbox_of(subject: &DataSubject) -> OutboxFilter {
    use pairing_outbox::dsl;
    let (customers, interactions) = ids(subject);
    Box::new(
        dsl::forgotten_by.is_null().and(
            dsl::customer_id
                .eq_any(customers)
                .or(dsl::interaction_id.eq_any(interactions)),
        ),
    )
}

fn held_counts(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<(i64, i64)> {
    let holder = Some(DbUuid(request_id));
    let pairings = support_interactions::table
        .filter(support_interactions::forgotten_by.eq(holder))
        .count()
        .get_result(connection)?;
    let pending = pairing_outbox::table
        .filter(pairing_outbox::forgotten_by.eq(holder))
        .count()
        .get_result(connection)?;
    Ok((pairings, pending))
}

impl GdprStore for Pairings {
    fn count(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let interactions: Vec<DbUuid> = support_interactions::table
            .filter(pairings_of(subject))
            .select(support_interactions::interaction_id)
            .load(connection)?;
        let pending: i64 = pairing_outbox::table
            .filter(outbox_of(subject))
            .count()
            .get_result(connection)?;
        let mut report = ParticipantReport::done(counts([
            (PAIRINGS, interactions.len() as i64),
            (PENDING_ASSIGNMENTS, pending),
        ]));
        report.linked_interaction_ids = interactions.into_iter().map(InteractionId::from).collect();
        Ok(report)
    }

    fn export(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let rows: Vec<(DbUuid, DbUuid, DbTimestamp, DbTimestamp)> = support_interactions::table
            .filter(pairings_of(subject))
            .select((
                support_interactions::interaction_id,
                support_interactions::customer_id,
                support_interactions::created_at,
                support_interactions::updated_at,
            ))
            .order(support_interactions::created_at)
            .load(connection)?;
        let pairings = rows
            .into_iter()
            .map(|(interaction, customer, created, updated)| {
                Ok(serde_json::json!({
                    "interactionId": interaction.0,
                    "customerId": customer.0,
                    "createdAt": created.into_domain()?,
                    "updatedAt": updated.into_domain()?,
                }))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([(PAIRINGS, pairings.len() as i64)]));
        report.data = Some([(PAIRINGS.to_owned(), pairings)].into());
        Ok(report)
    }

    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        call: &ParticipantCall,
        _now: Timestamp,
    ) -> QueryResult<CategoryCounts> {
        let holder = Some(DbUuid(request_id));
        diesel::update(support_interactions::table.filter(pairings_of(&call.subject)))
            .set(support_interactions::forgotten_by.eq(holder))
            .execute(connection)?;
        diesel::update(pairing_outbox::table.filter(outbox_of(&call.subject)))
            .set(pairing_outbox::forgotten_by.eq(holder))
            .execute(connection)?;
        self.held(connection, request_id)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let holder = Some(DbUuid(request_id));
        let pairings =
            diesel::update(support_interactions::table.filter(support_interactions::forgotten_by.eq(holder)))
                .set(support_interactions::forgotten_by.eq(None::<DbUuid>))
                .execute(connection)?;
        let pending = diesel::update(pairing_outbox::table.filter(pairing_outbox::forgotten_by.eq(holder)))
            .set(pairing_outbox::forgotten_by.eq(None::<DbUuid>))
            .execute(connection)?;
        Ok(counts([
            (PAIRINGS, pairings as i64),
            (PENDING_ASSIGNMENTS, pending as i64),
        ]))
    }

    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let holder = Some(DbUuid(request_id));
        let pairings =
            diesel::delete(support_interactions::table.filter(support_interactions::forgotten_by.eq(holder)))
                .execute(connection)?;
        let pending = diesel::delete(pairing_outbox::table.filter(pairing_outbox::forgotten_by.eq(holder)))
            .execute(connection)?;
        Ok(counts([
            (PAIRINGS, pairings as i64),
            (PENDING_ASSIGNMENTS, pending as i64),
        ]))
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let (pairings, pending) = held_counts(connection, request_id)?;
        Ok(counts([(PAIRINGS, pairings), (PENDING_ASSIGNMENTS, pending)]))
    }
}
