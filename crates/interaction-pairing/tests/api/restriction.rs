//! A restriction (GDPR Art. 18) here: the customer's pairing is held as a forget holds it (not
//! read; its queued assignment never sent) and still exported to them. A forget's undo leaves a
//! restriction standing; undo under the restriction's id lifts it.

use crate::actors::{fetched, pair_status, spawn_delegating_app, FIRST, INTERACTION, SECOND};
use crate::legal_holds::{call, exported};
use serde_json::{json, Value};
use uuid::Uuid;

/// The customers the interaction's pairing shows.
async fn paired(app: &test_support::TestApp) -> Vec<Value> {
    let customers = fetched(app).await["customers"].clone();
    customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].clone())
        .collect()
}

#[tokio::test]
async fn a_restricted_pairing_is_hidden_yet_exported_until_lifted() {
    let app = spawn_delegating_app().await;
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 201);
    assert_eq!(pair_status(&app, "bea", SECOND, json!({})).await, 201);
    let both = paired(&app).await;
    assert_eq!(both.len(), 2);

    let restrict = Uuid::now_v7();
    for _ in 0..2 {
        let report = call(&app, restrict, "restrict", FIRST, json!([])).await;
        assert_eq!(report["counts"]["pairings"], 1, "{report}");
        assert_eq!(report["counts"]["pendingAssignments"], 1, "{report}");
        assert_eq!(paired(&app).await, [json!(SECOND)]);
        assert_eq!(exported(&app, FIRST).await, [json!(INTERACTION)]);
    }

    let forget = Uuid::now_v7();
    call(&app, forget, "forget", FIRST, json!([])).await;
    call(&app, forget, "undo", FIRST, json!([])).await;
    assert_eq!(
        paired(&app).await,
        [json!(SECOND)],
        "a forget's undo lifted the restriction"
    );

    let lifted = call(&app, restrict, "undo", FIRST, json!([])).await;
    assert_eq!(lifted["counts"]["pairings"], 1, "{lifted}");
    assert_eq!(paired(&app).await, both);
    assert_eq!(exported(&app, FIRST).await, [json!(INTERACTION)]);
}
