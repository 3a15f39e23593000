//! An erasure stays erased: after a FORGET is purged, neither Genesys retrying its webhook nor
//! the sweep finding the conversation again brings back a record, the agent's name or a copy.

use crate::helpers::{pipeline_with_trigger, Pipeline, ORCHESTRATOR};
use crate::sweep::{conversation, outcomes, shifted, start_the_schedule, JANA, PHONE, SALE_COMPLETED, SWEEP};
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::TestApp;
use uuid::Uuid;

/// A conversation with Jana, paired with its customer before it ended, delivered by Genesys'
/// trigger and written: answers its id, its customer and its end.
async fn a_written_conversation(p: &Pipeline, t0: Timestamp) -> (String, String, Timestamp) {
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    p.pair(&json!({ "customerId": customer, "interactionId": id })).await;
    let end = shifted(t0, 2);
    let recorded = p
        .record_conversation(&conversation(&id, shifted(t0, 1), end, &[JANA]))
        .await;
    assert_eq!(outcomes(&recorded), ["delivered"]);
    p.drain(30).await;
    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["genesysUserId"], JANA);
    assert_eq!(records[0]["customerId"], customer.as_str());
    (id, customer, end)
}

/// The body Genesys' data action posted for the conversation (genesys-sim's trigger), as it
/// posts it again when it retries.
fn the_webhook(id: &str, end: Timestamp) -> Value {
    json!({
        "conversationId": id,
        "eventTime": end.to_rfc3339(),
        "direction": "inbound",
        "mediaType": "voice",
        "ani": PHONE,
        "subject": "",
        "wrapupCode": SALE_COMPLETED,
        "userId": JANA,
    })
}

/// Genesys retries the conversation's webhook: the same body, and the same result with a time
/// of its own after the forget (the data action's time need not be the wrap-up's). Answers the
/// webhook's answers (status and body).
async fn retry(p: &Pipeline, id: &str, end: Timestamp) -> Vec<(u16, Value)> {
    let mut later = the_webhook(id, end);
    later["eventTime"] = shifted(Timestamp::now(), 1000).to_rfc3339().into();
    let mut answers = Vec::new();
    for body in [the_webhook(id, end), later] {
        let answer = p.deliver(&body).await;
        answers.push((answer.status().as_u16(), answer.json().await.unwrap()));
    }
    answers
}

/// Each retry was answered as dropped (200 `suppressed`), so Genesys stops retrying.
fn the_retries_were_dropped(answers: Vec<(u16, Value)>) {
    for (status, body) in answers {
        assert_eq!((status, &body["suppressed"]), (200, &Value::Bool(true)), "{body}");
    }
}

/// A FORGET of `subject` on each participant, confirmed and purged, in gdpr-orchestrator's order.
async fn forget_and_purge(subject: Value, participants: &[&TestApp]) {
    let request = Uuid::now_v7();
    for action in ["forget", "purge"] {
        for app in participants {
            let report = participant(app, request, action, &subject).await;
            assert_eq!(report["state"], "done", "{action}: {report}");
        }
    }
}

/// The rows of `app`'s tables that hold any of `values`.
async fn rows_holding(app: &TestApp, values: &[&str]) -> Vec<String> {
    test_support::dump_tables(app.pool())
        .await
        .into_iter()
        .filter(|row| values.iter().any(|value| row.contains(value)))
        .collect()
}

/// The conversation's one record stands, without the agent, and nothing in result-ingest or
/// comm-history-writer names the agent; nothing waits in the inbox.
async fn the_agent_stays_erased(p: &Pipeline, id: &str) {
    let records = p.records_of_interaction(id).await;
    assert_eq!(records.len(), 1, "a second record of the conversation: {records:#?}");
    assert_eq!(records[0]["genesysUserId"], Value::Null, "{records:#?}");
    assert_eq!(records[0]["bankUserName"], Value::Null, "{records:#?}");
    assert!(p.events("pending").await.is_empty());
    for app in [&p.ingest, &p.writer] {
        let rows = rows_holding(app, &[JANA, "Jana Nov"]).await;
        assert!(rows.is_empty(), "the purged agent is back: {rows:#?}");
    }
}

