//! What every service gets from service-kit, checked through this one: probes, metrics, the
//! backend under test, graceful stop.

use crate::helpers::{example, spawn_app, BOFE};
use service_kit::database::Backend;

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], app.backend().name());
}

#[tokio::test]
async fn the_backend_is_the_one_this_run_asked_for() {
    let app = spawn_app().await;
    assert_eq!(app.backend(), test_support::backend_under_test());
    if std::env::var("CCBRIDGE_EXPECT_BACKEND").as_deref() == Ok("postgres") {
        assert_eq!(
            app.backend(),
            Backend::Postgres,
            "the PostgreSQL pass must run on PostgreSQL"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_not_by_id() {
    let app = spawn_app().await;
    app.post_json("/customers/supportInteraction", BOFE, &example()).await;
    app.get(
        "/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
        BOFE,
    )
    .await;
    let metrics = app.metrics().await;
    assert!(metrics.contains("ccbridge_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("endpoint=\"/customers/supportInteraction/{interactionId}\""),
        "{metrics}"
    );
    assert!(!metrics.contains("5773eca4"), "ids must not become label values");
    assert!(metrics.contains("service=\"interaction-pairing\""));
}

#[tokio::test]
async fn a_stopped_server_refuses_new_connections() {
    let app = spawn_app().await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    app.stop().await;
    assert!(reqwest::Client::new().get(app.url("/healthz")).send().await.is_err());
}
