use crate::helpers::{example, pipeline, Pipeline, GENESYS, OPERATOR};
use serde_json::Value;
use service_kit::database::Backend;
use test_support::{assert_problem, backend_under_test, problem_locations};

#[tokio::test]
async fn a_valid_result_is_accepted_202_with_its_id() {
    let p = pipeline().await;
    let response = p.deliver(&example("support-result-voice-inbound.json")).await;
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    assert!(body["id"].is_string());
    assert_eq!(body["duplicate"], false);
    assert_eq!(p.events("pending").await.len(), 1);
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn an_unknown_direction_is_422_and_stores_nothing() {
    let p = pipeline().await;
    let problem = assert_problem(p.deliver(&example("support-result-bad-direction.json")).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/direction"]);
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn missing_fields_bad_uuids_and_bad_timestamps_are_422_naming_the_field() {
    let p = pipeline().await;
    for (field, value) in [
        ("conversationId", Value::Null),
        ("conversationId", "not-a-uuid".into()),
        ("eventTime", "20.11.2026".into()),
        ("userId", 7.into()),
        ("wrapupCode", "".into()),
        ("ani", Value::Null),
        ("mediaType", Value::Null),
    ] {
        let mut body = example("support-result-voice-inbound.json");
        body[field] = value;
        let problem = assert_problem(p.deliver(&body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")]);
        assert!(!problem.to_string().contains("420601123456"));
    }
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn genesys_may_authenticate_with_basic_or_bearer() {
    let p = pipeline().await;
    let token = p.ingest.token(GENESYS).to_owned();
    let body = example("support-result-voice-inbound.json");
    let basic = p
        .ingest
        .client
        .post(p.ingest.url("/customers/supportResult"))
        .basic_auth(GENESYS, Some(&token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 202);
    let wrong = p
        .ingest
        .client
        .post(p.ingest.url("/customers/supportResult"))
        .basic_auth(GENESYS, Some("nope"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401).await;
    assert_problem(
        p.ingest.post_json("/customers/supportResult", OPERATOR, &body).await,
        403,
    )
    .await;
    p.assert_no_personal_data_logged();
}

/// Runs `sql` on result-ingest's database, beside the service.
async fn execute(p: &Pipeline, sql: &'static str) {
    p.ingest
        .pool()
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(sql)
                .map_err(|e| service_kit::problem::ApiError::Unexpected(e.into()))
        })
        .await
        .unwrap();
}

fn another_result() -> Value {
    let mut body = example("support-result-voice-inbound.json");
    body["conversationId"] = uuid::Uuid::new_v4().to_string().into();
    body
}

#[tokio::test]
async fn a_batch_the_database_refuses_is_503_and_once_it_takes_writes_again_so_does_the_webhook() {
    let p = crate::helpers::pipeline_with(&[("application.worker_unhealthy_after_seconds", "1")], None).await;
    assert_eq!(p.deliver(&another_result()).await.status().as_u16(), 202);

    // The inbox is out of reach (both backends can rename a table under a running service).
    execute(&p, "ALTER TABLE inbox_events RENAME TO inbox_events_away").await;
    let refused = another_result();
    let response = p.deliver(&refused).await;
    assert!(
        response.headers().contains_key("retry-after"),
        "{:?}",
        response.headers()
    );
    let problem = assert_problem(response, 503).await;
    assert!(!problem.to_string().contains("420601123456"), "{problem}");
    // The hand-off into the inbox is under the task health: failing past
    // application.worker_unhealthy_after_seconds (1 here), it is down.
    let accept_up = |up: u8| format!("ccbridge_background_task_up{{task=\"ingest_accept\"}} {up}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !p.ingest.metrics().await.contains(&accept_up(0)) {
        assert!(std::time::Instant::now() < deadline, "{}", p.ingest.metrics().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    execute(&p, "ALTER TABLE inbox_events_away RENAME TO inbox_events").await;
    assert_eq!(p.deliver(&refused).await.status().as_u16(), 202);
    let metrics = p.ingest.metrics().await;
    assert!(
        metrics.contains(&accept_up(1)),
        "a stored batch is a success: {metrics}"
    );
    assert_eq!(
        p.events("pending").await.len(),
        2,
        "the refused result was not stored half"
    );
    p.assert_no_personal_data_logged();
}

/// The inbox writer keeps its connection between batches. When the database has closed it (a
/// restart, a failover), the batch is stored on a fresh one: Genesys sees no error.
#[tokio::test]
async fn a_connection_the_database_closed_costs_the_webhook_nothing() {
    if backend_under_test() != Backend::Postgres {
        // An embedded SQLite has no server to close a connection; the PostgreSQL pass runs this.
        return;
    }
    let p = pipeline().await;
    assert_eq!(p.deliver(&another_result()).await.status().as_u16(), 202);

    // Every other connection to the service's database ends, the inbox writer's among them;
    // the timeout makes each call wait until its backend is gone.
    execute(
        &p,
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    assert_eq!(p.deliver(&another_result()).await.status().as_u16(), 202);
    assert_eq!(p.events("pending").await.len(), 2);
}
