//! Statutory retention rules at a purge (the call's `rules`, gdpr-orchestrator's
//! `gdpr.statutory_retention`): a record of the forgotten subject that a rule covers (its channel,
//! direction and domain; an empty list covers any) is kept while its communication time plus the
//! rule's `keepDays` is after the purge's time, as a legal hold keeps one (hidden, undelivered,
//! its key not erased, exported, counted in `retained`), and the report's `retainedUntil` says
//! when a rule first lets a kept record go.
//!
//! The participant decides on its own clock (`now` at the purge), which a test cannot move: the
//! records are written that many days in the past instead, and "the purge after the rule's end"
//! is the same purge with a rule whose `keepDays` have passed for the record (the same sum,
//! `communicatedAt + keepDays <= now`, from the other side).

use crate::delivery::{drain, record, spawn, Delivering, C, D};
use crate::helpers::stored_records;
use crate::idempotency::post_with_key;
use crate::purged_customers::records_of;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{HistoryManager, TestApp};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The agent on every record written here (the example's).
const AGENT: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

fn customer() -> Value {
    json!({ "customerIds": [C] })
}

/// `days` before now.
fn ago(days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(OffsetDateTime::now_utc() - Duration::days(days)).unwrap()
}

/// `days` after `at`.
fn after(at: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(at.as_offset_date_time() + Duration::days(days)).unwrap()
}

fn rule(name: &str, channels: &[&str], keep_days: i64, basis: &str) -> Value {
    json!({ "name": name, "channels": channels, "keepDays": keep_days, "basis": basis })
}

/// A participant call for `subject` with `retain` and `rules`; answers its report.
async fn call_for(app: &TestApp, subject: Value, request: Uuid, action: &str, retain: Value, rules: Value) -> Value {
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": retain, "rules": rules });
    app.participant_call(request, action, &body).await
}

/// [`call_for`] C.
async fn call(app: &TestApp, request: Uuid, action: &str, retain: Value, rules: Value) -> Value {
    call_for(app, customer(), request, action, retain, rules).await
}

/// C's record (`key`) of `channel`, `direction` and `domain` communicated `at`; answers its id.
async fn written(s: &Delivering, key: &str, (channel, direction, domain): (&str, &str, &str), at: Timestamp) -> Value {
    let mut body = record(Some(C), &Uuid::new_v4().to_string());
    body["communicatedAt"] = json!(at);
    body["channel"] = channel.into();
    body["direction"] = direction.into();
    body["domain"] = domain.into();
    let response = post_with_key(&s.app, key, &body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json::<Value>().await.unwrap()["id"].clone()
}

/// Whether a write sent again with `key` (without a customer: only the key can tell) is
/// answered as erased.
async fn key_erased(app: &TestApp, key: &str) -> bool {
    let body = record(None, &Uuid::new_v4().to_string());
    post_with_key(app, key, &body).await.status().as_u16() == 410
}

/// The ids of C's records an export lists.
async fn exported(app: &TestApp) -> Vec<Value> {
    let export = call(app, Uuid::now_v7(), "export", json!([]), json!([])).await;
    let records = export["data"]["communications"].as_array().unwrap();
    records.iter().map(|r| r["id"].clone()).collect()
}

/// A purge's `retained`: `count` of C's records kept on `basis`.
fn kept(basis: &str, count: u64) -> Value {
    json!([{ "category": "communications", "basis": basis, "count": count }])
}

fn retained_until(report: &Value) -> Option<Timestamp> {
    report
        .get("retainedUntil")
        .map(|at| Timestamp::parse(at.as_str().unwrap()).unwrap())
}

const VOICE: (&str, &str, &str) = ("VOICE", "INBOUND", "OTHER");
const CHAT: (&str, &str, &str) = ("CHAT", "INBOUND", "OTHER");

#[tokio::test]
async fn a_rule_keeps_the_records_of_its_channels_until_keep_days_after_their_communication() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let at = ago(100);
    let voice = written(&s, "voice", VOICE, at).await;
    written(&s, "chat", CHAT, at).await;
    written(&s, "old-voice", VOICE, ago(400)).await;
    crate::delivery::write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", json!([]), json!([])).await;

    // VOICE kept a year: the record of 100 days ago stays; the CHAT one and the VOICE one of
    // 400 days ago go.
    let rules = json!([rule("voice-1y", &["VOICE"], 365, "legal_obligation")]);
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", json!([]), rules.clone()).await;
        assert_eq!(purged["retained"], kept("legal_obligation", 1), "{purged}");
        assert_eq!(retained_until(&purged), Some(after(at, 365)), "{purged}");
        assert_eq!(purged["counts"]["communications"], 1, "left held: {purged}");
        assert_eq!(stored_records(&s.app).await, 2, "D's and the kept one");
        assert!(records_of(&s.app, &format!("customerId={C}")).await.is_empty());
        drain(&s.worker, Timestamp::now()).await;
        assert!(manager.received().iter().all(|r| r.body["customerId"] != C));
        assert_eq!(exported(&s.app).await, vec![voice.clone()]);
    }
    assert!(key_erased(&s.app, "chat").await);
    assert!(key_erased(&s.app, "old-voice").await);
    assert!(
        !key_erased(&s.app, "voice").await,
        "the kept record's key is not erased"
    );

    // After the rule's end (its 99 days passed for the record) the same purge erases it.
    let ended = json!([rule("voice-1y", &["VOICE"], 99, "legal_obligation")]);
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", json!([]), ended.clone()).await;
        assert!(purged.get("retained").is_none(), "{purged}");
        assert_eq!(retained_until(&purged), None, "{purged}");
        assert_eq!(purged["counts"]["communications"], 0, "{purged}");
        assert_eq!(stored_records(&s.app).await, 1, "D's alone");
        assert!(exported(&s.app).await.is_empty());
    }
    assert!(key_erased(&s.app, "voice").await);
}

