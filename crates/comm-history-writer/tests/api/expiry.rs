//! The records' retention (issue #30's retention schedule): a round of the expiry, driven at a
//! time the test picks (`run_once(now)`), erases the records past their channel's retention that
//! no legal hold or statutory rule keeps and no GDPR request holds, after asking a stand-in for
//! gdpr-orchestrator (`GET /internal/gdpr/retentions`) for the holds and rules; when it cannot be
//! asked, nothing expires and the round is counted.

use crate::delivery::{delivered, drain, record, spawn, write, Delivering, C, D};
use crate::helpers::{stored_records, READER};
use comm_history_writer::expiry::{Expiry, ExpiryError, Round};
use comm_history_writer::settings::RecordsSettings;
use contracts::participant::Retentions;
use domain::{Channel, Timestamp};
use gdpr_participant::stand_in::Orchestrator;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::num::NonZeroU32;
use test_support::{HistoryManager, TestApp};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The writer's token at the stand-in orchestrator.
const TOKEN: &str = "comm-history-writer-at-the-orchestrator-0123";

/// What the stand-in orchestrator answers, from its JSON.
fn retentions(answer: Value) -> Retentions {
    serde_json::from_value(answer).unwrap()
}

fn nothing_kept() -> Value {
    json!({ "holds": [], "rules": [] })
}

/// `days` before now.
fn ago(days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(OffsetDateTime::now_utc() - Duration::days(days)).unwrap()
}

fn days_later(days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(OffsetDateTime::now_utc() + Duration::days(days)).unwrap()
}

/// The app's `[records]`, a year's retention (VOICE: 30 days), asking the orchestrator at `url`.
fn settings(app: &TestApp, url: &str) -> RecordsSettings {
    let mut records: RecordsSettings = app.settings.section("records").unwrap();
    records.retention_days = NonZeroU32::new(365).unwrap();
    records.retention_days_by_channel = [(Channel::Voice, NonZeroU32::new(30).unwrap())].into();
    records.orchestrator_url = url.parse().unwrap();
    records.orchestrator_token = SecretString::from(TOKEN.to_owned());
    records
}

fn expiry(app: &TestApp, records: &RecordsSettings) -> (Expiry, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let expiry = Expiry::new(app.pool().clone(), records, &registry).unwrap();
    (expiry, registry)
}

fn counted(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .find(|family| family.name() == name)
        .map_or(0.0, |family| family.get_metric()[0].get_counter().get_value())
}

/// `customer`'s record of `channel` on `interaction`, communicated `at`; answers its id.
async fn written_on(app: &TestApp, customer: &str, interaction: &str, channel: &str, at: Timestamp) -> String {
    let mut body = record(Some(customer), interaction);
    body["communicatedAt"] = json!(at);
    body["channel"] = channel.into();
    write(app, &body).await["id"].as_str().unwrap().to_owned()
}

async fn written(app: &TestApp, customer: &str, channel: &str, at: Timestamp) -> String {
    written_on(app, customer, &Uuid::new_v4().to_string(), channel, at).await
}

