//! Delivery to the bank's communication-history-manager (`[delivery]`), against a stand-in for
//! the manager on a real port. The outbox's runner is driven by `drain(now)` (or one `pass(now)`),
//! a drain "later" standing for the backoff having run out.

use crate::helpers::{example, READER, WRITER};
use comm_history_writer::delivery::{runner, DeliveryRunner};
use comm_history_writer::store::deliveries::{self, DeliveryStatus};
use domain::Timestamp;
use serde_json::{json, Value};
use service_kit::database::DatabaseError;
use std::collections::BTreeSet;
use test_support::{HistoryManager, ManagerFault, TestApp, SPEC_FIELDS};
use uuid::Uuid;

const OPERATOR: &str = "operator";
const ORCHESTRATOR: &str = "gdpr_orchestrator";
const MANAGER_TOKEN: &str = "a-token-of-the-manager";
pub(crate) const C: &str = "00000000-0000-4000-8000-00000000000c";
pub(crate) const D: &str = "00000000-0000-4000-8000-00000000000d";

pub(crate) struct Delivering {
    pub(crate) app: TestApp,
    pub(crate) worker: DeliveryRunner,
}

pub(crate) async fn spawn(manager: &HistoryManager, overrides: &[(&str, &str)]) -> Delivering {
    let url = format!("{}/communicationRecords", manager.url);
    let mut settings = vec![
        ("delivery.url", url.as_str()),
        ("delivery.bearer_token", MANAGER_TOKEN),
        ("delivery.worker_enabled", "false"),
    ];
    settings.extend_from_slice(overrides);
    let app = test_support::spawn_app_with(
        &comm_history_writer::SERVICE,
        &[
            (WRITER, &["records:write", "records:assign"]),
            (READER, &["records:read"]),
            (OPERATOR, &["records:operate"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
        &settings,
    )
    .await;
    let worker = outbox_runner(&app);
    Delivering { app, worker }
}

/// The delivery outbox's runner on `app`'s database (a replica of the worker, as it were).
pub(crate) fn outbox_runner(app: &TestApp) -> DeliveryRunner {
    runner(app.pool().clone(), &app.settings, &prometheus::Registry::new()).unwrap()
}

pub(crate) fn later(seconds: i64) -> Timestamp {
    Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::seconds(seconds)).unwrap()
}

/// Passes at `at` until one finds nothing due; answers how many entries were taken.
pub(crate) async fn drain(worker: &DeliveryRunner, at: Timestamp) -> usize {
    worker.drain(at).await.unwrap().claimed
}

pub(crate) fn record(customer: Option<&str>, interaction: &str) -> Value {
    let mut body = example();
    body["customerId"] = customer.map_or(Value::Null, |c| c.into());
    body["interactionId"] = interaction.into();
    body
}

pub(crate) async fn write(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json("/communicationRecords", WRITER, body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

/// The delivered entries, as the store keeps them (what GDPR reports name): operators list
/// pending and dead ones only.
pub(crate) async fn delivered(app: &TestApp) -> Vec<Value> {
    let entries = app
        .pool()
        .run(|c| deliveries::list(c, DeliveryStatus::Delivered, None, 1000).map_err(DatabaseError::from))
        .await
        .unwrap();
    entries
        .iter()
        .map(|entry| serde_json::to_value(entry).unwrap())
        .collect()
}

pub(crate) async fn deliveries(app: &TestApp, status: &str) -> Vec<Value> {
    let response = app.get(&format!("/deliveries?status={status}"), OPERATOR).await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn keys(body: &Value) -> BTreeSet<&str> {
    body.as_object().unwrap().keys().map(String::as_str).collect()
}

fn spec_body_of(record: &Value) -> Value {
    let mut body = record.clone();
    body.as_object_mut().unwrap().remove("genesysUserId");
    body
}

#[tokio::test]
async fn every_record_reaches_the_manager_once_in_the_specs_body() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let first = example();
    for _ in 0..2 {
        let response = s
            .app
            .client
            .post(s.app.url("/communicationRecords"))
            .bearer_auth(s.app.token(WRITER))
            .header("Idempotency-Key", "written-twice")
            .json(&first)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    let batch = json!({ "records": [
        { "idempotencyKey": "b-1", "record": record(Some(C), &Uuid::new_v4().to_string()) },
        { "idempotencyKey": "b-2", "record": record(None, &Uuid::new_v4().to_string()) },
    ]});
    assert_eq!(
        s.app
            .post_json("/communicationRecords/batch", WRITER, &batch)
            .await
            .status()
            .as_u16(),
        200
    );

    assert_eq!(drain(&s.worker, Timestamp::now()).await, 3);
    let received = manager.received();
    assert_eq!(received.len(), 3, "one request a record, the replayed write none");
    let spec: BTreeSet<&str> = SPEC_FIELDS.into_iter().collect();
    for request in &received {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/communicationRecords")
        );
        assert_eq!(keys(&request.body), spec, "the spec's fields, no others");
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {MANAGER_TOKEN}").as_str())
        );
    }
    assert_eq!(received[0].body, spec_body_of(&first));
    let sent_keys: BTreeSet<_> = received.iter().map(|r| r.idempotency_key.clone().unwrap()).collect();
    assert_eq!(sent_keys.len(), 3, "a key of its own each: {sent_keys:?}");
    assert_eq!(manager.records().len(), 3);

    assert_eq!(drain(&s.worker, later(3600)).await, 0, "delivered is done");
    assert_eq!(manager.received().len(), 3);
    let delivered = delivered(&s.app).await;
    assert_eq!(delivered.len(), 3);
    let ids: BTreeSet<_> = delivered.iter().map(|d| d["externalId"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["chm-1", "chm-2", "chm-3"]),
        "the manager's ids are kept"
    );
    assert!(delivered.iter().all(|d| d["deliveredAt"].is_string()));
    assert_eq!(s.worker.metrics().settled.with_label_values(&["done"]).get(), 3);
    assert_eq!(
        s.app.get("/deliveries?status=dead", READER).await.status().as_u16(),
        403
    );
}

/// Pairs C after the unassigned record reached the manager, then withdraws C; answers the
/// requests the two changes sent, and the record's first key.
async fn pair_then_withdraw(s: &Delivering, manager: &HistoryManager) -> (Vec<test_support::ManagerRequest>, String) {
    let interaction = Uuid::new_v4().to_string();
    write(&s.app, &record(None, &interaction)).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let first_key = manager.received()[0].idempotency_key.clone().unwrap();
    let assign = json!({ "interactionId": interaction, "customerId": C, "source": "late_pairing" });
    let answer = s.app.post_json("/internal/customerAssignments", WRITER, &assign).await;
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let withdraw = json!({ "interactionId": interaction, "customerId": C, "withdrawnBy": "Eva Operator" });
    let answer = s
        .app
        .post_json("/internal/customerWithdrawals", WRITER, &withdraw)
        .await;
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(
        drain(&s.worker, Timestamp::now()).await,
        2,
        "the withdrawal, and the stand-in it leaves"
    );
    (manager.received()[1..].to_vec(), first_key)
}

#[tokio::test]
async fn a_late_pairing_and_a_withdrawal_reach_the_manager_as_new_records_naming_the_first() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[("delivery.update_mode", "new_record")]).await;
    let (changes, first_key) = pair_then_withdraw(&s, &manager).await;
    let paired = &changes[0];
    assert_eq!(
        (paired.method.as_str(), paired.path.as_str()),
        ("POST", "/communicationRecords")
    );
    assert_eq!(paired.body["customerId"], C);
    assert_eq!(paired.body["supersedes"], first_key.as_str());
    let mut withdrawn: Vec<_> = changes[1..].iter().collect();
    withdrawn.sort_by_key(|r| r.body.get("supersedes").is_none());
    assert_eq!(
        withdrawn[0].body["supersedes"],
        first_key.as_str(),
        "C's record, without C"
    );
    assert_eq!(withdrawn[0].body["customerId"], Value::Null);
    assert_eq!(
        withdrawn[1].body["customerId"],
        Value::Null,
        "the stand-in: nobody's again"
    );
    assert!(withdrawn[1].body.get("supersedes").is_none());
}

#[tokio::test]
async fn a_late_pairing_and_a_withdrawal_reach_the_manager_as_patches_of_its_record() {
    let manager = HistoryManager::start(true);
    let template = format!("{}/communicationRecords/{{externalId}}", manager.url);
    let s = spawn(
        &manager,
        &[
            ("delivery.update_mode", "patch"),
            ("delivery.update_url_template", template.as_str()),
        ],
    )
    .await;
    let (changes, _) = pair_then_withdraw(&s, &manager).await;
    assert_eq!(
        (changes[0].method.as_str(), changes[0].path.as_str()),
        ("PATCH", "/communicationRecords/chm-1")
    );
    assert_eq!(changes[0].body["customerId"], C);
    let patch = changes[1..].iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path, "/communicationRecords/chm-1");
    assert_eq!(patch.body["customerId"], Value::Null);
    let records = manager.records();
    assert_eq!(records["chm-1"]["customerId"], Value::Null, "C's no more");
    assert_eq!(records.len(), 2, "and the stand-in, a record of its own");
}