/// Nothing of the conversation or its customer is anywhere: no record, no inbox event, no pairing.
async fn the_customer_stays_erased(p: &Pipeline, id: &str, customer: &str) {
    assert_eq!(p.records_of_interaction(id).await, Vec::<Value>::new());
    assert!(p.events("pending").await.is_empty());
    for app in [&p.ingest, &p.writer, &p.pairing] {
        let rows = rows_holding(app, &[id, customer]).await;
        assert!(rows.is_empty(), "the purged customer's conversation is back: {rows:#?}");
    }
}

/// Whose FORGET was purged.
#[derive(Clone, Copy)]
enum Purged {
    /// Jana's, the agent's (`genesysUserIds`).
    Agent,
    /// The customer's, with the interaction interaction-pairing links to them.
    Customer,
}

/// What the purge erased stays erased.
async fn stays_erased(p: &Pipeline, purged: Purged, id: &str, customer: &str) {
    match purged {
        Purged::Agent => the_agent_stays_erased(p, id).await,
        Purged::Customer => the_customer_stays_erased(p, id, customer).await,
    }
}

/// The pipeline with a conversation written, then `purged`'s FORGET confirmed and purged on each
/// participant that holds its data. Answers the pipeline, the conversation, its customer and end.
async fn after_the_purge_of(purged: Purged) -> (Pipeline, String, String, Timestamp) {
    let p = pipeline_with_trigger(&SWEEP).await;
    let t0 = start_the_schedule(&p).await;
    let (id, customer, end) = a_written_conversation(&p, t0).await;
    match purged {
        Purged::Agent => forget_and_purge(json!({ "genesysUserIds": [JANA] }), &[&p.ingest, &p.writer]).await,
        Purged::Customer => {
            let subject = json!({ "customerIds": [customer], "interactionIds": [id] });
            forget_and_purge(subject, &[&p.ingest, &p.writer, &p.pairing]).await;
        }
    }
    stays_erased(&p, purged, &id, &customer).await;
    (p, id, customer, end)
}

async fn a_retried_webhook_brings_nothing_back(purged: Purged) {
    let (p, id, customer, end) = after_the_purge_of(purged).await;
    let answers = retry(&p, &id, end).await;
    p.drain(30).await;
    stays_erased(&p, purged, &id, &customer).await;
    the_retries_were_dropped(answers);
    p.assert_no_personal_data_logged();
}

/// The scheduled sweep reads the conversation's window (its first read of it): it finds the
/// result and drops it.
async fn a_sweep_brings_nothing_back(purged: Purged) {
    let (p, id, customer, _) = after_the_purge_of(purged).await;
    let now = shifted(Timestamp::now(), 2000);
    p.sweep(now).await;
    assert_eq!(p.sweep_results("recovered"), 0);
    assert_eq!(p.sweep_results("suppressed"), 1);
    p.drain_at(now).await;
    stays_erased(&p, purged, &id, &customer).await;
}

#[tokio::test]
async fn a_purged_agent_is_not_brought_back_by_genesys_retrying_the_webhook() {
    a_retried_webhook_brings_nothing_back(Purged::Agent).await;
}

#[tokio::test]
async fn a_purged_agent_is_not_brought_back_by_a_sweep_over_the_window() {
    a_sweep_brings_nothing_back(Purged::Agent).await;
}

#[tokio::test]
async fn a_purged_customer_is_not_brought_back_by_genesys_retrying_the_webhook() {
    a_retried_webhook_brings_nothing_back(Purged::Customer).await;
}

#[tokio::test]
async fn a_purged_customer_is_not_brought_back_by_a_sweep_over_the_window() {
    a_sweep_brings_nothing_back(Purged::Customer).await;
}

/// A result of the erased conversation under a new identity, with a time after the purge: the
/// wrap-up code changed afterwards, and (`other_agent`) a second agent's wrap-up after a transfer.
async fn new_identities(p: &Pipeline, id: &str, end: Timestamp, other_agent: bool) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    let mut recoded = the_webhook(id, end);
    recoded["wrapupCode"] = "ININ-WRAP-UP-TIMEOUT".into();
    recoded["eventTime"] = shifted(Timestamp::now(), 1000).to_rfc3339().into();
    let mut bodies = vec![recoded];
    if other_agent {
        let mut transferred = the_webhook(id, end);
        transferred["userId"] = Uuid::new_v4().to_string().into();
        transferred["eventTime"] = shifted(Timestamp::now(), 1000).to_rfc3339().into();
        bodies.push(transferred);
    }
    for body in bodies {
        let answer = p.deliver(&body).await;
        answers.push((answer.status().as_u16(), answer.json().await.unwrap()));
    }
    answers
}