/// `n` CHAT records of `customer`, each on an interaction of its own, communicated 800 days ago,
/// in one batch write (keys `{prefix}-{i}`).
async fn written_in_a_batch(app: &TestApp, customer: &str, n: usize, prefix: &str) {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let mut body = record(Some(customer), &Uuid::new_v4().to_string());
            body["communicatedAt"] = json!(ago(800));
            body["channel"] = "CHAT".into();
            json!({ "idempotencyKey": format!("{prefix}-{i}"), "record": body })
        })
        .collect();
    let response = app
        .post_json(
            "/communicationRecords/batch",
            crate::helpers::WRITER,
            &json!({ "records": records }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

async fn there(app: &TestApp, id: &str) -> bool {
    let status = app
        .get(&format!("/communicationRecords/{id}"), READER)
        .await
        .status()
        .as_u16();
    assert!(status == 200 || status == 404, "{status}");
    status == 200
}

async fn setup(answer: Option<Value>) -> (HistoryManager, Delivering, Orchestrator) {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let orchestrator = Orchestrator::start(TOKEN, answer.map(retentions)).unwrap();
    (manager, s, orchestrator)
}

#[tokio::test]
async fn records_past_their_channels_retention_expire_and_younger_ones_stay() {
    let (_manager, s, orchestrator) = setup(Some(nothing_kept())).await;
    let old_chat = written(&s.app, C, "CHAT", ago(400)).await;
    let chat = written(&s.app, C, "CHAT", ago(100)).await;
    let old_voice = written(&s.app, D, "VOICE", ago(40)).await;
    let voice = written(&s.app, D, "VOICE", ago(10)).await;
    let (expiry, registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    let round = expiry.run_once(Timestamp::now()).await.unwrap();
    assert_eq!(
        round,
        Round {
            expired: 2,
            kept: 0,
            delivered_copies: 0
        }
    );
    assert!(!there(&s.app, &old_chat).await, "CHAT: a year");
    assert!(!there(&s.app, &old_voice).await, "VOICE: 30 days, its own");
    assert!(there(&s.app, &chat).await);
    assert!(there(&s.app, &voice).await);
    assert_eq!(counted(&registry, "ccbridge_records_expired_total"), 2.0);
    // Again at once: nothing more.
    assert_eq!(expiry.run_once(Timestamp::now()).await.unwrap().expired, 0);

    // 300 days on, the others are past theirs too.
    let round = expiry.run_once(days_later(300)).await.unwrap();
    assert_eq!(round.expired, 2);
    assert_eq!(stored_records(&s.app).await, 0);
    assert_eq!(counted(&registry, "ccbridge_records_expired_total"), 4.0);
    assert_eq!(counted(&registry, "ccbridge_records_expiry_skipped_total"), 0.0);
}

#[tokio::test]
async fn records_a_legal_hold_or_a_statutory_rule_covers_stay_past_their_retention() {
    let (_manager, s, orchestrator) = setup(None).await;
    let named = Uuid::new_v4().to_string();
    let hers = written(&s.app, C, "CHAT", ago(400)).await;
    let hers_before_the_window = written(&s.app, C, "CHAT", ago(800)).await;
    let on_the_named_interaction = written_on(&s.app, D, &named, "CHAT", ago(400)).await;
    let voice = written(&s.app, D, "VOICE", ago(400)).await;
    let other = written(&s.app, D, "CHAT", ago(400)).await;
    orchestrator.answers(Some(retentions(json!({
        "holds": [
            {
                "holdId": Uuid::now_v7(),
                "subject": { "customerIds": [C] },
                "window": { "from": ago(500) },
                "basis": "legal_claims"
            },
            {
                "holdId": Uuid::now_v7(),
                "subject": {},
                "interactionIds": [named],
                "basis": "authority_request"
            }
        ],
        "rules": [{ "name": "mifid2-voice", "channels": ["VOICE"], "keepDays": 1826, "basis": "legal_obligation" }]
    }))));
    let (expiry, _registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    for _ in 0..2 {
        let round = expiry.run_once(Timestamp::now()).await.unwrap();
        assert!(there(&s.app, &hers).await, "the hold on C, in its window");
        assert!(there(&s.app, &on_the_named_interaction).await, "the hold's interaction");
        assert!(there(&s.app, &voice).await, "the rule: VOICE 5 years");
        assert!(
            !there(&s.app, &hers_before_the_window).await,
            "before the hold's window"
        );
        assert!(!there(&s.app, &other).await);
        assert_eq!(round.kept, 3, "{round:?}");
    }

    // Once the rule's 5 years have passed, the VOICE record goes; the holds still keep theirs.
    let round = expiry.run_once(days_later(1826 - 400 + 1)).await.unwrap();
    assert_eq!(round.expired, 1, "{round:?}");
    assert!(!there(&s.app, &voice).await);
    assert!(there(&s.app, &hers).await);
    assert!(there(&s.app, &on_the_named_interaction).await);
}

#[tokio::test]
async fn a_record_a_forget_holds_is_left_to_its_purge() {
    let (_manager, s, orchestrator) = setup(Some(nothing_kept())).await;
    let hers = written(&s.app, C, "CHAT", ago(400)).await;
    let his = written(&s.app, D, "CHAT", ago(400)).await;
    let forget = Uuid::now_v7();
    crate::delivery::participant(&s.app, forget, "forget", &json!({ "customerIds": [C] })).await;
    let (expiry, _registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    let round = expiry.run_once(Timestamp::now()).await.unwrap();
    assert_eq!(round.expired, 1);
    assert!(!there(&s.app, &his).await);
    // Hidden by the forget (its undo would bring it back): still stored, for the purge.
    assert_eq!(stored_records(&s.app).await, 1, "{hers} is the FORGET's");
    // Undone, it is an ordinary record past its retention again.
    crate::delivery::participant(&s.app, forget, "undo", &json!({ "customerIds": [C] })).await;
    assert_eq!(expiry.run_once(Timestamp::now()).await.unwrap().expired, 1);
    assert_eq!(stored_records(&s.app).await, 0);
}

#[tokio::test]
async fn nothing_expires_when_the_orchestrator_cannot_be_asked_and_each_round_is_counted() {
    let (_manager, s, orchestrator) = setup(None).await;
    let old = written(&s.app, D, "CHAT", ago(400)).await;

    // Down (nobody listens there), unavailable (503), refusing the token, no token at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut refused = settings(&s.app, orchestrator.url.as_str());
    refused.orchestrator_token = SecretString::from("not-the-writers-token-0123456789".to_owned());
    let mut tokenless = settings(&s.app, orchestrator.url.as_str());
    tokenless.orchestrator_token = SecretString::from(String::new());
    for records in [
        settings(&s.app, &closed),
        settings(&s.app, orchestrator.url.as_str()),
        refused,
        tokenless,
    ] {
        let (expiry, registry) = expiry(&s.app, &records);
        let round = expiry.run_once(days_later(1000)).await;
        assert!(matches!(round, Err(ExpiryError::Unasked)), "{round:?}");
        assert!(there(&s.app, &old).await);
        assert_eq!(counted(&registry, "ccbridge_records_expiry_skipped_total"), 1.0);
        assert_eq!(counted(&registry, "ccbridge_records_expired_total"), 0.0);
    }

    // Answering again: it expires.
    orchestrator.answers(Some(retentions(nothing_kept())));
    let (expiry, registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));
    assert_eq!(expiry.run_once(Timestamp::now()).await.unwrap().expired, 1);
    assert_eq!(counted(&registry, "ccbridge_records_expiry_skipped_total"), 0.0);
}

#[tokio::test]
async fn a_copy_delivered_to_the_manager_is_listed_for_erasure_there_and_its_entry_goes() {
    let (manager, s, orchestrator) = setup(Some(nothing_kept())).await;
    let old = written(&s.app, D, "CHAT", ago(400)).await;
    written(&s.app, D, "CHAT", ago(10)).await;
    drain(&s.worker, Timestamp::now()).await;
    assert_eq!(delivered(&s.app).await.len(), 2);
    assert_eq!(manager.received().len(), 2);
    let (expiry, registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    let round = expiry.run_once(Timestamp::now()).await.unwrap();
    assert_eq!(
        round,
        Round {
            expired: 1,
            kept: 0,
            delivered_copies: 1
        }
    );
    assert!(!there(&s.app, &old).await);
    let left = delivered(&s.app).await;
    assert_eq!(left.len(), 1, "the expired record's entry went with it");
    assert_ne!(left[0]["recordId"], json!(old));
    assert_eq!(counted(&registry, "ccbridge_records_expired_delivered_total"), 1.0);

    // Listed for operators to erase at the manager (ids only), then acknowledged.
    assert_eq!(s.app.get("/expired-copies", READER).await.status().as_u16(), 403);
    let listed: Value = s.app.get("/expired-copies", "operator").await.json().await.unwrap();
    assert_eq!(listed["total"], 1, "{listed}");
    let copy = &listed["items"][0];
    assert_eq!(copy["recordId"], json!(old), "{listed}");
    assert!(
        copy["idempotencyKey"].as_str().is_some_and(|key| !key.is_empty()),
        "{copy}"
    );
    let external = copy["externalId"].as_str().expect("the manager answered its id");
    assert!(
        manager.records().contains_key(external),
        "the manager's id of it: {copy}"
    );
    let fields: Vec<&str> = copy.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "deliveredAt",
            "deliveryId",
            "expiredAt",
            "externalId",
            "idempotencyKey",
            "recordId"
        ],
        "ids only"
    );
    let erased = format!("/expired-copies/{}/erased", copy["deliveryId"].as_str().unwrap());
    let (app, erased) = (&s.app, &erased);
    let acknowledge = || async move { app.post_json(erased, "operator", &json!({})).await.status().as_u16() };
    assert_eq!(acknowledge().await, 204);
    assert_eq!(acknowledge().await, 404, "no longer listed");
    let listed: Value = s.app.get("/expired-copies", "operator").await.json().await.unwrap();
    assert_eq!(listed, json!({ "items": [], "total": 0 }));
}

#[tokio::test]
async fn records_a_hold_keeps_at_the_oldest_end_do_not_stall_the_expiry_of_those_behind_them() {
    let (_manager, s, orchestrator) = setup(None).await;
    // More than a batch of C's, older than D's, all kept by a hold on C.
    for part in 0..2 {
        written_in_a_batch(&s.app, C, 300, &format!("kept-{part}")).await;
    }
    let his = written(&s.app, D, "CHAT", ago(400)).await;
    orchestrator.answers(Some(retentions(json!({
        "holds": [{ "holdId": Uuid::now_v7(), "subject": { "customerIds": [C] }, "basis": "legal_claims" }],
        "rules": []
    }))));
    let (expiry, _registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    let round = expiry.run_once(Timestamp::now()).await.unwrap();
    assert_eq!((round.expired, round.kept), (1, 600), "{round:?}");
    assert!(!there(&s.app, &his).await);
    assert_eq!(stored_records(&s.app).await, 600);
}

/// The holds are asked for again before each batch (100 records): a hold placed while a round
/// runs keeps what it covers from the round's next batch on.
#[tokio::test]
async fn a_hold_placed_during_a_round_keeps_what_it_covers_from_the_next_batch_on() {
    let (_manager, s, orchestrator) = setup(Some(nothing_kept())).await;
    // A batch of D's records, older than C's one.
    for part in 0..2 {
        written_in_a_batch(&s.app, D, 250, &format!("older-{part}")).await;
    }
    let hers = written(&s.app, C, "CHAT", ago(700)).await;
    // Asked before the first batch: no hold; before the second: a hold on C.
    let hold_on_c = json!({
        "holds": [{ "holdId": Uuid::now_v7(), "subject": { "customerIds": [C] }, "basis": "legal_claims" }],
        "rules": []
    });
    orchestrator.answers_in_turn(vec![Some(retentions(nothing_kept())), Some(retentions(hold_on_c))]);
    let (expiry, _registry) = expiry(&s.app, &settings(&s.app, orchestrator.url.as_str()));

    let round = expiry.run_once(Timestamp::now()).await.unwrap();
    assert_eq!((round.expired, round.kept), (500, 1), "{round:?}");
    assert!(there(&s.app, &hers).await, "the hold reached the round's second batch");
}
