//! Genesys participant data: an IVR or a bot that authenticated the caller left the bank's
//! customer id in a participant attribute (`ingest.participant_data`). The record gets that
//! customer (`customerSource: participant_data`), beside those the back office paired; only the
//! configured attributes are kept; the customer id is personal data a GDPR request for that
//! customer reaches.

use crate::helpers::{example, pipeline_with, pipeline_with_trigger, Pipeline};
use crate::legal_holds::{call, IN_2026};
use crate::sweep::{conversation, outcomes, shifted, start_the_schedule, JANA, SWEEP};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations};
use uuid::Uuid;

/// The attributes this stack reads: `bankCustomerId` names the customer, `bankProduct` the domain.
const CONFIGURED: [(&str, &str); 2] = [
    ("ingest.participant_data.customer_id_attributes", "bankCustomerId"),
    ("ingest.participant_data.domain_attributes", "bankProduct"),
];

/// An attribute the stack does not read, with a value that must be stored nowhere.
const CALLER_NAME: &str = "Caller Named-In-The-IVR";

async fn configured() -> Pipeline {
    pipeline_with(&CONFIGURED, None).await
}

/// The voice example, of `conversation` at `at`, with this participant data.
fn result_with(conversation: &str, at: &str, participant_data: Value) -> Value {
    let mut result = example("support-result-voice-inbound.json");
    result["conversationId"] = conversation.into();
    result["eventTime"] = at.into();
    result["participantData"] = participant_data;
    result
}

/// A worker of this pipeline whose metrics go to a registry of the test's.
fn counted_worker(p: &Pipeline) -> (result_ingest::worker::Worker, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let worker = result_ingest::worker(&p.ingest.settings, p.ingest.pool().clone(), &registry).unwrap();
    (worker, registry)
}

/// Runs `worker` until nothing is due.
async fn drain_with(worker: &result_ingest::worker::Worker) {
    for _ in 0..100 {
        if worker.try_execute_task(Timestamp::now()).await.unwrap() == 0 {
            return;
        }
    }
    panic!("the inbox never ran dry");
}

fn counted(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_counter().get_value())
        .sum()
}

/// The value of a line of a `/metrics` text, 0 when absent.
fn metric_line(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().unwrap())
}

async fn export_of(p: &Pipeline, customer: &str) -> Vec<Value> {
    let subject = json!({ "customerIds": [customer] });
    let export = call(p, Uuid::now_v7(), "export", &subject, json!([])).await;
    export["data"]["webhookResults"].as_array().unwrap().clone()
}

/// Rows of result-ingest's tables holding `value`.
async fn rows_holding(p: &Pipeline, value: &str) -> Vec<String> {
    test_support::dump_tables(p.ingest.pool())
        .await
        .into_iter()
        .filter(|row| row.contains(value))
        .collect()
}

#[tokio::test]
async fn participant_data_names_the_records_customer_and_domain_and_nothing_else_is_kept() {
    let p = configured().await;
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let sent = json!({ "bankCustomerId": customer, "bankProduct": "MORTGAGES", "callerName": CALLER_NAME });
    assert_eq!(p.deliver(&result_with(&id, IN_2026, sent)).await.status().as_u16(), 202);
    let (worker, registry) = counted_worker(&p);
    drain_with(&worker).await;

    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], customer.as_str());
    assert_eq!(records[0]["customerSource"], "participant_data");
    assert_eq!(records[0]["domain"], "MORTGAGES");
    assert_eq!(
        counted(&registry, "ccbridge_ingest_participant_data_customers_total"),
        1.0
    );
    assert_eq!(counted(&registry, "ccbridge_ingest_customer_conflicts_total"), 0.0);

    // The customer's export holds the result with the attributes read, and only those.
    let exported = export_of(&p, &customer).await;
    assert_eq!(exported.len(), 1, "{exported:#?}");
    assert_eq!(
        exported[0]["result"]["participantData"],
        json!({ "bankCustomerId": customer, "bankProduct": "MORTGAGES" })
    );
    assert!(
        rows_holding(&p, CALLER_NAME).await.is_empty(),
        "an attribute not configured was stored"
    );
    assert!(
        !p.logs().unwrap_or_default().contains(&customer),
        "the customer id was logged"
    );
}

