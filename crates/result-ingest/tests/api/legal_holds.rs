//! Legal holds at a purge: the webhook results a FORGET holds that a retention covers (what a
//! request for the retention's subject reaches, and every result on one of its numbers or
//! addresses or of an interaction it names, whoever BOFE paired it with; with an event time in its
//! window) are kept in the inbox, never claimed,
//! reported per category and basis and still exported; a later purge without the retention erases
//! them with a purge's side effects (a result delivered again is dropped as erased).

use crate::helpers::{example, pipeline, Pipeline};
use diesel::prelude::*;
use domain::Timestamp;
use result_ingest::schema::inbox_events::dsl;
use serde_json::{json, Value};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::DatabaseError;
use uuid::Uuid;

/// The examples' caller, by the number a request names.
pub(crate) const PHONE: &str = "+420601123456";
const IN_2020: &str = "2020-03-01T10:00:00Z";
pub(crate) const IN_2026: &str = "2026-11-20T09:41:07.512Z";

/// The example's result, of `conversation` at `at`.
pub(crate) fn result_of(conversation: &str, at: &str) -> Value {
    let mut result = example("support-result-voice-inbound.json");
    result["conversationId"] = conversation.into();
    result["eventTime"] = at.into();
    result
}

pub(crate) async fn call(p: &Pipeline, request: Uuid, action: &str, subject: &Value, retain: Value) -> Value {
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": retain });
    p.ingest.participant_call(request, action, &body).await
}

fn hold_of(subject: Value, window: Value, basis: &str) -> Value {
    json!({ "holdId": Uuid::now_v7(), "subject": subject, "window": window, "basis": basis })
}

/// The conversations of the results the caller's export lists.
pub(crate) async fn exported(p: &Pipeline) -> Vec<Value> {
    let subject = json!({ "phoneNumbers": [PHONE] });
    let export = call(p, Uuid::now_v7(), "export", &subject, json!([])).await;
    let results = export["data"]["webhookResults"].as_array().unwrap();
    results.iter().map(|r| r["result"]["conversationId"].clone()).collect()
}

