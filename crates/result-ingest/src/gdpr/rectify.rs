//! A RECTIFY's correction here (GDPR Art. 16): a replaced handle is written into each of the
//! subject's webhook results that carries it (the result's `ani`, from which its record is made,
//! and its search key). The suppression list is never touched: a forget's suppression of the old
//! value stays (Genesys Cloud's conversations keep the number the call came from, so a late
//! result from before the forget still carries it: an erasure stays erased), and none is added
//! under the new value (it would drop the results of whoever held it before). The results' own
//! fingerprints (conversation, agent, wrap-up code) name no handle and stay. Results carry no
//! customer: a customer correction changes nothing here (interaction-pairing's pairings decide).

use super::{of_customer, WebhookResults, RESULTS};
use crate::inbox::InboxStatus;
use crate::schema::inbox_events;
use contracts::participant::{CategoryCounts, Rectification};
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::{counts, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;

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
) -> QueryResult<CategoryCounts> {
    use inbox_events::dsl;
    let froms: Vec<&str> = rectification.handles().map(|r| r.from.as_str()).collect();
    let changed: i64 = inbox_events::table
        .filter(of_customer(reach))
        .filter(dsl::customer_handle_key.eq_any(&froms))
        .count()
        .get_result(connection)?;
    counts([(RESULTS, changed)])
}

impl WebhookResults {
    pub(super) fn rectify_results(
        &self,
        connection: &mut AnyConnection,
        reach: &Reach<'_>,
        rectification: &Rectification,
    ) -> QueryResult<CategoryCounts> {
        use inbox_events::dsl;
        super::lock_out_webhook_batches(connection)?;
        for replacement in rectification.handles() {
            let rows: Vec<(DbUuid, String)> = inbox_events::table
                .filter(of_customer(reach))
                .filter(dsl::customer_handle_key.eq(&replacement.from))
                .select((dsl::id, dsl::payload))
                .load(connection)?;
            for (id, payload) in rows {
                let mut result: serde_json::Value = serde_json::from_str(&payload).map_err(super::corrupt)?;
                result["ani"] = serde_json::Value::from(replacement.to.as_str());
                let payload = serde_json::to_string(&result).map_err(super::corrupt)?;
                diesel::update(dsl::inbox_events.filter(dsl::id.eq(id)))
                    .set((dsl::payload.eq(payload), dsl::customer_handle_key.eq(&replacement.to)))
                    .execute(connection)?;
            }
        }
        // What carries the corrected values now: the same answer on a repeated call.
        let tos: Vec<&str> = rectification.handles().map(|r| r.to.as_str()).collect();
        let carrying: i64 = inbox_events::table
            .filter(dsl::customer_handle_key.eq_any(&tos))
            .filter(dsl::conversation_id.ne_all(reach.elsewhere()))
            .count()
            .get_result(connection)?;
        counts([(RESULTS, carrying)])
    }
}
