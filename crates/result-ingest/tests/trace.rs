//! One trace from Genesys' webhook through result-ingest's worker to genesys-gateway,
//! interaction-pairing and comm-history-writer: a small OTLP/HTTP receiver collects what every
//! service exports, and the webhook's trace id must be on spans of all four. The worker runs
//! after the request has been answered, so this only holds because the inbox keeps the webhook's
//! `traceparent` and the worker continues it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use actix_web::{web, App, HttpResponse, HttpServer};
use helpers::{example, pipeline, GENESYS};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;

/// (trace id, span name, the `ccbridge.service` attribute).
type Spans = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

async fn receive(body: web::Bytes, spans: web::Data<Spans>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut seen = spans.lock().unwrap();
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            for span in scope.spans {
                let service = span
                    .attributes
                    .iter()
                    .find(|a| a.key == "ccbridge.service")
                    .and_then(|a| match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(AnyValue::StringValue(s)) => Some(s.clone()),
                        _ => None,
                    });
                seen.push((hex_id(&span.trace_id), span.name, service));
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn one_trace_spans_the_webhook_the_worker_and_every_service_it_calls() {
    let spans: Spans = Arc::default();
    let data = web::Data::new(spans.clone());
    let receiver = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/v1/traces", web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let receiver_url = format!("http://127.0.0.1:{}", receiver.addrs()[0].port());
    tokio::spawn(receiver.run());

    // The exporter's blocking client lives off the runtime's threads.
    let provider = std::thread::spawn(move || {
        service_kit::telemetry::tracer_provider("ccbridge-test", &receiver_url, 1.0).unwrap()
    })
    .join()
    .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());

    let p = pipeline().await;
    p.pair(&example("support-interaction.json")).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = p
        .ingest
        .client
        .post(p.ingest.url("/customers/supportResult"))
        .bearer_auth(p.ingest.token(GENESYS))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&example("support-result-voice-inbound.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    p.drain(10).await;
    assert_eq!(
        p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609")
            .await
            .len(),
        1
    );

    let provider = tokio::task::spawn_blocking(move || {
        provider.force_flush().unwrap();
        provider
    })
    .await
    .unwrap();
    let seen = spans.lock().unwrap().clone();
    let in_trace: Vec<&(String, String, Option<String>)> = seen.iter().filter(|(t, _, _)| t == trace_id).collect();
    let services: BTreeSet<&str> = in_trace.iter().filter_map(|(_, _, s)| s.as_deref()).collect();
    assert_eq!(
        services,
        BTreeSet::from([
            "comm-history-writer",
            "genesys-gateway",
            "interaction-pairing",
            "result-ingest"
        ]),
        "services on the webhook's trace; spans seen: {in_trace:?}"
    );
    assert!(
        in_trace.iter().any(|(_, name, _)| name == "ingest event"),
        "the worker's span continues the webhook's trace: {in_trace:?}"
    );
    std::thread::spawn(move || drop(provider)).join().unwrap();
}
