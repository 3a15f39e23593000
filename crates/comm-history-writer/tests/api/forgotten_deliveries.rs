//! Nothing leaves for the communication-history-manager after its FORGET: the holds are checked
//! as each attempt goes out, a delivery out when the forget comes is waited for, and what reached
//! the manager before stays known to the request: its purge names each copy of what it erased. The stand-in manager holds its
//! requests at a gate the test opens, so "in flight" lasts exactly as long as the test needs.

use crate::delivery::{deliveries, participant, record, spawn, write, C, D};
use comm_history_writer::delivery::DeliveryRunner;
use domain::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use test_support::HistoryManager;
use tokio::task::JoinHandle;
use uuid::Uuid;

const ORCHESTRATOR: &str = "gdpr_orchestrator";

/// A delivery pass at now whose first request is out, held at the manager's gate; answers the
/// worker (for later passes) and the pass, which ends once the gate opens.
async fn a_pass_held_at_the_gate(
    manager: &HistoryManager,
    worker: DeliveryRunner,
) -> (Arc<DeliveryRunner>, JoinHandle<usize>) {
    manager.close_gate();
    let worker = Arc::new(worker);
    let pass = tokio::spawn({
        let worker = worker.clone();
        async move { worker.pass(Timestamp::now()).await.unwrap().claimed }
    });
    manager.wait_for_requests(1).await;
    (worker, pass)
}

#[tokio::test]
async fn a_record_a_forget_holds_after_its_batch_was_claimed_is_not_sent() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;

    // Both entries are claimed in one batch; the first is out, waiting at the gate.
    let (worker, pass) = a_pass_held_at_the_gate(&manager, s.worker).await;
    let first = manager.received()[0].body["customerId"].as_str().unwrap().to_owned();
    let other = if first == C { D } else { C };
    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &json!({ "customerIds": [other] })).await;
    manager.open_gate();
    assert_eq!(pass.await.unwrap(), 2, "both were claimed before the forget");

    let received = manager.received();
    assert_eq!(received.len(), 1, "the held record was not sent: {received:?}");
    assert_eq!(received[0].body["customerId"], first.as_str());
    let pending = deliveries(&s.app, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["attempts"], 0, "its attempt given back");
    assert_eq!(worker.metrics().settled.with_label_values(&["postponed"]).get(), 1);

    participant(&s.app, forget, "undo", &json!({ "customerIds": [other] })).await;
    assert_eq!(
        crate::delivery::drain(&worker, crate::delivery::later(120)).await,
        1,
        "an undo lets it go"
    );
    assert_eq!(manager.received().len(), 2);
}

#[tokio::test]
async fn a_delivery_in_flight_at_the_forget_is_waited_for_and_named_with_the_managers_id() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let stored = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;

    let (_, pass) = a_pass_held_at_the_gate(&manager, s.worker).await;
    let forget = Uuid::now_v7();
    let report = participant(&s.app, forget, "forget", &json!({ "customerIds": [D] })).await;
    assert_eq!(report["state"], "pending_external", "{report}");
    assert_eq!(report["externalRef"], "in-flight");
    assert!(report.get("toEraseElsewhere").is_none(), "no answer yet: {report}");
    let asked = s
        .app
        .get_signed(&format!("/internal/gdpr/requests/{forget}"), ORCHESTRATOR)
        .await;
    assert_eq!(asked.json::<Value>().await.unwrap()["state"], "pending_external");

    manager.open_gate();
    assert_eq!(pass.await.unwrap(), 1);
    let asked = s
        .app
        .get_signed(&format!("/internal/gdpr/requests/{forget}"), ORCHESTRATOR)
        .await;
    assert_eq!(asked.status().as_u16(), 200);
    let report: Value = asked.json().await.unwrap();
    assert_eq!(report["state"], "done", "{report}");
    assert!(report.get("toEraseElsewhere").is_none(), "nothing erased yet: {report}");
    assert_eq!(report["counts"]["communicationHistoryManagerDeliveries"], 1);
    // The purge that erases the record names its copy.
    let report = participant(&s.app, forget, "purge", &json!({ "customerIds": [D] })).await;
    let to_erase = report["toEraseElsewhere"].as_array().unwrap();
    assert_eq!(to_erase.len(), 1, "{report}");
    assert_eq!(to_erase[0]["system"], "communication-history-manager");
    assert_eq!(to_erase[0]["recordId"], stored["id"]);
    assert_eq!(to_erase[0]["externalId"], "chm-1");
}

