//! The production log line: a span's fields, those given at its start and those recorded later,
//! all appear in the line's JSON with their last values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use test_support::CapturedLogs;
use tracing_subscriber::layer::SubscriberExt;

/// Logs with the production layer while `emit` runs; the lines written, parsed.
fn lines_of(emit: impl FnOnce()) -> Vec<serde_json::Value> {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::registry().with(service_kit::telemetry::json_log_layer(logs.clone()));
    tracing::subscriber::with_default(subscriber, emit);
    logs.text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn fields_recorded_after_a_span_started_are_in_its_json_with_their_last_values() {
    let lines = lines_of(|| {
        let outer = tracing::info_span!(
            "outer",
            route = "/customers/supportResult",
            attempts = 1,
            status = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let _outer = outer.enter();
        let inner = tracing::info_span!("inner", duplicate = tracing::field::Empty);
        let _inner = inner.enter();
        outer.record("status", 202);
        outer.record("outcome", "stored \"quoted\", {braced}");
        outer.record("attempts", 2);
        inner.record("duplicate", false);
        tracing::info!(events = 3, "event processed");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["message"], "event processed");
    assert_eq!(line["events"], 3);
    let outer = serde_json::json!({
        "name": "outer",
        "route": "/customers/supportResult",
        "attempts": 2,
        "status": 202,
        "outcome": "stored \"quoted\", {braced}",
    });
    let inner = serde_json::json!({ "name": "inner", "duplicate": false });
    assert_eq!(line["spans"], serde_json::json!([outer, inner]), "{line}");
    assert_eq!(line["span"], inner, "{line}");
}
