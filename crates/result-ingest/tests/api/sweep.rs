//! The sweep: ended conversations found in Genesys' analytics (genesys-sim) whose result the
//! webhook never delivered are recorded once, with the fields the webhook would have given.

use crate::helpers::{
    pipeline_with_trigger, start_replica, sweep_results_in, Pipeline, GENESYS, OPERATOR, ORCHESTRATOR,
};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::{json, Value};
use test_support::assert_problem;
use uuid::Uuid;

pub(crate) const JANA: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const PETR: &str = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b";
pub(crate) const SALE_COMPLETED: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";
pub(crate) const PHONE: &str = "tel:+420601123456";

/// Conversations count once ended; windows every second; the budget no test reaches.
pub(crate) const SWEEP: [(&str, &str); 3] = [
    ("ingest.sweep_settle_seconds", "0"),
    ("ingest.sweep_interval_seconds", "1"),
    ("ingest.sweep_max_requests_per_minute", "60000"),
];

pub(crate) fn shifted(at: Timestamp, millis: i64) -> Timestamp {
    Timestamp::from_offset_date_time(at.as_offset_date_time() + time::Duration::milliseconds(millis)).unwrap()
}

/// An inbound call with the customer on `PHONE`, each agent wrapping up with "Sale completed".
pub(crate) fn conversation(id: &str, start: Timestamp, end: Timestamp, agents: &[&str]) -> Value {
    json!({
        "conversationId": id,
        "start": start.to_rfc3339(),
        "end": end.to_rfc3339(),
        "direction": "inbound",
        "mediaType": "voice",
        "ani": PHONE,
        "subject": "",
        "agents": agents.iter().map(|user| json!({ "userId": user, "wrapupCode": SALE_COMPLETED })).collect::<Vec<_>>(),
    })
}

/// The record the webhook gives the example call, for this conversation, customer and end.
fn expected_record(id: &str, customer: Option<&str>, end: Timestamp) -> Value {
    let mut expected = test_support::expected_voice_inbound_record();
    expected["interactionId"] = id.into();
    expected["customerId"] = customer.map_or(Value::Null, Value::from);
    expected["communicatedAt"] = end.to_rfc3339().into();
    expected
}

