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
async fn a_second_customer_joins_the_interaction_and_the_latest_is_its_customer_id() {
    let app = spawn_app().await;
    let first: Value = app
        .post_json("/customers/supportInteraction", BOFE, &example())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["customers"].as_array().unwrap().len(), 1);

    let mut second_customer = example();
    second_customer["customerId"] = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f".into();
    let response = app
        .post_json("/customers/supportInteraction", BOFE, &second_customer)
        .await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "another customer joins the interaction"
    );
    let second: Value = response.json().await.unwrap();
    assert_eq!(
        second["customerId"], "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f",
        "the latest"
    );
    assert_eq!(second["createdAt"], first["createdAt"]);
    assert!(second["updatedAt"].as_str().unwrap() > first["updatedAt"].as_str().unwrap());
    let customers: Vec<&Value> = second["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customerId"])
        .collect();
    assert_eq!(
        customers,
        [&example()["customerId"], &second_customer["customerId"]],
        "first paired first"
    );

    let again = app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    assert_eq!(again.status().as_u16(), 200, "the same pair again changes nothing");
    let fetched: Value = fetched_pairing(&app).await;
    assert_eq!(fetched, second);
    assert_eq!(stored_pairings(&app).await, 2);
}

#[tokio::test]
async fn a_mistaken_pairing_is_removed_and_its_withdrawal_queued() {
    let app = spawn_app().await;
    let mut other = example();
    other["customerId"] = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f".into();
    app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    app.post_json("/customers/supportInteraction", BOFE, &other).await;
    let path = "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609/customers/7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f";
    let removed = app.delete(path, BOFE).await;
    assert_eq!(removed.status().as_u16(), 204);
    test_support::assert_problem(app.delete(path, BOFE).await, 404).await;
    test_support::assert_problem(app.delete(path, INTERNAL).await, 403).await;
    let fetched: Value = fetched_pairing(&app).await;
    assert_eq!(fetched["customerId"], example()["customerId"]);
    assert_eq!(fetched["customers"].as_array().unwrap().len(), 1);
    let queued = app
        .pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(queued, 3, "two assignments and one withdrawal");
    let bad = "/customers/supportInteraction/nope/customers/7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f";
    let problem = test_support::assert_problem(app.delete(bad, BOFE).await, 422).await;
    assert_eq!(problem["errors"][0]["parameter"], "interactionId");
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
    let fetched: Value = fetched_pairing(&app).await;
    assert_eq!(fetched["customerId"], "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
}

#[tokio::test]
async fn concurrent_pairings_of_the_same_pair_leave_one_row_and_of_others_one_each() {
    let app = spawn_app().await;
    let same = futures_util::future::join_all((0..8).map(|_| {
        let app = &app;
        async move {
            app.post_json("/customers/supportInteraction", BOFE, &example())
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(same.iter().filter(|s| **s == 201).count(), 1, "{same:?}");
    assert!(same.iter().all(|s| *s == 201 || *s == 200), "{same:?}");
    assert_eq!(stored_pairings(&app).await, 1);
    let customers: Vec<String> = (0..8).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let others = futures_util::future::join_all(customers.iter().map(|customer| {
        let body =
            serde_json::json!({ "customerId": customer, "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609" });
        let app = &app;
        async move {
            app.post_json("/customers/supportInteraction", BOFE, &body)
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    assert!(others.iter().all(|s| *s == 201), "{others:?}");
    assert_eq!(stored_pairings(&app).await, 9);
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
    assert_eq!(queued, 1, "the same pair again changes nothing, and queues nothing");
    let mut bad = example();
    bad["customerId"] = "nope".into();
    app.post_json("/customers/supportInteraction", BOFE, &bad).await;
    let queued_after_bad_input = app
        .pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(queued_after_bad_input, 1, "bad input queues nothing");
}

/// The example interaction's pairing, as BOFE reads it.
async fn fetched_pairing(app: &test_support::TestApp) -> Value {
    app.get(
        "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
        INTERNAL,
    )
    .await
    .json()
    .await
    .unwrap()
}
