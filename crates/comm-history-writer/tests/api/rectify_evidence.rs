//! A RECTIFY leaves evidence as it was (review-31 M7): of the subject's records a replaced number
//! reaches, one a legal hold keeps (an interaction it names) and one a statutory rule keeps (a
//! voice call within the rule's years) keep the old number and search key; only the free one is
//! corrected and delivered again. The count before the confirmation and each rectify answer say
//! what stayed, per category and basis (`keptUnchanged`); a second rectify changes nothing more
//! and answers the same total.

use crate::delivery::{drain, record, spawn, write, C};
use crate::purged_customers::records_of;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::HistoryManager;
use uuid::Uuid;

const OLD: &str = "+420601123456";
const NEW: &str = "+420602000111";

/// C's record of `interaction` on `channel`, stored with the old number.
fn on_old_number(interaction: &str, channel: &str) -> Value {
    let mut body = record(Some(C), interaction);
    body["customerHandle"] = format!("tel:{OLD}").into();
    body["channel"] = channel.into();
    body
}

fn handle_of(records: &[Value]) -> (&str, &str) {
    assert_eq!(records.len(), 1, "{records:?}");
    (
        records[0]["customerHandle"].as_str().unwrap(),
        records[0]["customerId"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn records_kept_by_a_legal_hold_or_a_statutory_rule_keep_the_old_number() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let [held, ruled, free] = [(); 3].map(|()| Uuid::new_v4().to_string());
    write(&s.app, &on_old_number(&held, "CHAT")).await;
    write(&s.app, &on_old_number(&ruled, "VOICE")).await;
    write(&s.app, &on_old_number(&free, "CHAT")).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 3);

    let subject = json!({ "customerIds": [C], "phoneNumbers": [OLD] });
    let hold = json!({
        "holdId": Uuid::now_v7(),
        "subject": {},
        "interactionIds": [held],
        "basis": "legal_claims"
    });
    let rule = json!({ "name": "mifid2-voice", "channels": ["VOICE"], "keepDays": 2555, "basis": "legal_obligation" });
    let body = json!({
        "subject": subject,
        "rectification": { "phoneNumbers": [{ "from": OLD, "to": NEW }] },
        "retain": [hold],
        "rules": [rule]
    });
    let kept = json!([
        { "category": "communications", "basis": "legal_claims", "count": 1 },
        { "category": "communications", "basis": "legal_obligation", "count": 1 }
    ]);

    let count = s.app.participant_call(Uuid::now_v7(), "count", &body).await;
    assert_eq!(count["counts"]["communications"], 1, "{count}");
    assert_eq!(count["keptUnchanged"], kept, "{count}");

    let request = Uuid::now_v7();
    // Each answer counts the records the request rewrote here in all: the second rewrites none
    // more and answers the same total (a retry after a lost answer records what was done).
    for rewritten in [1, 1] {
        let report = s.app.participant_call(request, "rectify", &body).await;
        assert_eq!(report["state"], "done", "{report}");
        assert_eq!(report["counts"]["communications"], rewritten, "{report}");
        assert_eq!(report["keptUnchanged"], kept, "{report}");
    }
    let old = format!("tel:{OLD}");
    for interaction in [&held, &ruled] {
        let records = records_of(&s.app, &format!("interactionId={interaction}")).await;
        assert_eq!(handle_of(&records), (old.as_str(), C), "kept as it was: {interaction}");
    }
    let records = records_of(&s.app, &format!("interactionId={free}")).await;
    assert_eq!(handle_of(&records), (NEW, C));
    // Only the corrected record goes to the manager again.
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let updates: Vec<Value> = manager
        .received()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["supersedes"].is_string())
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        (
            updates[0]["interactionId"].as_str(),
            updates[0]["customerHandle"].as_str()
        ),
        (Some(free.as_str()), Some(NEW))
    );

    // The same correction under another request (the count of a second RECTIFY) finds nothing
    // more to change, and still names what stays.
    let again = s.app.participant_call(Uuid::now_v7(), "count", &body).await;
    assert_eq!(again["counts"]["communications"], 0, "{again}");
    assert_eq!(again["keptUnchanged"], kept, "{again}");

    // Without the hold and the rule (both ended) the two are the subject's to correct as any.
    let ended = json!({ "subject": subject, "rectification": body["rectification"] });
    let report = s.app.participant_call(Uuid::now_v7(), "rectify", &ended).await;
    assert_eq!(report["counts"]["communications"], 2, "{report}");
    assert!(report.get("keptUnchanged").is_none(), "{report}");
}
