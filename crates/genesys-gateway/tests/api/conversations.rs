//! `GET /conversations/results`: the detail query, a page of conversations with each agent's
//! result, one Genesys request each.

use crate::helpers::{default_harness, Harness, INGEST, JANA, ORCHESTRATOR, SALE_COMPLETED};
use genesys_sim::Faults;
use serde_json::{json, Value};
use test_support::assert_problem;

const PETR: &str = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b";

async fn record(h: &Harness, body: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/admin/conversations", h.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

fn results_path(from: &str, before: &str, page: u32) -> String {
    format!("/conversations/results?startedFrom={from}&startedBefore={before}&page={page}")
}

#[tokio::test]
async fn each_agents_result_of_the_conversations_started_in_the_window() {
    let h = default_harness().await;
    record(
        &h,
        json!({
            "conversationId": "00000000-0000-4000-8000-000000000001",
            "start": "2026-11-28T10:00:00Z", "end": "2026-11-28T10:05:00Z",
            "direction": "inbound", "mediaType": "voice", "ani": "tel:+420601123456", "subject": "Card",
            "agents": [
                { "userId": JANA, "wrapupCode": SALE_COMPLETED, "wrapupEnd": "2026-11-28T10:06:00Z" },
                { "userId": PETR, "wrapupCode": "ININ-WRAP-UP-TIMEOUT" },
            ],
        }),
    )
    .await;
    record(
        &h,
        json!({
            "conversationId": "00000000-0000-4000-8000-000000000002",
            "start": "2026-11-28T11:00:00Z", "end": "2026-11-28T11:01:00Z",
            "direction": "outbound", "mediaType": "email", "ani": "client@example.com",
            "agents": [{ "userId": JANA, "wrapupCode": SALE_COMPLETED }],
        }),
    )
    .await;
    let response = h
        .gateway
        .get(&results_path("2026-11-28T09:00:00Z", "2026-11-28T10:30:00Z", 1), INGEST)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["totalHits"], 1, "{page}");
    assert_eq!(page["pageSize"], 100);
    let conversation = &page["conversations"][0];
    assert_eq!(conversation["conversationId"], "00000000-0000-4000-8000-000000000001");
    assert_eq!(conversation["conversationStart"], "2026-11-28T10:00:00Z");
    assert_eq!(conversation["conversationEnd"], "2026-11-28T10:05:00Z");
    assert_eq!(
        conversation["results"],
        json!([
            {
                "userId": JANA, "wrapupCode": SALE_COMPLETED, "direction": "inbound", "mediaType": "voice",
                "ani": "tel:+420601123456", "subject": "Card", "wrapupEnd": "2026-11-28T10:06:00Z",
            },
            {
                "userId": PETR, "wrapupCode": "ININ-WRAP-UP-TIMEOUT", "direction": "inbound", "mediaType": "voice",
                "ani": "tel:+420601123456", "subject": "Card", "wrapupEnd": "2026-11-28T10:05:00Z",
            },
        ])
    );
    assert_eq!(h.sim.calls_to("analytics.conversations.details.query"), 1);

    let second: Value = h
        .gateway
        .get(&results_path("2026-11-28T10:30:00Z", "2026-11-28T12:00:00Z", 1), INGEST)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["conversations"][0]["results"][0]["direction"], "outbound");
    assert_eq!(second["conversations"][0]["results"][0]["subject"], Value::Null);
}

