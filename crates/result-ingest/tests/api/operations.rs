use crate::helpers::{example, pipeline_with, OPERATOR};
use genesys_sim::Faults;
use serde_json::Value;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn a_spent_retry_budget_is_a_dead_letter_with_its_reason_and_can_be_replayed() {
    let p = pipeline_with(&[("ingest.retry_budget_hours", "0")], None).await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    p.deliver(&example("support-result-voice-inbound.json")).await;
    p.drain(5).await;
    let dead = p.events("dead").await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]["lastError"].as_str().unwrap();
    assert!(
        reason.contains("retry budget spent") && reason.contains("genesys-gateway: 503"),
        "{reason}"
    );
    let listing = dead[0].to_string();
    assert!(
        !listing.contains("420601123456"),
        "no personal data in the listing: {listing}"
    );

    p.sim.set_faults(Faults::default());
    let id = dead[0]["id"].as_str().unwrap();
    let response = p
        .ingest
        .client
        .post(p.ingest.url(&format!("/ingest/events/{id}/retry")))
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    p.drain(10).await;
    assert!(p.events("dead").await.is_empty());
    assert_eq!(
        p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609")
            .await
            .len(),
        1
    );
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn retry_dead_replays_a_whole_batch() {
    let p = pipeline_with(&[("ingest.retry_budget_hours", "0")], None).await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    for n in 0..4 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9462{n}").into();
        p.deliver(&body).await;
    }
    p.drain(5).await;
    assert_eq!(p.events("dead").await.len(), 4);
    p.sim.set_faults(Faults::default());
    let response = p
        .ingest
        .client
        .post(p.ingest.url("/ingest/events/retry-dead"))
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["retried"], 4);
    p.drain(10).await;
    assert!(p.events("dead").await.is_empty() && p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn listings_page_and_refuse_bad_parameters() {
    let p = pipeline_with(&[], None).await;
    for n in 0..5 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9463{n}").into();
        p.deliver(&body).await;
    }
    let first: Value = p
        .ingest
        .get("/ingest/events?status=pending&limit=3", OPERATOR)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second: Value = p
        .ingest
        .get(
            &format!("/ingest/events?status=pending&limit=3&cursor={cursor}"),
            OPERATOR,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["nextCursor"], Value::Null);

    for (query, parameter) in [
        ("status=done", "status"),
        ("status=pending&limit=0", "limit"),
        ("status=dead&cursor=x", "cursor"),
    ] {
        let problem = assert_problem(p.ingest.get(&format!("/ingest/events?{query}"), OPERATOR).await, 422).await;
        assert_eq!(problem_locations(&problem), [parameter]);
    }
    let unknown = p
        .ingest
        .client
        .post(
            p.ingest
                .url("/ingest/events/0190f5c2-7d1f-7a2e-9c61-3f8e2d9a1b07/retry"),
        )
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404).await;
    p.assert_no_personal_data_logged();
}
