//! A restriction (GDPR Art. 18) here: the caller's results are held as a forget holds them (never
//! listed, never claimed, so no record is written from them) and still exported; nothing is
//! suppressed, so a result of the caller's that comes later is taken as usual, where a forget
//! drops it. Undo under the restriction's id lifts it; a forget's undo does not.

use crate::helpers::{pipeline, Pipeline};
use crate::legal_holds::{call, exported, result_of, IN_2026, PHONE};
use serde_json::{json, Value};
use uuid::Uuid;

/// The events waiting in the inbox, by id.
async fn pending(p: &Pipeline) -> Vec<Value> {
    let mut events: Vec<Value> = p.events("pending").await.iter().map(|e| e["id"].clone()).collect();
    events.sort_by_key(Value::to_string);
    events
}

/// Delivers the caller's result of `conversation`: its inbox event's id (202, not suppressed).
async fn accepted(p: &Pipeline, conversation: &str) -> Value {
    let answer = p.deliver(&result_of(conversation, IN_2026)).await;
    assert_eq!(answer.status().as_u16(), 202, "suppressed");
    answer.json::<Value>().await.unwrap()["id"].clone()
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(Value::to_string);
    values
}

#[tokio::test]
async fn a_restriction_holds_the_callers_results_suppresses_nothing_and_still_exports_them() {
    let p = pipeline().await;
    let held = Uuid::new_v4().to_string();
    let held_event = accepted(&p, &held).await;
    assert_eq!(pending(&p).await, std::slice::from_ref(&held_event));
    let subject = json!({ "phoneNumbers": [PHONE] });

    let restrict = Uuid::now_v7();
    for _ in 0..2 {
        let report = call(&p, restrict, "restrict", &subject, json!([])).await;
        assert_eq!(
            (&report["state"], &report["counts"]["webhookResults"]),
            (&json!("done"), &json!(1)),
            "{report}"
        );
        assert!(pending(&p).await.is_empty(), "a restricted result is listed");
        assert_eq!(exported(&p).await, [json!(held)], "the caller's to see");
    }
    p.drain(30).await;
    assert!(
        p.records_of_interaction(&held).await.is_empty(),
        "a restricted result was claimed"
    );

    // A result of the caller's from before the restriction, delivered late: taken as usual.
    let late = Uuid::new_v4().to_string();
    let late_event = accepted(&p, &late).await;
    assert_eq!(pending(&p).await, std::slice::from_ref(&late_event));

    // A forget of the caller, undone: the restriction stands, the late result shows again.
    let forget = Uuid::now_v7();
    call(&p, forget, "forget", &subject, json!([])).await;
    assert!(pending(&p).await.is_empty());
    let suppressed = p.deliver(&result_of(&Uuid::new_v4().to_string(), IN_2026)).await;
    assert_eq!(suppressed.status().as_u16(), 200, "a forget suppresses what comes late");
    call(&p, forget, "undo", &subject, json!([])).await;
    assert_eq!(pending(&p).await, std::slice::from_ref(&late_event));
    assert_eq!(sorted(exported(&p).await), sorted(vec![json!(held), json!(late)]));

    // Lifted: the held result is listed again, as it was, and then recorded.
    let lifted = call(&p, restrict, "undo", &subject, json!([])).await;
    assert_eq!(lifted["counts"]["webhookResults"], 1, "{lifted}");
    assert_eq!(pending(&p).await, sorted(vec![held_event, late_event]));
    p.drain(30).await;
    assert_eq!(p.records_of_interaction(&held).await.len(), 1);
}
