//! `just bench-ingest`: the webhook under load on PostgreSQL, end to end, against PostgreSQL's
//! own ceiling for one durable single-row insert per request on the same machine (pgbench).
//!
//! Run it through `just bench-ingest` (a throwaway, durable PostgreSQL cluster). Knobs:
//! BENCH_EVENTS (default 20000), BENCH_CONCURRENCY (32), BENCH_PGBENCH_SECONDS (10), BENCH_ACCEPT_ONLY
//! (1: the workers start only after every webhook was accepted). The services run with their
//! shipped defaults, two workers like two replicas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use futures_util::StreamExt;
use service_kit::database::DatabaseError;
use std::process::Command;
use std::time::{Duration, Instant};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[(((sorted.len() as f64) - 1.0) * p).round() as usize]
}

const AGENTS: [&str; 2] = [
    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b",
];
const CODES: [&str; 3] = [
    "1ccb1c09-9495-4034-b377-b809f58d17da",
    "7fb334b0-0e9e-11e4-9191-0800200c9a66",
    "ININ-WRAP-UP-TIMEOUT",
];

fn webhook(n: usize) -> serde_json::Value {
    // Read once: the load generator should not measure the file system.
    static TEMPLATE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let mut body = TEMPLATE
        .get_or_init(|| helpers::example("support-result-voice-inbound.json"))
        .clone();
    body["conversationId"] = uuid::Uuid::new_v4().to_string().into();
    body["userId"] = AGENTS[n % AGENTS.len()].into();
    body["wrapupCode"] = CODES[n % CODES.len()].into();
    body
}

