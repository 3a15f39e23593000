//! `just bench-gateway`: cached lookups per second through the gateway, and how many upstream
//! calls 1,000 lookups cost. genesys-sim and the gateway run in this process on loopback.
//!
//! BENCH_LOOKUPS (default 20000), BENCH_CONCURRENCY (32), BENCH_USERS (50).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use futures_util::StreamExt;
use std::time::{Duration, Instant};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let lookups = setting("BENCH_LOOKUPS", 20_000);
    let concurrency = setting("BENCH_CONCURRENCY", 32);
    let user_count = setting("BENCH_USERS", 50);
    let (seed, users) = helpers::seed_with_users(user_count);
    let h = helpers::start(seed, |_| {}, &[]).await;
    let paths: Vec<String> = (0..lookups)
        .map(|n| format!("/users/{}", users[n % users.len()]))
        .collect();

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(paths.iter())
        .map(|path| {
            let gateway = &h.gateway;
            async move {
                let sent = Instant::now();
                let response = gateway.get(path, helpers::INGEST).await;
                assert_eq!(response.status().as_u16(), 200);
                sent.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();

    let upstream = h.sim.calls_to("users");
    println!("genesys-gateway lookups: {lookups} lookups of {user_count} users at concurrency {concurrency}");
    println!(
        "  lookups per second       {:>10.0}",
        lookups as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency p50 / p99 / max  {:?} / {:?} / {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "  upstream user calls      {upstream:>10}  ({:.2} per 1,000 lookups)",
        upstream as f64 * 1000.0 / lookups as f64
    );
    println!("  token requests           {:>10}", h.sim.calls_to("token"));
}
