//! `application.metrics_port_only`: `/metrics` is served on the metrics port alone, so what an
//! Ingress forwards to the service's port (the console's) cannot reach it, in any spelling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use service_kit::startup::{routes_only, Routes, ServiceContext, ServiceDefinition};

fn no_routes(_: &mut actix_web::web::ServiceConfig) {}

fn no_description() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

fn setup(_: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    routes_only(no_routes)
}

static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "pages-service",
    default_config: "[database]\nurl = \"sqlite://never-opened.db\"\n",
    scopes: &["things:read"],
    migrations: None,
    openapi: no_description,
    setup,
};

#[tokio::test]
async fn metrics_are_served_on_the_metrics_port_only() {
    let port = test_support::ReservedPort::new().port().to_string();
    let app = test_support::spawn_app_with(
        &SERVICE,
        &[("reader", &["things:read"])],
        &[
            ("application.metrics_port", port.as_str()),
            ("application.metrics_port_only", "true"),
        ],
    )
    .await;
    // A request counted on the service's port …
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    for path in [
        "/metrics",
        "/metrics/",
        "/metrics?x=1",
        "//metrics",
        "/METRICS",
        "/%6Detrics",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 404, "{path} on the service's port: {body}");
        assert!(!body.contains("ccbridge_http_requests_total"), "{path}: {body}");
    }
    // … shows on the metrics port.
    let metrics = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("ccbridge_http_requests_total"), "{text}");
    assert!(text.contains("/healthz"), "{text}");
}

#[tokio::test]
async fn metrics_port_only_without_a_metrics_port_is_refused() {
    let err = service_kit::configuration::Settings::load(
        service_kit::configuration::SettingsSources {
            service_defaults: SERVICE.default_config,
            file: None,
            environment: false,
            overrides: vec![
                ("application.metrics_port_only".to_owned(), "true".to_owned()),
                ("application.environment".to_owned(), "development".to_owned()),
                (
                    "auth.callers.reader.token".to_owned(),
                    "a-reader-token-0123456789".to_owned(),
                ),
                ("auth.callers.reader.scopes".to_owned(), "things:read".to_owned()),
            ],
        },
        SERVICE.scopes,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("application.metrics_port_only: needs application.metrics_port"),
        "{err}"
    );
}