#[tokio::test]
async fn a_later_result_of_a_purged_customers_conversation_under_a_new_identity_is_dropped() {
    let (p, id, customer, end) = after_the_purge_of(Purged::Customer).await;
    let answers = new_identities(&p, &id, end, true).await;
    p.drain(30).await;
    the_customer_stays_erased(&p, &id, &customer).await;
    the_retries_were_dropped(answers);
}

#[tokio::test]
async fn a_later_result_of_a_purged_agent_in_the_same_conversation_is_dropped_and_another_agents_is_not() {
    let (p, id, _, end) = after_the_purge_of(Purged::Agent).await;
    let answers = new_identities(&p, &id, end, false).await;
    p.drain(30).await;
    the_agent_stays_erased(&p, &id).await;
    the_retries_were_dropped(answers);
    // Another agent's result of the conversation is theirs: recorded as any other.
    let mut transferred = the_webhook(&id, end);
    transferred["userId"] = Uuid::new_v4().to_string().into();
    transferred["eventTime"] = shifted(Timestamp::now(), 1000).to_rfc3339().into();
    let answer = p.deliver(&transferred).await;
    assert!(answer.status().is_success());
    let body: Value = answer.json().await.unwrap();
    assert_ne!(body["suppressed"], Value::Bool(true), "{body}");
}

/// A conversation a customer's FORGET names, whose result never reached the inbox before the
/// purge: its result arriving later, with a later time, is dropped too; another conversation of
/// the customer after the forget is new data and kept.
#[tokio::test]
async fn a_conversation_a_purged_forget_names_is_dropped_whenever_its_result_comes() {
    let p = crate::helpers::pipeline().await;
    let (named, other) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let subject = json!({ "customerIds": [Uuid::new_v4()], "interactionIds": [named] });
    forget_and_purge(subject, &[&p.ingest]).await;
    let later = shifted(Timestamp::now(), 1000);
    let mut answers = Vec::new();
    for id in [&named, &other] {
        let mut body = the_webhook(id, later);
        body["eventTime"] = later.to_rfc3339().into();
        let answer = p.deliver(&body).await;
        answers.push((answer.status().as_u16(), answer.json::<Value>().await.unwrap()));
    }
    let kept = answers.pop().unwrap();
    assert!(kept.0 < 300 && kept.1["suppressed"] != Value::Bool(true), "{kept:?}");
    the_retries_were_dropped(answers);
}

/// One participant call of `request` about `subject`; answers its report.
async fn participant(app: &TestApp, request: Uuid, action: &str, subject: &Value) -> Value {
    let path = format!("/internal/gdpr/requests/{request}/{action}");
    let answer = app
        .post_signed(&path, ORCHESTRATOR, &json!({ "subject": subject }))
        .await;
    assert_eq!(answer.status().as_u16(), 200, "{action}");
    answer.json().await.unwrap()
}

