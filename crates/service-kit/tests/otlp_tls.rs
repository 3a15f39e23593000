//! Spans go to an OTLP collector over https: the exporter's client is the workspace's reqwest
//! with TLS the one way (rustls with ring; the public roots plus the roots given). Here the
//! collector stands behind a TLS server on 127.0.0.1 whose certificate a CA made in the test signed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{web, App, HttpResponse, HttpServer};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use std::sync::{Arc, Mutex};
use test_support::tls::{TestCa, TlsFront};

type Names = Arc<Mutex<Vec<String>>>;

async fn receive(body: web::Bytes, names: web::Data<Names>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let spans = request
        .resource_spans
        .into_iter()
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans);
    names.lock().unwrap().extend(spans.map(|span| span.name));
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

/// Exports one span named `name` to `endpoint`, trusting `roots` besides the public ones.
async fn export(endpoint: String, roots: Vec<reqwest::Certificate>, name: &'static str) {
    tokio::task::spawn_blocking(move || {
        let provider =
            service_kit::telemetry::tracer_provider_trusting("ccbridge-test", &endpoint, 1.0, &roots).unwrap();
        provider.tracer("test").start(name).end();
        // An export that fails is logged by the SDK, not answered here: the collector tells.
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn spans_reach_a_collector_on_https() {
    let names: Names = Arc::default();
    let data = web::Data::new(names.clone());
    let collector = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/v1/traces", web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let address = collector.addrs()[0];
    tokio::spawn(collector.run());
    let ca = TestCa::new("Bank collector CA (test)");
    let front = TlsFront::start(&ca, address).await;
    let bundle = ca.pem_file();
    let roots = service_kit::tls::ca_bundle("test", bundle.to_str().unwrap()).unwrap();

    export(front.url.clone(), roots, "over-https").await;
    assert_eq!(*names.lock().unwrap(), ["over-https"]);

    // A collector whose certificate chains to no trusted root gets nothing.
    export(front.url.clone(), Vec::new(), "to-a-stranger").await;
    assert_eq!(*names.lock().unwrap(), ["over-https"]);
}
