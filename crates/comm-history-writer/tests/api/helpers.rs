use comm_history_writer::SERVICE;
use serde_json::{json, Value};
use service_kit::database::DatabaseError;
use test_support::TestApp;

/// result-ingest writes records; BOFE reads them.
pub const WRITER: &str = "internal";
pub const READER: &str = "bofe";

pub async fn spawn_app() -> TestApp {
    test_support::spawn_app(
        &SERVICE,
        &[
            (WRITER, &["records:write", "records:read"]),
            (READER, &["records:read"]),
        ],
    )
    .await
}

pub async fn stored_records(app: &TestApp) -> i64 {
    app.pool()
        .run(|c| comm_history_writer::store::count(c).map_err(DatabaseError::from))
        .await
        .unwrap()
}

/// The record `../shared/genesys/examples/README.md` expects for the inbound voice example.
pub fn example() -> Value {
    json!({
        "direction": "INBOUND",
        "communicatedAt": "2026-11-20T09:41:07.512Z",
        "source": "Call center",
        "channel": "VOICE",
        "domain": "OTHER",
        "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
        "customerHandle": "tel:+420601123456",
        "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609",
        "bankUserId": null,
        "bankUserName": "Jana Nováková",
        "purpose": "Sale completed",
        "title": "Call center communication",
        "body": ""
    })
}

/// The attributes a client sent, out of a stored record (which adds id and createdAt).
pub fn attributes(record: &Value) -> Value {
    let mut attributes = record.clone();
    let object = attributes.as_object_mut().unwrap();
    object.remove("id");
    object.remove("createdAt");
    attributes
}

pub async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json("/communicationRecords", WRITER, body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}