#[tokio::test]
async fn a_paired_customer_stays_the_records_and_another_one_participant_data_names_gets_it_too() {
    let p = configured().await;
    let (id, paired, named) = (
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
    );
    p.pair(&json!({ "customerId": paired, "interactionId": id })).await;
    let sent = json!({ "bankCustomerId": named });
    assert_eq!(p.deliver(&result_with(&id, IN_2026, sent)).await.status().as_u16(), 202);
    let (worker, registry) = counted_worker(&p);
    drain_with(&worker).await;

    let mut records: Vec<(String, String)> = p
        .records_of_interaction(&id)
        .await
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap().to_owned();
            (field("customerId"), field("customerSource"))
        })
        .collect();
    records.sort();
    let mut expected = vec![(paired, "pairing".to_owned()), (named, "participant_data".to_owned())];
    expected.sort();
    assert_eq!(records, expected);
    assert_eq!(counted(&registry, "ccbridge_ingest_customer_conflicts_total"), 1.0);

    // The same customer named by both is no conflict, and has the record once.
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    p.pair(&json!({ "customerId": customer, "interactionId": id })).await;
    let sent = json!({ "bankCustomerId": customer });
    assert_eq!(p.deliver(&result_with(&id, IN_2026, sent)).await.status().as_u16(), 202);
    drain_with(&worker).await;
    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerSource"], "pairing");
    assert_eq!(counted(&registry, "ccbridge_ingest_customer_conflicts_total"), 1.0);
}

#[tokio::test]
async fn a_customer_id_that_does_not_parse_is_ignored_and_counted_and_the_result_recorded() {
    let p = configured().await;
    let id = Uuid::new_v4().to_string();
    let sent = json!({ "bankCustomerId": "CUST-0042", "bankProduct": "not a domain" });
    let answer = p.deliver(&result_with(&id, IN_2026, sent)).await;
    assert_eq!(answer.status().as_u16(), 202);
    let metrics = p.ingest.metrics().await;
    let ignored = "ccbridge_ingest_participant_data_ignored_total";
    assert_eq!(
        metric_line(&metrics, &format!("{ignored}{{kind=\"customer_id\"}}")),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric_line(&metrics, &format!("{ignored}{{kind=\"domain\"}}")),
        1.0,
        "{metrics}"
    );
    assert!(!metrics.contains("CUST-0042"));
    p.drain(30).await;
    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], Value::Null);
    assert_eq!(records[0]["domain"], "OTHER");
    assert!(p.events("dead").await.is_empty());
    assert!(
        rows_holding(&p, "CUST-0042").await.is_empty(),
        "an ignored value was stored"
    );
}

#[tokio::test]
async fn participant_data_of_a_bad_shape_is_422_naming_the_field_and_stores_nothing() {
    let p = configured().await;
    let too_many: serde_json::Map<String, Value> = (0..101).map(|n| (format!("a{n}"), json!("x"))).collect();
    for (sent, at) in [
        (json!("bankCustomerId=1"), "/participantData"),
        (json!(["bankCustomerId"]), "/participantData"),
        (json!({ "bankCustomerId": 42 }), "/participantData/bankCustomerId"),
        (json!({ "bankCustomerId": null }), "/participantData/bankCustomerId"),
        (json!({ "bankCustomerId": "x".repeat(4097) }), "/participantData"),
        (json!({ "": "x" }), "/participantData"),
        (Value::Object(too_many), "/participantData"),
    ] {
        let body = result_with(&Uuid::new_v4().to_string(), IN_2026, sent.clone());
        let problem = assert_problem(p.deliver(&body).await, 422).await;
        assert_eq!(problem_locations(&problem), [at], "{sent}: {problem}");
    }
    assert!(p.events("pending").await.is_empty());
    // Absent or null: none.
    let mut body = result_with(&Uuid::new_v4().to_string(), IN_2026, Value::Null);
    assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    body.as_object_mut().unwrap().remove("participantData");
    body["conversationId"] = Uuid::new_v4().to_string().into();
    assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
}

