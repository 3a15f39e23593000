//! W3C trace context: `traceparent` on an incoming request becomes the parent of the server span
//! (tracing-actix-web), and outgoing calls from `telemetry::http_client()` carry it on
//! (reqwest-tracing), through service-kit's own `RootSpan`. Both only work when every OpenTelemetry crate is on the same version line,
//! and fail silently otherwise: this test is the alarm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use tracing_subscriber::layer::SubscriberExt;

type Seen = Arc<Mutex<Option<String>>>;

async fn record_traceparent(request: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    let header = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    *seen.lock().unwrap() = header;
    HttpResponse::Ok().finish()
}

async fn call_downstream(downstream: web::Data<String>) -> HttpResponse {
    let client = service_kit::telemetry::http_client(Duration::from_secs(5)).unwrap();
    let response = client.get(downstream.get_ref()).send().await.unwrap();
    assert!(response.status().is_success());
    HttpResponse::Ok().finish()
}

#[tokio::test]
async fn traceparent_is_read_on_requests_and_sent_on_outgoing_calls() {
    let provider = SdkTracerProvider::builder().build();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let seen: Seen = Arc::default();
    let seen_data = web::Data::new(seen.clone());
    let downstream = HttpServer::new(move || {
        App::new()
            .app_data(seen_data.clone())
            .route("/", web::get().to(record_traceparent))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let downstream_url = format!("http://127.0.0.1:{}/", downstream.addrs()[0].port());
    tokio::spawn(downstream.run());

    let downstream_data = web::Data::new(downstream_url);
    let upstream = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::<service_kit::telemetry::RootSpan>::new())
            .app_data(downstream_data.clone())
            .route("/", web::get().to(call_downstream))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let upstream_url = format!("http://127.0.0.1:{}/", upstream.addrs()[0].port());
    tokio::spawn(upstream.run());

    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = service_kit::tls::client_builder(&[])
        .build()
        .unwrap()
        .get(&upstream_url)
        .header("traceparent", incoming)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let outgoing = seen
        .lock()
        .unwrap()
        .clone()
        .expect("the outgoing call carried no traceparent");
    let parts: Vec<&str> = outgoing.split('-').collect();
    assert_eq!(parts.len(), 4, "{outgoing}");
    assert_eq!(
        parts[1], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the trace id continues downstream"
    );
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "downstream's parent is our own span, not the caller's"
    );
    assert_eq!(parts[3], "01", "the sampling decision travels along");
}
