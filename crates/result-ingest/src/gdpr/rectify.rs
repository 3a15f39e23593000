//! A RECTIFY's correction here (GDPR Art. 16): a replaced handle is written into each of the
//! subject's webhook results that carries it (the result's `ani`, from which its record is made,
//! and its search key), and the suppression list is re-keyed: a forget's suppression of the old
//! value now suppresses the new one instead (Genesys Cloud, rectified too, sends the new value;
//! the old one was wrong, so it must not keep someone else's results out). The results' own
//! fingerprints (conversation, agent, wrap-up code) name no handle and stay. Results carry no
//! customer: a customer correction changes nothing here (interaction-pairing's pairings decide).

use super::{of_customer, WebhookResults, RESULTS};
use crate::inbox::InboxStatus;
use crate::schema::{inbox_events, suppressions};
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
            self.rekey_suppressions(connection, &replacement.from, &replacement.to)?;
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

    /// Every suppression of the handle `from` (whichever forget made it) becomes one of `to`,
    /// from the same time and under the same request (its undo still lifts it).
    fn rekey_suppressions(&self, connection: &mut AnyConnection, from: &str, to: &str) -> QueryResult<()> {
        use suppressions::dsl;
        let (old, new) = (self.key.handle_hash(from), self.key.handle_hash(to));
        let rows: Vec<(DbUuid, DbTimestamp)> = dsl::suppressions
            .filter(dsl::key_hash.eq(&old))
            .select((dsl::request_id, dsl::forgotten_at))
            .load(connection)?;
        let rekeyed: Vec<_> = rows
            .into_iter()
            .map(|(request, at)| {
                (
                    dsl::request_id.eq(request),
                    dsl::key_hash.eq(new.clone()),
                    dsl::forgotten_at.eq(at),
                )
            })
            .collect();
        gdpr_participant::insert_new!(connection, suppressions::table, rekeyed)?;
        diesel::delete(dsl::suppressions.filter(dsl::key_hash.eq(&old))).execute(connection)?;
        Ok(())
    }
}