/// A stack that reads the configured attributes and sweeps with `sweep` settings, whose webhooks
/// Genesys drops (so only the sweep finds results), its schedule started; answers when.
async fn sweeping(sweep: &[(&'static str, &'static str)]) -> (Pipeline, Timestamp) {
    let settings: Vec<(&str, &str)> = sweep.iter().chain(&CONFIGURED).copied().collect();
    let p = pipeline_with_trigger(&settings).await;
    p.sim.set_faults(dropping_webhooks());
    let t0 = start_the_schedule(&p).await;
    (p, t0)
}

fn dropping_webhooks() -> Faults {
    Faults {
        webhook_drop_percent: 100,
        ..Faults::default()
    }
}

#[tokio::test]
async fn the_sweep_recovers_a_lost_webhook_with_the_customer_its_participant_data_names() {
    let (p, t0) = sweeping(&SWEEP).await;
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let mut call = conversation(&id, shifted(t0, 1), shifted(t0, 2), &[JANA]);
    call["participantData"] = json!({ "bankCustomerId": customer, "callerName": CALLER_NAME });
    assert_eq!(outcomes(&p.record_conversation(&call).await), ["dropped"]);
    assert!(p.sweep(shifted(Timestamp::now(), 2000)).await > 0);
    assert_eq!(p.sweep_results("recovered"), 1);
    // One Genesys request for the conversation's participant data (the detail query has none).
    assert_eq!(p.sim.calls_to("conversations.get"), 1);
    p.drain(30).await;

    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], customer.as_str());
    assert_eq!(records[0]["customerSource"], "participant_data");
    assert!(
        rows_holding(&p, CALLER_NAME).await.is_empty(),
        "an attribute not asked for was stored"
    );
}

#[tokio::test]
async fn a_request_for_the_customer_participant_data_names_exports_holds_and_forgets_the_result() {
    let p = configured().await;
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let sent = json!({ "bankCustomerId": customer });
    assert_eq!(
        p.deliver(&result_with(&id, IN_2026, sent.clone()))
            .await
            .status()
            .as_u16(),
        202
    );
    p.drain(30).await;
    let subject = json!({ "customerIds": [customer] });
    assert_eq!(export_of(&p, &customer).await.len(), 1);
    let counted = call(&p, Uuid::now_v7(), "count", &subject, json!([])).await;
    assert_eq!(counted["counts"]["webhookResults"], 1, "{counted}");
    // Another customer's request reaches none of it.
    assert!(export_of(&p, &Uuid::new_v4().to_string()).await.is_empty());

    // FORGET of the customer, a legal hold on them at the purge: the result is kept.
    let forget = Uuid::now_v7();
    call(&p, forget, "forget", &subject, json!([])).await;
    let hold = json!([{ "holdId": Uuid::now_v7(), "subject": subject, "window": null, "basis": "legal_claims" }]);
    let purged = call(&p, forget, "purge", &subject, hold).await;
    assert_eq!(
        purged["retained"],
        json!([{ "category": "webhookResults", "basis": "legal_claims", "count": 1 }]),
        "{purged}"
    );
    assert_eq!(rows_holding(&p, &id).await.len(), 1);
    assert_eq!(export_of(&p, &customer).await.len(), 1, "held: still exported");

    // The hold ended: erased, and neither the same result again nor another of the customer's
    // from before the forget (another conversation: only its participant data names them) comes
    // back.
    let purged = call(&p, forget, "purge", &subject, json!([])).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert!(rows_holding(&p, &customer).await.is_empty());
    let other = Uuid::new_v4().to_string();
    for conversation in [&id, &other] {
        let answer = p.deliver(&result_with(conversation, IN_2026, sent.clone())).await;
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(answer.json::<Value>().await.unwrap()["suppressed"], true);
    }
    assert!(
        rows_holding(&p, &customer).await.is_empty(),
        "the forgotten customer is back"
    );
    // A result after the forget is the customer's again, as any other.
    let later = Timestamp::now().to_rfc3339();
    let answer = p.deliver(&result_with(&other, &later, sent)).await;
    assert_eq!(answer.status().as_u16(), 202);
}

