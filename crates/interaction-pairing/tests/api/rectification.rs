//! A rectification (GDPR Art. 16) here: an interaction BOFE paired with the subject's customer by
//! mistake moves to the right customer, its history with it and its queued assignment; a pairing
//! the right customer already has makes the subject's a duplicate, which goes. Repeating the call
//! changes nothing more (and answers 0: each answer counts what that call moved, never what the
//! right customer had already).

use crate::actors::{fetched, pair_status, spawn_delegating_app, FIRST, INTERACTION, SECOND};
use serde_json::{json, Value};
use uuid::Uuid;

const THIRD: &str = "3c9e2a71-5d4b-4f8a-b1e6-9d0c7f2a8e45";

/// The customers the interaction's pairing shows, sorted.
async fn paired(app: &test_support::TestApp) -> Vec<String> {
    let mut customers: Vec<String> = fetched(app).await["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].as_str().unwrap().to_owned())
        .collect();
    customers.sort();
    customers
}

async fn move_to(app: &test_support::TestApp, request: Uuid, from: &str, to: &str) -> Value {
    let body = json!({
        "subject": { "customerIds": [from] },
        "rectification": { "customer": { "interactionIds": [INTERACTION], "to": to } },
    });
    app.participant_call(request, "rectify", &body).await
}

#[tokio::test]
async fn an_interaction_paired_with_the_wrong_customer_moves_to_the_right_one() {
    let app = spawn_delegating_app().await;
    assert_eq!(pair_status(&app, "bea", FIRST, json!({})).await, 201);
    assert_eq!(pair_status(&app, "bea", SECOND, json!({})).await, 201);

    // FIRST's pairing was THIRD's: it moves, with its queued assignment. Asked again (its answer
    // lost), the call moves nothing more and answers the request's total: the same.
    let request = Uuid::now_v7();
    for moved in [1, 1] {
        let report = move_to(&app, request, FIRST, THIRD).await;
        assert_eq!(report["state"], "done", "{report}");
        assert_eq!(report["counts"]["pairings"], moved, "{report}");
        assert_eq!(report["counts"]["pendingAssignments"], moved, "{report}");
        let mut expected = vec![SECOND.to_owned(), THIRD.to_owned()];
        expected.sort();
        assert_eq!(paired(&app).await, expected);
    }

    // SECOND's was THIRD's too, who has a current pairing of it already: SECOND's goes.
    let request = Uuid::now_v7();
    // The answer counts SECOND's pairing and assignment, not THIRD's own moved before.
    for moved in [1, 1] {
        let report = move_to(&app, request, SECOND, THIRD).await;
        assert_eq!(report["counts"]["pairings"], moved, "{report}");
        assert_eq!(report["counts"]["pendingAssignments"], moved, "{report}");
        assert_eq!(paired(&app).await, [THIRD]);
    }

    // A customer correction that names no interaction is refused, naming the field.
    let body = json!({
        "subject": { "customerIds": [THIRD] },
        "rectification": { "customer": { "interactionIds": [], "to": FIRST } },
    });
    let path = format!("/internal/gdpr/requests/{}/rectify", Uuid::now_v7());
    let problem = test_support::assert_problem(app.post_signed(&path, "gdpr_orchestrator", &body).await, 422).await;
    assert_eq!(
        test_support::problem_locations(&problem),
        ["/rectification/customer/interactionIds"]
    );
    assert_eq!(paired(&app).await, [THIRD]);
}
