use crate::helpers::{seed_with_users, start, INGEST, JANA};
use genesys_sim::{Faults, Seed};
use std::time::{Duration, Instant};
use test_support::assert_problem;

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_lookup_succeeds() {
    let (seed, users) = seed_with_users(2);
    let h = start(seed, |_| {}, &[]).await;
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[0]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    h.sim.revoke_tokens();
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[1]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(h.sim.calls_to("token"), 2, "one renewal");
    assert_eq!(h.sim.calls_to("users"), 3, "the rejected call, then its one retry");
}

#[tokio::test]
async fn concurrent_callers_share_one_renewal() {
    let (seed, users) = seed_with_users(20);
    let h = start(seed, |_| {}, &[]).await;
    h.gateway.get(&format!("/users/{}", users[0]), INGEST).await;
    h.sim.revoke_tokens();
    let paths: Vec<String> = users[1..].iter().map(|u| format!("/users/{u}")).collect();
    let responses = futures_util::future::join_all(paths.iter().map(|p| h.gateway.get(p, INGEST))).await;
    assert!(responses.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(
        h.sim.calls_to("token"),
        2,
        "19 callers met the 401; one renewal served them all"
    );
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_before_it_expires() {
    let (seed, users) = seed_with_users(2);
    let h = start(seed, |c| c.token_lifetime = Duration::from_secs(2), &[]).await;
    h.gateway.get(&format!("/users/{}", users[0]), INGEST).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[1]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(h.sim.calls_to("token"), 2);
    assert_eq!(h.sim.calls_to("users"), 2, "renewed ahead of time: no call met a 401");
}

/// An `expires_in` beyond `genesys.max_token_lifetime_seconds` is not believed: the token is
/// renewed as if it lived that long.
#[tokio::test]
async fn a_token_lifetime_beyond_the_cap_is_not_believed() {
    let (seed, users) = seed_with_users(2);
    let ten_years = Duration::from_secs(10 * 365 * 86_400);
    let h = start(
        seed,
        |c| c.token_lifetime = ten_years,
        &[("genesys.max_token_lifetime_seconds", "1")],
    )
    .await;
    h.gateway.get(&format!("/users/{}", users[0]), INGEST).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[1]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(h.sim.calls_to("token"), 2, "renewed within the capped lifetime");
}

#[tokio::test]
async fn a_429_with_retry_after_delays_then_succeeds() {
    let (seed, users) = seed_with_users(2);
    let h = start(
        seed,
        |c| {
            c.faults = Faults {
                rate_limit_every: Some(2),
                retry_after_seconds: Some(1),
                ..Faults::default()
            }
        },
        &[],
    )
    .await;
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[0]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    let started = Instant::now();
    let response = h.gateway.get(&format!("/users/{}", users[1]), INGEST).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(h.sim.calls_to("users"), 3);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_a_503_at_once() {
    let h = start(
        Seed::default_seed().unwrap(),
        |c| {
            c.faults = Faults {
                rate_limit_every: Some(1),
                retry_after_seconds: Some(120),
                ..Faults::default()
            }
        },
        &[],
    )
    .await;
    let response = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    assert_eq!(response.headers()["retry-after"], "120");
    assert_problem(response, 503).await;
    assert_eq!(h.sim.calls_to("users"), 1);
}

#[tokio::test]
async fn an_outage_is_a_503_with_retry_after_within_the_deadline() {
    let h = start(
        Seed::default_seed().unwrap(),
        |c| {
            c.faults = Faults {
                outage_seconds: Some(600),
                ..Faults::default()
            }
        },
        &[("genesys.deadline_ms", "1500"), ("genesys.max_attempts", "3")],
    )
    .await;
    let started = Instant::now();
    let response = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500 + 1000),
        "answered within the deadline, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_genesys_meets_the_deadline_not_a_hang() {
    let h = start(
        Seed::default_seed().unwrap(),
        |c| {
            c.faults = Faults {
                latency_ms: 5_000,
                ..Faults::default()
            }
        },
        &[("genesys.deadline_ms", "1000"), ("genesys.request_timeout_ms", "400")],
    )
    .await;
    let started = Instant::now();
    assert_problem(h.gateway.get(&format!("/users/{JANA}"), INGEST).await, 503).await;
    assert!(
        started.elapsed() < Duration::from_millis(1000 + 1000),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (seed, users) = seed_with_users(1);
    let h = start(
        seed,
        |c| {
            c.faults = Faults {
                error_percent: 50,
                ..Faults::default()
            }
        },
        &[],
    )
    .await;
    // With 50% the 2nd, 4th, … API requests fail: a lookup meets at most one failure in a row.
    for _ in 0..3 {
        let response = h.gateway.get(&format!("/users/{}", users[0]), INGEST).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    assert_eq!(h.sim.calls_to("users"), 1, "cached after the first success");
    let response = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(h.sim.calls_to("users"), 3, "one 500, then the retry");
}

#[tokio::test]
async fn wrong_client_credentials_are_a_502_not_a_retry_loop() {
    let h = start(
        Seed::default_seed().unwrap(),
        |c| c.client_secret = "another-secret".to_owned(),
        &[],
    )
    .await;
    let problem = assert_problem(h.gateway.get(&format!("/users/{JANA}"), INGEST).await, 502).await;
    assert!(problem["detail"].as_str().unwrap().contains("client credentials"));
    assert_eq!(h.sim.calls_to("token"), 1);
}

#[tokio::test]
async fn the_client_side_limiter_spaces_requests() {
    let (seed, users) = seed_with_users(4);
    // 60 a minute, burst 1: one request a second after the first.
    let h = start(
        seed,
        |_| {},
        &[
            ("genesys.rate_limit_per_minute", "60"),
            ("genesys.rate_limit_burst", "1"),
        ],
    )
    .await;
    let started = Instant::now();
    for user in &users[..3] {
        assert_eq!(
            h.gateway.get(&format!("/users/{user}"), INGEST).await.status().as_u16(),
            200
        );
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "three calls at one a second take two seconds at least"
    );
}