#[tokio::test]
async fn a_manager_down_for_a_while_gets_every_record_once_it_is_back() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    manager.set_fault(ManagerFault::Down);
    for _ in 0..5 {
        write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    }
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 5);
    assert_eq!(
        drain(&s.worker, Timestamp::now()).await,
        0,
        "each waits out its backoff"
    );
    let pending = deliveries(&s.app, "pending").await;
    assert_eq!(pending.len(), 5);
    assert!(pending
        .iter()
        .all(|d| d["lastError"] == "communication-history-manager answered 503" && d["attempts"] == 1));

    manager.set_fault(ManagerFault::None);
    assert_eq!(drain(&s.worker, later(600)).await, 5);
    assert_eq!(manager.records().len(), 5, "every record, once");
    assert_eq!(manager.received().len(), 10);
    assert_eq!(delivered(&s.app).await.len(), 5);
    assert_eq!(s.worker.metrics().settled.with_label_values(&["retry"]).get(), 5);
    assert_eq!(s.worker.metrics().settled.with_label_values(&["done"]).get(), 5);
}

#[tokio::test]
async fn a_refused_record_is_a_dead_letter_until_an_operator_retries_it() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    manager.set_fault(ManagerFault::Refuse(422));
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(
        drain(&s.worker, later(86_400)).await,
        0,
        "a refusal is not retried by itself"
    );
    let dead = deliveries(&s.app, "dead").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["lastError"], "communication-history-manager answered 422");
    let listing = serde_json::to_string(&dead).unwrap();
    assert!(
        !listing.contains("+420601123456") && !listing.contains("Nováková") && !listing.contains(C),
        "no personal data: {listing}"
    );
    s.worker.housekeeping(Timestamp::now()).await.unwrap();
    assert_eq!(s.worker.metrics().dead.get(), 1);

    manager.set_fault(ManagerFault::None);
    let id = dead[0]["id"].as_str().unwrap();
    let retried = s
        .app
        .post_json(&format!("/deliveries/{id}/retry"), OPERATOR, &json!({}))
        .await;
    assert_eq!(retried.status().as_u16(), 202);
    let again = s
        .app
        .post_json(&format!("/deliveries/{id}/retry"), OPERATOR, &json!({}))
        .await;
    assert_eq!(again.status().as_u16(), 409, "pending, not dead");
    let unknown = s
        .app
        .post_json(&format!("/deliveries/{}/retry", Uuid::now_v7()), OPERATOR, &json!({}))
        .await;
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(manager.records().len(), 1);
    let all = s.app.post_json("/deliveries/retry-dead", OPERATOR, &json!({})).await;
    assert_eq!(all.json::<Value>().await.unwrap(), json!({ "retried": 0 }));
}

