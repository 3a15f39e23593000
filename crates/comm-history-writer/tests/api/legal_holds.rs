//! Legal holds at a purge: the records of a forgotten subject that a retention covers (what a
//! request for the retention's subject reaches, communicated within its window) are kept, hidden
//! and undelivered as in the grace period, reported per category and basis, and still exported
//! to their subject; a later purge of the same request without the retention erases them, with
//! the side effects a purge has (a replayed write is answered as erased).

use crate::delivery::{drain, record, spawn, write, Delivering, C, D};
use crate::idempotency::post_with_key;
use crate::purged_customers::records_of;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{HistoryManager, TestApp};
use uuid::Uuid;

/// The agent on every record written here (the example's).
pub(crate) const AGENT: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

/// A participant call for `subject` with `retain`; answers its report.
pub(crate) async fn call(app: &TestApp, request: Uuid, action: &str, subject: &Value, retain: Value) -> Value {
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": retain });
    app.participant_call(request, action, &body).await
}

fn hold_of(subject: Value, window: Value, basis: &str) -> Value {
    json!({ "holdId": Uuid::now_v7(), "subject": subject, "window": window, "basis": basis })
}

/// The ids of what `subject`'s export lists in `category`.
pub(crate) async fn exported(app: &TestApp, subject: &Value, category: &str) -> Vec<Value> {
    let export = call(app, Uuid::now_v7(), "export", subject, json!([])).await;
    let rows = export["data"][category].as_array().unwrap();
    rows.iter()
        .map(|row| row.get("id").unwrap_or(&row["recordId"]).clone())
        .collect()
}

/// C's record `key` communicated `at`, on an interaction of its own; answers its id.
async fn written(s: &Delivering, key: &str, at: &str) -> Value {
    let mut body = record(Some(C), &Uuid::new_v4().to_string());
    body["communicatedAt"] = at.into();
    let response = post_with_key(&s.app, key, &body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json::<Value>().await.unwrap()["id"].clone()
}

/// The same write as `key`'s first, without its customer: only the key can tell it erased.
async fn replayed_without_customer(app: &TestApp, key: &str, at: &str) -> u16 {
    let mut body = record(None, &Uuid::new_v4().to_string());
    body["communicatedAt"] = at.into();
    post_with_key(app, key, &body).await.status().as_u16()
}

const IN_2020: &str = "2020-03-01T10:00:00Z";
const IN_2026: &str = "2026-11-20T09:41:07.512Z";

#[tokio::test]
async fn a_purge_keeps_what_a_hold_covers_hidden_and_exported_until_a_purge_without_it() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    written(&s, "c-2020", IN_2020).await;
    let kept = written(&s, "c-2026", IN_2026).await;
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([])).await;
    assert!(
        exported(&s.app, &subject, "communications").await.is_empty(),
        "in grace: nothing"
    );

    // A hold on C's communications since 2025 keeps the 2026 record; the 2020 one is erased.
    let retain = json!([hold_of(
        subject.clone(),
        json!({ "from": "2025-01-01T00:00:00Z" }),
        "legal_claims"
    )]);
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", &subject, retain.clone()).await;
        assert_eq!(
            purged["retained"],
            json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }]),
            "{purged}"
        );
        assert_eq!(purged["counts"]["communications"], 1, "left held: {purged}");
        assert_eq!(crate::helpers::stored_records(&s.app).await, 2, "D's and the kept one");
        // Restricted: no read, no delivery; exported to C.
        assert_eq!(records_of(&s.app, &format!("customerId={C}")).await.len(), 0);
        drain(&s.worker, Timestamp::now()).await;
        assert_eq!(manager.received().len(), 1, "D's record alone is delivered");
        assert!(manager.received().iter().all(|r| r.body["customerId"] != C));
        assert_eq!(exported(&s.app, &subject, "communications").await, vec![kept.clone()]);
    }
    assert_eq!(
        replayed_without_customer(&s.app, "c-2020", IN_2020).await,
        410,
        "erased"
    );
    let kept_key = replayed_without_customer(&s.app, "c-2026", IN_2026).await;
    assert_ne!(kept_key, 410, "the kept record's key is not erased");

    // The hold ended: the same request purged without it erases the kept record, as a purge
    // does (its key answered as erased from then on).
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", &subject, json!([])).await;
        assert!(purged.get("retained").is_none(), "{purged}");
        assert_eq!(purged["counts"]["communications"], 0, "{purged}");
        assert_eq!(crate::helpers::stored_records(&s.app).await, 1, "D's alone");
        assert!(exported(&s.app, &subject, "communications").await.is_empty());
    }
    assert_eq!(replayed_without_customer(&s.app, "c-2026", IN_2026).await, 410);
    assert_eq!(crate::helpers::stored_records(&s.app).await, 1);
}

#[tokio::test]
async fn a_hold_on_another_customer_keeps_nothing_of_this_one() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    written(&s, "c-2026", IN_2026).await;
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([])).await;
    let retain = json!([hold_of(json!({ "customerIds": [D] }), Value::Null, "legal_obligation")]);
    let purged = call(&s.app, forget, "purge", &subject, retain).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert_eq!(crate::helpers::stored_records(&s.app).await, 1, "D's alone");
    assert_eq!(records_of(&s.app, &format!("customerId={D}")).await.len(), 1);
}