#[tokio::test]
async fn with_no_attribute_configured_participant_data_is_neither_read_nor_kept() {
    let p = pipeline_with(&[("ingest.participant_data.customer_id_attributes", "")], None).await;
    let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let sent = json!({ "bankCustomerId": customer, "callerName": CALLER_NAME });
    assert_eq!(p.deliver(&result_with(&id, IN_2026, sent)).await.status().as_u16(), 202);
    p.drain(30).await;
    let records = p.records_of_interaction(&id).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], Value::Null);
    for value in [customer.as_str(), CALLER_NAME] {
        assert!(rows_holding(&p, value).await.is_empty(), "participant data was stored");
    }
}

/// On web messaging and chat the customer's own browser can set participant attributes
/// (Messenger custom attributes): under the default `ingest.participant_data.channels` (VOICE)
/// such a value names nobody, is kept nowhere and is counted; the same on a call is taken.
#[tokio::test]
async fn a_chat_or_message_customers_own_attribute_names_nobody_a_calls_names_the_customer() {
    let p = configured().await;
    let victim = Uuid::new_v4().to_string();
    let sent = json!({ "bankCustomerId": victim, "bankProduct": "MORTGAGES" });
    let mut typed_by_the_customer = Vec::new();
    for media_type in ["chat", "message"] {
        let id = Uuid::new_v4().to_string();
        let mut result = result_with(&id, IN_2026, sent.clone());
        result["mediaType"] = media_type.into();
        assert_eq!(p.deliver(&result).await.status().as_u16(), 202, "{media_type}");
        typed_by_the_customer.push(id);
    }
    let call = Uuid::new_v4().to_string();
    assert_eq!(
        p.deliver(&result_with(&call, IN_2026, sent)).await.status().as_u16(),
        202
    );
    let metrics = p.ingest.metrics().await;
    let ignored = "ccbridge_ingest_participant_data_ignored_total";
    assert_eq!(
        metric_line(&metrics, &format!("{ignored}{{kind=\"channel\"}}")),
        2.0,
        "{metrics}"
    );
    let (worker, registry) = counted_worker(&p);
    drain_with(&worker).await;

    for id in &typed_by_the_customer {
        let records = p.records_of_interaction(id).await;
        assert_eq!(records.len(), 1, "{records:#?}");
        assert_eq!(records[0]["customerId"], Value::Null, "{records:#?}");
        assert_eq!(records[0]["domain"], "OTHER", "{records:#?}");
    }
    let records = p.records_of_interaction(&call).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["customerId"], victim.as_str());
    assert_eq!(records[0]["customerSource"], "participant_data");
    assert_eq!(
        counted(&registry, "ccbridge_ingest_participant_data_customers_total"),
        1.0
    );
    // The customer's GDPR export holds the call's result only.
    let exported = export_of(&p, &victim).await;
    assert_eq!(exported.len(), 1, "{exported:#?}");
    assert_eq!(exported[0]["result"]["conversationId"], call.as_str());
}

/// A pairing that comes after the record was written with the customer participant data named:
/// the paired customer becomes the record's, the named one keeps a copy, and the writer counts
/// the conflict (once: the same pairing again changes nothing).
#[tokio::test]
async fn a_pairing_after_the_record_makes_the_paired_customer_the_records_and_the_named_one_keeps_a_copy() {
    let p = configured().await;
    let (id, named, paired) = (
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
    );
    let sent = json!({ "bankCustomerId": named });
    assert_eq!(p.deliver(&result_with(&id, IN_2026, sent)).await.status().as_u16(), 202);
    p.drain(30).await;
    let written = p.records_of_interaction(&id).await;
    assert_eq!(written.len(), 1, "{written:#?}");
    let record_id = written[0]["id"].as_str().unwrap().to_owned();

    let conflicts = "ccbridge_records_customer_conflicts_total";
    for _ in 0..2 {
        p.pair(&json!({ "customerId": paired, "interactionId": id })).await;
        while p.outbox.try_execute_task(Timestamp::now()).await.unwrap() > 0 {}
        let mut records: Vec<(bool, String, String)> = p
            .records_of_interaction(&id)
            .await
            .iter()
            .map(|r| {
                let field = |name: &str| r[name].as_str().unwrap().to_owned();
                (field("id") == record_id, field("customerId"), field("customerSource"))
            })
            .collect();
        records.sort();
        assert_eq!(
            records,
            [
                (false, named.clone(), "participant_data".to_owned()),
                (true, paired.clone(), "late_pairing".to_owned()),
            ]
        );
        let metrics = p.writer.metrics().await;
        assert_eq!(metric_line(&metrics, conflicts), 1.0, "{metrics}");
    }
}

