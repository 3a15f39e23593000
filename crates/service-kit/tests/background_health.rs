//! A background task never dies silently: one that panics makes `/healthz` (and `/readyz`) fail,
//! so Kubernetes restarts the pod; one that keeps failing makes `/readyz` fail while the process
//! stays alive. Also: `/metrics` on a port of its own serves nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use service_kit::startup::{routes_only, Routes, ServiceContext, ServiceDefinition};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Tells the panicking task to panic.
static PANIC_NOW: AtomicBool = AtomicBool::new(false);

fn no_routes(_: &mut actix_web::web::ServiceConfig) {}

fn no_description() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

fn panicking_setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    if let Some(background) = context.background {
        background.spawn("panicking task", |mut shutdown, health| async move {
            while !shutdown.sleep(Duration::from_millis(5)).await {
                assert!(!PANIC_NOW.load(Ordering::SeqCst), "a bug in the task");
                health.succeeded();
            }
        });
    }
    routes_only(no_routes)
}

fn failing_setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    if let Some(background) = context.background {
        background.spawn("failing task", |mut shutdown, health| async move {
            while !shutdown.sleep(Duration::from_millis(5)).await {
                health.failed("its database is gone");
            }
        });
    }
    routes_only(no_routes)
}

static PANICKING: ServiceDefinition = ServiceDefinition {
    name: "panicking-service",
    default_config: "[database]\nurl = \"sqlite://never-opened.db\"\n",
    scopes: &["things:read"],
    migrations: None,
    openapi: no_description,
    setup: panicking_setup,
};

static FAILING: ServiceDefinition = ServiceDefinition {
    name: "failing-service",
    default_config: "[database]\nurl = \"sqlite://never-opened.db\"\n",
    scopes: &["things:read"],
    migrations: None,
    openapi: no_description,
    setup: failing_setup,
};

async fn status(app: &test_support::TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Polls `path` until it answers `expected` (at most two seconds), then returns its body.
async fn until(app: &test_support::TestApp, path: &str, expected: u16) -> String {
    for _ in 0..200 {
        let (code, body) = status(app, path).await;
        if code == expected {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{path} never answered {expected}");
}

#[tokio::test]
async fn a_task_that_panics_fails_healthz_and_readyz() {
    let app = test_support::spawn_app(&PANICKING, &[("reader", &["things:read"])]).await;
    assert_eq!(status(&app, "/healthz").await.0, 200);
    assert_eq!(status(&app, "/readyz").await.0, 200);
    PANIC_NOW.store(true, Ordering::SeqCst);
    let body = until(&app, "/healthz", 503).await;
    assert!(body.contains("panicking task panicked"), "{body}");
    assert_eq!(status(&app, "/readyz").await.0, 503);
}

#[tokio::test]
async fn a_task_failing_for_too_long_fails_readyz_only() {
    let app = test_support::spawn_app_with(
        &FAILING,
        &[("reader", &["things:read"])],
        &[("application.worker_unhealthy_after_seconds", "1")],
    )
    .await;
    let body = until(&app, "/readyz", 503).await;
    assert!(body.contains("failing task has failed"), "{body}");
    assert!(body.contains("its database is gone"), "{body}");
    assert_eq!(status(&app, "/healthz").await.0, 200, "alive: a restart would not help");
}

#[tokio::test]
async fn metrics_have_a_port_of_their_own() {
    let port = test_support::ReservedPort::new().port();
    let port = port.to_string();
    let app = test_support::spawn_app_with(
        &FAILING,
        &[("reader", &["things:read"])],
        &[("application.metrics_port", port.as_str())],
    )
    .await;
    assert_eq!(status(&app, "/healthz").await.0, 200);
    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert!(metrics.text().await.unwrap().contains("ccbridge_http_requests_total"));
    for path in ["/healthz", "/openapi.json", "/readyz"] {
        let other = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status().as_u16(), 404, "{path} is not on the metrics port");
    }
}
