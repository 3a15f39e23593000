//! A customer's purged FORGET stays purged here: a later assignment of that customer to a
//! communication the forget reached (interaction-pairing's late pairing, result-ingest's pairing
//! of a further customer) gives them no record, so no copy naming them comes back, and none
//! goes to the communication-history-manager.

use crate::delivery::{drain, participant, record, spawn, write, C};
use crate::idempotency::post_with_key;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{HistoryManager, TestApp};
use uuid::Uuid;

const WRITER: &str = crate::helpers::WRITER;
const READER: &str = crate::helpers::READER;
const E: &str = "00000000-0000-4000-8000-00000000000e";

async fn assign(app: &TestApp, interaction: &str, customer: &str, source: &str) -> u64 {
    let body = json!({ "interactionId": interaction, "customerId": customer, "source": source });
    let response = app.post_json("/internal/customerAssignments", WRITER, &body).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["updated"].as_u64().unwrap()
}

/// A removed pairing: the customer's records of the interaction withdrawn.
async fn withdraw(app: &TestApp, interaction: &str, customer: &str) {
    let body = json!({ "interactionId": interaction, "customerId": customer, "withdrawnBy": "Eva Operator" });
    let response = app.post_json("/internal/customerWithdrawals", WRITER, &body).await;
    assert_eq!(response.status().as_u16(), 200);
}

pub(crate) async fn records_of(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/communicationRecords?{query}"), READER).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_purged_customer_gets_no_record_back_from_a_later_assignment_and_none_is_delivered() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    // Shared: E's communication, and C's copy of it.
    let shared = Uuid::new_v4().to_string();
    write(&s.app, &record(Some(E), &shared)).await;
    assert_eq!(assign(&s.app, &shared, C, "pairing").await, 1);
    // C's own, whose pairing was removed: C's record withdrawn, a stand-in nobody's.
    let own = Uuid::new_v4().to_string();
    write(&s.app, &record(Some(C), &own)).await;
    withdraw(&s.app, &own, C).await;
    drain(&s.worker, Timestamp::now()).await;
    let sent_before = manager.received().len();

    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &subject).await;
    participant(&s.app, forget, "purge", &subject).await;
    assert!(records_of(&s.app, &format!("customerId={C}")).await.is_empty());

    // The pairing comes again, late, and as result-ingest's: nothing for C.
    assert_eq!(
        assign(&s.app, &shared, C, "late_pairing").await,
        0,
        "no copy of E's for C"
    );
    assert_eq!(
        assign(&s.app, &own, C, "pairing").await,
        0,
        "the stand-in stays nobody's"
    );
    assert!(records_of(&s.app, &format!("customerId={C}")).await.is_empty());
    // Counted, without labels, and logged nowhere (the assignment's span names the interaction).
    let metrics = s.app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|line| line == "ccbridge_records_suppressed_total 2"),
        "{metrics}"
    );
    let by_interaction = records_of(&s.app, &format!("interactionId={own}")).await;
    assert_eq!(by_interaction.len(), 1);
    assert_eq!(by_interaction[0]["customerId"], Value::Null);

    drain(&s.worker, Timestamp::now()).await;
    let after: Vec<_> = manager.received().into_iter().skip(sent_before).collect();
    assert!(
        after.iter().all(|r| r.body["customerId"] != C),
        "no delivery names C after the purge: {after:?}"
    );

    // A communication the forget never reached is C's as any other's.
    let new = Uuid::new_v4().to_string();
    write(&s.app, &record(None, &new)).await;
    assert_eq!(assign(&s.app, &new, C, "late_pairing").await, 1);
}

#[tokio::test]
async fn an_undone_forget_suppresses_nothing() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let shared = Uuid::new_v4().to_string();
    write(&s.app, &record(Some(E), &shared)).await;
    assert_eq!(assign(&s.app, &shared, C, "pairing").await, 1);
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &subject).await;
    participant(&s.app, forget, "undo", &subject).await;
    withdraw(&s.app, &shared, C).await;
    assert_eq!(
        assign(&s.app, &shared, C, "late_pairing").await,
        1,
        "C's record comes back"
    );
}