/// BOFE pairs a second customer with an interaction whose record is written (a late pairing),
/// and the outbox worker has claimed the assignment when that customer's FORGET reaches
/// interaction-pairing: the forget waits (pending_external) until the worker is done with it,
/// so comm-history-writer's forget, after it, holds the copy the assignment made, and the purge
/// erases it. (gdpr-orchestrator runs interaction-pairing's step before comm-history-writer's.)
#[tokio::test]
async fn a_late_pairing_in_the_outbox_workers_hands_at_the_forget_leaves_no_copy_after_the_purge() {
    let p = crate::helpers::pipeline().await;
    let (id, other, customer) = (
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
    );
    p.pair(&json!({ "customerId": other, "interactionId": id })).await;
    let mut result = crate::helpers::example("support-result-voice-inbound.json");
    result["conversationId"] = id.clone().into();
    assert_eq!(p.deliver(&result).await.status().as_u16(), 202);
    p.drain(30).await;
    assert_eq!(
        p.outbox.try_execute_task(Timestamp::now()).await.unwrap(),
        1,
        "the first pairing's"
    );
    p.pair(&json!({ "customerId": customer, "interactionId": id })).await;
    // The outbox worker claims the assignment (and is slow to deliver it).
    use service_kit::queue::Storage as _;
    let lease_until =
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::seconds(60)).unwrap();
    let claimed = p
        .pairing
        .pool()
        .run(move |c| {
            interaction_pairing::outbox::PairingOutbox
                .claim(
                    c,
                    service_kit::queue::Claim {
                        now: Timestamp::now(),
                        limit: 10,
                        lease_until,
                    },
                )
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let (request, subject) = (
        Uuid::now_v7(),
        json!({ "customerIds": [customer], "interactionIds": [id] }),
    );
    assert_eq!(
        participant(&p.ingest, request, "forget", &subject).await["state"],
        "done"
    );
    let waiting = participant(&p.pairing, request, "forget", &subject).await;
    assert_eq!(waiting["state"], "pending_external", "{waiting}");
    // The worker delivers it now: the customer gets a copy of the interaction's record.
    let assigned = reqwest::Client::new()
        .post(p.writer.url("/internal/customerAssignments"))
        .bearer_auth(crate::helpers::PAIRING_TOKEN)
        .json(&json!({ "interactionId": id, "customerId": customer, "source": "late_pairing" }))
        .send()
        .await
        .unwrap();
    assert!(assigned.status().is_success(), "{}", assigned.status());
    let delivered = service_kit::queue::Settlement {
        id: claimed[0].id,
        lease_until,
        settle: service_kit::queue::Settle::Done,
        settled_at: Timestamp::now(),
        result: None,
    };
    let settled = p
        .pairing
        .pool()
        .run(move |c| {
            interaction_pairing::outbox::PairingOutbox
                .settle(c, &[delivered])
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(settled, 1);
    assert_eq!(p.records_of_interaction(&id).await.len(), 2, "the copy was made");

    assert_eq!(
        participant(&p.pairing, request, "forget", &subject).await["state"],
        "done"
    );
    assert_eq!(
        participant(&p.writer, request, "forget", &subject).await["state"],
        "done"
    );
    for app in [&p.ingest, &p.pairing, &p.writer] {
        assert_eq!(participant(app, request, "purge", &subject).await["state"], "done");
    }
    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], other.as_str());
    for app in [&p.writer, &p.pairing] {
        let rows = rows_holding(app, &[&customer]).await;
        assert!(rows.is_empty(), "the purged customer is back: {rows:#?}");
    }
}

/// A dead letter a FORGET holds is the forget's, not the retention's: housekeeping past
/// `ingest.dead_retention_days` leaves it, and an undo in the grace window gives it back as it was.
#[tokio::test]
async fn retention_leaves_what_a_forget_holds_so_an_undo_gives_it_back() {
    let p = crate::helpers::pipeline_with(&[("ingest.retry_budget", "1 attempt")], None).await;
    p.sim.set_faults(genesys_sim::Faults {
        outage_seconds: Some(3600),
        ..genesys_sim::Faults::default()
    });
    let mut result = crate::helpers::example("support-result-voice-inbound.json");
    result["conversationId"] = Uuid::new_v4().to_string().into();
    assert_eq!(p.deliver(&result).await.status().as_u16(), 202);
    p.drain(5).await;
    let dead = p.events("dead").await;
    assert_eq!(dead.len(), 1);
    // It died long ago, and a FORGET of its caller holds it.
    crate::expiry::all_died_days_ago(&p, 400).await;
    let (request, subject) = (Uuid::now_v7(), json!({ "phoneNumbers": ["+420601123456"] }));
    participant(&p.ingest, request, "forget", &subject).await;
    assert!(p.events("dead").await.is_empty(), "held: not listed");

    let worker = result_ingest::worker(
        &p.ingest.settings,
        p.ingest.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    worker.housekeeping(Timestamp::now()).await.unwrap();
    participant(&p.ingest, request, "undo", &subject).await;
    let back = p.events("dead").await;
    assert_eq!(back.len(), 1, "the undo gave the dead letter back");
    assert_eq!(back[0]["id"], dead[0]["id"]);
}