#[tokio::test]
async fn a_rate_limited_page_is_answered_at_once_for_the_sweep_to_pace_itself() {
    let h = default_harness().await;
    h.sim.set_faults(Faults {
        rate_limit_every: Some(1),
        retry_after_seconds: Some(7),
        ..Faults::default()
    });
    let response = h
        .gateway
        .get(&results_path("2026-11-28T09:00:00Z", "2026-11-28T10:30:00Z", 1), INGEST)
        .await;
    assert_eq!(
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_problem(response, 503).await;
    assert_eq!(
        h.sim.calls_to("analytics.conversations.details.query"),
        1,
        "not retried: every request the sweep spends is its own"
    );
}

#[tokio::test]
async fn a_wrong_window_is_named_and_only_the_sweeps_caller_may_ask() {
    let h = default_harness().await;
    for (path, parameter) in [
        (
            "/conversations/results?startedBefore=2026-11-28T10:00:00Z".to_owned(),
            "startedFrom",
        ),
        (
            results_path("2026-11-28T10:00:00Z", "2026-11-28T10:00:00Z", 1),
            "startedBefore",
        ),
        (results_path("2026-11-28T10:00:00Z", "yesterday", 1), "startedBefore"),
        (results_path("2026-11-28T09:00:00Z", "2026-11-28T10:00:00Z", 0), "page"),
    ] {
        let problem = assert_problem(h.gateway.get(&path, INGEST).await, 422).await;
        assert_eq!(problem["errors"][0]["parameter"], parameter, "{path}: {problem}");
    }
    let refused = h
        .gateway
        .get(
            &results_path("2026-11-28T09:00:00Z", "2026-11-28T10:00:00Z", 1),
            ORCHESTRATOR,
        )
        .await;
    assert_problem(refused, 403).await;
    assert_eq!(h.sim.calls_to("analytics.conversations.details.query"), 0);
}

/// The customer participant's attributes (participant data) of the names asked for, and no other:
/// from the conversation itself, one Genesys request (the detail query carries none).
#[tokio::test]
async fn only_the_customer_attributes_asked_for_are_passed_on() {
    let h = default_harness().await;
    let id = "00000000-0000-4000-8000-000000000003";
    record(
        &h,
        json!({
            "conversationId": id,
            "start": "2026-11-28T10:00:00Z", "end": "2026-11-28T10:05:00Z",
            "direction": "inbound", "mediaType": "voice", "ani": "tel:+420601123456",
            "agents": [{ "userId": JANA, "wrapupCode": SALE_COMPLETED }],
            "participantData": { "bankCustomerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07", "callerName": "Jana" },
        }),
    )
    .await;
    let path = |attributes: &str| format!("/conversations/{id}/participantData?attributes={attributes}");
    let found: Value = h
        .gateway
        .get(&path("bankCustomerId,notSet"), INGEST)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        found,
        json!({ "conversationId": id, "participantData": { "bankCustomerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07" } })
    );
    assert_eq!(h.sim.calls_to("conversations.get"), 1);
    // The detail query's participants carry no attributes (AnalyticsParticipantWithoutAttributes).
    let page: Value = h
        .gateway
        .get(&results_path("2026-11-28T09:00:00Z", "2026-11-28T11:00:00Z", 1), INGEST)
        .await
        .json()
        .await
        .unwrap();
    assert!(!page.to_string().contains("bankCustomerId"), "{page}");

    let too_many: Vec<String> = (0..21).map(|n| format!("a{n}")).collect();
    // One rule for a name (contracts::gateway::AttributeName, as result-ingest and apply.sh).
    for bad in [
        too_many.join(","),
        "bankCustomerId,,x".to_owned(),
        String::new(),
        "bank-customer".to_owned(),
        "2fa".to_owned(),
    ] {
        let problem = assert_problem(h.gateway.get(&path(&bad), INGEST).await, 422).await;
        assert_eq!(problem["errors"][0]["parameter"], "attributes", "{problem}");
    }
    let unknown = "00000000-0000-4000-8000-0000000000ff";
    let response = h
        .gateway
        .get(
            &format!("/conversations/{unknown}/participantData?attributes=bankCustomerId"),
            INGEST,
        )
        .await;
    assert_problem(response, 404).await;
    let problem = assert_problem(
        h.gateway
            .get("/conversations/nope/participantData?attributes=a", INGEST)
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["parameter"], "conversationId", "{problem}");
}