/// E's communication, which interaction-pairing links to C too: C's late pairing is still in its
/// outbox when C's forget comes (the orchestrator adds the linked interaction to the subject).
async fn forgotten_with_a_late_pairing_on_its_way(s: &crate::delivery::Delivering) -> (String, Uuid, Value) {
    let shared = Uuid::new_v4().to_string();
    write(&s.app, &record(Some(E), &shared)).await;
    let subject = json!({ "customerIds": [C], "interactionIds": [shared] });
    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &subject).await;
    assert_eq!(assign(&s.app, &shared, C, "late_pairing").await, 1);
    assert!(
        records_of(&s.app, &format!("customerId={C}")).await.is_empty(),
        "C's copy is held by the forget as it is made"
    );
    (shared, forget, subject)
}

#[tokio::test]
async fn a_copy_made_while_the_customers_forget_holds_is_held_by_it_and_purged_with_it() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let (shared, forget, subject) = forgotten_with_a_late_pairing_on_its_way(&s).await;
    drain(&s.worker, Timestamp::now()).await;
    assert!(
        manager.received().iter().all(|r| r.body["customerId"] != C),
        "not delivered"
    );
    let status = s
        .app
        .get_signed(&format!("/internal/gdpr/requests/{forget}"), "gdpr_orchestrator")
        .await;
    assert_eq!(status.json::<Value>().await.unwrap()["counts"]["communications"], 1);

    participant(&s.app, forget, "purge", &subject).await;
    let left = records_of(&s.app, &format!("interactionId={shared}")).await;
    assert_eq!(left.len(), 1, "E's alone");
    assert_eq!(left[0]["customerId"], E);
    assert_eq!(assign(&s.app, &shared, C, "late_pairing").await, 0);
    drain(&s.worker, Timestamp::now()).await;
    assert!(manager.received().iter().all(|r| r.body["customerId"] != C));
}

#[tokio::test]
async fn a_copy_made_while_the_customers_forget_holds_comes_out_with_its_undo() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let (_, forget, subject) = forgotten_with_a_late_pairing_on_its_way(&s).await;
    participant(&s.app, forget, "undo", &subject).await;
    assert_eq!(records_of(&s.app, &format!("customerId={C}")).await.len(), 1);
    drain(&s.worker, Timestamp::now()).await;
    assert!(
        manager.received().iter().any(|r| r.body["customerId"] == C),
        "and is delivered"
    );
}

async fn write_batch_of_one(app: &TestApp, key: &str, body: &Value) -> Value {
    let batch = json!({ "records": [{ "idempotencyKey": key, "record": body }] });
    let response = app.post_json("/communicationRecords/batch", WRITER, &batch).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["results"][0].clone()
}

/// result-ingest writes again a record whose first answer it lost (the orchestrator listed it
/// only in toEraseElsewhere), after the customer's purge: the same key is answered as erased
/// (410, naming nothing), and nothing new is stored or queued; a new key naming the purged
/// customer on the same communication is refused the same way.
#[tokio::test]
async fn a_write_replayed_after_the_customers_purge_is_answered_erased_and_stores_nothing() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let interaction = Uuid::new_v4().to_string();
    let body = record(Some(C), &interaction);
    let key = Uuid::new_v4().to_string();
    assert_eq!(post_with_key(&s.app, &key, &body).await.status().as_u16(), 201);
    let subject = json!({ "customerIds": [C] });
    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &subject).await;
    participant(&s.app, forget, "purge", &subject).await;
    drain(&s.worker, Timestamp::now()).await;
    let sent_before = manager.received().len();

    for attempt in [&key, &Uuid::new_v4().to_string()] {
        let again = post_with_key(&s.app, attempt, &body).await;
        assert_eq!(again.status().as_u16(), 410, "{attempt}");
        assert_eq!(again.headers()["content-type"], "application/problem+json");
        let problem = again.text().await.unwrap();
        assert!(!problem.contains(C) && !problem.contains(&interaction), "{problem}");
        let batched = write_batch_of_one(&s.app, attempt, &body).await;
        assert_eq!(batched["outcome"], "erased", "{batched}");
        assert_eq!(batched["recordId"], Value::Null);
    }
    // The same key with the customer left out (a record naming nobody is still a copy).
    let mut nobody = body.clone();
    nobody["customerId"] = Value::Null;
    assert_eq!(post_with_key(&s.app, &key, &nobody).await.status().as_u16(), 410);

    assert!(records_of(&s.app, &format!("interactionId={interaction}"))
        .await
        .is_empty());
    drain(&s.worker, Timestamp::now()).await;
    assert_eq!(manager.received().len(), sent_before, "nothing queued for the manager");
}
