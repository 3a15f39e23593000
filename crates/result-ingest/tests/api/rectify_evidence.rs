//! A RECTIFY leaves evidence as it was (review-31 M7): of the subject's webhook results on the
//! old number, the one a legal hold keeps (its interaction named by the hold) keeps its `ani`; the
//! other is corrected. The count and each rectify say what stayed (`keptUnchanged`); a repeated
//! rectify changes nothing more.

use crate::helpers::{example, pipeline, ORCHESTRATOR};
use serde_json::{json, Value};
use test_support::TestApp;
use uuid::Uuid;

const OLD: &str = "+420601555411";
const NEW: &str = "+420602555422";

async fn call(app: &TestApp, request: Uuid, action: &str, body: &Value) -> Value {
    let path = format!("/internal/gdpr/requests/{request}/{action}");
    let answer = app.post_signed(&path, ORCHESTRATOR, body).await;
    assert_eq!(answer.status().as_u16(), 200);
    answer.json().await.unwrap()
}

/// The `(conversationId, ani)` of the results an export by `number` finds, sorted.
async fn exported_by(app: &TestApp, number: &str) -> Vec<(String, String)> {
    let export = call(
        app,
        Uuid::now_v7(),
        "export",
        &json!({ "subject": { "phoneNumbers": [number] } }),
    )
    .await;
    let mut found: Vec<(String, String)> = export["data"]["webhookResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let result = &r["result"];
            (
                result["conversationId"].as_str().unwrap().to_owned(),
                result["ani"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_result_a_legal_hold_keeps_keeps_the_old_number() {
    let p = pipeline().await;
    let (held, free) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    for conversation in [&held, &free] {
        let mut result = example("support-result-voice-inbound.json");
        result["conversationId"] = conversation.as_str().into();
        result["ani"] = format!("tel:{OLD}").into();
        assert_eq!(p.deliver(&result).await.status().as_u16(), 202);
    }
    let hold = json!({ "holdId": Uuid::now_v7(), "subject": {}, "interactionIds": [held], "basis": "legal_claims" });
    let body = json!({
        "subject": { "phoneNumbers": [OLD] },
        "rectification": { "phoneNumbers": [{ "from": OLD, "to": NEW }] },
        "retain": [hold],
    });
    let kept = json!([{ "category": "webhookResults", "basis": "legal_claims", "count": 1 }]);

    let count = call(&p.ingest, Uuid::now_v7(), "count", &body).await;
    assert_eq!(count["counts"]["webhookResults"], 1, "{count}");
    assert_eq!(count["keptUnchanged"], kept, "{count}");
    let request = Uuid::now_v7();
    // Asked again, the rectify rewrites nothing more and answers the request's total: the same.
    for rewrote in [1, 1] {
        let report = call(&p.ingest, request, "rectify", &body).await;
        assert_eq!(report["state"], "done", "{report}");
        assert_eq!(report["counts"]["webhookResults"], rewrote, "{report}");
        assert_eq!(report["keptUnchanged"], kept, "{report}");
    }
    assert_eq!(exported_by(&p.ingest, OLD).await, [(held, format!("tel:{OLD}"))]);
    assert_eq!(exported_by(&p.ingest, NEW).await, [(free, NEW.to_owned())]);
}