#[tokio::test]
async fn a_copy_delivered_while_a_restriction_is_in_flight_is_named_to_restrict_in_its_status() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let stored = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;

    let (_, pass) = a_pass_held_at_the_gate(&manager, s.worker).await;
    let restrict = Uuid::now_v7();
    let report = participant(&s.app, restrict, "restrict", &json!({ "customerIds": [D] })).await;
    assert_eq!(report["state"], "pending_external", "{report}");
    assert!(report.get("toRestrictElsewhere").is_none(), "no copy yet: {report}");

    manager.open_gate();
    assert_eq!(pass.await.unwrap(), 1);
    let asked = s
        .app
        .get_signed(&format!("/internal/gdpr/requests/{restrict}"), ORCHESTRATOR)
        .await;
    assert_eq!(asked.status().as_u16(), 200);
    let report: Value = asked.json().await.unwrap();
    assert_eq!(report["state"], "done", "{report}");
    let to_restrict = report["toRestrictElsewhere"].as_array().unwrap();
    assert_eq!(
        to_restrict.len(),
        1,
        "the copy delivered in flight (GDPR Art. 19): {report}"
    );
    assert_eq!(to_restrict[0]["system"], "communication-history-manager");
    assert_eq!(to_restrict[0]["recordId"], stored["id"]);
    assert_eq!(to_restrict[0]["externalId"], "chm-1");
    assert!(
        report.get("toEraseElsewhere").is_none(),
        "a restriction erases nothing: {report}"
    );
}

#[tokio::test]
async fn what_reached_the_manager_before_the_forget_is_counted_and_named_in_its_report() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let mut stored = BTreeSet::new();
    for _ in 0..2 {
        let record = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
        stored.insert(record["id"].as_str().unwrap().to_owned());
    }
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(crate::delivery::drain(&s.worker, Timestamp::now()).await, 3);

    let subject = json!({ "customerIds": [D] });
    let forget = Uuid::now_v7();
    let report = participant(&s.app, forget, "forget", &subject).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["counts"]["communications"], 2);
    assert_eq!(report["counts"]["communicationHistoryManagerDeliveries"], 2, "{report}");
    assert!(
        report.get("toEraseElsewhere").is_none(),
        "a forget erases nothing: {report}"
    );
    let report = participant(&s.app, forget, "purge", &subject).await;
    let to_erase = report["toEraseElsewhere"].as_array().unwrap();
    let named: BTreeSet<_> = to_erase
        .iter()
        .map(|c| c["recordId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, stored, "C's record is not D's to erase");
    let ids: BTreeSet<_> = to_erase.iter().map(|c| c["externalId"].as_str().unwrap()).collect();
    let held_by_manager: BTreeSet<_> = manager
        .records()
        .into_iter()
        .filter(|(_, body)| body["customerId"] == D)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        held_by_manager.iter().map(String::as_str).collect(),
        "the manager's own ids"
    );
    // The purge is asked again (the orchestrator's retry): the same answer.
    let again = participant(&s.app, forget, "purge", &subject).await;
    assert_eq!(again["toEraseElsewhere"], report["toEraseElsewhere"]);
}

#[tokio::test]
async fn a_copy_whose_answer_was_lost_before_the_forget_is_named_by_its_key() {
    let manager = HistoryManager::start(false);
    let s = spawn(&manager, &[("delivery.timeout_ms", "300")]).await;
    manager.set_fault(test_support::ManagerFault::StoreThenHang);
    let stored = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    assert_eq!(crate::delivery::drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(
        manager.records().len(),
        1,
        "the manager holds it; its answer never came"
    );
    // The next attempt finds the manager down: no answer lost this time.
    manager.set_fault(test_support::ManagerFault::Down);
    assert_eq!(s.worker.pass(crate::delivery::later(600)).await.unwrap().claimed, 1);
    let pending = deliveries(&s.app, "pending").await;
    assert_eq!(pending[0]["attempts"], 2);
    assert_eq!(pending[0]["lastError"], "communication-history-manager answered 503");

    let export = participant(&s.app, Uuid::now_v7(), "export", &json!({ "customerIds": [D] })).await;
    let listed = export["data"]["communicationHistoryManagerDeliveries"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), 1, "the export says it too: {export}");
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["recordId"], stored["id"]);

    let forget = Uuid::now_v7();
    let report = participant(&s.app, forget, "forget", &json!({ "customerIds": [D] })).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["counts"]["communicationHistoryManagerDeliveries"], 1);
    let report = participant(&s.app, forget, "purge", &json!({ "customerIds": [D] })).await;
    let to_erase = report["toEraseElsewhere"].as_array().unwrap();
    assert_eq!(to_erase.len(), 1, "{report}");
    assert_eq!(to_erase[0]["recordId"], stored["id"]);
    assert_eq!(
        to_erase[0]["idempotencyKey"].as_str(),
        manager.received()[0].idempotency_key.as_deref(),
        "the key the manager got it with"
    );
    assert!(
        to_erase[0]["externalId"].is_null(),
        "the manager's id never came: {report}"
    );
    assert!(to_erase[0]["deliveredAt"].is_string());
}
