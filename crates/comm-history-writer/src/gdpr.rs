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
//!
//! A legal hold's retention keeps at a purge the records (and agents on records) its subject
//! reaches, as a customer or as an agent, and, whoever they are attributed to, the records of the
//! interactions it names and those whose handle (`customer_handle_key`) is one of its phone
//! numbers or e-mail addresses, communicated (`communicated_at`) within its window:
//! they stay held, hidden and undelivered, with their idempotency keys and deliveries, and are
//! still exported to their subject.
//!
//! A statutory retention rule (the purge call's `rules`) keeps the same way every record the
//! request holds of its channels, directions and domains (an empty list: any) until `keep_days`
//! after its communication, the agent on it included (the record the law requires is the whole
//! record), but not its body: what was said, copied from Genesys by the content queue, is blanked
//! ([`blank_bodies_kept_by_rules`]); a legal hold keeps the body too. Only records are the communication: pairings and webhook results, elsewhere, are not
//! kept by a rule. A RECTIFY leaves every record a hold or a rule keeps as it was (`rectify`).

pub mod erased_copies;
mod rectify;

use crate::schema::{communication_records, idempotency_keys};
use crate::store::{deliveries, RecordRow};
use crate::suppression;
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, ExternalCopy, ParticipantReport, Rectification, StatutoryRule};
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::holds::{chunked, Filter, HeldTable};
use gdpr_participant::retention::split;
use gdpr_participant::{counts, counts_if_any, Forget, GdprStore, Keepers, Purge, Reach};
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

// A hold is on the whole record, or on the agent on it.
gdpr_participant::held_table!(pub(crate) Records = communication_records {
    hold: "record",
    time: communicated_at,
    interaction: interaction_id,
    handle: customer_handle_key,
    agent_hold: "agent",
});

/// What a hold on a whole record is called.
pub(crate) const HOLD_RECORD: &str = <Records as HeldTable>::HOLD;

type RecordFilter = Filter<communication_records::table>;

/// Records one of the subject's handles or interactions finds, whoever they are attributed to.
fn found_by_handle_or_interaction(reach: &Reach<'_>) -> RecordFilter {
    use communication_records::dsl;
    Box::new(
        dsl::customer_handle_key
            .eq_any(reach.subject.handle_keys())
            .or(dsl::interaction_id.eq_any(reach.interactions())),
    )
}

/// The subject's records as a customer: attributed to one of its customer ids, or to nobody and
/// found by one of its handles or interactions. Hidden ones too.
fn of_customer(reach: &Reach<'_>) -> RecordFilter {
    use communication_records::dsl;
    Box::new(
        dsl::customer_id
            .eq_any(reach.customers())
            .assume_not_null()
            .or(dsl::customer_id.is_null().and(found_by_handle_or_interaction(reach))),
    )
}

/// Records that name one of the subject's agents.
fn of_agent(reach: &Reach<'_>) -> RecordFilter {
    Box::new(
        communication_records::genesys_user_id
            .eq_any(reach.agents())
            .assume_not_null(),
    )
}

/// Records whose agent part an export of the subject's agents shows: visible, the agent not
/// hidden on them, or kept so for a legal hold.
fn exported_agent(reach: &Reach<'_>) -> RecordFilter {
    Box::new(Records::agent_exportable().and(of_agent(reach)))
}

/// Records a request for the subject reaches, as a customer or as an agent: what a legal hold on
/// the subject keeps, whole (the agent's part is on the customer's record, and the other way).
pub(crate) fn reached(reach: &Reach<'_>) -> RecordFilter {
    Box::new(of_customer(reach).or(of_agent(reach)))
}

/// The conditions `rule` sets on a record: one of its channels, one of its directions, one of
/// its domains (an empty list sets none). Every rule is about records.
pub(crate) fn ruled(rule: &StatutoryRule) -> Option<Vec<RecordFilter>> {
    use communication_records::dsl;
    let names = |values: Vec<&str>| values.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let mut conditions: Vec<RecordFilter> = Vec::new();
    if !rule.channels.is_empty() {
        let channels = names(rule.channels.iter().map(|c| c.as_str()).collect());
        conditions.push(Box::new(dsl::channel.eq_any(channels)));
    }
    if !rule.directions.is_empty() {
        let directions = names(rule.directions.iter().map(|d| d.as_str()).collect());
        conditions.push(Box::new(dsl::direction.eq_any(directions)));
    }
    if !rule.domains.is_empty() {
        let domains = names(rule.domains.iter().map(|d| d.as_str()).collect());
        conditions.push(Box::new(dsl::domain.eq_any(domains)));
    }
    Some(conditions)
}

fn to_json<T: serde::Serialize>(value: &T) -> QueryResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

