use comm_history_writer::SERVICE;
use serde_json::Value;
use service_kit::database::DatabaseError;
use test_support::TestApp;

/// result-ingest writes records (and fills in late customers); BOFE reads them.
pub const WRITER: &str = "result_ingest";
pub const READER: &str = "bofe";

pub async fn spawn_app() -> TestApp {
    test_support::spawn_app(
        &SERVICE,
        &[
            (WRITER, &["records:write", "records:assign"]),
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

/// The record the pipeline writes for the inbound voice example (`docs/examples/`).
pub fn example() -> Value {
    test_support::expected_voice_inbound_record()
}

/// The attributes a client sent, out of a stored record (which adds id, how its customer was
/// found and createdAt).
pub fn attributes(record: &Value) -> Value {
    let mut attributes = record.clone();
    let object = attributes.as_object_mut().unwrap();
    object.remove("id");
    object.remove("customerSource");
    object.remove("createdAt");
    attributes
}

pub async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json("/communicationRecords", WRITER, body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}