/// The sweep's participant data lookups take its Genesys budget: with one request a minute, the
/// page read spends it and no conversation is asked about until the next permit.
#[tokio::test]
async fn the_sweeps_participant_data_lookups_take_its_budget() {
    let one_a_minute = SWEEP.map(|(key, value)| match key {
        "ingest.sweep_max_requests_per_minute" => (key, "1"),
        _ => (key, value),
    });
    let (p, t0) = sweeping(&one_a_minute).await;
    let id = Uuid::new_v4().to_string();
    let mut call = conversation(&id, shifted(t0, 1), shifted(t0, 2), &[JANA]);
    call["participantData"] = json!({ "bankCustomerId": Uuid::new_v4().to_string() });
    assert_eq!(outcomes(&p.record_conversation(&call).await), ["dropped"]);
    // One pass: the page (the minute's one request); its lookup waits for the next minute.
    assert_eq!(p.sweep(shifted(Timestamp::now(), 2000)).await, 1);
    assert_eq!(p.sim.calls_to("analytics.conversations.details.query"), 1);
    assert_eq!(p.sim.calls_to("conversations.get"), 0);
    assert_eq!(p.sweep_results("recovered"), 0);
}

/// A page whose participant data lookups failed part-way is retried without asking Genesys
/// again for the page or for what was found: the sim sees each conversation asked once, the one
/// that failed twice.
#[tokio::test]
async fn a_retried_sweep_page_does_not_ask_again_for_what_it_found() {
    let (p, t0) = sweeping(&SWEEP).await;
    let mut customers = Vec::new();
    for n in 0..3 {
        let (id, customer) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let mut call = conversation(&id, shifted(t0, 1 + 10 * n), shifted(t0, 2 + 10 * n), &[JANA]);
        call["participantData"] = json!({ "bankCustomerId": customer });
        assert_eq!(outcomes(&p.record_conversation(&call).await), ["dropped"]);
        customers.push((id, customer));
    }
    // The next Genesys requests: the page, the first lookup, then a 429 longer than the gateway
    // waits (answered 503 + Retry-After: the page waits).
    // (Token requests are not API requests: the fault does not count them.)
    let asked_so_far: u64 = p.sim.calls().values().sum::<u64>() - p.sim.calls_to("token");
    p.sim.set_faults(Faults {
        webhook_drop_percent: 100,
        rate_limit_every: Some(asked_so_far + 3),
        retry_after_seconds: Some(11),
        ..Faults::default()
    });
    let first = shifted(Timestamp::now(), 2000);
    assert_eq!(p.sweep(first).await, 1);
    assert_eq!(p.sim.calls_to("conversations.get"), 2);
    assert_eq!(p.sweep_results("recovered"), 0);

    p.sim.set_faults(dropping_webhooks());
    assert!(p.sweep(shifted(first, 12_000)).await > 0);
    assert_eq!(p.sweep_results("recovered"), 3);
    // The first conversation once, the second twice (429, then its answer), the third once.
    assert_eq!(p.sim.calls_to("conversations.get"), 4);
    p.drain(30).await;
    for (id, customer) in &customers {
        let records = p.records_of_interaction(id).await;
        assert_eq!(records.len(), 1, "{records:#?}");
        assert_eq!(records[0]["customerId"], customer.as_str());
    }
}
