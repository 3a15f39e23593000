use crate::helpers::{default_harness, seed_with_users, start, INGEST, JANA, SALE_COMPLETED};
use serde_json::Value;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn a_user_and_a_wrap_up_code_are_id_and_name() {
    let h = default_harness().await;
    let user: Value = h
        .gateway
        .get(&format!("/users/{JANA}"), INGEST)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user, serde_json::json!({ "id": JANA, "name": "Jana Nováková" }));
    let code: Value = h
        .gateway
        .get(&format!("/wrapupcodes/{SALE_COMPLETED}"), INGEST)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        code,
        serde_json::json!({ "id": SALE_COMPLETED, "name": "Sale completed" })
    );
}

#[tokio::test]
async fn a_thousand_lookups_over_fifty_users_make_fifty_user_calls_and_one_token_request() {
    let (seed, users) = seed_with_users(50);
    let h = start(seed, |_| {}, &[]).await;
    let paths: Vec<String> = (0..1000).map(|n| format!("/users/{}", users[n % 50])).collect();
    for chunk in paths.chunks(50) {
        let responses = futures_util::future::join_all(chunk.iter().map(|p| h.gateway.get(p, INGEST))).await;
        assert!(responses.iter().all(|r| r.status().as_u16() == 200));
    }
    assert!(h.sim.calls_to("users") <= 50, "{:?}", h.sim.calls());
    assert_eq!(h.sim.calls_to("users"), 50, "each user is fetched once");
    assert_eq!(h.sim.calls_to("token"), 1);
}

#[tokio::test]
async fn a_hundred_concurrent_lookups_of_one_uncached_user_make_one_call() {
    let h = default_harness().await;
    let path = format!("/users/{JANA}");
    let responses = futures_util::future::join_all((0..100).map(|_| h.gateway.get(&path, INGEST))).await;
    assert!(responses.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(h.sim.calls_to("users"), 1);
    assert_eq!(h.sim.calls_to("token"), 1);
}

#[tokio::test]
async fn an_unknown_user_is_a_404_remembered_briefly() {
    let h = default_harness().await;
    let path = "/users/00000000-0000-4000-8000-000000000000";
    assert_problem(h.gateway.get(path, INGEST).await, 404).await;
    assert_problem(h.gateway.get(path, INGEST).await, 404).await;
    assert_eq!(
        h.sim.calls_to("users"),
        1,
        "the second 404 came from the negative cache"
    );
}

#[tokio::test]
async fn system_wrap_up_codes_never_reach_genesys() {
    let h = default_harness().await;
    for (code, name) in [
        ("ININ-OUTBOUND-PREVIEW-SKIPPED", "Outbound preview skipped"),
        ("ININ-WRAP-UP-TIMEOUT", "Wrap-up timed out"),
    ] {
        let body: Value = h
            .gateway
            .get(&format!("/wrapupcodes/{code}"), INGEST)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body, serde_json::json!({ "id": code, "name": name }));
    }
    assert_problem(h.gateway.get("/wrapupcodes/NOT-A-CODE", INGEST).await, 404).await;
    assert_eq!(h.sim.calls_to("wrapupcodes"), 0);
    assert_eq!(h.sim.calls_to("token"), 0, "not even a token was needed");
}

#[tokio::test]
async fn bad_ids_and_missing_tokens_are_refused_before_genesys() {
    let h = default_harness().await;
    let problem = assert_problem(h.gateway.get("/users/not-a-uuid", INGEST).await, 422).await;
    assert_eq!(problem_locations(&problem), ["userId"]);
    let response = h
        .gateway
        .client
        .get(h.gateway.url(&format!("/users/{JANA}")))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    assert_problem(
        h.gateway
            .get(&format!("/users/{JANA}"), crate::helpers::ORCHESTRATOR)
            .await,
        403,
    )
    .await;
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

#[tokio::test]
async fn metrics_show_upstream_calls_cache_results_and_renewals() {
    let h = default_harness().await;
    h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    let metrics = h.gateway.metrics().await;
    assert!(
        metrics.contains(r#"ccbridge_genesys_upstream_requests_total{endpoint="users",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ccbridge_genesys_cache_lookups_total{cache="users",result="hit"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ccbridge_genesys_cache_lookups_total{cache="users",result="miss"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("ccbridge_genesys_token_renewals_total 1"), "{metrics}");
    assert!(!metrics.contains(JANA), "ids are never label values");
}
