//! A rectification (GDPR Art. 16) here: a replaced number is written into the subject's webhook
//! results (the `ani` a record is made from, and its search key); while a worker holds one of them
//! (it read the old number), the rectify waits (`pending_external`), so that comm-history-writer's
//! step, after this one, corrects the record that worker writes.

use crate::helpers::{pipeline, ORCHESTRATOR};
use domain::Timestamp;
use serde_json::{json, Value};
use service_kit::queue::Storage as _;
use test_support::TestApp;
use uuid::Uuid;

const OLD: &str = "+420601555111";
const NEW: &str = "+420602555222";

async fn rectify(app: &TestApp, request: Uuid) -> Value {
    let body = json!({
        "subject": { "phoneNumbers": [OLD] },
        "rectification": { "phoneNumbers": [{ "from": OLD, "to": NEW }] },
    });
    let path = format!("/internal/gdpr/requests/{request}/rectify");
    let answer = app.post_signed(&path, ORCHESTRATOR, &body).await;
    assert_eq!(answer.status().as_u16(), 200);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_rectify_waits_while_a_worker_holds_a_result_it_corrected_then_the_record_is_corrected_too() {
    let p = pipeline().await;
    let interaction = Uuid::new_v4().to_string();
    let mut result = crate::helpers::example("support-result-voice-inbound.json");
    result["conversationId"] = interaction.clone().into();
    result["ani"] = format!("tel:{OLD}").into();
    assert_eq!(p.deliver(&result).await.status().as_u16(), 202);
    // A worker claims the result (it holds the old number) before the rectify.
    let lease_until =
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::seconds(60)).unwrap();
    let claimed = p
        .ingest
        .pool()
        .run(move |c| {
            result_ingest::inbox::InboxQueue::default()
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

    let request = Uuid::now_v7();
    let waiting = rectify(&p.ingest, request).await;
    assert_eq!(waiting["state"], "pending_external", "{waiting}");
    assert_eq!(waiting["counts"]["webhookResults"], 1, "{waiting}");

    // The lease ends (the worker gave up): asked again, the rectify is done; the result, processed
    // now, is written with the new number.
    let released = p
        .ingest
        .pool()
        .run(move |c| {
            use diesel::prelude::*;
            use result_ingest::schema::inbox_events::dsl;
            diesel::update(dsl::inbox_events)
                .set(dsl::lease_until.eq(None::<service_kit::database::sql_types::DbTimestamp>))
                .execute(c)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(released, 1);
    let done = rectify(&p.ingest, request).await;
    assert_eq!(done["state"], "done", "{done}");
    // Each answer counts what the request rewrote here in all: the first call did it, this one
    // says the same total (the orchestrator keeps the latest).
    assert_eq!(done["counts"]["webhookResults"], 1, "{done}");
    // The subject's result under the new number now is no conflict: nothing is left to rewrite.
    assert_eq!(done["conflicts"], json!({}), "{done}");
    p.drain(30).await;
    let records = p.records_of_interaction(&interaction).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["customerHandle"], NEW);
}

/// A correction onto a number results not the subject's already carry (of none of its
/// interactions, naming none of its customers) is a conflict of the count, under the field's
/// pointer and never its value; a result of the subject's own interaction under it, and a fresh
/// number, are none. The rectify answer counts the one result it rewrote, not the others'.
#[tokio::test]
async fn a_count_names_a_new_number_other_results_carry_and_the_rectify_counts_only_its_own() {
    let p = pipeline().await;
    let [mine, own_on_new, strangers] = [(); 3].map(|()| Uuid::new_v4().to_string());
    for (conversation, ani) in [(&mine, OLD), (&own_on_new, NEW), (&strangers, NEW)] {
        let mut result = crate::helpers::example("support-result-voice-inbound.json");
        result["conversationId"] = conversation.clone().into();
        result["ani"] = format!("tel:{ani}").into();
        assert_eq!(p.deliver(&result).await.status().as_u16(), 202);
    }
    let call = |to: &str| {
        json!({
            "subject": { "phoneNumbers": [OLD], "interactionIds": [own_on_new] },
            "rectification": { "phoneNumbers": [{ "from": OLD, "to": to }] },
        })
    };
    let count = p.ingest.participant_call(Uuid::now_v7(), "count", &call(NEW)).await;
    assert_eq!(count["conflicts"], json!({ "/phoneNumbers/0/to": 1 }), "{count}");
    assert_eq!(count["counts"]["webhookResults"], 1, "{count}");
    assert!(!count.to_string().contains("602555222"), "{count}");
    let fresh = p
        .ingest
        .participant_call(Uuid::now_v7(), "count", &call("+420603555333"))
        .await;
    // Checked, and nothing found: `{}`, never left out (absent is "never checked").
    assert_eq!(fresh["conflicts"], json!({}), "{fresh}");

    // Asked anyway (the orchestrator refuses it), the rectify checks again and merges nothing.
    let report = p.ingest.participant_call(Uuid::now_v7(), "rectify", &call(NEW)).await;
    assert_eq!(report["counts"]["webhookResults"], 0, "{report}");
    assert_eq!(report["conflicts"], json!({ "/phoneNumbers/0/to": 1 }), "{report}");
}

/// The count found no conflict, then a stranger's result arrived under the new number before the
/// confirmation: the rectify checks again in its own transaction and leaves the subject's result
/// with the old number rather than merge them, saying which replacement it did not apply
/// (pointer and count, never a value).
#[tokio::test]
async fn a_new_number_a_strangers_result_took_after_the_count_is_not_applied_and_said() {
    let p = pipeline().await;
    let [mine, strangers] = [(); 2].map(|()| Uuid::new_v4().to_string());
    let deliver = |conversation: &str, ani: &str| {
        let mut result = crate::helpers::example("support-result-voice-inbound.json");
        result["conversationId"] = conversation.into();
        result["ani"] = format!("tel:{ani}").into();
        result
    };
    assert_eq!(p.deliver(&deliver(&mine, OLD)).await.status().as_u16(), 202);
    let call = json!({
        "subject": { "phoneNumbers": [OLD] },
        "rectification": { "phoneNumbers": [{ "from": OLD, "to": NEW }] },
    });
    let request = Uuid::now_v7();
    let count = p.ingest.participant_call(request, "count", &call).await;
    assert_eq!(count["conflicts"], json!({}), "{count}");
    assert_eq!(count["counts"]["webhookResults"], 1, "{count}");

    assert_eq!(p.deliver(&deliver(&strangers, NEW)).await.status().as_u16(), 202);
    let report = rectify(&p.ingest, request).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["counts"]["webhookResults"], 0, "{report}");
    assert_eq!(report["conflicts"], json!({ "/phoneNumbers/0/to": 1 }), "{report}");
    assert!(!report.to_string().contains("602555222"), "{report}");
    // The subject's result still carries the old number: an export by it finds it.
    let subject = json!({ "subject": { "phoneNumbers": [OLD] } });
    let export = p.ingest.participant_call(Uuid::now_v7(), "export", &subject).await;
    assert_eq!(export["counts"]["webhookResults"], 1, "{export}");
}