/// A record a hold and rules all keep is counted once, on the first basis; it is kept until the
/// latest end of the rules over it, and `retainedUntil` is the earliest such end of the kept
/// records.
#[tokio::test]
async fn a_record_kept_by_a_hold_and_rules_is_counted_once_and_kept_until_its_latest_rule_ends() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let at = ago(10);
    written(&s, "voice", VOICE, at).await;
    written(&s, "chat", CHAT, at).await;
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", json!([]), json!([])).await;
    let hold = json!([{ "holdId": Uuid::now_v7(), "subject": customer(), "basis": "legal_claims" }]);
    let rules = json!([
        rule("all-30d", &[], 30, "authority_request"),
        rule("voice-60d", &["VOICE"], 60, "legal_obligation"),
    ]);

    let purged = call(&s.app, forget, "purge", hold.clone(), rules.clone()).await;
    assert_eq!(purged["retained"], kept("legal_claims", 2), "{purged}");
    assert_eq!(
        retained_until(&purged),
        Some(after(at, 30)),
        "the CHAT record's end: {purged}"
    );

    let purged = call(&s.app, forget, "purge", json!([]), rules).await;
    assert_eq!(
        purged["retained"],
        json!([
            { "category": "communications", "basis": "legal_obligation", "count": 1 },
            { "category": "communications", "basis": "authority_request", "count": 1 }
        ]),
        "{purged}"
    );
    assert_eq!(retained_until(&purged), Some(after(at, 30)), "{purged}");

    // The 30 days passed: the VOICE record stays for its 60 days, the CHAT one goes.
    let later = json!([
        rule("all-30d", &[], 9, "authority_request"),
        rule("voice-60d", &["VOICE"], 39, "legal_obligation"),
    ]);
    let purged = call(&s.app, forget, "purge", json!([]), later).await;
    assert_eq!(purged["retained"], kept("legal_obligation", 1), "{purged}");
    assert_eq!(retained_until(&purged), Some(after(at, 39)), "{purged}");
    assert_eq!(stored_records(&s.app).await, 1);

    // The hold alone keeps it, with no end a rule sets.
    let purged = call(&s.app, forget, "purge", hold, json!([])).await;
    assert_eq!(purged["retained"], kept("legal_claims", 1), "{purged}");
    assert_eq!(retained_until(&purged), None, "{purged}");
    let purged = call(&s.app, forget, "purge", json!([]), json!([])).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert_eq!(stored_records(&s.app).await, 0);
}

