//! `just bench-sweep`: 10,000 conversations end in genesys-sim, half their webhooks dropped; the
//! sweep recovers them while fresh webhooks keep arriving. Prints the time to recover all, the
//! Genesys requests spent per 1,000 conversations (detail query pages, and the name lookups the
//! caches missed) and the records written a second meanwhile.
//!
//! Knobs: BENCH_CONVERSATIONS (default 10000), BENCH_SWEEP_RPM (`ingest.sweep_max_requests_per_minute`,
//! default the shipped 30), BENCH_LIVE_PER_SECOND (fresh webhooks a second during the sweep,
//! default 50). On PostgreSQL when TEST_DATABASE_URL is set (`just bench-sweep` starts one), else
//! on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use domain::Timestamp;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const AGENTS: [&str; 2] = [
    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b",
];
const CODES: [&str; 2] = ["1ccb1c09-9495-4034-b377-b809f58d17da", "ININ-WRAP-UP-TIMEOUT"];

fn at(base: Timestamp, millis: u64) -> String {
    (base.as_offset_date_time() + Duration::from_millis(millis))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn lookups(p: &helpers::Pipeline) -> u64 {
    p.sim.calls_to("users") + p.sim.calls_to("wrapupcodes")
}

#[tokio::main]
async fn main() {
    let conversations = setting("BENCH_CONVERSATIONS", 10_000);
    let rpm = setting("BENCH_SWEEP_RPM", 30).to_string();
    let live_per_second = setting("BENCH_LIVE_PER_SECOND", 50);
    let p = Arc::new(
        helpers::pipeline_with_trigger(&[
            ("ingest.sweep_settle_seconds", "0"),
            ("ingest.sweep_interval_seconds", "1"),
            ("ingest.sweep_max_requests_per_minute", rpm.as_str()),
        ])
        .await,
    );
    p.sim.set_faults(genesys_sim::Faults {
        webhook_drop_percent: 50,
        ..genesys_sim::Faults::default()
    });
    let background = service_kit::background::Background::new(Arc::new(service_kit::background::TaskHealth::new(
        Duration::from_secs(300),
    )));
    for _ in 0..2 {
        let worker = result_ingest::worker(
            &p.ingest.settings,
            p.ingest.pool().clone(),
            &prometheus::Registry::new(),
        )
        .unwrap();
        background.spawn("ingest_inbox", |shutdown, health| worker.run(shutdown, health));
    }

    // The schedule's watermark is set before the first conversation starts.
    let t0 = Timestamp::now();
    assert_eq!(p.sweeper.try_execute_task(t0).await.unwrap(), 0);
    println!("recording {conversations} ended conversations (1 ms apart), half their webhooks dropped");
    let recorded = Instant::now();
    futures_util::stream::iter(0..conversations)
        .for_each_concurrent(16, |n| {
            let p = p.clone();
            async move {
                let n = n as u64;
                let body = serde_json::json!({
                    "conversationId": uuid::Uuid::new_v4(),
                    "start": at(t0, n), "end": at(t0, n + 1),
                    "direction": "inbound", "mediaType": "voice", "ani": format!("tel:+420601{:06}", n % 1_000_000),
                    "agents": [{ "userId": AGENTS[n as usize % 2], "wrapupCode": CODES[n as usize % 2] }],
                });
                p.record_conversation(&body).await;
            }
        })
        .await;
    let outcomes = p.sim.webhook_outcomes();
    let delivered = outcomes.get("delivered").copied().unwrap_or(0);
    let dropped = outcomes.get("dropped").copied().unwrap_or(0);
    println!(
        "  recorded in {:.1} s: {delivered} delivered, {dropped} dropped",
        recorded.elapsed().as_secs_f64()
    );
    while p.record_count().await < delivered as i64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every conversation has ended (the last ends `conversations` ms after t0).
    let last_end = t0.as_offset_date_time() + Duration::from_millis(conversations as u64 + 1);
    while time::OffsetDateTime::now_utc() < last_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The sweep, with fresh webhooks arriving meanwhile.
    let pages_before = p.sim.calls_to("analytics.conversations.details.query");
    let lookups_before = lookups(&p);
    let records_before = p.record_count().await;
    let started = Instant::now();
    let metrics = prometheus::Registry::new();
    let sweeper = result_ingest::sweeper(&p.ingest.settings, p.ingest.pool().clone(), &metrics).unwrap();
    background.spawn("ingest sweeper", |shutdown, health| {
        service_kit::periodic::run(sweeper, shutdown, health)
    });
    let sweeping = Arc::new(AtomicBool::new(true));
    let live_sent = Arc::new(AtomicUsize::new(0));
    let live = {
        let (p, sweeping, live_sent) = (p.clone(), sweeping.clone(), live_sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / live_per_second.max(1) as u32);
            let template = helpers::example("support-result-voice-inbound.json");
            while sweeping.load(Ordering::SeqCst) {
                tick.tick().await;
                let mut body = template.clone();
                body["conversationId"] = uuid::Uuid::new_v4().to_string().into();
                assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
                live_sent.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while helpers::sweep_results_in(&metrics, "recovered") < dropped {
        assert!(started.elapsed() < Duration::from_secs(3600), "the sweep stalled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let swept_in = started.elapsed();
    sweeping.store(false, Ordering::SeqCst);
    live.await.unwrap();
    let expected = records_before + dropped as i64 + live_sent.load(Ordering::SeqCst) as i64;
    while p.record_count().await < expected {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_in = started.elapsed();
    let pages = p.sim.calls_to("analytics.conversations.details.query") - pages_before;
    let lookups_spent = lookups(&p) - lookups_before;
    let written = expected - records_before;
    let per_thousand = |n: u64| n as f64 * 1000.0 / conversations as f64;
    println!("sweep of {conversations} conversations ({dropped} results never delivered), sweep budget {rpm} requests/minute:");
    println!(
        "  recovered: {} in {:.1} s (read), all their records written after {:.1} s",
        helpers::sweep_results_in(&metrics, "recovered"),
        swept_in.as_secs_f64(),
        all_in.as_secs_f64()
    );
    println!(
        "  Genesys requests: {pages} detail query pages ({:.1} per 1,000 conversations), {lookups_spent} name lookups the caches missed ({:.2} per 1,000)",
        per_thousand(pages),
        per_thousand(lookups_spent)
    );
    println!(
        "  records written meanwhile: {written} ({} fresh webhooks), {:.0} a second",
        live_sent.load(Ordering::SeqCst),
        written as f64 / all_in.as_secs_f64()
    );
    println!("  confirmed: {}", helpers::sweep_results_in(&metrics, "confirmed"));
}
