use crate::helpers::{example, spawn_app, stored_pairings, BOFE, INTERNAL};
use serde_json::Value;

#[tokio::test]
async fn a_pairing_round_trips() {
    let app = spawn_app().await;

    let response = app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609"
    );
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["customerId"], "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
    assert_eq!(created["interactionId"], "5773eca4-0874-4617-a6e8-85591aa94609");
    assert_eq!(created["createdAt"], created["updatedAt"]);

    let response = app
        .get(
            "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            INTERNAL,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn the_latest_pairing_wins_and_keeps_created_at() {
    let app = spawn_app().await;
    let first: Value = app
        .post_json("/customers/supportInteraction", BOFE, &example())
        .await
        .json()
        .await
        .unwrap();

    let mut repaired = example();
    repaired["customerId"] = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f".into();
    let response = app.post_json("/customers/supportInteraction", BOFE, &repaired).await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "a re-pairing replaces, it does not create"
    );
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["customerId"], "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f");
    assert_eq!(second["createdAt"], first["createdAt"]);
    assert!(second["updatedAt"].as_str().unwrap() > first["updatedAt"].as_str().unwrap());

    let fetched: Value = app
        .get(
            "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            INTERNAL,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["customerId"], "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f");
    assert_eq!(stored_pairings(&app).await, 1);
}

#[tokio::test]
async fn upper_case_ids_are_stored_in_canonical_form() {
    let app = spawn_app().await;
    let body = serde_json::json!({
        "customerId": "2B0E4C55-7D1F-4A2E-9C61-3F8E2D9A1B07",
        "interactionId": "5773ECA4-0874-4617-A6E8-85591AA94609"
    });
    assert_eq!(
        app.post_json("/customers/supportInteraction", BOFE, &body)
            .await
            .status()
            .as_u16(),
        201
    );
    let fetched: Value = app
        .get(
            "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            INTERNAL,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["customerId"], "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
}

#[tokio::test]
async fn concurrent_pairings_of_one_interaction_leave_one_row() {
    let app = spawn_app().await;
    let customers: Vec<String> = (0..8).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let requests = customers.iter().map(|customer| {
        let body =
            serde_json::json!({ "customerId": customer, "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609" });
        let app = &app;
        async move {
            app.post_json("/customers/supportInteraction", BOFE, &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 200), "{statuses:?}");
    assert_eq!(stored_pairings(&app).await, 1);
    let fetched: Value = app
        .get(
            "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            INTERNAL,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(customers.contains(&fetched["customerId"].as_str().unwrap().to_owned()));
}

#[tokio::test]
async fn an_unknown_interaction_is_a_404_problem() {
    let app = spawn_app().await;
    let response = app
        .get(
            "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            INTERNAL,
        )
        .await;
    let problem = test_support::assert_problem(response, 404).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("5773eca4-0874-4617-a6e8-85591aa94609"));
}

#[tokio::test]
async fn every_pairing_is_queued_for_comm_history_in_the_same_transaction() {
    let app = spawn_app().await;
    app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    let queued = app
        .pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(queued, 2);
    let mut bad = example();
    bad["customerId"] = "nope".into();
    app.post_json("/customers/supportInteraction", BOFE, &bad).await;
    let queued_after_bad_input = app
        .pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(queued_after_bad_input, 2, "bad input queues nothing");
}
