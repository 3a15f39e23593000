//! Removed pairings are kept `pairing.removed_retention_days`, then housekeeping deletes them
//! (but what a legal hold covers: gdpr-orchestrator, a stand-in here, is asked first); their
//! free-text reasons are served only to callers that pair (`pairing:write`), and exported to the
//! customers they name.

use crate::actors::{pair_status, participant, rows_of, spawn_delegating_app, FIRST, INTERACTION, SECOND};
use crate::expiry::{a_hold_on, counted, expiring_app, housekeeping_at, nothing_kept, orchestrator};
use crate::helpers::{BOFE, INTERNAL};
use diesel::prelude::*;
use domain::Timestamp;
use interaction_pairing::schema::interaction_customers::dsl;
use serde_json::{json, Value};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::DatabaseError;
use test_support::TestApp;

const REASON: &str = "The caller was the account holder's spouse";

/// FIRST paired, then replaced by SECOND with a reason: FIRST's pairing is removed.
async fn reassigned(app: &TestApp) {
    assert_eq!(pair_status(app, "bea", FIRST, json!({})).await, 201);
    let reassign = json!({ "mode": "reassign", "reason": REASON });
    assert_eq!(pair_status(app, "ben", SECOND, reassign).await, 201);
}

/// Moves `customer`'s removal `days` back (their current pairing, if any, untouched).
async fn removed_days_ago(app: &TestApp, customer: &str, days: i64) {
    let customer = DbUuid(customer.parse().unwrap());
    let at =
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() - time::Duration::days(days)).unwrap();
    let changed = app
        .pool()
        .run(move |c| {
            let removed = dsl::customer_id.eq(customer).and(dsl::removed_at.is_not_null());
            diesel::update(dsl::interaction_customers.filter(removed))
                .set(dsl::removed_at.eq(Some(DbTimestamp::from(at))))
                .execute(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

/// Runs the outbox worker's housekeeping once, as its loop does.
async fn housekeeping(app: &TestApp) -> prometheus::Registry {
    housekeeping_at(app, Timestamp::now()).await
}

async fn fetched_by(app: &TestApp, caller: &str) -> Value {
    let response = app
        .get(&format!("/customers/supportInteraction/{INTERACTION}"), caller)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_removed_pairing_past_its_retention_is_deleted_by_housekeeping_and_a_younger_one_stays() {
    let orchestrator = orchestrator(nothing_kept());
    let app = expiring_app(&orchestrator).await;
    reassigned(&app).await;

    // Removed 89 days ago (the default keeps 90): housekeeping keeps it.
    removed_days_ago(&app, FIRST, 89).await;
    housekeeping(&app).await;
    assert_eq!(rows_of(&app, FIRST).await, 1, "within its retention");
    assert_eq!(fetched_by(&app, BOFE).await["removedCustomers"][0]["customerId"], FIRST);

    // Removed 91 days ago: deleted, with who removed it and why; the current pairing stays.
    removed_days_ago(&app, FIRST, 91).await;
    housekeeping(&app).await;
    assert_eq!(rows_of(&app, FIRST).await, 0, "past its retention");
    assert_eq!(rows_of(&app, SECOND).await, 1);
    let after = fetched_by(&app, BOFE).await;
    assert!(after.get("removedCustomers").is_none(), "{after}");
    assert_eq!(after["customerId"], SECOND);
}

#[tokio::test]
async fn reasons_are_served_to_callers_that_pair_and_exported_to_the_customers_they_name() {
    let app = spawn_delegating_app().await;
    reassigned(&app).await;

    // BOFE (pairing:write, as the console) sees both reasons.
    let writer = fetched_by(&app, BOFE).await;
    assert_eq!(writer["customers"][0]["reason"], REASON, "{writer}");
    assert_eq!(writer["removedCustomers"][0]["removalReason"], REASON, "{writer}");

    // A caller that only reads pairings sees the pairings, not the free text.
    let reader = fetched_by(&app, INTERNAL).await;
    assert_eq!(reader["customerId"], SECOND, "{reader}");
    assert_eq!(reader["removedCustomers"][0]["customerId"], FIRST, "{reader}");
    assert!(!reader.to_string().contains(REASON), "{reader}");

    // Each customer's export holds the reasons about them.
    let first = participant(&app, uuid::Uuid::now_v7(), "export", FIRST).await;
    let removed = &first["data"]["pairings"][0];
    assert_eq!(removed["removalReason"], REASON, "{first}");
    assert!(removed["removedAt"].is_string(), "{first}");
    let second = participant(&app, uuid::Uuid::now_v7(), "export", SECOND).await;
    assert_eq!(second["data"]["pairings"][0]["reason"], REASON, "{second}");
}

/// FIRST's pairing removed 91 days ago (the default keeps 90) and restricted: housekeeping leaves
/// it. Answers the RESTRICT's id.
async fn restricted_past_its_retention(app: &TestApp) -> uuid::Uuid {
    reassigned(app).await;
    removed_days_ago(app, FIRST, 91).await;
    let restrict = uuid::Uuid::now_v7();
    let restricted = participant(app, restrict, "restrict", FIRST).await;
    assert_eq!(restricted["counts"]["pairings"], 1, "{restricted}");
    housekeeping(app).await;
    assert_eq!(rows_of(app, FIRST).await, 1, "restricted: left alone, whatever its age");
    restrict
}

#[tokio::test]
async fn a_restricted_removed_pairing_survives_housekeeping_until_the_restriction_is_lifted() {
    let orchestrator = orchestrator(nothing_kept());
    let app = expiring_app(&orchestrator).await;
    let restrict = restricted_past_its_retention(&app).await;
    participant(&app, restrict, "undo", FIRST).await;
    housekeeping(&app).await;
    assert_eq!(rows_of(&app, FIRST).await, 0, "free again: past its retention");
    assert_eq!(rows_of(&app, SECOND).await, 1);
}

/// A removed pairing a purge kept for a legal hold is the request's, whatever its age: housekeeping
/// leaves it until the purge after the hold ended erases it.
#[tokio::test]
async fn a_removed_pairing_a_purge_kept_for_a_hold_survives_housekeeping() {
    let orchestrator = orchestrator(nothing_kept());
    let app = expiring_app(&orchestrator).await;
    let restrict = restricted_past_its_retention(&app).await;
    let forget = uuid::Uuid::now_v7();
    participant(&app, forget, "forget", FIRST).await;
    let subject = json!({ "customerIds": [FIRST] });
    let hold = json!({ "holdId": uuid::Uuid::now_v7(), "subject": subject, "basis": "legal_claims" });
    let purged = app
        .participant_call(forget, "purge", &json!({ "subject": subject, "retain": [hold] }))
        .await;
    let kept = json!({ "category": "pairings", "basis": "legal_claims", "count": 1 });
    assert!(purged["retained"].as_array().unwrap().contains(&kept), "{purged}");
    participant(&app, restrict, "undo", FIRST).await;
    housekeeping(&app).await;
    assert_eq!(
        rows_of(&app, FIRST).await,
        1,
        "lifted, yet kept for the hold: left alone"
    );

    let purged = participant(&app, forget, "purge", FIRST).await;
    assert!(purged.get("retained").is_none(), "the hold ended: {purged}");
    assert_eq!(rows_of(&app, FIRST).await, 0, "erased by the purge");
}

/// A legal hold placed without a FORGET (the orchestrator's retentions) keeps a removed pairing
/// past its retention; one it does not cover goes; both go once it ended. Nothing goes while the
/// orchestrator cannot be asked.
#[tokio::test]
async fn a_removed_pairing_a_legal_hold_covers_outlives_its_retention_and_one_not_covered_goes() {
    let orchestrator = orchestrator(None);
    let app = expiring_app(&orchestrator).await;
    reassigned(&app).await;
    // SECOND's pairing removed too (FIRST back in its place): two removed pairings.
    let reassign = json!({ "mode": "reassign", "reason": REASON });
    assert_eq!(pair_status(&app, "bea", FIRST, reassign).await, 201);
    removed_days_ago(&app, SECOND, 91).await;
    assert_eq!(
        rows_of(&app, FIRST).await,
        2,
        "FIRST's removed pairing and its current one"
    );
    removed_days_ago(&app, FIRST, 91).await;

    let registry = housekeeping(&app).await;
    assert_eq!((rows_of(&app, FIRST).await, rows_of(&app, SECOND).await), (2, 1));
    assert_eq!(counted(&registry, "ccbridge_pairing_expiry_skipped_total", None), 1.0);

    orchestrator.answers(a_hold_on(SECOND));
    let registry = housekeeping(&app).await;
    assert_eq!(
        rows_of(&app, FIRST).await,
        1,
        "FIRST's removed pairing went, its current one stays"
    );
    assert_eq!(rows_of(&app, SECOND).await, 1, "a legal hold covers it");
    assert_eq!(
        counted(&registry, "ccbridge_pairing_expired_total", Some("removed")),
        1.0
    );
    assert_eq!(counted(&registry, "ccbridge_pairing_expiry_skipped_total", None), 0.0);

    orchestrator.answers(nothing_kept());
    housekeeping(&app).await;
    assert_eq!(rows_of(&app, SECOND).await, 0, "the hold ended");
}
