//! A rectification (GDPR Art. 16) here: a replaced number is written into each of the subject's
//! records (never into another customer's that shares it), named interactions move to the right
//! customer, and every corrected record that reached the communication-history-manager goes there
//! again, corrected. Repeating the call changes nothing more, and answers the same: each answer
//! counts what the request rewrote here in all (its answer lost, the call is asked again). A RECTIFY's count names, by field pointer, a `to` that records not
//! the subject's already carry.

use crate::delivery::{drain, record, spawn, write, C, D};
use crate::purged_customers::records_of;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations, HistoryManager};
use uuid::Uuid;

const OLD: &str = "+420601123456";
const NEW: &str = "+420602000111";

async fn rectify(app: &test_support::TestApp, request: Uuid, subject: &Value, rectification: Value) -> Value {
    let body = json!({ "subject": subject, "rectification": rectification });
    app.participant_call(request, "rectify", &body).await
}

fn handles(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| r["customerHandle"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_replaced_number_and_a_moved_interaction_are_corrected_here_and_at_the_manager() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let [mine, unattributed, theirs] = [(); 3].map(|()| Uuid::new_v4().to_string());
    for (customer, interaction) in [(Some(C), &mine), (None, &unattributed), (Some(D), &theirs)] {
        let mut body = record(customer, interaction);
        body["customerHandle"] = format!("tel:{OLD}").into();
        write(&s.app, &body).await;
    }
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 3);

    let subject = json!({ "customerIds": [C], "phoneNumbers": [OLD] });
    let request = Uuid::now_v7();
    let number = json!({ "phoneNumbers": [{ "from": OLD, "to": NEW }] });
    // Asked again (its answer lost), the call answers the request's total: the same 2, not 0.
    for rewritten in [2, 2] {
        let report = rectify(&s.app, request, &subject, number.clone()).await;
        assert_eq!(report["state"], "done", "{report}");
        assert_eq!(report["counts"]["communications"], rewritten, "{report}");
        // Asked again, the subject's unattributed record now under the new number is no
        // conflict: nothing is left to rewrite.
        assert_eq!(report["conflicts"], json!({}), "{report}");
    }
    for interaction in [&mine, &unattributed] {
        let records = records_of(&s.app, &format!("interactionId={interaction}")).await;
        assert_eq!(handles(&records), [NEW], "{interaction}");
    }
    let records = records_of(&s.app, &format!("interactionId={theirs}")).await;
    assert_eq!(
        handles(&records),
        [format!("tel:{OLD}")],
        "another customer's record is left alone"
    );

    // Each corrected record that reached the manager goes again, corrected (the default
    // update_mode: a new record superseding the first).
    assert_eq!(
        drain(&s.worker, Timestamp::now()).await,
        2,
        "one update a corrected record"
    );
    let updates: Vec<Value> = manager
        .received()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["supersedes"].is_string())
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().all(|b| b["customerHandle"] == NEW), "{updates:?}");

    // The interaction was C's by mistake: it moves to D, and the manager hears of it.
    let moved = json!({ "customer": { "interactionIds": [mine], "to": D } });
    let request = Uuid::now_v7();
    for moved_now in [1, 1] {
        let report = rectify(&s.app, request, &subject, moved.clone()).await;
        assert_eq!(report["counts"]["communications"], moved_now, "{report}");
    }
    let records = records_of(&s.app, &format!("interactionId={mine}")).await;
    assert_eq!(records[0]["customerId"], D);
    assert!(records_of(&s.app, &format!("customerId={C}")).await.is_empty());
    drain(&s.worker, Timestamp::now()).await;
    let last = manager.received().last().unwrap().body.clone();
    assert_eq!(
        (last["interactionId"].as_str(), last["customerId"].as_str()),
        (Some(mine.as_str()), Some(D))
    );
}

#[tokio::test]
async fn a_rectify_without_its_rectification_or_with_a_raw_value_is_refused_naming_the_field() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let subject = json!({ "phoneNumbers": [OLD] });
    for (body, pointer) in [
        (json!({ "subject": subject }), "/rectification"),
        (
            json!({ "subject": subject, "rectification": { "phoneNumbers": [{ "from": OLD, "to": "602000111" }] } }),
            "/rectification/phoneNumbers/0/to",
        ),
        (
            json!({ "subject": subject, "rectification": { "customer": { "interactionIds": [], "to": D } } }),
            "/rectification/customer/interactionIds",
        ),
    ] {
        let path = format!("/internal/gdpr/requests/{}/rectify", Uuid::now_v7());
        let response = s.app.post_signed(&path, "gdpr_orchestrator", &body).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem_locations(&problem), [pointer], "{body}");
    }
}