/// How the sim's trigger fared for each agent of a recorded conversation.
pub(crate) fn outcomes(recorded: &Value) -> Vec<String> {
    recorded["webhookDeliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// `count` calls with Jana, 10 ms apart from `start`, each ended a millisecond later; each
/// webhook delivery's outcome must be `outcome`. Answers their ids.
async fn record_conversations(p: &Pipeline, start: Timestamp, count: i64, outcome: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let id = Uuid::new_v4().to_string();
        let (begins, ends) = (shifted(start, 10 * i), shifted(start, 10 * i + 1));
        let recorded = p.record_conversation(&conversation(&id, begins, ends, &[JANA])).await;
        assert_eq!(outcomes(&recorded), [outcome]);
        ids.push(id);
    }
    ids
}

/// The schedule's first pass, before any conversation: sets its watermark at now, reading
/// nothing. Answers when it ran.
pub(crate) async fn start_the_schedule(p: &Pipeline) -> Timestamp {
    let t0 = Timestamp::now();
    assert_eq!(p.sweep(t0).await, 0);
    let watermark = p
        .ingest
        .pool()
        .run(|c| result_ingest::sweep::watermark(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(watermark, Some(t0));
    t0
}

/// The pipeline with Genesys' trigger dropping every delivery, and the schedule started.
async fn losing_every_webhook() -> (Pipeline, Timestamp) {
    let p = pipeline_with_trigger(&SWEEP).await;
    p.sim.set_faults(Faults {
        webhook_drop_percent: 100,
        ..Faults::default()
    });
    let t0 = start_the_schedule(&p).await;
    (p, t0)
}

/// The schedule's latest sweep, as operators see it.
async fn latest_sweep(p: &Pipeline) -> Value {
    let listed: Value = p
        .ingest
        .get("/ingest/sweeps?limit=1", OPERATOR)
        .await
        .json()
        .await
        .unwrap();
    listed["items"][0].clone()
}

#[tokio::test]
async fn with_thirty_percent_of_webhooks_dropped_every_conversation_has_one_record() {
    let p = pipeline_with_trigger(&SWEEP).await;
    p.sim.set_faults(Faults {
        webhook_drop_percent: 30,
        ..Faults::default()
    });
    let t0 = start_the_schedule(&p).await;
    let mut conversations = Vec::new();
    let mut dropped = 0;
    for i in 0..200 {
        let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        p.pair(&json!({ "customerId": customer, "interactionId": id })).await;
        let (start, end) = (shifted(t0, 10 * i), shifted(t0, 10 * i + 5));
        let recorded = p.record_conversation(&conversation(&id, start, end, &[JANA])).await;
        match outcomes(&recorded).as_slice() {
            [outcome] if outcome == "dropped" => dropped += 1,
            [outcome] => assert_eq!(outcome, "delivered"),
            other => panic!("{other:?}"),
        }
        conversations.push((id, customer, end));
    }
    assert_eq!(dropped, 60, "the sim drops 30% evenly");
    p.drain(30).await;

    let now = shifted(Timestamp::now(), 2000);
    let pages = p.sweep(now).await;
    assert!((2..=3).contains(&pages), "{pages} pages for 200 conversations");
    assert_eq!(p.sweep_results("recovered"), dropped);
    assert_eq!(p.sweep_results("confirmed"), 200 - dropped);
    let sweep = latest_sweep(&p).await;
    assert_eq!(sweep["status"], "done", "{sweep}");
    assert_eq!(sweep["counts"]["recovered"], dropped, "{sweep}");
    p.drain_at(now).await;
    for (id, customer, end) in &conversations {
        let records = p.records_of_interaction(id).await;
        assert_eq!(records.len(), 1, "{id}: {records:?}");
        assert_eq!(
            crate::helpers::attributes(&records[0]),
            expected_record(id, Some(customer), *end)
        );
    }
    assert!(p.events("pending").await.is_empty());
    assert!(p.events("dead").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn with_nothing_dropped_the_sweep_writes_nothing_and_a_webhook_after_it_is_one_record() {
    let p = pipeline_with_trigger(&SWEEP).await;
    let t0 = start_the_schedule(&p).await;
    for i in 0..10 {
        let id = Uuid::new_v4().to_string();
        let recorded = p
            .record_conversation(&conversation(&id, shifted(t0, i), shifted(t0, i + 1), &[JANA]))
            .await;
        assert_eq!(outcomes(&recorded), ["delivered"]);
    }
    p.drain(30).await;
    assert_eq!(p.processed_events().await.len(), 10);

    p.sweep(shifted(Timestamp::now(), 2000)).await;
    assert_eq!(p.sweep_results("recovered"), 0);
    assert_eq!(p.sweep_results("confirmed"), 10);
    assert!(p.events("pending").await.is_empty(), "the sweep stored nothing");
    assert_eq!(p.processed_events().await.len(), 10);
    p.drain_at(shifted(Timestamp::now(), 2000)).await;
    assert_eq!(p.record_count().await, 10, "and nothing was written");

    // A result the sweep finds first, then the webhook delivers late (with its own event time).
    p.sim.set_faults(Faults {
        webhook_drop_percent: 100,
        ..Faults::default()
    });
    let late = Uuid::new_v4().to_string();
    let end = shifted(t0, 100);
    let recorded = p
        .record_conversation(&conversation(&late, shifted(t0, 50), end, &[JANA]))
        .await;
    assert_eq!(outcomes(&recorded), ["dropped"]);
    let now = shifted(Timestamp::now(), 4000);
    p.sweep(now).await;
    assert_eq!(p.sweep_results("recovered"), 1);
    assert_eq!(
        p.sweep_results("confirmed"),
        10,
        "each confirmed once, however often read"
    );
    p.drain_at(now).await;
    let mut webhook = test_support::fixture("support-result-voice-inbound.json");
    webhook["conversationId"] = late.clone().into();
    webhook["eventTime"] = shifted(end, 3000).to_rfc3339().into();
    let answer: Value = p.deliver(&webhook).await.json().await.unwrap();
    assert_eq!(answer["duplicate"], true, "{answer}");
    p.drain(30).await;
    let records = p.records_of_interaction(&late).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0]["communicatedAt"],
        end.to_rfc3339(),
        "the first delivery's time stands"
    );
}

#[tokio::test]
async fn two_agents_who_each_wrapped_up_are_two_records_each_once() {
    let (p, t0) = losing_every_webhook().await;
    let id = Uuid::new_v4().to_string();
    let recorded = p
        .record_conversation(&conversation(&id, shifted(t0, 1), shifted(t0, 2), &[JANA, PETR]))
        .await;
    assert_eq!(outcomes(&recorded), ["dropped", "dropped"]);
    let now = shifted(Timestamp::now(), 2000);
    p.sweep(now).await;
    assert_eq!(p.sweep_results("recovered"), 2);
    p.drain_at(now).await;

    // The same window again, on demand: found, known, nothing new.
    let started = p
        .ingest
        .post_json(
            "/ingest/sweeps",
            OPERATOR,
            &json!({ "from": shifted(t0, -1000).to_rfc3339(), "to": Timestamp::now().to_rfc3339() }),
        )
        .await;
    assert_eq!(started.status().as_u16(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = started.json().await.unwrap();
    assert_eq!(started["origin"], "operator");
    assert_eq!(started["requestedBy"], OPERATOR);
    assert_eq!(started["status"], "pending");
    let now = shifted(Timestamp::now(), 4000);
    p.sweep(now).await;
    let swept: Value = p.ingest.get(&location, OPERATOR).await.json().await.unwrap();
    assert_eq!(swept["status"], "done", "{swept}");
    assert_eq!(swept["progressPercent"], 100);
    assert_eq!(swept["counts"]["results"], 2, "{swept}");
    assert_eq!(swept["counts"]["recovered"], 0, "{swept}");
    p.drain_at(now).await;

    let records = p.records_of_interaction(&id).await;
    let mut agents: Vec<&str> = records.iter().map(|r| r["bankUserName"].as_str().unwrap()).collect();
    agents.sort_unstable();
    assert_eq!(agents, ["Jana Nováková", "Petr Svoboda"]);
}

#[tokio::test]
async fn a_subject_forgotten_before_the_sweep_is_not_brought_back() {
    let (p, t0) = losing_every_webhook().await;
    let id = Uuid::new_v4().to_string();
    p.record_conversation(&conversation(&id, shifted(t0, 1), shifted(t0, 2), &[JANA]))
        .await;
    let forget = p
        .ingest
        .post_signed(
            &format!("/internal/gdpr/requests/{}/forget", Uuid::now_v7()),
            ORCHESTRATOR,
            &json!({ "subject": { "phoneNumbers": ["+420601123456"] } }),
        )
        .await;
    assert_eq!(forget.status().as_u16(), 200);

    p.sweep(shifted(Timestamp::now(), 2000)).await;
    assert_eq!(p.sweep_results("suppressed"), 1);
    assert_eq!(p.sweep_results("recovered"), 0);
    assert_eq!(latest_sweep(&p).await["counts"]["suppressed"], 1);
    p.drain_at(Timestamp::now()).await;
    assert!(p.records_of_interaction(&id).await.is_empty());
    assert!(p.processed_events().await.is_empty());
}

#[tokio::test]
async fn genesys_rate_limiting_slows_the_sweep_and_skips_nothing_while_lookups_go_on() {
    let (p, t0) = losing_every_webhook().await;
    let ids = record_conversations(&p, t0, 150, "dropped").await;
    // Every other Genesys request is answered 429 with Retry-After: 1; the first page's request
    // is refused whatever came before it (which of the others are depends on how many lookups
    // went in between).
    let every_other = Faults {
        rate_limit_every: Some(2),
        retry_after_seconds: Some(1),
        ..Faults::default()
    };
    let mut now = shifted(Timestamp::now(), 10_000);
    let (mut refused, mut read_before) = (0, None::<Value>);
    for pass in 0..40 {
        p.sim.set_faults(Faults {
            rate_limit_every: Some(if pass == 0 { 1 } else { 2 }),
            ..every_other.clone()
        });
        let pages = p.sweeper.try_execute_task(now).await.unwrap();
        p.sim.set_faults(every_other.clone());
        let sweep = latest_sweep(&p).await;
        if sweep["lastError"].is_string() {
            refused += 1;
            assert_eq!(pages, 1, "a refused page is a request spent");
            assert_eq!(
                &sweep["readUpTo"],
                read_before.as_ref().unwrap_or(&sweep["from"]),
                "the window does not move past a page it could not read: {sweep}"
            );
            assert_eq!(
                p.sweeper.try_execute_task(now).await.unwrap(),
                0,
                "it waits out Retry-After"
            );
            // Compared as instants: RFC 3339 text drops a fraction's trailing zeros, so text order
            // is not time order within a second (a wait without Retry-After, e.g. a timeout).
            let next = Timestamp::parse(sweep["nextAttemptAt"].as_str().unwrap()).unwrap();
            assert!(next > now, "due again after {now:?}: {sweep}");
        }
        // Lookups share the budget and still get through (the gateway retries them).
        p.drain_at(now).await;
        read_before = Some(sweep["readUpTo"].clone());
        if sweep["status"] == "done" {
            break;
        }
        now = shifted(now, 2000);
    }
    // What a 429 put off among the lookups, once its backoff has passed.
    p.drain_at(shifted(now, 60_000)).await;
    assert!(p.events("dead").await.is_empty());
    assert!(refused > 0, "Genesys refused some pages");
    assert_eq!(latest_sweep(&p).await["status"], "done");
    assert_eq!(p.sweep_results("recovered"), 150);
    for id in &ids {
        assert_eq!(p.records_of_interaction(id).await.len(), 1, "{id}");
    }
}

#[tokio::test]
async fn a_sweeper_killed_mid_window_is_taken_over_from_its_cursor_and_nothing_doubles() {
    let (p, t0) = losing_every_webhook().await;
    let ids = record_conversations(&p, t0, 250, "dropped").await;
    // The first sweeper reads one page and is never heard of again, its lease still held.
    let now = shifted(Timestamp::now(), 10_000);
    assert_eq!(p.sweeper.try_execute_task(now).await.unwrap(), 1);
    assert_eq!(p.sweep_results("recovered"), 100);
    let halfway = latest_sweep(&p).await;
    assert_eq!(halfway["status"], "running", "{halfway}");

    let registry = prometheus::Registry::new();
    let successor = result_ingest::sweeper(&p.ingest.settings, p.ingest.pool().clone(), &registry).unwrap();
    assert_eq!(
        successor.try_execute_task(now).await.unwrap(),
        0,
        "the lease is the first sweeper's until it runs out"
    );
    let lease_over = shifted(now, 61_000);
    let mut pages = 0;
    while successor.try_execute_task(lease_over).await.unwrap() > 0 {
        pages += 1;
        assert!(pages < 10, "the window never ended");
    }
    let swept: Value = p
        .ingest
        .get(&format!("/ingest/sweeps/{}", halfway["id"].as_str().unwrap()), OPERATOR)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(swept["status"], "done", "{swept}");
    assert_eq!(swept["counts"]["recovered"], 250, "{swept}");
    assert_eq!(
        sweep_results_in(&registry, "recovered"),
        150,
        "the successor recovered the rest"
    );
    p.drain_at(lease_over).await;
    for id in &ids {
        assert_eq!(p.records_of_interaction(id).await.len(), 1, "{id}");
    }
}

/// result-ingest down (its webhook refuses every delivery) while 250 conversations end, then up
/// again as another process on its database: an operator sweeps the outage's window and follows
/// its progress; every result is recorded once.
#[tokio::test]
async fn after_an_outage_a_sweep_on_demand_recovers_every_result_and_shows_its_progress() {
    let p = pipeline_with_trigger(&SWEEP).await;
    // The conversations of the outage ended a few seconds ago.
    let down_from = shifted(Timestamp::now(), -5000);
    p.ingest.stop().await;
    // result-ingest is down: every delivery fails.
    let ids = record_conversations(&p, down_from, 250, "failed").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut replica = start_replica(
        &p,
        Some(port),
        &[
            ("APP__INGEST__SWEEP_SETTLE_SECONDS", "0"),
            // Only the operator's sweep reaches back into the outage.
            ("APP__INGEST__SWEEP_OVERLAP_SECONDS", "0"),
            // A page every half second: slow enough to watch.
            ("APP__INGEST__SWEEP_MAX_REQUESTS_PER_MINUTE", "120"),
        ],
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let token = "ops-token-0123456789abcdef";
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the replica came up");
    let started = client
        .post(format!("{url}/ingest/sweeps"))
        .bearer_auth(token)
        .json(&json!({ "from": down_from.to_rfc3339(), "to": Timestamp::now().to_rfc3339() }))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let mut seen_running = Vec::new();
    let swept = loop {
        let sweep: Value = client
            .get(format!("{url}{location}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if sweep["status"] == "done" {
            break sweep;
        }
        if sweep["status"] == "running" {
            seen_running.push((
                sweep["progressPercent"].as_u64().unwrap(),
                sweep["counts"]["recovered"].as_u64().unwrap(),
            ));
        }
        assert!(seen_running.len() < 2000, "the sweep never finished: {sweep}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(swept["counts"]["recovered"], 250, "{swept} {seen_running:?}");
    assert!(
        seen_running
            .iter()
            .any(|&(percent, recovered)| (1..100).contains(&percent) && (1..250).contains(&recovered)),
        "progress was visible while it ran: {seen_running:?}"
    );
    // The replica's worker writes the records.
    let mut waited = 0;
    while p.processed_events().await.len() < 250 {
        assert!(waited < 1500, "the replica's worker did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        waited += 1;
    }
    replica.kill().unwrap();
    replica.wait().unwrap();
    for id in &ids {
        assert_eq!(p.records_of_interaction(id).await.len(), 1, "{id}");
    }
}

#[tokio::test]
async fn a_wrong_window_is_named_and_sweeps_are_for_operators() {
    let p = pipeline_with_trigger(&SWEEP).await;
    let now = Timestamp::now();
    for (body, pointer) in [
        (
            json!({ "from": "2020-01-01T00:00:00Z", "to": now.to_rfc3339() }),
            "/from",
        ),
        (
            json!({ "from": shifted(now, -60_000).to_rfc3339(), "to": shifted(now, -60_000).to_rfc3339() }),
            "/to",
        ),
        (
            json!({ "from": shifted(now, -60_000).to_rfc3339(), "to": shifted(now, 3_600_000).to_rfc3339() }),
            "/to",
        ),
        (json!({ "from": "yesterday", "to": now.to_rfc3339() }), "/from"),
    ] {
        let problem = assert_problem(p.ingest.post_json("/ingest/sweeps", OPERATOR, &body).await, 422).await;
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {problem}");
    }
    let listed: Value = p.ingest.get("/ingest/sweeps", OPERATOR).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "nothing half stored");
    assert_problem(p.ingest.get("/ingest/sweeps/not-a-uuid", OPERATOR).await, 422).await;
    assert_problem(
        p.ingest
            .get(&format!("/ingest/sweeps/{}", Uuid::now_v7()), OPERATOR)
            .await,
        404,
    )
    .await;
    let body = json!({ "from": shifted(now, -60_000).to_rfc3339(), "to": now.to_rfc3339() });
    assert_problem(p.ingest.post_json("/ingest/sweeps", GENESYS, &body).await, 403).await;
}
