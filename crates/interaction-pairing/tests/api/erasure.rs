//! An erasure stays erased: after a customer's FORGET is purged, pairing that customer with the
//! same interaction again is refused and nothing is stored or queued; an undo lifts nothing.

use crate::actors::{fetched, pair, pair_status, pairing_of, participant, rows_of, spawn_delegating_app};
use crate::actors::{FIRST, INTERACTION, SECOND};
use crate::helpers::queued;
use serde_json::json;
use test_support::TestApp;

const OTHER_INTERACTION: &str = "0d6f3b1e-2c4a-4f8e-9b7d-5e1a2c3b4d5f";

/// FIRST paired with the interaction, then a FORGET of FIRST filed and `settled` (purge, undo).
async fn forgotten_then(settled: &str) -> TestApp {
    let app = spawn_delegating_app().await;
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 201);
    let forget = uuid::Uuid::now_v7();
    participant(&app, forget, "forget", FIRST).await;
    participant(&app, forget, settled, FIRST).await;
    app
}

#[tokio::test]
async fn a_purged_customer_is_not_paired_again_with_the_erased_interaction() {
    let app = forgotten_then("purge").await;
    assert_eq!(rows_of(&app, FIRST).await, 0);
    assert_eq!(queued(&app).await, 0, "the purge deleted the queued assignment");

    // BOFE pairs the same customer with the same interaction again, in every mode: refused, with
    // a problem that names no data, and nothing stored or queued.
    for extra in [
        json!({}),
        json!({ "mode": "unassigned" }),
        json!({ "mode": "reassign", "reason": "again" }),
    ] {
        let refused = pair(&app, "bea", &pairing_of(FIRST, extra)).await;
        let problem = test_support::assert_problem(refused, 409).await;
        let text = problem.to_string();
        assert!(
            text.contains("this customer's data for this interaction was erased on request"),
            "{problem}"
        );
        assert!(!text.contains(FIRST) && !text.contains(INTERACTION), "{problem}");
        assert_eq!(rows_of(&app, FIRST).await, 0);
        assert_eq!(queued(&app).await, 0);
    }

    // Another customer of that interaction, and the customer on another interaction, are paired.
    assert_eq!(pair_status(&app, "bea", SECOND, json!({})).await, 201);
    let mut elsewhere = pairing_of(FIRST, json!({}));
    elsewhere["interactionId"] = OTHER_INTERACTION.into();
    assert_eq!(pair(&app, "bea", &elsewhere).await.status().as_u16(), 201);
    assert_eq!(fetched(&app).await["customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_undone_forget_lifts_nothing_and_leaves_no_refusal() {
    let app = forgotten_then("undo").await;
    // The pairing is back as it was, and can be removed and made again.
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 200);
    let path = format!("/customers/supportInteraction/{INTERACTION}/customers/{FIRST}");
    let removed = crate::actors::as_person(&app, reqwest::Method::DELETE, &path, "bob", None).await;
    assert_eq!(removed.status().as_u16(), 204);
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 201);
}