#[tokio::test]
async fn a_delivery_out_of_attempts_is_a_dead_letter_with_its_reason() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[("delivery.retry_budget", "2 attempts")]).await;
    manager.set_fault(ManagerFault::Down);
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(drain(&s.worker, later(600)).await, 1);
    let dead = deliveries(&s.app, "dead").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0]["lastError"],
        "gave up after 2 attempts: communication-history-manager answered 503"
    );
    manager.set_fault(ManagerFault::None);
    let all = s.app.post_json("/deliveries/retry-dead", OPERATOR, &json!({})).await;
    assert_eq!(all.json::<Value>().await.unwrap(), json!({ "retried": 1 }));
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    assert_eq!(manager.records().len(), 1);
}

#[tokio::test]
async fn a_writer_killed_mid_delivery_loses_nothing_and_sends_it_again_with_its_key() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    manager.set_fault(ManagerFault::StoreThenHang);
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    let worker = s.worker;
    let attempt = tokio::spawn(async move {
        worker.pass(Timestamp::now()).await.unwrap();
    });
    manager.wait_for_requests(1).await;
    // Killed with the request out and no answer: its claim is all that is left.
    attempt.abort();
    assert!(attempt.await.unwrap_err().is_cancelled());

    manager.set_fault(ManagerFault::None);
    let restarted = outbox_runner(&s.app);
    assert_eq!(
        drain(&restarted, Timestamp::now()).await,
        0,
        "the claim holds until its lease runs out"
    );
    assert_eq!(drain(&restarted, later(61)).await, 1);
    let received = manager.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].idempotency_key, received[1].idempotency_key);
    assert_eq!(manager.records().len(), 1, "an idempotent manager holds it once");
    assert_eq!(delivered(&s.app).await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_sent_again_and_counted_as_a_possible_duplicate() {
    let manager = HistoryManager::start(false);
    let s = spawn(&manager, &[("delivery.timeout_ms", "300")]).await;
    manager.set_fault(ManagerFault::StoreThenHang);
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let pending = deliveries(&s.app, "pending").await;
    assert_eq!(
        pending[0]["lastError"],
        "communication-history-manager: no answer in time"
    );
    manager.set_fault(ManagerFault::None);
    assert_eq!(drain(&s.worker, later(600)).await, 1);
    assert_eq!(s.worker.job().metrics().resent_unanswered.get(), 1);
    let received = manager.received();
    assert_eq!(received[0].idempotency_key, received[1].idempotency_key);
    assert_eq!(
        manager.records().len(),
        2,
        "a manager without idempotency holds the one duplicate the metric counted"
    );
}

pub(crate) async fn participant(app: &TestApp, request: Uuid, action: &str, subject: &Value) -> Value {
    let response = app
        .post_signed(
            &format!("/internal/gdpr/requests/{request}/{action}"),
            ORCHESTRATOR,
            &json!({ "subject": subject, "forgottenAt": Timestamp::now() }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{action}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_gdpr_request_names_what_reached_the_manager_and_a_forget_holds_what_did_not() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let delivered = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    manager.set_fault(ManagerFault::Down);
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let subject = json!({ "customerIds": [D] });

    let export = participant(&s.app, Uuid::now_v7(), "export", &subject).await;
    let listed = export["data"]["communicationHistoryManagerDeliveries"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), 1, "{export}");
    assert_eq!(listed[0]["recordId"], delivered["id"]);
    assert_eq!(listed[0]["externalId"], "chm-1");
    assert!(listed[0]["deliveredAt"].is_string());
    assert_eq!(export["counts"]["communicationHistoryManagerDeliveries"], 1);

    let forget = Uuid::now_v7();
    let report = participant(&s.app, forget, "forget", &subject).await;
    assert_eq!(report["counts"]["communicationHistoryManagerDeliveries"], 1, "{report}");
    assert!(report.get("toEraseElsewhere").is_none(), "named by the purge: {report}");

    manager.set_fault(ManagerFault::None);
    assert_eq!(drain(&s.worker, later(600)).await, 0, "a forgotten record is not sent");
    assert_eq!(manager.records().len(), 1);
    participant(&s.app, forget, "undo", &subject).await;
    assert_eq!(drain(&s.worker, later(1200)).await, 1, "an undo lets it go");
    assert_eq!(manager.records().len(), 2);

    let purged = Uuid::now_v7();
    participant(&s.app, purged, "forget", &subject).await;
    let report = participant(&s.app, purged, "purge", &subject).await;
    let to_erase = report["toEraseElsewhere"].as_array().unwrap();
    assert_eq!(to_erase.len(), 2, "both records reached the manager: {report}");
    assert_eq!(to_erase[0]["system"], "communication-history-manager");
    assert_eq!(to_erase[0]["recordId"], delivered["id"], "oldest delivery first");
    assert_eq!(to_erase[0]["externalId"], "chm-1");
    assert!(
        self::delivered(&s.app).await.is_empty(),
        "the entries went with their records"
    );
}

#[tokio::test]
async fn a_claim_whose_lease_ran_out_sends_nothing_and_notes_nothing() {
    use comm_history_writer::store::deliveries::{DeliveryOutbox, ToSend};
    use service_kit::queue::{Claim, Storage};
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;

    // A replica claims the entry for 60 seconds and stalls before sending it.
    let claim = Claim {
        now: Timestamp::now(),
        limit: 10,
        lease_until: later(60),
    };
    let stalled = s
        .app
        .pool()
        .run(move |c| DeliveryOutbox.claim(c, claim).map_err(DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(stalled.len(), 1);
    // Its lease runs out; another replica delivers the entry.
    assert_eq!(drain(&s.worker, later(61)).await, 1);
    assert_eq!(manager.received().len(), 1);

    // The stalled replica wakes: its claim no longer holds the entry, so it sends and notes nothing.
    let (id, record_id, until) = (stalled[0].id, stalled[0].item.record_id, stalled[0].lease_until);
    let woke = s
        .app
        .pool()
        .run(move |c| {
            let send = deliveries::begin_send(c, id, record_id, until)?;
            let noted = deliveries::note_external_id(c, id, until, "chm-stale")?;
            let unanswered = deliveries::note_unanswered(c, id, until)?;
            Ok::<_, DatabaseError>((matches!(send, ToSend::NotOurs), noted, unanswered))
        })
        .await
        .unwrap();
    assert_eq!(woke, (true, false, false));
    let kept = delivered(&s.app).await;
    assert_eq!(kept[0]["externalId"], "chm-1", "the delivering replica's answer stands");
    assert_eq!(manager.received().len(), 1, "nothing sent twice");
}

/// A dead letter whose record a GDPR forget holds is the forget's, not the retention's: past
/// `delivery.dead_retention_days` it stays while the forget holds it (an undo in the grace window
/// gives it back to be retried), and another dead letter of the same age goes.
#[tokio::test]
async fn retention_leaves_a_dead_letter_a_forget_holds_so_an_undo_gives_it_back() {
    let (manager, s) = refused_and_dead_after_a_day().await;
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 2);
    assert_eq!(deliveries(&s.app, "dead").await.len(), 2);

    let forget = Uuid::now_v7();
    participant(&s.app, forget, "forget", &json!({ "customerIds": [C] })).await;
    // Two days on: D's dead letter is past its retention and goes; C's is held by the forget.
    s.worker.housekeeping(later(2 * 86_400)).await.unwrap();
    let left = dead_entries_in_store(&s.app).await;
    assert_eq!(left, 1, "only the held dead letter is left");

    participant(&s.app, forget, "undo", &json!({ "customerIds": [C] })).await;
    let dead = deliveries(&s.app, "dead").await;
    assert_eq!(dead.len(), 1, "the undo gave C's dead letter back: {dead:?}");
    manager.set_fault(ManagerFault::None);
    let retried = s.app.post_json("/deliveries/retry-dead", OPERATOR, &json!({})).await;
    assert_eq!(retried.status().as_u16(), 202);
    assert_eq!(drain(&s.worker, later(2 * 86_400)).await, 1);
    assert_eq!(
        manager.records().len(),
        1,
        "C's record reached the manager after the undo"
    );
}

/// A dead letter of a record whose agent alone a request holds (a RESTRICT of the agent leaves
/// the record's FORGET marker empty) is the request's too: retention leaves it until lifted.
#[tokio::test]
async fn retention_leaves_a_dead_letter_whose_agent_is_restricted_until_lifted() {
    let (_manager, s) = refused_and_dead_after_a_day().await;
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);
    let agent = json!({ "genesysUserIds": [crate::legal_holds::AGENT] });
    let restrict = Uuid::now_v7();
    let restricted = participant(&s.app, restrict, "restrict", &agent).await;
    assert_eq!(restricted["counts"]["agentCommunications"], 1, "{restricted}");

    s.worker.housekeeping(later(2 * 86_400)).await.unwrap();
    assert_eq!(
        dead_entries_in_store(&s.app).await,
        1,
        "the agent's restriction keeps it"
    );
    participant(&s.app, restrict, "undo", &agent).await;
    s.worker.housekeeping(later(2 * 86_400)).await.unwrap();
    assert_eq!(dead_entries_in_store(&s.app).await, 0, "lifted: past its retention");
}

/// A manager that refuses every record, and a writer that keeps dead letters a day.
async fn refused_and_dead_after_a_day() -> (HistoryManager, Delivering) {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[("delivery.dead_retention_days", "1")]).await;
    manager.set_fault(ManagerFault::Refuse(422));
    (manager, s)
}

/// Dead letters in the outbox's table, held or not (operators are shown what is not held).
async fn dead_entries_in_store(app: &TestApp) -> i64 {
    use comm_history_writer::schema::delivery_outbox::dsl;
    use diesel::prelude::*;
    app.pool()
        .run(|c| {
            dsl::delivery_outbox
                .filter(dsl::status.eq("dead"))
                .count()
                .get_result::<i64>(c)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap()
}
