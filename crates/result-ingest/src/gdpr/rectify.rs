//! A RECTIFY's correction here (GDPR Art. 16): a replaced handle is written into each of the
//! subject's webhook results that carries it (the result's `ani`, from which its record is made,
//! and its search key). The suppression list is never touched: a forget's suppression of the old
//! value stays (Genesys Cloud's conversations keep the number the call came from, so a late
//! result from before the forget still carries it: an erasure stays erased), and none is added
//! under the new value (it would drop the results of whoever held it before). The results' own
//! fingerprints (conversation, agent, wrap-up code) name no handle and stay. Results carry no
//! customer: a customer correction changes nothing here (interaction-pairing's pairings decide).
//!
//! A result a legal hold keeps (what a purge now would keep; no statutory rule is about results:
//! rules keep communication records) is evidence: its `ani` and search key stay as they were, and
//! it is counted as kept unchanged ([`kept_unchanged`]).

use super::{of_customer, reached, Events, WebhookResults, RESULTS};
use crate::inbox::InboxStatus;
use crate::schema::inbox_events;
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, Rectification};
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::retention::unchanged;
use gdpr_participant::{counts, Keepers, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// Whether a worker holds (its lease running) one of the subject's results that carry a corrected
/// value now: it read the result before the correction.
pub(super) fn in_flight(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<bool> {
    use inbox_events::dsl;
    let tos: Vec<&str> = rectification.handles().map(|r| r.to.as_str()).collect();
    let leased: i64 = inbox_events::table
        .filter(dsl::customer_handle_key.eq_any(&tos))
        .filter(dsl::conversation_id.ne_all(reach.elsewhere()))
        .filter(dsl::status.eq(InboxStatus::Pending.as_str()))
        .filter(dsl::lease_until.gt(DbTimestamp::from(Timestamp::now())))
        .count()
        .get_result(connection)?;
    Ok(leased > 0)
}

/// The subject's results a correction would rewrite: those carrying a replaced value.
pub(super) fn would_change(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<CategoryCounts> {
    let rows = reached_by(connection, reach, rectification)?;
    let changed = not_kept(connection, keepers, rows)?;
    counts([(RESULTS, changed.len() as i64)])
}

/// The subject's results carrying a replaced value.
fn reached_by(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<Vec<Uuid>> {
    use inbox_events::dsl;
    let froms: Vec<&str> = rectification.handles().map(|r| r.from.as_str()).collect();
    let rows: Vec<DbUuid> = inbox_events::table
        .filter(of_customer(reach))
        .filter(dsl::customer_handle_key.eq_any(&froms))
        .select(dsl::id)
        .load(connection)?;
    Ok(rows.into_iter().map(|id| id.0).collect())
}

/// Of the results the correction reaches, those a legal hold keeps as evidence, per basis: left
/// as they were.
pub(super) fn kept_unchanged(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<Vec<Retained>> {
    let rows = reached_by(connection, reach, rectification)?;
    Ok(unchanged::<Events>(connection, keepers, RESULTS, rows, reached, |_| None)?.kept)
}

/// Of `rows`, those no legal hold keeps (the same question a purge asks).
fn not_kept(connection: &mut AnyConnection, keepers: &Keepers<'_>, rows: Vec<Uuid>) -> QueryResult<Vec<Uuid>> {
    Ok(unchanged::<Events>(connection, keepers, RESULTS, rows, reached, |_| None)?.change)
}

impl WebhookResults {
    pub(super) fn rectify_results(
        &self,
        connection: &mut AnyConnection,
        reach: &Reach<'_>,
        rectification: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        use inbox_events::dsl;
        super::lock_out_webhook_batches(connection)?;
        let mut rewritten = 0usize;
        for replacement in rectification.handles() {
            let rows: Vec<(DbUuid, String)> = inbox_events::table
                .filter(of_customer(reach))
                .filter(dsl::customer_handle_key.eq(&replacement.from))
                .select((dsl::id, dsl::payload))
                .load(connection)?;
            let change: HashSet<Uuid> = not_kept(connection, keepers, rows.iter().map(|(id, _)| id.0).collect())?
                .into_iter()
                .collect();
            for (id, payload) in rows.into_iter().filter(|(id, _)| change.contains(&id.0)) {
                let mut result: serde_json::Value = serde_json::from_str(&payload).map_err(super::corrupt)?;
                result["ani"] = serde_json::Value::from(replacement.to.as_str());
                let payload = serde_json::to_string(&result).map_err(super::corrupt)?;
                diesel::update(dsl::inbox_events.filter(dsl::id.eq(id)))
                    .set((dsl::payload.eq(payload), dsl::customer_handle_key.eq(&replacement.to)))
                    .execute(connection)?;
                rewritten += 1;
            }
        }
        // The results this call rewrote, and no other: never those another person already had
        // under a `to` (nor a hint that they exist). A repeated call rewrites nothing more and
        // answers 0; the orchestrator adds its answers up.
        counts([(RESULTS, rewritten as i64)])
    }
}

/// Results not the subject's that already carry each `to` (`GdprStore::rectify_conflicts`): of
/// none of the subject's interactions, and naming none of its customers in their participant data.
/// A result the subject would reach only by a handle proves nothing: the filer types the subject,
/// and after the correction a request by that value would reach the subject's results too.
pub(super) fn conflicts(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<BTreeMap<String, u64>> {
    use inbox_events::dsl;
    gdpr_participant::to_conflicts(rectification, |to| {
        let named_nobody_of_the_subjects = dsl::participant_customer_id
            .is_null()
            .or(dsl::participant_customer_id.ne_all(reach.customers()).assume_not_null());
        inbox_events::table
            .filter(dsl::customer_handle_key.eq(to))
            .filter(dsl::conversation_id.ne_all(reach.interactions()))
            .filter(named_nobody_of_the_subjects)
            .count()
            .get_result(connection)
    })
}
