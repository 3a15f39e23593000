//! `POST /internal/pairings/lookup`: many interactions' pairings in one call.

use crate::helpers::{example, spawn_app, BOFE, INTERNAL};
use contracts::pairing::PairingsOf;
use serde_json::json;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn a_lookup_answers_the_pairings_found_and_leaves_out_the_rest() {
    let app = spawn_app().await;
    let mut second = example();
    second["interactionId"] = "5773eca4-0874-4617-a6e8-85591aa94610".into();
    second["customerId"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7".into();
    for pairing in [example(), second.clone()] {
        assert_eq!(
            app.post_json("/customers/supportInteraction", BOFE, &pairing)
                .await
                .status()
                .as_u16(),
            201
        );
    }
    let body = json!({ "interactionIds": [
        "5773eca4-0874-4617-a6e8-85591aa94609",
        "5773ECA4-0874-4617-A6E8-85591AA94610",
        "00000000-0000-4000-8000-000000000001"
    ]});
    let response = app.post_json("/internal/pairings/lookup", INTERNAL, &body).await;
    assert_eq!(response.status().as_u16(), 200);
    // Read as result-ingest reads it: the contract's type, without who paired.
    let answer: PairingsOf = response.json().await.unwrap();
    assert!(answer.held_interaction_ids.is_empty());
    assert!(answer
        .pairings
        .iter()
        .all(|p| p.customers.iter().all(|c| c.paired_by.is_none())));
    let mut found: Vec<(String, String)> = answer
        .pairings
        .iter()
        .map(|p| (p.interaction_id.to_string(), p.customer_id.to_string()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "5773eca4-0874-4617-a6e8-85591aa94609".to_owned(),
                "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07".to_owned()
            ),
            (
                "5773eca4-0874-4617-a6e8-85591aa94610".to_owned(),
                "7c9e6679-7425-40de-944b-e07fc1f90ae7".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_lookup_names_a_bad_id_refuses_an_empty_or_huge_list_and_needs_the_read_scope() {
    let app = spawn_app().await;
    let bad = json!({ "interactionIds": ["5773eca4-0874-4617-a6e8-85591aa94609", "not-a-uuid"] });
    let problem = assert_problem(app.post_json("/internal/pairings/lookup", INTERNAL, &bad).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/interactionIds/1"]);
    let empty = json!({ "interactionIds": [] });
    let problem = assert_problem(app.post_json("/internal/pairings/lookup", INTERNAL, &empty).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/interactionIds"]);
    let ids: Vec<String> = (0..501)
        .map(|n| format!("5773eca4-0874-4617-a6e8-85591aa9{n:04}"))
        .collect();
    let huge = json!({ "interactionIds": ids });
    let problem = assert_problem(app.post_json("/internal/pairings/lookup", INTERNAL, &huge).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/interactionIds"]);
    let response = app
        .client
        .post(app.url("/internal/pairings/lookup"))
        .json(&empty)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
}