/// A rule's directions and domains narrow it (channels left out: any); on an agent's purge it
/// keeps the agent on the records it covers (the record kept whole), and blanks the others.
#[tokio::test]
async fn a_rule_covers_only_its_directions_and_domains_and_keeps_the_agent_on_its_records() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let at = ago(5);
    let order = written(&s, "order", ("EMAIL", "INBOUND", "ORDERS"), at).await;
    written(&s, "sent", ("EMAIL", "OUTBOUND", "ORDERS"), at).await;
    written(&s, "other", ("EMAIL", "INBOUND", "OTHER"), at).await;
    let rules = json!([{ "name": "orders-in", "directions": ["INBOUND"], "domains": ["ORDERS"],
                         "keepDays": 2557, "basis": "legal_obligation" }]);

    // The agent on them is forgotten: the agent stays (hidden) on the order only.
    let agent = json!({ "genesysUserIds": [AGENT] });
    let forget_agent = Uuid::now_v7();
    call_for(&s.app, agent.clone(), forget_agent, "forget", json!([]), json!([])).await;
    let purged = call_for(&s.app, agent, forget_agent, "purge", json!([]), rules.clone()).await;
    assert_eq!(
        purged["retained"],
        json!([{ "category": "agentCommunications", "basis": "legal_obligation", "count": 1 }]),
        "{purged}"
    );
    assert_eq!(retained_until(&purged), Some(after(at, 2557)));
    let served = records_of(&s.app, &format!("customerId={C}")).await;
    assert_eq!(served.len(), 3, "the customer's records stay: {served:?}");
    assert!(served.iter().all(|r| r["genesysUserId"].is_null()), "{served:?}");

    // The customer is forgotten: the inbound order stays, the others go.
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", json!([]), json!([])).await;
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", json!([]), rules.clone()).await;
        assert_eq!(purged["retained"], kept("legal_obligation", 1), "{purged}");
        assert_eq!(stored_records(&s.app).await, 1);
        assert_eq!(exported(&s.app).await, vec![order.clone()]);
    }
    assert!(key_erased(&s.app, "sent").await);
    assert!(key_erased(&s.app, "other").await);
    assert!(!key_erased(&s.app, "order").await);
}

/// A rule whose end after a record's communication is past what a timestamp holds (year 9999)
/// fails the purge: never a record kept with no end (kept for ever), never one erased that a rule
/// keeps. Nothing changed; the same purge with a rule that ends goes through.
#[tokio::test]
async fn a_rule_ending_past_year_9999_fails_the_purge_and_changes_nothing() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    written(&s, "c-voice", ("VOICE", "INBOUND", "OTHER"), ago(1)).await;
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", json!([]), json!([])).await;
    let endless = json!([rule("endless", &[], i64::from(u32::MAX), "legal_obligation")]);
    let body = json!({ "subject": customer(), "forgottenAt": Timestamp::now(), "rules": endless });
    let path = format!("/internal/gdpr/requests/{forget}/purge");
    let failed = s.app.post_signed(&path, "gdpr_orchestrator", &body).await;
    assert_eq!(failed.status().as_u16(), 500);
    assert_eq!(stored_records(&s.app).await, 1, "nothing erased");
    assert!(!key_erased(&s.app, "c-voice").await);

    let five_years = json!([rule("five-years", &[], 1826, "legal_obligation")]);
    let purged = call(&s.app, forget, "purge", json!([]), five_years).await;
    assert_eq!(
        purged["retained"],
        json!([{ "category": "communications", "basis": "legal_obligation", "count": 1 }]),
        "{purged}"
    );
}