/// The conversations of every event in the inbox, hidden ones too.
async fn stored(p: &Pipeline) -> Vec<String> {
    let rows: Vec<DbUuid> = p
        .ingest
        .pool()
        .run(|c| {
            dsl::inbox_events
                .select(dsl::conversation_id)
                .order(dsl::conversation_id)
                .load(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    rows.into_iter().map(|id| id.0.to_string()).collect()
}

/// The result of `conversation` delivered again, with a time after the forget (only what the
/// purge erased drops it): whether it was dropped.
async fn dropped_again(p: &Pipeline, conversation: &str) -> bool {
    let later = Timestamp::now().to_rfc3339();
    let answer = p.deliver(&result_of(conversation, &later)).await;
    assert!(answer.status().is_success());
    answer.json::<Value>().await.unwrap()["suppressed"] == true
}

/// The caller's results: A (2020), B (2026), E (2026, of an interaction BOFE paired with another
/// customer); a FORGET of the three interactions holds them.
async fn three_results_forgotten(p: &Pipeline) -> (String, String, String, Uuid) {
    let [a, b, e] = [(); 3].map(|()| Uuid::new_v4().to_string());
    for (conversation, at) in [(&a, IN_2020), (&b, IN_2026), (&e, IN_2026)] {
        assert_eq!(p.deliver(&result_of(conversation, at)).await.status().as_u16(), 202);
    }
    p.pair(&json!({ "customerId": Uuid::new_v4(), "interactionId": e }))
        .await;
    let forget = Uuid::now_v7();
    call(p, forget, "forget", &json!({ "interactionIds": [a, b, e] }), json!([])).await;
    assert!(exported(p).await.is_empty(), "in grace, or another's: nothing");
    (a, b, e, forget)
}

#[tokio::test]
async fn a_purge_keeps_what_a_hold_covers_hidden_and_exported_until_a_purge_without_it() {
    let p = pipeline().await;
    let (a, b, e, forget) = three_results_forgotten(&p).await;
    let subject = json!({ "interactionIds": [a, b, e] });

    // A hold on the caller's number since 2025 keeps B and E: A is out of its window. E's
    // interaction is another customer's, which a request by the number does not reach; a hold
    // on the number keeps every result on it.
    let retain = json!([hold_of(
        json!({ "phoneNumbers": [PHONE] }),
        json!({ "from": "2025-01-01T00:00:00Z" }),
        "legal_obligation"
    )]);
    for _ in 0..2 {
        let purged = call(&p, forget, "purge", &subject, retain.clone()).await;
        assert_eq!(
            purged["retained"],
            json!([{ "category": "webhookResults", "basis": "legal_obligation", "count": 2 }]),
            "{purged}"
        );
        assert_eq!(purged["counts"]["webhookResults"], 2, "left held: {purged}");
        let mut kept = vec![b.clone(), e.clone()];
        kept.sort();
        assert_eq!(stored(&p).await, kept);
        // Restricted: not listed, never claimed; exported to the caller (E, another customer's,
        // not: an export by the number does not reach it).
        assert!(p.events("pending").await.is_empty());
        p.drain(30).await;
        assert!(p.records_of_interaction(&b).await.is_empty(), "no record written");
        assert!(p.records_of_interaction(&e).await.is_empty(), "no record written");
        assert_eq!(exported(&p).await, vec![json!(b)]);
    }
    assert!(dropped_again(&p, &a).await, "A was erased");
    assert!(!dropped_again(&p, &b).await, "B is kept, not erased");

    // The hold ended: the same request purged without it erases B.
    for _ in 0..2 {
        let purged = call(&p, forget, "purge", &subject, json!([])).await;
        assert!(purged.get("retained").is_none(), "{purged}");
        assert_eq!(purged["counts"]["webhookResults"], 0, "{purged}");
        assert!(stored(&p).await.is_empty());
        assert!(exported(&p).await.is_empty());
    }
    assert!(dropped_again(&p, &b).await, "B was erased");
}

#[tokio::test]
async fn a_hold_on_another_number_keeps_nothing_of_this_one() {
    let p = pipeline().await;
    let (a, b, e, forget) = three_results_forgotten(&p).await;
    let subject = json!({ "interactionIds": [a, b, e] });
    let retain = json!([hold_of(
        json!({ "phoneNumbers": ["+420777000111"] }),
        Value::Null,
        "legal_claims"
    )]);
    let purged = call(&p, forget, "purge", &subject, retain).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert!(stored(&p).await.is_empty());
}

/// A hold on a number keeps the results on it of a customer who is forgotten: BOFE paired the
/// interaction with the customer, so a request by the number would not reach it; the hold does.
#[tokio::test]
async fn a_hold_on_a_number_keeps_the_forgotten_customers_results_on_it() {
    let p = pipeline().await;
    let (customer, on_the_number) = (Uuid::new_v4(), Uuid::new_v4().to_string());
    assert_eq!(
        p.deliver(&result_of(&on_the_number, IN_2026)).await.status().as_u16(),
        202
    );
    p.pair(&json!({ "customerId": customer, "interactionId": on_the_number }))
        .await;
    // The customer's FORGET, its subject expanded with the interactions paired with them.
    let subject = json!({ "customerIds": [customer], "interactionIds": [on_the_number] });
    let forget = Uuid::now_v7();
    call(&p, forget, "forget", &subject, json!([])).await;
    let retain = json!([hold_of(
        json!({ "phoneNumbers": [PHONE] }),
        Value::Null,
        "authority_request"
    )]);
    for _ in 0..2 {
        let purged = call(&p, forget, "purge", &subject, retain.clone()).await;
        assert_eq!(
            purged["retained"],
            json!([{ "category": "webhookResults", "basis": "authority_request", "count": 1 }]),
            "{purged}"
        );
        assert_eq!(stored(&p).await, vec![on_the_number.clone()]);
        assert!(p.events("pending").await.is_empty(), "restricted: never claimed");
    }
    // The hold ended: erased.
    let purged = call(&p, forget, "purge", &subject, json!([])).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert!(stored(&p).await.is_empty());
}
