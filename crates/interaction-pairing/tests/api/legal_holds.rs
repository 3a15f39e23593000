//! Legal holds at a purge: the pairings (and queued assignments) of a forgotten customer that a
//! retention covers are kept, hidden as in the grace period, reported per category and basis,
//! and still exported to the customer; a later purge without the retention erases them. A
//! retention's window is about when a pairing was made (`paired_at`).

use crate::actors::{fetched, pair_status, pairing_of, rows_of, spawn_delegating_app, FIRST, INTERACTION, SECOND};
use crate::helpers::queued;
use diesel::prelude::*;
use domain::Timestamp;
use interaction_pairing::schema::interaction_customers::dsl;
use serde_json::{json, Value};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::DatabaseError;
use test_support::TestApp;
use uuid::Uuid;

const EARLIER: &str = "0d6f3b1e-2c4a-4f8e-9b7d-5e1a2c3b4d5f";

/// A participant call for `customer` with `retain`; answers its report.
pub(crate) async fn call(app: &TestApp, request: Uuid, action: &str, customer: &str, retain: Value) -> Value {
    let body = json!({ "subject": { "customerIds": [customer] }, "retain": retain });
    app.participant_call(request, action, &body).await
}

fn hold_of(customer: &str, window: Value, basis: &str) -> Value {
    json!({ "holdId": Uuid::now_v7(), "subject": { "customerIds": [customer] }, "window": window, "basis": basis })
}

/// The interactions of the pairings `customer`'s export lists.
pub(crate) async fn exported(app: &TestApp, customer: &str) -> Vec<Value> {
    let export = call(app, Uuid::now_v7(), "export", customer, json!([])).await;
    let pairings = export["data"]["pairings"].as_array().unwrap();
    pairings.iter().map(|p| p["interactionId"].clone()).collect()
}

/// FIRST paired with INTERACTION (now) and with EARLIER (made in 2020), SECOND with INTERACTION;
/// then FIRST's FORGET, in grace.
async fn first_forgotten(app: &TestApp) -> Uuid {
    assert_eq!(pair_status(app, "bea", FIRST, json!({})).await, 201);
    assert_eq!(pair_status(app, "bea", SECOND, json!({})).await, 201);
    let mut earlier = pairing_of(FIRST, json!({}));
    earlier["interactionId"] = EARLIER.into();
    assert_eq!(crate::actors::pair(app, "bea", &earlier).await.status().as_u16(), 201);
    let (customer, interaction) = (DbUuid(FIRST.parse().unwrap()), DbUuid(EARLIER.parse().unwrap()));
    let in_2020 = DbTimestamp::from(Timestamp::parse("2020-03-01T10:00:00Z").unwrap());
    let moved = app
        .pool()
        .run(move |c| {
            let pairing = dsl::interaction_customers
                .filter(dsl::customer_id.eq(customer))
                .filter(dsl::interaction_id.eq(interaction));
            diesel::update(pairing)
                .set(dsl::paired_at.eq(in_2020))
                .execute(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let forget = Uuid::now_v7();
    call(app, forget, "forget", FIRST, json!([])).await;
    assert!(
        exported(app, FIRST).await.is_empty(),
        "a FORGET in grace exports nothing"
    );
    forget
}

#[tokio::test]
async fn a_purge_keeps_what_a_hold_covers_hidden_and_exported_until_a_purge_without_it() {
    let app = spawn_delegating_app().await;
    let forget = first_forgotten(&app).await;
    assert_eq!(queued(&app).await, 3, "three assignments waiting");

    // The hold covers FIRST's pairings made since 2025: the one of INTERACTION, and both queued
    // assignments (queued now); the one made in 2020 is erased.
    let retain = json!([hold_of(
        FIRST,
        json!({ "from": "2025-01-01T00:00:00Z" }),
        "legal_obligation"
    )]);
    let kept = json!([
        { "category": "pairings", "basis": "legal_obligation", "count": 1 },
        { "category": "pendingAssignments", "basis": "legal_obligation", "count": 2 },
    ]);
    for _ in 0..2 {
        let purged = call(&app, forget, "purge", FIRST, retain.clone()).await;
        assert_eq!(purged["retained"], kept, "{purged}");
        assert_eq!(purged["counts"]["pairings"], 1, "left held: {purged}");
        assert_eq!(
            rows_of(&app, FIRST).await,
            1,
            "the 2020 pairing is erased, the other kept"
        );
        // Restricted: not read (the kept assignments stay held, never claimed); exported to FIRST.
        let customers = fetched(&app).await["customers"].clone();
        assert_eq!(customers.as_array().unwrap().len(), 1, "{customers}");
        assert_eq!(customers[0]["customerId"], SECOND);
        assert_eq!(queued(&app).await, 3, "the kept assignments are not deleted");
        assert_eq!(exported(&app, FIRST).await, vec![json!(INTERACTION)]);
    }
    let mut again = pairing_of(FIRST, json!({}));
    again["interactionId"] = EARLIER.into();
    let refused = crate::actors::pair(&app, "bea", &again).await;
    assert_eq!(refused.status().as_u16(), 409, "the erased pairing is suppressed");

    // The hold ended: the same request purged without it erases what it kept.
    for _ in 0..2 {
        let purged = call(&app, forget, "purge", FIRST, json!([])).await;
        assert!(purged.get("retained").is_none(), "{purged}");
        assert_eq!(purged["counts"]["pairings"], 0, "{purged}");
        assert_eq!(purged["counts"]["pendingAssignments"], 0, "{purged}");
        assert_eq!(rows_of(&app, FIRST).await, 0);
        assert_eq!(queued(&app).await, 1, "SECOND's assignment alone is left");
        assert!(exported(&app, FIRST).await.is_empty());
    }
    assert_eq!(
        pair_status(&app, "bea", FIRST, json!({})).await,
        409,
        "now suppressed as well"
    );
    assert_eq!(rows_of(&app, SECOND).await, 1, "SECOND's pairing stays");
}

#[tokio::test]
async fn a_hold_on_another_customer_keeps_nothing_of_this_one() {
    let app = spawn_delegating_app().await;
    let forget = first_forgotten(&app).await;
    let retain = json!([hold_of(SECOND, Value::Null, "legal_claims")]);
    let purged = call(&app, forget, "purge", FIRST, retain).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert_eq!(rows_of(&app, FIRST).await, 0);
    assert_eq!(rows_of(&app, SECOND).await, 1);
}

/// A window closed before the 2020 pairing keeps nothing; of two holds covering a pairing, it is
/// kept once, on the first basis (legal_claims, legal_obligation, authority_request).
#[tokio::test]
async fn a_pairing_two_holds_cover_is_kept_once_on_the_first_basis() {
    let app = spawn_delegating_app().await;
    let forget = first_forgotten(&app).await;
    let retain = json!([
        hold_of(FIRST, json!({ "to": "2019-01-01T00:00:00Z" }), "legal_claims"),
        hold_of(FIRST, Value::Null, "authority_request"),
        hold_of(FIRST, json!({ "to": "2021-01-01T00:00:00Z" }), "legal_obligation"),
    ]);
    let purged = call(&app, forget, "purge", FIRST, retain).await;
    assert_eq!(
        purged["retained"],
        json!([
            { "category": "pairings", "basis": "legal_obligation", "count": 1 },
            { "category": "pairings", "basis": "authority_request", "count": 1 },
            { "category": "pendingAssignments", "basis": "authority_request", "count": 2 },
        ]),
        "{purged}"
    );
    assert_eq!(rows_of(&app, FIRST).await, 2);
}
