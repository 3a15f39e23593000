//! Structured logs, OpenTelemetry traces, and W3C trace context across service calls.

use crate::configuration::{LogFormat, TelemetrySettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
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
    crate::tls::install();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let format_layer = match settings.log_format {
        LogFormat::Json => json_log_layer(std::io::stdout).boxed(),
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

/// The production log format: one JSON object a line, the event's fields at the top level, with
/// the current span and the list of spans it is in (their fields formatted by [`SpanJsonFields`]).
pub fn json_log_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .fmt_fields(SpanJsonFields)
        .with_writer(writer)
}

/// A span's fields as a JSON object, as tracing-subscriber's `JsonFields` writes them, except when
/// a field is recorded after the span was created: `JsonFields` then parses the span's JSON,
/// adds the field and writes it all again, which cost about a tenth of the webhook's CPU (every
/// request records its status and the handler's outcome). Here the new members are appended to
/// the object instead. A field recorded twice appears twice; the log line's JSON is read back
/// into a map when it is written, where the last value wins, as with `JsonFields`.
pub struct SpanJsonFields;

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for SpanJsonFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: tracing_subscriber::fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        tracing_subscriber::fmt::format::JsonFields::new().format_fields(writer, fields)
    }

    fn add_fields(
        &self,
        current: &'writer mut tracing_subscriber::fmt::FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        let mut added = String::new();
        tracing_subscriber::fmt::format::JsonFields::new()
            .format_fields(tracing_subscriber::fmt::format::Writer::new(&mut added), fields)?;
        let members = added
            .strip_prefix('{')
            .and_then(|a| a.strip_suffix('}'))
            .unwrap_or_default();
        if members.is_empty() {
            return Ok(());
        }
        match current.fields.strip_suffix('}') {
            Some(open) if open != "{" => {
                let mut joined = String::with_capacity(current.fields.len() + members.len() + 1);
                joined.push_str(open);
                joined.push(',');
                joined.push_str(members);
                joined.push('}');
                current.fields = joined;
            }
            _ => current.fields = added,
        }
        Ok(())
    }
}

/// A provider exporting over OTLP/HTTP with the blocking client, whose batch processor runs on its
/// own thread (an async client there would have no reactor and drop spans silently).
pub fn tracer_provider(
    service_name: &'static str,
    endpoint: &str,
    sample_ratio: f64,
) -> anyhow::Result<SdkTracerProvider> {
    tracer_provider_trusting(service_name, endpoint, sample_ratio, &[])
}

/// As [`tracer_provider`], the collector's certificate may also chain to `extra_roots`.
pub fn tracer_provider_trusting(
    service_name: &'static str,
    endpoint: &str,
    sample_ratio: f64,
    extra_roots: &[reqwest::Certificate],
) -> anyhow::Result<SdkTracerProvider> {
    let roots = extra_roots.to_vec();
    // A blocking client is built (and has its own runtime) off any async runtime's thread.
    let client = std::thread::spawn(move || {
        crate::tls::blocking_client_builder(&roots)
            .timeout(Duration::from_secs(10))
            .build()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the OTLP client could not be built"))??;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OtlpClient(client))
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

/// The OTLP exporter's HTTP client: the workspace's blocking reqwest, TLS the one way. The batch
/// processor calls it on its own thread, where blocking is what it expects.
#[derive(Debug)]
struct OtlpClient(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::blocking::Request::try_from(request)?;
        let mut response = self.0.execute(request)?.error_for_status()?;
        let headers = std::mem::take(response.headers_mut());
        let mut answer = http::Response::builder()
            .status(response.status())
            .body(response.bytes()?)?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

/// The HTTP client for calls between services and to Genesys: it opens a span per call and sends
/// the current trace context as `traceparent`.
pub fn http_client(timeout: Duration) -> anyhow::Result<ClientWithMiddleware> {
    http_client_trusting(timeout, &[])
}

/// As [`http_client`], trusting `extra_roots` (a CA bundle, [`crate::tls::ca_bundle`]) besides
/// the public roots.
pub fn http_client_trusting(
    timeout: Duration,
    extra_roots: &[reqwest::Certificate],
) -> anyhow::Result<ClientWithMiddleware> {
    let client = crate::tls::client_builder(extra_roots)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(TracingMiddleware::default())
        .build())
}

/// The server span of every request. Like tracing-actix-web's default, but it records the route
/// pattern and the path without its query string (queries may carry personal data, such as a
/// GDPR search value) and no client address. It continues the caller's trace from `traceparent`.
pub struct RootSpan;

impl tracing_actix_web::RootSpanBuilder for RootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;

        let method = request.method().as_str().to_owned();
        let route = request.match_pattern().unwrap_or_else(|| "UNMATCHED".to_owned());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        // Which service answered: several share one process (and one trace exporter) in devstack.
        let service = request
            .app_data::<actix_web::web::Data<ServiceName>>()
            .map_or("unknown", |name| name.0);
        let span = tracing::info_span!(
            "HTTP request",
            ccbridge.service = service,
            http.method = %method,
            http.route = %route,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        // Fails only when no OpenTelemetry layer is installed; then there is no trace to continue.
        let _ = span.set_parent(parent);
        let trace_id = span.context().span().span_context().trace_id();
        if trace_id != opentelemetry::trace::TraceId::INVALID {
            span.record("trace_id", tracing::field::display(trace_id));
        }
        span
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The name of the service an `App` belongs to, as app data (for the server span).
pub struct ServiceName(pub &'static str);

/// The current span's W3C `traceparent`, to continue its trace later (after a durable queue).
pub fn current_traceparent() -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let mut carrier = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.inject_context(&context, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` a child of the trace `traceparent` names (a no-op for an invalid value).
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let carrier = std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    let _ = span.set_parent(parent);
}

/// Reads W3C trace-context headers from an actix request.
struct HeaderExtractor<'a>(&'a actix_web::http::header::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(actix_web::http::header::HeaderName::as_str).collect()
    }
}
