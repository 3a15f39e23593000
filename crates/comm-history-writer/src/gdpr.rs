//! The GDPR participant: a subject's communication records.
//!
//! As a customer, a subject reaches the records the bank attributed to one of the request's
//! customer ids, and the records attributed to nobody that the search key of one of its handles
//! (every form of the phone number or e-mail address) or one of its interactions finds. A record
//! attributed to another customer is never reached: it is left out and counted.
//!
//! As an agent (`genesysUserIds`), a subject reaches the records that name them: the customer's
//! record stays, and the agent is hidden on it (served without `bankUserName` and
//! `genesysUserId`) while a FORGET holds it; the purge blanks both. An agent's export lists what
//! identifies their part only, not the customer's data.

use crate::schema::{communication_records, idempotency_keys};
use crate::store::{deliveries, RecordRow};
use crate::suppression;
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, ExternalCopy, ParticipantCall, ParticipantReport};
use domain::Timestamp;
use gdpr_participant::{counts, holds, GdprStore, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

pub struct CommunicationRecords {
    /// The key of the (interaction, customer) pairs a forget reached, kept once it is purged.
    pub suppression: crate::suppression::AssignmentKey,
}

/// The subject's records as a customer.
const COMMUNICATIONS: &str = "communications";
/// Records that name the subject as their agent.
const AGENT_COMMUNICATIONS: &str = "agentCommunications";
/// What of the subject's records went to the bank's communication-history-manager, and when.
const MANAGER_DELIVERIES: &str = "communicationHistoryManagerDeliveries";
/// The system `[delivery]` delivers to, as a forget names it.
const MANAGER: &str = "communication-history-manager";

/// What a hold is on: the whole record, or the agent on it.
pub(crate) const HOLD_RECORD: &str = "record";
const HOLD_AGENT: &str = "agent";

type Filter = Box<dyn BoxableExpression<communication_records::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;
type AnyBackend = <AnyConnection as Connection>::Backend;

/// Records one of the subject's handles or interactions finds, whoever they are attributed to.
fn found_by_handle_or_interaction(reach: &Reach<'_>) -> Filter {
    use communication_records::dsl;
    let interactions: Vec<DbUuid> = reach.subject.interaction_ids.iter().map(|&id| id.into()).collect();
    Box::new(
        dsl::customer_handle_key
            .eq_any(reach.subject.handle_keys())
            .or(dsl::interaction_id.eq_any(interactions)),
    )
}

fn customers(reach: &Reach<'_>) -> Vec<DbUuid> {
    reach.subject.customer_ids.iter().map(|&id| id.into()).collect()
}

/// The subject's records as a customer: attributed to one of its customer ids, or to nobody and
/// found by one of its handles or interactions. Hidden ones too.
fn of_customer(reach: &Reach<'_>) -> Filter {
    use communication_records::dsl;
    Box::new(
        dsl::customer_id
            .eq_any(customers(reach))
            .assume_not_null()
            .or(dsl::customer_id.is_null().and(found_by_handle_or_interaction(reach))),
    )
}

/// Found by a handle or an interaction, but attributed to a customer outside the request.
fn attributed_elsewhere(reach: &Reach<'_>) -> Filter {
    use communication_records::dsl;
    Box::new(
        dsl::customer_id
            .is_not_null()
            .and(dsl::customer_id.ne_all(customers(reach)).assume_not_null())
            .and(found_by_handle_or_interaction(reach)),
    )
}

/// Records that name one of the subject's agents.
fn of_agent(reach: &Reach<'_>) -> Filter {
    let agents: Vec<DbUuid> = reach.subject.genesys_user_ids.iter().map(|&id| id.into()).collect();
    Box::new(communication_records::genesys_user_id.eq_any(agents).assume_not_null())
}

fn visible() -> Filter {
    Box::new(communication_records::forgotten_by.is_null())
}

fn count_where(connection: &mut AnyConnection, filter: Filter) -> QueryResult<i64> {
    communication_records::table
        .filter(filter)
        .count()
        .get_result(connection)
}

fn ids_where(connection: &mut AnyConnection, filter: Filter) -> QueryResult<Vec<Uuid>> {
    Ok(communication_records::table
        .filter(filter)
        .select(communication_records::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

fn left_out(connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
    let n = count_where(connection, Box::new(visible().and(attributed_elsewhere(reach))))?;
    if n == 0 {
        return Ok(CategoryCounts::new());
    }
    counts([(COMMUNICATIONS, n)])
}

/// Records showing one of the subject's agents: visible, and the agent not hidden on them.
fn showing_agent(reach: &Reach<'_>) -> Filter {
    Box::new(
        visible()
            .and(of_agent(reach))
            .and(communication_records::agent_redacted.eq(false)),
    )
}

fn to_json<T: serde::Serialize>(value: &T) -> QueryResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

impl GdprStore for CommunicationRecords {
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let customer = count_where(connection, Box::new(visible().and(of_customer(reach))))?;
        let agent = count_where(connection, showing_agent(reach))?;
        let mut report = ParticipantReport::done(counts([(COMMUNICATIONS, customer), (AGENT_COMMUNICATIONS, agent)])?);
        report.left_out = left_out(connection, reach)?;
        Ok(report)
    }

    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let order = (communication_records::communicated_at, communication_records::id);
        let records = communication_records::table
            .filter(visible().and(of_customer(reach)))
            .select(RecordRow::as_select())
            .order(order)
            .load::<RecordRow>(connection)?
            .into_iter()
            .map(|row| {
                // A record withdrawn with its customer's pairing is the customer's data too: it
                // is exported, marked (who withdrew it is the bank's, not the customer's).
                let withdrawn_at = row.withdrawn_at()?;
                let mut record = to_json(&row.into_record()?)?;
                if let Some(at) = withdrawn_at {
                    record["withdrawnAt"] = to_json(&at)?;
                }
                Ok(record)
            })
            .collect::<QueryResult<Vec<_>>>()?;
        // The agent's part of each record, without the customer's data (GDPR Art. 15(4)).
        type AgentPart = (
            DbUuid,
            DbUuid,
            DbTimestamp,
            String,
            String,
            Option<String>,
            Option<DbUuid>,
        );
        let handled: Vec<AgentPart> = communication_records::table
            .filter(showing_agent(reach))
            .select((
                communication_records::id,
                communication_records::interaction_id,
                communication_records::communicated_at,
                communication_records::channel,
                communication_records::direction,
                communication_records::bank_user_name,
                communication_records::genesys_user_id,
            ))
            .order(order)
            .load(connection)?;
        let handled = handled
            .into_iter()
            .map(|(id, interaction, at, channel, direction, name, agent)| {
                Ok(serde_json::json!({
                    "recordId": id.0,
                    "interactionId": interaction.0,
                    "communicatedAt": at.into_domain()?,
                    "channel": channel,
                    "direction": direction,
                    "bankUserName": name,
                    "genesysUserId": agent.map(|a| a.0),
                }))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let record_ids = ids_where(connection, Box::new(visible().and(of_customer(reach))))?;
        // What the manager holds, or may hold (an attempt whose answer was lost: not delivered,
        // its lastError says why).
        let delivered = deliveries::copies_of(connection, &record_ids, Timestamp::now())?
            .iter()
            .map(|copy| to_json(&copy.delivery))
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([
            (COMMUNICATIONS, records.len() as i64),
            (AGENT_COMMUNICATIONS, handled.len() as i64),
            (MANAGER_DELIVERIES, delivered.len() as i64),
        ])?);
        report.left_out = left_out(connection, reach)?;
        report.data = Some(
            [
                (COMMUNICATIONS.to_owned(), records),
                (AGENT_COMMUNICATIONS.to_owned(), handled),
                (MANAGER_DELIVERIES.to_owned(), delivered),
            ]
            .into(),
        );
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
        use communication_records::dsl;
        let left_out = left_out(connection, reach)?;
        let records = ids_where(connection, of_customer(reach))?;
        holds::hold(connection, request_id, HOLD_RECORD, &records)?;
        holds::chunked(&records, |ids| {
            diesel::update(
                dsl::communication_records
                    .filter(dsl::id.eq_any(ids))
                    .filter(dsl::forgotten_by.is_null()),
            )
            .set(dsl::forgotten_by.eq(Some(DbUuid(request_id))))
            .execute(connection)
            .map(holds::changed)
        })?;
        // The customer's part in each communication reached, for after the purge.
        let mut interactions = reach.subject.interaction_ids.clone();
        holds::chunked(&records, |ids| {
            let found: Vec<DbUuid> = communication_records::table
                .filter(dsl::id.eq_any(ids))
                .select(dsl::interaction_id)
                .load(connection)?;
            interactions.extend(found.into_iter().map(domain::InteractionId::from));
            Ok(0)
        })?;
        suppression::note(
            connection,
            &self.suppression,
            request_id,
            &reach.subject.customer_ids,
            &interactions,
        )?;
        let agents = ids_where(connection, of_agent(reach))?;
        holds::hold(connection, request_id, HOLD_AGENT, &agents)?;
        holds::chunked(&agents, |ids| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                .set(dsl::agent_redacted.eq(true))
                .execute(connection)
                .map(holds::changed)
        })?;
        Ok(left_out)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        use communication_records::dsl;
        let held = self.held(connection, request_id)?;
        suppression::lift(connection, request_id)?;
        let released = holds::release(connection, request_id, HOLD_RECORD)?;
        for (holder, rows) in holds::by_holder(released) {
            holds::chunked(&rows, |ids| {
                diesel::update(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                    .set(dsl::forgotten_by.eq(holder.map(DbUuid)))
                    .execute(connection)
                    .map(holds::changed)
            })?;
        }
        let released = holds::release(connection, request_id, HOLD_AGENT)?;
        let free: Vec<Uuid> = released
            .into_iter()
            .filter_map(|(row, holder)| holder.is_none().then_some(row))
            .collect();
        holds::chunked(&free, |ids| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                .set(dsl::agent_redacted.eq(false))
                .execute(connection)
                .map(holds::changed)
        })?;
        Ok(held)
    }

    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        use communication_records::dsl;
        // A write claiming one of the purged records' keys (or naming the customer) meanwhile
        // waits for this commit, then sees the markers below (the write checks after its claim).
        if let AnyConnection::Postgresql(pg) = connection {
            diesel::sql_query("LOCK TABLE idempotency_keys IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
        }
        let records = holds::held_rows(connection, request_id, HOLD_RECORD)?;
        suppression::keep(connection, request_id)?;
        // The idempotency keys of purged records go with them, each leaving a keyed marker: a
        // write sent again with one of them is answered as erased, never stored anew.
        let mut markers = Vec::new();
        holds::chunked(&records, |ids| {
            let keys: Vec<(String, String)> = idempotency_keys::table
                .filter(idempotency_keys::record_id.eq_any(ids))
                .select((idempotency_keys::caller, idempotency_keys::idempotency_key))
                .load(connection)?;
            markers.extend(
                keys.iter()
                    .map(|(caller, key)| self.suppression.idempotency_key_marker(caller, key)),
            );
            Ok(0)
        })?;
        suppression::keep_erased_keys(connection, request_id, &markers)?;
        holds::chunked(&records, |ids| {
            diesel::delete(idempotency_keys::table.filter(idempotency_keys::record_id.eq_any(ids)))
                .execute(connection)
                .map(holds::changed)
        })?;
        let purged: Vec<DbUuid> = records.iter().copied().map(DbUuid).collect();
        deliveries::remove_of(connection, &purged)?;
        let deleted = holds::chunked(&records, |ids| {
            diesel::delete(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                .execute(connection)
                .map(holds::changed)
        })?;
        holds::drop_rows(connection, HOLD_RECORD, &records)?;
        holds::drop_rows(connection, HOLD_AGENT, &records)?;
        let agents = holds::held_rows(connection, request_id, HOLD_AGENT)?;
        let blanked = holds::chunked(&agents, |ids| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                .set((
                    dsl::bank_user_name.eq(None::<String>),
                    dsl::genesys_user_id.eq(None::<DbUuid>),
                    dsl::agent_redacted.eq(false),
                ))
                .execute(connection)
                .map(holds::changed)
        })?;
        holds::drop_rows(connection, HOLD_AGENT, &agents)?;
        counts([(COMMUNICATIONS, deleted), (AGENT_COMMUNICATIONS, blanked)])
    }

    /// The copies of the held records at the manager: delivered (with the manager's id), and
    /// those it may hold (an answer lost: no id; the bank finds it by its `Idempotency-Key`).
    fn delivered_elsewhere(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
        let records = holds::held_rows(connection, request_id, HOLD_RECORD)?;
        Ok(deliveries::copies_of(connection, &records, Timestamp::now())?
            .into_iter()
            .map(|copy| ExternalCopy {
                system: MANAGER.to_owned(),
                record_id: copy.delivery.record_id,
                idempotency_key: copy.delivery.idempotency_key,
                external_id: copy.delivery.external_id,
                delivered_at: copy.at,
            })
            .collect())
    }

    /// An attempt of one of the held records out to the manager when the hold came: the forget
    /// waits for its answer, then names the copy ([`Self::delivered_elsewhere`]).
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let mut records = holds::held_rows(connection, request_id, HOLD_RECORD)?;
        records.extend(holds::held_rows(connection, request_id, HOLD_AGENT)?);
        deliveries::in_flight_of(connection, &records, Timestamp::now())
    }

    /// The held records, the agents hidden, and the copies of the held records at the manager.
    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let mut held = Vec::new();
        for kind in [HOLD_RECORD, HOLD_AGENT] {
            let rows = holds::held_rows(connection, request_id, kind)?;
            held.push(holds::chunked(&rows, |ids| {
                communication_records::table
                    .filter(communication_records::id.eq_any(ids))
                    .count()
                    .get_result(connection)
            })?);
        }
        let records = holds::held_rows(connection, request_id, HOLD_RECORD)?;
        let copies = deliveries::copies_of(connection, &records, Timestamp::now())?.len() as i64;
        counts([
            (COMMUNICATIONS, held[0]),
            (AGENT_COMMUNICATIONS, held[1]),
            (MANAGER_DELIVERIES, copies),
        ])
    }
}