/// When the last record was written (comm-history-writer's own `created_at`).
async fn last_record_written_at(p: &helpers::Pipeline) -> time::OffsetDateTime {
    use comm_history_writer::schema::communication_records::dsl;
    use diesel::prelude::*;
    let latest: service_kit::database::sql_types::DbTimestamp = p
        .writer
        .pool()
        .run(|c| {
            dsl::communication_records
                .order(dsl::created_at.desc())
                .select(dsl::created_at)
                .first(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    latest.into_domain().unwrap().as_offset_date_time()
}

async fn records(p: &helpers::Pipeline) -> i64 {
    p.writer
        .pool()
        .run(|c| comm_history_writer::store::count(c).map_err(DatabaseError::from))
        .await
        .unwrap()
}

/// pgbench: one durable single-row insert per transaction at `clients`, transactions per second.
fn pgbench_ceiling(clients: usize, seconds: usize) -> Option<f64> {
    let admin = std::env::var("TEST_DATABASE_URL").ok()?;
    let bin = std::env::var("PG_BIN").map(|b| format!("{b}/")).unwrap_or_default();
    let psql = |sql: &str| {
        Command::new(format!("{bin}psql"))
            .args([admin.as_str(), "-qc", sql])
            .status()
            .ok()
    };
    psql("CREATE TABLE IF NOT EXISTS pgbench_inbox (id uuid PRIMARY KEY, payload text NOT NULL)")?;
    let script = std::env::temp_dir().join("ccbridge-pgbench.sql");
    std::fs::write(
        &script,
        "INSERT INTO pgbench_inbox VALUES (gen_random_uuid(), repeat('x', 400));\n",
    )
    .ok()?;
    let output = Command::new(format!("{bin}pgbench"))
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(&admin)
        .output()
        .ok()?;
    psql("DROP TABLE pgbench_inbox");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next()?.parse().ok())
}

/// Logs as production writes them (JSON at `info`), into `target/bench-ingest.log` rather than
/// the tests' in-memory capture at `debug`, which would make the benchmark measure itself.
fn production_logs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ingest.log");
    let file = std::fs::File::create(&path).unwrap();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter("info")
        .with_writer(std::sync::Mutex::new(std::io::LineWriter::new(file)))
        .init();
}

#[tokio::main]
async fn main() {
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("bench-ingest measures PostgreSQL: run it with `just bench-ingest`");
        std::process::exit(2);
    }
    production_logs();
    let events = setting("BENCH_EVENTS", 20000);
    let concurrency = setting("BENCH_CONCURRENCY", 32);
    let pgbench_seconds = setting("BENCH_PGBENCH_SECONDS", 10);
    let p = helpers::pipeline_with(&[], None).await;
    // Workers start after the accept phase when BENCH_ACCEPT_ONLY=1 (to see the webhook alone).
    let accept_only = std::env::var("BENCH_ACCEPT_ONLY").is_ok_and(|v| v == "1");
    let background = service_kit::background::Background::default();
    let start_workers = || {
        for _ in 0..2 {
            let worker = result_ingest::worker(
                &p.ingest.settings,
                p.ingest.pool().clone(),
                &prometheus::Registry::new(),
            )
            .unwrap();
            background.spawn(|shutdown| worker.run(shutdown));
        }
    };
    if !accept_only {
        start_workers();
    }

    // Peak: as fast as `concurrency` clients can post.
    let started = Instant::now();
    let started_wall = time::OffsetDateTime::now_utc();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(0..events)
        .map(|n| {
            let body = webhook(n);
            let p = &p;
            async move {
                let sent = Instant::now();
                assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
                sent.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let accept_time = started.elapsed();
    latencies.sort();
    if accept_only {
        start_workers();
    }
    let accepted_per_second = events as f64 / accept_time.as_secs_f64();
    // Polled slowly (a count is a scan the pipeline would pay for); the time of the last record
    // is the writer's own timestamp, so the polling interval does not blur it.
    while records(&p).await < events as i64 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "records stopped appearing"
        );
    }
    let last_record_at: Duration = (last_record_written_at(&p).await - started_wall).try_into().unwrap();
    let genesys_calls = p.sim.calls_to("users") + p.sim.calls_to("wrapupcodes") + p.sim.calls_to("token");
    // The paced phase starts on an idle pipeline (the records above are all written).

    // Half the peak rate, paced: the accept latency a steady load sees.
    let half_rate = (accepted_per_second / 2.0).max(1.0);
    let paced_events = events / 2;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / half_rate));
    let mut paced = Vec::with_capacity(paced_events);
    for n in 0..paced_events {
        ticker.tick().await;
        let body = webhook(events + n);
        let client = p.ingest.client.clone();
        let url = p.ingest.url("/customers/supportResult");
        let token = p.ingest.token(helpers::GENESYS).to_owned();
        paced.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), 202);
            sent.elapsed()
        }));
    }
    let mut paced_latencies = Vec::new();
    for task in paced {
        paced_latencies.push(task.await.unwrap());
    }
    paced_latencies.sort();

    let ceiling = pgbench_ceiling(concurrency, pgbench_seconds);
    println!("result-ingest on PostgreSQL: {events} webhooks at concurrency {concurrency}");
    println!("  accepted per second                {accepted_per_second:>10.0}");
    println!(
        "  accept latency p50 / p99 / max     {:?} / {:?} / {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "  records per second (end to end)    {:>10.0}",
        events as f64 / last_record_at.as_secs_f64()
    );
    println!("  last record written after          {last_record_at:?}");
    println!(
        "  Genesys calls per 1,000 events     {:>10.2}",
        genesys_calls as f64 * 1000.0 / events as f64
    );
    println!(
        "  at half the peak ({half_rate:.0}/s): accept p50 / p99 / max  {:?} / {:?} / {:?}",
        percentile(&paced_latencies, 0.5),
        percentile(&paced_latencies, 0.99),
        paced_latencies[paced_latencies.len() - 1]
    );
    match ceiling {
        Some(tps) => {
            println!("  pgbench single-row insert ceiling  {tps:>10.0} tps at {concurrency} clients");
            println!(
                "  accepted / ceiling                 {:>10.2}",
                accepted_per_second / tps
            );
            println!(
                "  end to end / ceiling               {:>10.2}",
                events as f64 / last_record_at.as_secs_f64() / tps
            );
        }
        None => println!("  pgbench not available: no ceiling measured"),
    }
}
