//! Every kind of bad input answers 4xx problem+json naming the problem, and stores nothing.

use crate::helpers::{example, spawn_app, stored_records, READER, WRITER};
use serde_json::Value;
use test_support::{assert_problem, problem_locations};

const PATH: &str = "/communicationRecords";

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    assert_problem(
        app.post_raw(PATH, WRITER, "application/json", "{\"direction\": \"INBOUND\",")
            .await,
        400,
    )
    .await;
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    assert_problem(
        app.post_raw(PATH, WRITER, "text/plain", example().to_string()).await,
        415,
    )
    .await;
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn each_missing_required_field_is_422_naming_it() {
    let app = spawn_app().await;
    for field in [
        "direction",
        "communicatedAt",
        "source",
        "channel",
        "domain",
        "customerHandle",
        "interactionId",
        "title",
        "body",
    ] {
        let mut body = example();
        body.as_object_mut().unwrap().remove(field);
        let problem = assert_problem(app.post_json(PATH, WRITER, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")], "missing {field}");

        let mut body = example();
        body[field] = Value::Null;
        let problem = assert_problem(app.post_json(PATH, WRITER, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")], "null {field}");
    }
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn unknown_enums_bad_timestamps_and_bad_uuids_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases: [(&str, Value); 8] = [
        ("direction", "SIDEWAYS".into()),
        ("channel", "FAX".into()),
        ("domain", "not a token".into()),
        ("communicatedAt", "20.11.2026 09:41".into()),
        ("communicatedAt", "2026-11-20T09:41:07".into()),
        ("customerId", "not-a-uuid".into()),
        ("interactionId", 42.into()),
        ("title", "   ".into()),
    ];
    for (field, value) in cases {
        let mut body = example();
        body[field] = value.clone();
        let problem = assert_problem(app.post_json(PATH, WRITER, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")], "{field} = {value}");
    }
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn problems_never_echo_personal_data() {
    let app = spawn_app().await;
    let mut body = example();
    body["customerId"] = "client@example.com".into();
    body["direction"] = "+420601123456".into();
    let problem = assert_problem(app.post_json(PATH, WRITER, &body).await, 422).await;
    let text = problem.to_string();
    assert!(
        !text.contains("client@example.com") && !text.contains("420601123456"),
        "{text}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let mut body = example();
    body["body"] = "x".repeat(600 * 1024).into();
    assert_problem(app.post_json(PATH, WRITER, &body).await, 413).await;
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn a_body_over_the_field_limit_is_422() {
    let app = spawn_app().await;
    let mut body = example();
    body["body"] = "x".repeat(100_001).into();
    let problem = assert_problem(app.post_json(PATH, WRITER, &body).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/body"]);
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn missing_wrong_or_unscoped_tokens_are_401_or_403() {
    let app = spawn_app().await;
    let response = app.client.post(app.url(PATH)).json(&example()).send().await.unwrap();
    assert_problem(response, 401).await;
    let response = app
        .client
        .post(app.url(PATH))
        .bearer_auth("internal-but-wrong")
        .json(&example())
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    let problem = assert_problem(app.post_json(PATH, READER, &example()).await, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("records:write"));
    let response = app
        .client
        .get(app.url("/communicationRecords?customerId=2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn a_non_uuid_record_id_is_422_naming_the_parameter() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/communicationRecords/12345", READER).await, 422).await;
    assert_eq!(problem_locations(&problem), ["id"]);
}
