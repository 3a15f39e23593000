//! A RECTIFY's correction of the subject's communication records (GDPR Art. 16): a replaced
//! handle is written into each record of the subject's that stores it (`customerHandle` and its
//! search key, which is also what suggests customers for unassigned records), and records of
//! interactions the bank attributed to the subject's customer by mistake move to the right one.
//! A corrected record that was queued for the communication-history-manager is delivered again
//! (an update, after its create): the manager's copy is corrected too (GDPR Art. 19).
//!
//! A record a legal hold or a statutory rule keeps (what a purge now would keep: the holds'
//! reach, named interactions and handles within their windows; a rule's channels, directions and
//! domains while its `keep_days` after the communication last) is evidence: it keeps its handle,
//! its search key and its customer exactly as they were, and is counted as kept unchanged
//! ([`kept_unchanged`]) in the count and in the answer. Nothing of it is delivered again.

use super::{of_customer, reached, ruled, Records, COMMUNICATIONS};
use crate::schema::communication_records;
use crate::store::deliveries;
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, Rectification};
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::holds::chunked;
use gdpr_participant::retention::unchanged;
use gdpr_participant::{counts, Keepers, Reach};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use std::collections::BTreeMap;
use uuid::Uuid;

pub(super) fn rectify(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<CategoryCounts> {
    use communication_records::dsl;
    let mut corrected: Vec<Uuid> = Vec::new();
    for replacement in rectification.handles() {
        let ids = carrying(connection, reach, &[replacement.from.as_str()])?;
        let ids = not_kept(connection, keepers, ids)?;
        chunked(&ids, |chunk| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(chunk)))
                .set((
                    dsl::customer_handle.eq(&replacement.to),
                    dsl::customer_handle_key.eq(&replacement.to),
                ))
                .execute(connection)
                .and_then(gdpr_participant::holds::changed)
        })?;
        corrected.extend(ids);
    }
    if let Some(correction) = &rectification.customer {
        let interactions: Vec<DbUuid> = correction.interaction_ids.iter().map(|&id| id.into()).collect();
        let ids = misattributed(connection, reach, &interactions)?;
        let ids = not_kept(connection, keepers, ids)?;
        let to = DbUuid::from(correction.to);
        chunked(&ids, |chunk| {
            diesel::update(dsl::communication_records.filter(dsl::id.eq_any(chunk)))
                .set(dsl::customer_id.eq(Some(to)))
                .execute(connection)
                .and_then(gdpr_participant::holds::changed)
        })?;
        corrected.extend(ids);
    }
    corrected.sort();
    corrected.dedup();
    deliveries::enqueue_updates_of_queued(connection, &corrected, Timestamp::now())?;
    // The records this call rewrote, and no other: never those another person already had under
    // a `to` (nor a hint that they exist). A repeated call rewrites nothing more and answers 0;
    // the orchestrator adds its answers up.
    counts([(COMMUNICATIONS, corrected.len() as i64)])
}

/// Records not the subject's that already carry each `to` ([`GdprStore::rectify_conflicts`]):
/// attributed to another customer, or to nobody and of none of the subject's interactions. A
/// record the subject would reach only by a handle proves nothing: the filer types the subject,
/// and after the correction an export by that value would hand over the subject's records too.
///
/// [`GdprStore::rectify_conflicts`]: gdpr_participant::GdprStore::rectify_conflicts
pub(super) fn conflicts(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<BTreeMap<String, u64>> {
    use communication_records::dsl;
    gdpr_participant::to_conflicts(rectification, |to| {
        let anothers = dsl::customer_id
            .is_not_null()
            .and(dsl::customer_id.ne_all(reach.customers()).assume_not_null());
        let nobodys = dsl::customer_id
            .is_null()
            .and(dsl::interaction_id.ne_all(reach.interactions()));
        communication_records::table
            .filter(dsl::customer_handle_key.eq(to))
            .filter(anothers.or(nobodys))
            .count()
            .get_result(connection)
    })
}

/// The subject's records a correction would change (the same rows [`rectify`] changes).
pub(super) fn would_change(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<CategoryCounts> {
    let changed = reached_by(connection, reach, rectification)?;
    let changed = not_kept(connection, keepers, changed)?;
    counts([(COMMUNICATIONS, changed.len() as i64)])
}

/// The subject's records the correction reaches: storing a replaced handle, or of a named
/// interaction attributed to one of the subject's customers.
fn reached_by(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
) -> QueryResult<Vec<Uuid>> {
    let froms: Vec<&str> = rectification.handles().map(|r| r.from.as_str()).collect();
    let mut rows = carrying(connection, reach, &froms)?;
    if let Some(correction) = &rectification.customer {
        let interactions: Vec<DbUuid> = correction.interaction_ids.iter().map(|&id| id.into()).collect();
        rows.extend(misattributed(connection, reach, &interactions)?);
    }
    rows.sort();
    rows.dedup();
    Ok(rows)
}

/// Of the records the correction reaches, those a legal hold or a statutory rule keeps as
/// evidence, per basis: left as they were.
pub(super) fn kept_unchanged(
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
) -> QueryResult<Vec<Retained>> {
    let rows = reached_by(connection, reach, rectification)?;
    Ok(unchanged::<Records>(connection, keepers, COMMUNICATIONS, rows, reached, ruled)?.kept)
}

/// Of `rows`, those no legal hold or statutory rule keeps (the same question a purge asks).
fn not_kept(connection: &mut AnyConnection, keepers: &Keepers<'_>, rows: Vec<Uuid>) -> QueryResult<Vec<Uuid>> {
    Ok(unchanged::<Records>(connection, keepers, COMMUNICATIONS, rows, reached, ruled)?.change)
}

/// The subject's records that store one of `handle_keys`.
fn carrying(connection: &mut AnyConnection, reach: &Reach<'_>, handle_keys: &[&str]) -> QueryResult<Vec<Uuid>> {
    use communication_records::dsl;
    let ids: Vec<DbUuid> = communication_records::table
        .filter(of_customer(reach))
        .filter(dsl::customer_handle_key.eq_any(handle_keys))
        .select(dsl::id)
        .load(connection)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The records of `interactions` attributed to one of the subject's customers.
fn misattributed(connection: &mut AnyConnection, reach: &Reach<'_>, interactions: &[DbUuid]) -> QueryResult<Vec<Uuid>> {
    use communication_records::dsl;
    let ids: Vec<DbUuid> = communication_records::table
        .filter(dsl::interaction_id.eq_any(interactions))
        .filter(dsl::customer_id.eq_any(reach.customers()).assume_not_null())
        .select(dsl::id)
        .load(connection)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}
