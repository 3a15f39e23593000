//! Structured logs, OpenTelemetry traces, and W3C trace context across service calls.

use crate::configuration::{LogFormat, TelemetrySettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use reqwest_middleware::ClientWithMiddleware;
use reqwest_tracing::TracingMiddleware;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the trace exporter alive; [`TelemetryGuard::shutdown`] flushes what is buffered.
#[must_use = "dropping the guard early loses buffered spans"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                eprintln!("trace exporter did not shut down cleanly: {error}");
            }
        }
    }
}

/// Installs the global subscriber: JSON (or pretty) logs filtered by `log_filter` (`RUST_LOG`
/// wins), plus OTLP/HTTP export when `otlp_endpoint` is set. Always installs the W3C trace-context
/// propagator, so `traceparent` is read on requests and written on outgoing calls.
///
/// Call it before starting the async runtime: the exporter's blocking HTTP client must not be
/// created or dropped on a runtime thread.
pub fn init(service_name: &'static str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let format_layer = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
    };

    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => Some(tracer_provider(service_name, endpoint, settings.otlp_sample_ratio)?),
        None => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name)));

    tracing_subscriber::registry()
        .with(filter)
        .with(format_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("a tracing subscriber is already installed: {e}"))?;
    Ok(TelemetryGuard { provider })
}

/// A provider exporting over OTLP/HTTP with the blocking client, whose batch processor runs on its
/// own thread (an async client there would have no reactor and drop spans silently).
pub fn tracer_provider(
    service_name: &'static str,
    endpoint: &str,
    sample_ratio: f64,
) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(Duration::from_secs(10))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(sample_ratio))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name)
                .build(),
        )
        .build())
}

/// The HTTP client for calls between services and to Genesys: it opens a span per call and sends
/// the current trace context as `traceparent`.
pub fn http_client(timeout: Duration) -> anyhow::Result<ClientWithMiddleware> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(TracingMiddleware::default())
        .build())
}