/// A correction onto a number records not the subject's already carry (another customer's, or
/// nobody's that none of the subject's interactions explains) is a conflict of the count, under
/// the field's pointer and never its value; the subject's own records under it, and a fresh
/// number, are none. The count changes nothing; the rectify answer counts only what it rewrote,
/// never the other person's records under the new number.
#[tokio::test]
async fn a_count_names_a_new_number_others_already_carry_and_the_rectify_counts_only_its_own() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let [mine, theirs, nobodys, also_mine] = [(); 4].map(|()| Uuid::new_v4().to_string());
    for (customer, interaction, handle) in [
        (Some(C), &mine, OLD),
        (Some(D), &theirs, NEW),
        (None, &nobodys, NEW),
        (Some(C), &also_mine, NEW),
    ] {
        let mut body = record(customer, interaction);
        body["customerHandle"] = format!("tel:{handle}").into();
        write(&s.app, &body).await;
    }
    let subject = json!({ "customerIds": [C], "phoneNumbers": [OLD] });
    let onto =
        |to: &str| json!({ "subject": subject, "rectification": { "phoneNumbers": [{ "from": OLD, "to": to }] } });

    let count = s.app.participant_call(Uuid::now_v7(), "count", &onto(NEW)).await;
    assert_eq!(count["conflicts"], json!({ "/phoneNumbers/0/to": 2 }), "{count}");
    assert_eq!(count["counts"]["communications"], 1, "{count}");
    assert!(!count.to_string().contains("602000111"), "{count}");
    let fresh = s
        .app
        .participant_call(Uuid::now_v7(), "count", &onto("+420603000222"))
        .await;
    // Checked, and nothing found: `{}`, never left out (absent is "never checked").
    assert_eq!(fresh["conflicts"], json!({}), "{fresh}");
    assert_eq!(
        handles(&records_of(&s.app, &format!("interactionId={mine}")).await),
        [format!("tel:{OLD}")]
    );

    // Asked anyway (the orchestrator refuses it), the rectify checks again and merges nothing;
    // onto the fresh number it rewrites the subject's one record, never the others'.
    let report = rectify(
        &s.app,
        Uuid::now_v7(),
        &subject,
        json!({ "phoneNumbers": [{ "from": OLD, "to": NEW }] }),
    )
    .await;
    assert_eq!(report["counts"]["communications"], 0, "{report}");
    assert_eq!(report["conflicts"], json!({ "/phoneNumbers/0/to": 2 }), "{report}");
    let report = rectify(
        &s.app,
        Uuid::now_v7(),
        &subject,
        json!({ "phoneNumbers": [{ "from": OLD, "to": "+420603000222" }] }),
    )
    .await;
    assert_eq!(report["counts"]["communications"], 1, "{report}");
    assert_eq!(report["conflicts"], json!({}), "{report}");
}

/// The count found no conflict, then a neighbour's record arrived under the new number before the
/// confirmation (numbers get recycled): the rectify checks again in its own transaction, leaves
/// the subject's record with the old value rather than merge it with the neighbour's, and says
/// which replacement it did not apply (pointer and count, never a value). The customer
/// correction sent with it is applied.
#[tokio::test]
async fn a_new_number_someone_else_took_after_the_count_is_not_applied_and_said() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let [mine, moved, neighbours] = [(); 3].map(|()| Uuid::new_v4().to_string());
    for interaction in [&mine, &moved] {
        let mut body = record(Some(C), interaction);
        body["customerHandle"] = format!("tel:{OLD}").into();
        write(&s.app, &body).await;
    }
    let subject = json!({ "customerIds": [C], "phoneNumbers": [OLD] });
    let rectification = json!({
        "phoneNumbers": [{ "from": OLD, "to": NEW }],
        "customer": { "interactionIds": [moved], "to": D },
    });
    let call = json!({ "subject": subject, "rectification": rectification });
    let request = Uuid::now_v7();
    let count = s.app.participant_call(request, "count", &call).await;
    assert_eq!(count["conflicts"], json!({}), "{count}");

    let mut body = record(Some(D), &neighbours);
    body["customerHandle"] = format!("tel:{NEW}").into();
    write(&s.app, &body).await;

    let report = rectify(&s.app, request, &subject, rectification).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["conflicts"], json!({ "/phoneNumbers/0/to": 1 }), "{report}");
    assert!(!report.to_string().contains("602000111"), "{report}");
    assert_eq!(report["counts"]["communications"], 1, "only the moved record: {report}");
    assert_eq!(
        handles(&records_of(&s.app, &format!("interactionId={mine}")).await),
        [format!("tel:{OLD}")],
        "the subject's record keeps the old number"
    );
    let moved_records = records_of(&s.app, &format!("interactionId={moved}")).await;
    assert_eq!(moved_records[0]["customerId"], D, "the customer correction is applied");
    assert_eq!(handles(&moved_records), [format!("tel:{OLD}")]);
}