impl CommunicationRecords {
    /// Notes the (interaction, customer) pairs of the forget's records, for after its purge: the
    /// interactions the request names, and those of the records reached.
    fn note_pairs(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        reach: &Reach<'_>,
        records: &[Uuid],
    ) -> QueryResult<()> {
        use communication_records::dsl;
        let mut interactions = reach.subject.interaction_ids.clone();
        chunked(records, |ids| {
            let found: Vec<DbUuid> = communication_records::table
                .filter(dsl::id.eq_any(ids))
                .select(dsl::interaction_id)
                .load(connection)?;
            interactions.extend(found.into_iter().map(domain::InteractionId::from));
            Ok(0)
        })?;
        let customers = &reach.subject.customer_ids;
        suppression::note(connection, &self.suppression, request_id, customers, &interactions)
    }

    /// Keeps, for the purge, a keyed marker of each idempotency key of `records` and deletes the
    /// keys: a write sent again with one of them is answered as erased, never stored anew.
    fn erase_idempotency_keys(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        records: &[Uuid],
    ) -> QueryResult<()> {
        let mut markers = Vec::new();
        chunked(records, |ids| {
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
        chunked(records, |ids| {
            diesel::delete(idempotency_keys::table.filter(idempotency_keys::record_id.eq_any(ids)))
                .execute(connection)
                .and_then(gdpr_participant::holds::changed)
        })?;
        Ok(())
    }
}

/// The bodies of the records the purge keeps for a statutory rule alone are blanked for good:
/// the rule keeps the record of the communication (who, when, which channel; the recording or the
/// e-mail itself is kept where it was made, in Genesys), not the copy of what was said that the
/// content queue added. A manager that got the record gets it again without its body (an update
/// the held-delivery gate lets through; nothing else of a held record goes out). A record a legal
/// hold keeps stays whole, its body too (the hold keeps evidence as it was); once the hold ends,
/// the next purge blanks it if a rule still keeps it.
fn blank_bodies_kept_by_rules(connection: &mut AnyConnection, purge: &Purge<'_>, erased: &[Uuid]) -> QueryResult<()> {
    use communication_records::dsl;
    let erased: std::collections::HashSet<&Uuid> = erased.iter().collect();
    let kept: Vec<Uuid> = Records::held_rows(connection, purge.request_id)?
        .into_iter()
        .filter(|row| !erased.contains(row))
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    // Those a legal hold covers (the same question the purge asked, without the rules).
    let by_holds = gdpr_participant::retention::covered::<Records>(
        connection,
        purge.retentions(),
        &[],
        Timestamp::now(),
        &kept,
        reached,
        ruled,
    )?
    .kept;
    let ruled_only: Vec<Uuid> = kept.into_iter().filter(|row| !by_holds.contains_key(row)).collect();
    let mut blanked: Vec<Uuid> = Vec::new();
    for chunk in ruled_only.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let with_body: Vec<DbUuid> = dsl::communication_records
            .filter(dsl::id.eq_any(&ids))
            .filter(dsl::body.ne(""))
            .select(dsl::id)
            .load(connection)?;
        diesel::update(dsl::communication_records.filter(dsl::id.eq_any(&with_body)))
            .set(dsl::body.eq(""))
            .execute(connection)?;
        blanked.extend(with_body.into_iter().map(|id| id.0));
    }
    // The manager's copy loses the body too: an update, the one entry of a held record that goes.
    deliveries::enqueue_body_blankings(connection, &blanked, Timestamp::now())
}

impl GdprStore for CommunicationRecords {
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let (customer, agent) = Records::count_customers_and_agents(connection, of_customer(reach), of_agent(reach))?;
        counts([(COMMUNICATIONS, customer), (AGENT_COMMUNICATIONS, agent)]).map(ParticipantReport::done)
    }

    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let order = (communication_records::communicated_at, communication_records::id);
        let records = communication_records::table
            .filter(Records::exportable().and(of_customer(reach)))
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
            .filter(exported_agent(reach))
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
        let record_ids = Records::ids_where(connection, Box::new(Records::exportable().and(of_customer(reach))))?;
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

    /// Visible records a handle or an interaction finds that are attributed to a customer outside
    /// the request.
    fn left_out(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
        use communication_records::dsl;
        let elsewhere = dsl::customer_id
            .is_not_null()
            .and(dsl::customer_id.ne_all(reach.customers()).assume_not_null())
            .and(found_by_handle_or_interaction(reach));
        let n = Records::count_where(connection, Box::new(Records::visible().and(elsewhere)))?;
        counts_if_any(COMMUNICATIONS, n)
    }

    fn hold(&self, connection: &mut AnyConnection, request_id: Uuid, reach: &Reach<'_>) -> QueryResult<()> {
        Records::hold_where(connection, request_id, of_customer(reach))?;
        Records::hold_agents_where(connection, request_id, of_agent(reach))
    }

