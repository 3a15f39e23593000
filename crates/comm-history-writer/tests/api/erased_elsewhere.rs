//! What the bank is told to erase at the communication-history-manager (`toEraseElsewhere`):
//! the copies of exactly the records a purge erased, listed by the purge. A RESTRICT erases
//! nothing and lists nothing to erase, only its copies to restrict there (`toRestrictElsewhere`); a FORGET lists nothing before its purge; a purge under a legal hold
//! lists only the copies of the records it erased (never those of the records it keeps), a repeat
//! answers the same, and the purge after the hold ended lists the rest. (A purge without a hold:
//! `forgotten_deliveries`.)

use crate::delivery::{drain, participant, record, spawn, write, C, D};
use crate::legal_holds::call;
use domain::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use test_support::HistoryManager;
use uuid::Uuid;

/// The record ids `report` lists to erase at the manager (each once, its manager id given).
fn to_erase(report: &Value) -> BTreeSet<String> {
    let Some(copies) = report.get("toEraseElsewhere") else {
        return BTreeSet::new();
    };
    copies
        .as_array()
        .unwrap()
        .iter()
        .map(|copy| {
            assert_eq!(copy["system"], "communication-history-manager", "{report}");
            assert!(copy["externalId"].is_string(), "{report}");
            copy["recordId"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_restriction_lists_no_copy_to_erase_at_the_manager_only_to_restrict_there() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let restricted = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(manager.records().len(), 1, "C's record is at the manager");
    let subject = json!({ "customerIds": [C] });

    let restrict = Uuid::now_v7();
    for _ in 0..2 {
        let report = participant(&s.app, restrict, "restrict", &subject).await;
        assert_eq!(report["counts"]["communications"], 1, "{report}");
        assert_eq!(report["counts"]["communicationHistoryManagerDeliveries"], 1, "{report}");
        assert!(to_erase(&report).is_empty(), "a restriction erases nothing: {report}");
        // The manager is told to restrict its copy (GDPR Art. 19), once.
        let to_restrict = report["toRestrictElsewhere"].as_array().unwrap();
        assert_eq!(to_restrict.len(), 1, "{report}");
        assert_eq!(to_restrict[0]["recordId"], restricted["id"]);
        assert_eq!(to_restrict[0]["externalId"], "chm-1");
    }
    let asked = s
        .app
        .get_signed(&format!("/internal/gdpr/requests/{restrict}"), "gdpr_orchestrator")
        .await;
    assert!(to_erase(&asked.json::<Value>().await.unwrap()).is_empty());
}

#[tokio::test]
async fn a_forget_under_a_hold_lists_the_erased_records_copies_at_its_purge_and_the_rest_when_the_hold_ends() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let held_interaction = Uuid::new_v4().to_string();
    let kept = id_of(&write(&s.app, &record(Some(C), &held_interaction)).await);
    let erased = id_of(&write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await);
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 3);
    let subject = json!({ "customerIds": [C] });

    let forget = Uuid::now_v7();
    let forgotten = call(&s.app, forget, "forget", &subject, json!([])).await;
    assert_eq!(
        forgotten["counts"]["communicationHistoryManagerDeliveries"], 2,
        "{forgotten}"
    );
    assert!(
        to_erase(&forgotten).is_empty(),
        "nothing is erased before the purge: {forgotten}"
    );

    // A hold names the interaction of one of C's records: that record is kept, its copy stays.
    let hold = json!([{
        "holdId": Uuid::now_v7(),
        "subject": { "interactionIds": [held_interaction] },
        "interactionIds": [held_interaction],
        "basis": "legal_claims"
    }]);
    for _ in 0..2 {
        let purged = call(&s.app, forget, "purge", &subject, hold.clone()).await;
        assert_eq!(purged["counts"]["communications"], 1, "kept: {purged}");
        assert_eq!(
            to_erase(&purged),
            BTreeSet::from([erased.clone()]),
            "the erased record's copy only, again on a repeat: {purged}"
        );
    }

    // The hold ended: the purge erases the kept record and lists its copy too.
    let purged = call(&s.app, forget, "purge", &subject, json!([])).await;
    assert_eq!(purged["counts"]["communications"], 0, "{purged}");
    let listed = to_erase(&purged);
    assert!(listed.contains(&kept), "the rest, now erased: {purged}");
    assert_eq!(
        listed,
        BTreeSet::from([kept, erased]),
        "every copy this request's purges erased"
    );
    assert_eq!(
        manager.records().len(),
        3,
        "the manager's copies are the bank's to erase"
    );
}
