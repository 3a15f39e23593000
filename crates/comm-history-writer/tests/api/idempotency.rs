use crate::helpers::{create, example, spawn_app, stored_records, WRITER};
use serde_json::Value;
use test_support::{assert_problem, problem_locations, TestApp};

pub(crate) async fn post_with_key(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/communicationRecords"))
        .bearer_auth(app.token(WRITER))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_key_and_body_return_the_first_record_and_write_nothing() {
    let app = spawn_app().await;
    let first = post_with_key(&app, "inbox-0001", &example()).await;
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(first.headers()["idempotency-replayed"], "false");
    let first: Value = first.json().await.unwrap();

    // The same request, written differently: field order and white space do not matter.
    let reordered = serde_json::to_string_pretty(&example()).unwrap();
    let again = app
        .client
        .post(app.url("/communicationRecords"))
        .bearer_auth(app.token(WRITER))
        .header("Idempotency-Key", "inbox-0001")
        .header("Content-Type", "application/json")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(stored_records(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409_and_writes_nothing() {
    let app = spawn_app().await;
    assert_eq!(
        post_with_key(&app, "inbox-0002", &example()).await.status().as_u16(),
        201
    );
    let mut changed = example();
    changed["purpose"] = "Complaint".into();
    let problem = assert_problem(post_with_key(&app, "inbox-0002", &changed).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(stored_records(&app).await, 1);
}

#[tokio::test]
async fn different_keys_write_different_records() {
    let app = spawn_app().await;
    for key in ["inbox-a", "inbox-b"] {
        let response = post_with_key(&app, key, &example()).await;
        assert_eq!(response.status().as_u16(), 201, "{key}");
        assert_eq!(response.headers()["idempotency-replayed"], "false", "{key}");
    }
    create(&app, &example()).await;
    assert_eq!(stored_records(&app).await, 3);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_write_one_record() {
    let app = spawn_app().await;
    let body = example();
    let requests = (0..8).map(|_| post_with_key(&app, "inbox-race", &body));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = Vec::new();
    let mut written = 0;
    for response in responses {
        assert_eq!(response.status().as_u16(), 201);
        match response.headers()["idempotency-replayed"].to_str().unwrap() {
            "false" => written += 1,
            "true" => {}
            other => panic!("idempotency-replayed: {other}"),
        }
        let record: Value = response.json().await.unwrap();
        ids.push(record["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every response names the one record");
    assert_eq!(written, 1, "one response wrote it, the others replayed it");
    assert_eq!(stored_records(&app).await, 1);
}

#[tokio::test]
async fn an_invalid_key_is_422_naming_the_header() {
    let app = spawn_app().await;
    let problem = assert_problem(post_with_key(&app, &"k".repeat(256), &example()).await, 422).await;
    assert_eq!(problem_locations(&problem), ["Idempotency-Key"]);
    assert_eq!(stored_records(&app).await, 0);
}

#[tokio::test]
async fn keys_past_retention_are_forgotten_and_a_replay_then_writes_anew() {
    let app = spawn_app().await;
    assert_eq!(
        post_with_key(&app, "inbox-old", &example()).await.status().as_u16(),
        201
    );
    let tomorrow = domain::Timestamp::parse("2999-01-01T00:00:00Z").unwrap();
    let removed = app
        .pool()
        .run(move |c| {
            comm_history_writer::store::remove_idempotency_keys_before(c, tomorrow)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let replay = post_with_key(&app, "inbox-old", &example()).await;
    assert_eq!(replay.status().as_u16(), 201);
    assert_eq!(replay.headers()["idempotency-replayed"], "false");
    assert_eq!(stored_records(&app).await, 2);
}