    /// Holds, and notes the pairs of the records held: what the customer gains there until the
    /// purge is held too, and nothing comes back after it (a restriction does neither).
    fn forget(&self, connection: &mut AnyConnection, forget: &Forget<'_>) -> QueryResult<()> {
        let (request_id, reach) = (forget.request_id, &forget.reach);
        self.hold(connection, request_id, reach)?;
        let records = Records::held_rows(connection, request_id)?;
        self.note_pairs(connection, request_id, reach, &records)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
        suppression::lift(connection, request_id)?;
        Records::release(connection, request_id)
    }

    /// Erases what the request holds but what a retention or a statutory rule keeps. The
    /// request's (interaction, customer) pairs are suppressed for good at once, kept records or
    /// not: no new copy of the customer's comes. A kept record keeps its idempotency keys (their markers are made when a
    /// purge erases it) and its deliveries (held, so never sent).
    fn purge(&self, connection: &mut AnyConnection, purge: &Purge<'_>) -> QueryResult<Vec<Retained>> {
        use communication_records::dsl;
        let request_id = purge.request_id;
        // A write claiming one of the purged records' keys (or naming the customer) meanwhile
        // waits for this commit, then sees the markers below (the write checks after its claim).
        if let AnyConnection::Postgresql(pg) = connection {
            diesel::sql_query("LOCK TABLE idempotency_keys IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
        }
        let records = split::<Records>(connection, purge, HOLD_RECORD, COMMUNICATIONS, reached, ruled)?;
        blank_bodies_kept_by_rules(connection, purge, &records.erase)?;
        let agent_hold = Records::agent_hold()?;
        let agents = split::<Records>(connection, purge, agent_hold, AGENT_COMMUNICATIONS, reached, ruled)?;
        suppression::keep(connection, request_id)?;
        self.erase_idempotency_keys(connection, request_id, &records.erase)?;
        // The copies at the manager of exactly the records erased, noted before their
        // deliveries go: the report lists them to erase there ([`Self::erased_elsewhere`]).
        let now = Timestamp::now();
        let copies = deliveries::copies_of(connection, &records.erase, now)?;
        erased_copies::note(connection, request_id, &copies, now)?;
        let purged: Vec<DbUuid> = records.erase.iter().copied().map(DbUuid).collect();
        deliveries::remove_of(connection, &purged)?;
        Records::delete(connection, &records.erase)?;
        // The agents on records that stay are blanked for good.
        Records::blank_agents(connection, &agents.erase, |connection, ids| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(ids)))
                .set((
                    dsl::bank_user_name.eq(None::<String>),
                    dsl::genesys_user_id.eq(None::<DbUuid>),
                    dsl::agent_redacted.eq(false),
                ))
                .execute(connection)
        })?;
        Ok([records.retained, agents.retained].concat())
    }

    /// The copies at the manager of the records the request's purges erased: delivered (with
    /// the manager's id), and those it may hold (an answer lost: no id; the bank finds it by its
    /// `Idempotency-Key`). Never those of a record still held (in grace, restricted, or kept by a
    /// purge for a hold or a rule).
    fn erased_elsewhere(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
        erased_copies::of_request(connection, request_id)
    }

    /// The copies at the manager of the records the request holds, whole or the agent on them
    /// (a restriction's, to restrict there): delivered, and those the manager may hold.
    fn held_elsewhere(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
        let mut records = Records::held_rows(connection, request_id)?;
        records.extend(Records::held_agents(connection, request_id)?);
        records.sort();
        records.dedup();
        let copies = deliveries::copies_of(connection, &records, Timestamp::now())?;
        Ok(copies.into_iter().map(erased_copies::external).collect())
    }

    /// An attempt of one of the held records out to the manager when the hold came: the forget
    /// waits for its answer, so that the purge that erases the record names the copy
    /// ([`Self::erased_elsewhere`]).
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let mut records = Records::held_rows(connection, request_id)?;
        records.extend(Records::held_agents(connection, request_id)?);
        deliveries::in_flight_of(connection, &records, Timestamp::now())
    }

    /// Replaced handles and moved interactions ([`rectify`]); the manager's copies are updated.
    fn rectify(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        rectify::rectify(c, reach, fix, keepers)
    }

    /// Records not the subject's already carrying a `to` ([`rectify::conflicts`]).
    fn rectify_conflicts(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
    ) -> QueryResult<std::collections::BTreeMap<String, u64>> {
        rectify::conflicts(c, reach, fix)
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

    /// Records a hold or a rule keeps: their handle, search key and customer stay.
    fn kept_unchanged(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<Vec<Retained>> {
        rectify::kept_unchanged(c, reach, fix, keepers)
    }

    /// The held records, the agents hidden, and the copies of the held records at the manager.
    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let records = Records::held_rows(connection, request_id)?;
        let copies = deliveries::copies_of(connection, &records, Timestamp::now())?.len() as i64;
        counts([
            (COMMUNICATIONS, Records::count_held(connection, request_id)?),
            (
                AGENT_COMMUNICATIONS,
                Records::count_held_agents(connection, request_id)?,
            ),
            (MANAGER_DELIVERIES, copies),
        ])
    }
}
