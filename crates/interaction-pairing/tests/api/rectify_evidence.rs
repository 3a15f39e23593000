//! A RECTIFY leaves evidence as it was (review-31 M7): a pairing and its waiting assignment that a
//! legal hold on the customer keeps stay with that customer when a customer correction would move
//! them; the count and each rectify say so per category and basis (`keptUnchanged`), and once the
//! hold is no longer sent they move as any.

use crate::actors::{fetched, pair_status, spawn_delegating_app, FIRST, INTERACTION};
use serde_json::{json, Value};
use uuid::Uuid;

const THIRD: &str = "3c9e2a71-5d4b-4f8a-b1e6-9d0c7f2a8e45";

/// The customers the interaction's pairing shows.
async fn paired(app: &test_support::TestApp) -> Vec<String> {
    fetched(app).await["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_pairing_a_legal_hold_keeps_stays_with_its_customer() {
    let app = spawn_delegating_app().await;
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 201);
    let hold = json!({ "holdId": Uuid::now_v7(), "subject": { "customerIds": [FIRST] }, "basis": "legal_claims" });
    let call = |retain: Value| {
        json!({
            "subject": { "customerIds": [FIRST] },
            "rectification": { "customer": { "interactionIds": [INTERACTION], "to": THIRD } },
            "retain": retain,
        })
    };
    let kept = json!([
        { "category": "pairings", "basis": "legal_claims", "count": 1 },
        { "category": "pendingAssignments", "basis": "legal_claims", "count": 1 }
    ]);

    let count = app
        .participant_call(Uuid::now_v7(), "count", &call(json!([hold])))
        .await;
    assert_eq!(
        count["counts"],
        json!({ "pairings": 0, "pendingAssignments": 0 }),
        "{count}"
    );
    assert_eq!(count["keptUnchanged"], kept, "{count}");
    let request = Uuid::now_v7();
    for _ in 0..2 {
        let report = app.participant_call(request, "rectify", &call(json!([hold]))).await;
        assert_eq!(
            report["counts"],
            json!({ "pairings": 0, "pendingAssignments": 0 }),
            "{report}"
        );
        assert_eq!(report["keptUnchanged"], kept, "{report}");
        assert_eq!(paired(&app).await, [FIRST]);
    }

    // The hold ended: the correction moves them.
    let report = app.participant_call(Uuid::now_v7(), "rectify", &call(json!([]))).await;
    assert_eq!(
        report["counts"],
        json!({ "pairings": 1, "pendingAssignments": 1 }),
        "{report}"
    );
    assert!(report.get("keptUnchanged").is_none(), "{report}");
    assert_eq!(paired(&app).await, [THIRD]);
}
