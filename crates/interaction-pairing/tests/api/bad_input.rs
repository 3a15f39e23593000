//! Every kind of bad input answers 4xx problem+json naming the problem, and stores nothing.

use crate::helpers::{example, spawn_app, stored_pairings, BOFE, INTERNAL};
use test_support::{assert_problem, problem_locations};

const PATH: &str = "/customers/supportInteraction";

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let response = app.post_raw(PATH, BOFE, "application/json", "{\"customerId\": ").await;
    let problem = assert_problem(response, 400).await;
    assert!(problem["detail"].as_str().unwrap().contains("malformed JSON"));
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let response = app.post_raw(PATH, BOFE, "text/plain", example().to_string()).await;
    assert_problem(response, 415).await;
    let response = app
        .post_raw(PATH, BOFE, "application/x-www-form-urlencoded", "customerId=x")
        .await;
    assert_problem(response, 415).await;
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn missing_or_null_required_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    for field in ["customerId", "interactionId"] {
        let mut missing = example();
        missing.as_object_mut().unwrap().remove(field);
        let problem = assert_problem(app.post_json(PATH, BOFE, &missing).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")], "missing {field}");

        let mut null = example();
        null[field] = serde_json::Value::Null;
        let problem = assert_problem(app.post_json(PATH, BOFE, &null).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")], "null {field}");
    }
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn non_uuid_ids_are_422_naming_the_field_without_echoing_it() {
    let app = spawn_app().await;
    for (field, value) in [
        ("customerId", serde_json::json!("+420601123456")),
        ("interactionId", serde_json::json!(42)),
    ] {
        let mut body = example();
        body[field] = value;
        let problem = assert_problem(app.post_json(PATH, BOFE, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")]);
        assert!(!problem.to_string().contains("420601123456"), "{problem}");
    }
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused() {
    let app = spawn_app().await;
    for body in ["[]", "null", "\"pair\"", "{}"] {
        let response = app.post_raw(PATH, BOFE, "application/json", body).await;
        assert_eq!(response.status().as_u16(), 422, "{body}");
    }
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let mut body = example();
    body["padding"] = "x".repeat(70 * 1024).into();
    let problem = assert_problem(app.post_json(PATH, BOFE, &body).await, 413).await;
    assert!(problem["detail"].as_str().unwrap().contains("65536"));
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401() {
    let app = spawn_app().await;
    let response = app.client.post(app.url(PATH)).json(&example()).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401).await;
    let response = app
        .client
        .post(app.url(PATH))
        .bearer_auth("not-a-token-of-anyone")
        .json(&example())
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    let response = app
        .client
        .get(app.url("/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn a_caller_without_the_scope_is_403() {
    let app = spawn_app().await;
    let problem = assert_problem(app.post_json(PATH, INTERNAL, &example()).await, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("pairing:write"));
    assert_eq!(stored_pairings(&app).await, 0);
}

#[tokio::test]
async fn a_non_uuid_in_the_path_is_422_naming_the_parameter() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/customers/supportInteraction/not-a-uuid", INTERNAL).await, 422).await;
    assert_eq!(problem_locations(&problem), ["interactionId"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = spawn_app().await;
    assert_problem(app.get("/nowhere", INTERNAL).await, 404).await;
    let response = app
        .client
        .delete(app.url(PATH))
        .bearer_auth(app.token(BOFE))
        .send()
        .await
        .unwrap();
    assert_problem(response, 405).await;
}