/// A hold reaches a subject as a customer or as an agent: one on the agent keeps the records they
/// handled whole from a customer's purge; one on the customer keeps the agent on them from the
/// agent's purge (and the agent's export still shows their kept part).
#[tokio::test]
async fn a_hold_on_the_agent_keeps_their_records_and_one_on_the_customer_keeps_the_agent() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let record_id = written(&s, "c-2026", IN_2026).await;
    let customer = json!({ "customerIds": [C] });
    let agent = json!({ "genesysUserIds": [AGENT] });

    let purged = forgotten_and_purged(
        &s.app,
        &agent,
        hold_of(customer.clone(), Value::Null, "authority_request"),
    )
    .await;
    assert_eq!(
        purged,
        json!([{ "category": "agentCommunications", "basis": "authority_request", "count": 1 }])
    );
    let served = records_of(&s.app, &format!("customerId={C}")).await;
    assert_eq!(served.len(), 1, "the customer's record is there");
    assert!(served[0]["genesysUserId"].is_null(), "the agent hidden: {served:?}");
    assert_eq!(
        exported(&s.app, &agent, "agentCommunications").await,
        vec![record_id.clone()]
    );

    let purged = forgotten_and_purged(&s.app, &customer, hold_of(agent.clone(), Value::Null, "legal_claims")).await;
    assert_eq!(
        purged,
        json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }])
    );
    assert_eq!(crate::helpers::stored_records(&s.app).await, 1);
    assert_eq!(exported(&s.app, &customer, "communications").await, vec![record_id]);
}

/// `subject` forgotten, then purged while `hold` is in force; answers what the purge kept.
async fn forgotten_and_purged(app: &TestApp, subject: &Value, hold: Value) -> Value {
    let forget = Uuid::now_v7();
    call(app, forget, "forget", subject, json!([])).await;
    call(app, forget, "purge", subject, json!([hold])).await["retained"].clone()
}

/// C's record on `handle`, of an interaction of its own (or `customer`'s, when given).
async fn on_handle(app: &TestApp, customer: &str, handle: &str) -> Value {
    let mut body = record(Some(customer), &Uuid::new_v4().to_string());
    body["customerHandle"] = handle.into();
    write(app, &body).await["id"].clone()
}

/// A hold on a phone number or an e-mail address keeps every record on it, whoever the bank
/// attributed it to: a request by the number reaches only records attributed to nobody (a shared
/// line must not reach someone else's), a hold must keep every communication on the number. An
/// authority holds a number; its customer is forgotten; the customer's records on it stay.
#[tokio::test]
async fn a_hold_on_a_phone_number_or_an_address_keeps_the_forgotten_customers_records_on_it() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let on_the_number = on_handle(&s.app, C, "tel:+420601123456").await;
    let at_the_address = on_handle(&s.app, C, "Client@Example.COM").await;
    on_handle(&s.app, C, "tel:+420777000111").await;
    let ds_on_the_number = on_handle(&s.app, D, "tel:+420601123456").await;
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([])).await;
    let retain = json!([
        hold_of(
            json!({ "phoneNumbers": ["+420601123456"] }),
            Value::Null,
            "authority_request"
        ),
        hold_of(
            json!({ "emailAddresses": ["client@example.com"] }),
            Value::Null,
            "legal_claims"
        ),
    ]);
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", &subject, retain.clone()).await;
        assert_eq!(
            purged["retained"],
            json!([
                { "category": "communications", "basis": "legal_claims", "count": 1 },
                { "category": "communications", "basis": "authority_request", "count": 1 }
            ]),
            "{purged}"
        );
        assert_eq!(crate::helpers::stored_records(&s.app).await, 3, "C's two kept, D's");
        let mut kept = exported(&s.app, &subject, "communications").await;
        kept.sort_by_key(Value::to_string);
        let mut expected = vec![on_the_number.clone(), at_the_address.clone()];
        expected.sort_by_key(Value::to_string);
        assert_eq!(kept, expected, "C's record on another number is erased");
        assert_eq!(
            records_of(&s.app, &format!("customerId={C}")).await.len(),
            0,
            "restricted"
        );
    }
    let ds = records_of(&s.app, &format!("customerId={D}")).await;
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["id"], ds_on_the_number, "D's, on the same line, untouched");
}

/// A hold may name thousands of interactions: they are compared with the rows a chunk at a
/// time, never bound as one list (SQLite's and PostgreSQL's limits on bound parameters).
#[tokio::test]
async fn a_hold_naming_thousands_of_interactions_keeps_the_subjects_record_of_one_of_them() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let interaction = Uuid::new_v4().to_string();
    let named = write(&s.app, &record(Some(C), &interaction)).await["id"].clone();
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([])).await;
    let mut interactions: Vec<String> = (1..3000).map(|_| Uuid::new_v4().to_string()).collect();
    interactions.push(interaction);
    let hold = json!({
        "holdId": Uuid::now_v7(),
        "subject": {},
        "interactionIds": interactions,
        "basis": "legal_claims"
    });
    let purged = call(&s.app, forget, "purge", &subject, json!([hold])).await;
    assert_eq!(
        purged["retained"],
        json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }]),
        "{purged}"
    );
    assert_eq!(crate::helpers::stored_records(&s.app).await, 1);
    assert_eq!(exported(&s.app, &subject, "communications").await, vec![named]);
}
