//! A Genesys body that does not fit its documented model (genesys-sim's fault `malformed`) is
//! answered 502 naming the field's path, counted in `ccbridge_genesys_unparsed_bodies_total` and
//! logged by that path, never by its value; it is never read as a conversation still going on,
//! an unknown user or a GDPR request still pending. Well-formed bodies read as before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use genesys_sim::{Faults, Malformed};
use helpers::{default_harness, Harness, INGEST, JANA, ORCHESTRATOR};
use serde_json::{json, Value};
use std::sync::OnceLock;
use test_support::{assert_problem, CapturedLogs};

const CONVERSATION: &str = "00000000-0000-4000-8000-000000000001";
const ANI: &str = "420601123456";
const DETAIL_QUERY: &str = "analytics.conversations.details.query";

/// One capture for the whole binary (a global subscriber can be installed once).
fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| CapturedLogs::install_global().expect("no other subscriber"))
}

fn malformed(endpoint: Malformed) -> Faults {
    Faults {
        malformed: Some(endpoint),
        ..Faults::default()
    }
}

fn unparsed_count(metrics: &str, endpoint: &str) -> u64 {
    let line = format!(r#"ccbridge_genesys_unparsed_bodies_total{{body="answer",endpoint="{endpoint}"}} "#);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map_or(0, |n| n.parse().unwrap())
}

async fn record_conversation(h: &Harness) {
    let response = reqwest::Client::new()
        .post(format!("{}/admin/conversations", h.sim_url))
        .json(&json!({
            "conversationId": CONVERSATION,
            "start": "2026-11-28T10:00:00Z", "end": "2026-11-28T10:05:00Z",
            "direction": "inbound", "mediaType": "voice", "ani": format!("tel:+{ANI}"), "subject": "Card",
            "agents": [{ "userId": JANA, "wrapupCode": helpers::SALE_COMPLETED }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

const PAGE: &str = "/conversations/results?startedFrom=2026-11-28T09:00:00Z&startedBefore=2026-11-28T11:00:00Z&page=1";

#[tokio::test]
async fn a_detail_page_whose_conversation_end_does_not_parse_is_a_502_never_a_conversation_going_on() {
    let logs = logs();
    let h = default_harness().await;
    record_conversation(&h).await;
    h.sim.set_faults(malformed(Malformed::DetailQuery));

    let response = h.gateway.get(PAGE, INGEST).await;
    let text = format!("{:?}", response.headers());
    let problem = assert_problem(response, 502).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("conversations[0].conversationEnd"), "{problem}");
    assert!(detail.contains(DETAIL_QUERY), "{problem}");
    assert!(!problem.to_string().contains(ANI), "no value in the answer: {problem}");
    assert!(!text.contains(ANI));
    assert_eq!(
        h.sim.calls_to(DETAIL_QUERY),
        1,
        "not retried: the same body would come again"
    );
    assert_eq!(unparsed_count(&h.gateway.metrics().await, DETAIL_QUERY), 1);

    let logged = logs.text();
    let line = logged
        .lines()
        .find(|l| l.contains("does not match its documented model") && l.contains(DETAIL_QUERY))
        .unwrap_or_else(|| panic!("the unparsed body was logged: {logged}"));
    assert!(line.contains("conversations[0].conversationEnd"), "{line}");
    assert!(!logged.contains(ANI), "a log line holds the value that did not parse");

    // The same conversation, well formed: read with its end.
    h.sim.set_faults(Faults::default());
    let response = h.gateway.get(PAGE, INGEST).await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(
        page["conversations"][0]["conversationEnd"], "2026-11-28T10:05:00Z",
        "{page}"
    );
    assert_eq!(page["conversations"][0]["results"][0]["userId"], JANA, "{page}");
    assert_eq!(unparsed_count(&h.gateway.metrics().await, DETAIL_QUERY), 1);
}

#[tokio::test]
async fn a_user_whose_name_does_not_parse_is_a_502_not_a_missing_user_and_not_cached() {
    let logs = logs();
    let h = default_harness().await;
    h.sim.set_faults(malformed(Malformed::Users));
    let problem = assert_problem(h.gateway.get(&format!("/users/{JANA}"), INGEST).await, 502).await;
    assert!(problem["detail"].as_str().unwrap().contains("(at name)"), "{problem}");
    assert!(!problem.to_string().contains("Jana Nov"), "{problem}");
    assert_eq!(unparsed_count(&h.gateway.metrics().await, "users"), 1);

    h.sim.set_faults(Faults::default());
    let response = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["name"], "Jana Nováková", "the failure was not cached");
    assert_eq!(h.sim.calls_to("users"), 2);
    assert!(!logs.text().contains("Jana Nov"), "no name in a log line");
}

#[tokio::test]
async fn a_token_answer_that_does_not_parse_is_a_502_and_no_token() {
    let _ = logs();
    let h = default_harness().await;
    h.sim.set_faults(malformed(Malformed::Token));
    let problem = assert_problem(h.gateway.get(&format!("/users/{JANA}"), INGEST).await, 502).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("(at expires_in)"),
        "{problem}"
    );
    assert_eq!(unparsed_count(&h.gateway.metrics().await, "token"), 1);
    assert_eq!(h.sim.calls_to("users"), 0, "no call went out without a token");

    h.sim.set_faults(Faults::default());
    let response = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_gdpr_request_status_outside_the_documented_set_is_a_502_never_pending() {
    let _ = logs();
    // Steps an hour long: the request is pending throughout the test.
    let h = helpers::start(
        genesys_sim::Seed::default_seed().unwrap(),
        |sim| sim.gdpr_step = std::time::Duration::from_secs(3600),
        &[],
    )
    .await;
    let request_id = uuid::Uuid::now_v7();
    let submitted: Value = h
        .gateway
        .post_signed(
            &format!("/internal/gdpr/requests/{request_id}/export"),
            ORCHESTRATOR,
            &json!({ "subject": { "phoneNumbers": [format!("+{ANI}")] } }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(submitted["state"], "pending_external", "{submitted}");
    let external_ref = submitted["externalRef"].as_str().unwrap();

    h.sim.set_faults(malformed(Malformed::GdprRequestsGet));
    let status = format!("/internal/gdpr/requests/{request_id}?ref={external_ref}");
    let problem = assert_problem(h.gateway.get_signed(&status, ORCHESTRATOR).await, 502).await;
    assert!(problem["detail"].as_str().unwrap().contains("(at status)"), "{problem}");
    assert_eq!(unparsed_count(&h.gateway.metrics().await, "gdpr.requests.get"), 1);

    h.sim.set_faults(Faults::default());
    let report: Value = h.gateway.get_signed(&status, ORCHESTRATOR).await.json().await.unwrap();
    assert_eq!(report["state"], "pending_external", "{report}");
}
