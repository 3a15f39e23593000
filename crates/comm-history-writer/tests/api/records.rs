use crate::helpers::{attributes, create, example, spawn_app, READER, WRITER};
use diesel::prelude::*;
use serde_json::Value;
use service_kit::database::DatabaseError;

#[tokio::test]
async fn a_record_round_trips_exactly() {
    let app = spawn_app().await;
    let response = app.post_json("/communicationRecords", WRITER, &example()).await;
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(attributes(&created), example());
    assert_eq!(
        location,
        format!("/communicationRecords/{}", created["id"].as_str().unwrap())
    );

    let fetched: Value = app.get(&location, READER).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn nullable_fields_may_be_null_or_absent_and_enums_any_case() {
    let app = spawn_app().await;
    let mut body = example();
    let object = body.as_object_mut().unwrap();
    object.remove("customerId");
    object.remove("purpose");
    object.insert("bankUserName".into(), Value::Null);
    object.insert("direction".into(), "outbound".into());
    object.insert("channel".into(), "Video".into());
    let created = create(&app, &body).await;
    assert_eq!(created["customerId"], Value::Null);
    assert_eq!(created["purpose"], Value::Null);
    assert_eq!(created["bankUserName"], Value::Null);
    assert_eq!(created["direction"], "OUTBOUND");
    assert_eq!(created["channel"], "VIDEO");
}

#[tokio::test]
async fn offsets_are_stored_as_the_same_instant_in_utc() {
    let app = spawn_app().await;
    let mut body = example();
    body["communicatedAt"] = "2026-11-20T14:03:55+01:00".into();
    let created = create(&app, &body).await;
    assert_eq!(created["communicatedAt"], "2026-11-20T13:03:55Z");
}

#[tokio::test]
async fn an_unknown_record_is_a_404_problem() {
    let app = spawn_app().await;
    let response = app
        .get("/communicationRecords/0190f5c2-7d1f-7a2e-9c61-3f8e2d9a1b07", READER)
        .await;
    test_support::assert_problem(response, 404).await;
}

#[tokio::test]
async fn the_normalised_search_key_is_stored_beside_the_handle() {
    use comm_history_writer::schema::communication_records::dsl;
    let app = spawn_app().await;
    for handle in ["sip:+420601123456@10.0.0.7;user=phone", "Client@Example.COM"] {
        let mut body = example();
        body["customerHandle"] = handle.into();
        create(&app, &body).await;
    }
    let keys: Vec<(String, String)> = app
        .pool()
        .run(|c| {
            dsl::communication_records
                .select((dsl::customer_handle, dsl::customer_handle_key))
                .order(dsl::customer_handle_key)
                .load(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            (
                "sip:+420601123456@10.0.0.7;user=phone".to_owned(),
                "+420601123456".to_owned()
            ),
            ("Client@Example.COM".to_owned(), "client@example.com".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_late_pairing_fills_in_only_missing_customers() {
    let app = spawn_app().await;
    let mut without = example();
    without["customerId"] = Value::Null;
    let first = create(&app, &without).await;
    let mut other = example();
    other["customerId"] = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f".into();
    let second = create(&app, &other).await;

    let assignment = serde_json::json!({
        "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609",
        "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"
    });
    let response = app
        .post_json("/internal/customerAssignments", WRITER, &assignment)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["updated"], 1);
    let first: Value = app
        .get(
            &format!("/communicationRecords/{}", first["id"].as_str().unwrap()),
            READER,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["customerId"], "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
    let second: Value = app
        .get(
            &format!("/communicationRecords/{}", second["id"].as_str().unwrap()),
            READER,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        second["customerId"], "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f",
        "a record with a customer keeps it"
    );

    let again: Value = app
        .post_json("/internal/customerAssignments", WRITER, &assignment)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["updated"], 0, "idempotent");
    let problem = test_support::assert_problem(
        app.post_json("/internal/customerAssignments", READER, &assignment)
            .await,
        403,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("records:assign"));
}
