//! `just bench-history`: the history at scale. BENCH_RECORDS records (default 1,000,000 on
//! PostgreSQL, 200,000 on SQLite), written through the batch endpoint: ten per customer, one in
//! twenty with no customer (a handle its customer used before, some handles shared). Then,
//! through HTTP: pages of the unassigned listing with suggestions, customers' history pages, and
//! a GDPR count, export and forget of one subject with five records among them (the writer's
//! part, as gdpr-orchestrator calls it). Prints p50/p99 of each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use test_support::TestApp;

const WRITER: &str = "result_ingest";
const READER: &str = "bofe";
const ORCHESTRATOR: &str = "gdpr_orchestrator";
const BATCH: usize = 500;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[(((sorted.len() as f64) - 1.0) * p).round() as usize]
}

fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1]),
        latencies.len()
    );
}

fn customer(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn phone(n: usize) -> String {
    format!("tel:+4206{n:08}")
}

/// Record `n`: customer `n / 10`'s, or (one in twenty) nobody's, on a handle its customer used;
/// one customer in a hundred shares its handle with the next.
fn record(n: usize) -> Value {
    let owner = n / 10;
    let handle_owner = if owner % 100 == 1 { owner - 1 } else { owner };
    let mut body = test_support::expected_voice_inbound_record();
    body["interactionId"] = uuid::Uuid::new_v4().to_string().into();
    body["customerId"] = if n % 20 == 7 {
        Value::Null
    } else {
        customer(owner).into()
    };
    body["customerHandle"] = phone(handle_owner).into();
    let day = n % 360;
    body["communicatedAt"] = format!("2026-{:02}-{:02}T{:02}:00:00Z", 1 + day / 30, 1 + day % 28, n % 24).into();
    body
}

async fn write_all(app: &TestApp, records: usize) {
    let batches = records.div_ceil(BATCH);
    futures_util::stream::iter(0..batches)
        .for_each_concurrent(4, |batch| async move {
            let entries: Vec<Value> = (batch * BATCH..((batch + 1) * BATCH).min(records))
                .map(|n| json!({ "idempotencyKey": format!("bench-{n}"), "record": record(n) }))
                .collect();
            let response = app
                .post_json("/communicationRecords/batch", WRITER, &json!({ "records": entries }))
                .await;
            assert_eq!(response.status().as_u16(), 200);
        })
        .await;
}

async fn timed(app: &TestApp, caller: &str, path: &str) -> (Duration, Value) {
    let started = Instant::now();
    let response = app.get(path, caller).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    (elapsed, response.json().await.unwrap())
}

async fn signed(app: &TestApp, action: &str, subject: &Value) -> Duration {
    let path = format!("/internal/gdpr/requests/{}/{action}", uuid::Uuid::now_v7());
    let started = Instant::now();
    let response = app
        .post_signed(&path, ORCHESTRATOR, &json!({ "subject": subject }))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 200, "{action}");
    elapsed
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let records = setting("BENCH_RECORDS", if postgres { 1_000_000 } else { 200_000 });
    let app = test_support::spawn_app(
        &comm_history_writer::SERVICE,
        &[
            (WRITER, &["records:write", "records:assign"]),
            (READER, &["records:read"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
    )
    .await;
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    println!("writing {records} records on {backend} ({BATCH} a batch, 4 batches at a time)");
    let started = Instant::now();
    write_all(&app, records).await;
    let took = started.elapsed().as_secs_f64();
    println!(
        "  written in {took:.0} s ({:.0} records a second)",
        records as f64 / took
    );

    let mut unassigned = Vec::new();
    let mut cursor: Option<String> = None;
    let (first, _) = timed(&app, READER, "/communicationRecords/unassigned?limit=50").await;
    println!(
        "  the first unassigned page after the load (cold): {:.1} ms",
        first.as_secs_f64() * 1000.0
    );
    for _ in 0..200 {
        let path = match &cursor {
            Some(cursor) => format!("/communicationRecords/unassigned?limit=50&cursor={cursor}"),
            None => "/communicationRecords/unassigned?limit=50".to_owned(),
        };
        let (elapsed, page) = timed(&app, READER, &path).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 50);
        unassigned.push(elapsed);
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    println!("on {records} records:");
    report(
        "unassigned, a page of 50 with suggestions (200 pages, walked by cursor)",
        unassigned,
    );

    let customers = records / 10;
    let mut history = Vec::new();
    for n in 0..200 {
        let who = customer((n * 7919) % customers);
        let (elapsed, page) = timed(
            &app,
            READER,
            &format!("/communicationRecords?customerId={who}&limit=50"),
        )
        .await;
        assert!(!page["items"].as_array().unwrap().is_empty());
        history.push(elapsed);
    }
    report("a customer's history, a page of 50", history);

    // A subject with five records among them: a customer of its own, on a number nobody shares.
    let subject_customer = customer(customers + 1);
    let subject_phone = phone(customers + 1);
    for n in 0..5 {
        let mut body = record(n);
        body["customerId"] = subject_customer.clone().into();
        body["customerHandle"] = subject_phone.clone().into();
        assert_eq!(
            app.post_json("/communicationRecords", WRITER, &body)
                .await
                .status()
                .as_u16(),
            201
        );
    }
    let subject =
        json!({ "customerIds": [subject_customer], "phoneNumbers": [subject_phone.trim_start_matches("tel:")] });
    let (mut count, mut export) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        count.push(signed(&app, "count", &subject).await);
        export.push(signed(&app, "export", &subject).await);
    }
    report("GDPR count of a subject with 5 records (the writer's part)", count);
    report("GDPR export of it (the writer's part)", export);
    let forget = signed(&app, "forget", &subject).await;
    println!(
        "  GDPR forget of it (the writer's part): {:.1} ms",
        forget.as_secs_f64() * 1000.0
    );
}
