//! `PUT /communicationRecords/{id}/body`: what was said or written, added after the record
//! (result-ingest's content queue). The body reaches the record and its copies, is delivered
//! again to a manager that had the record, is refused for a record a GDPR request holds or that
//! is gone, is exported, and is blanked by a purge that keeps the record for a statutory rule
//! alone (a legal hold keeps it whole).

use crate::delivery::{drain, record, write, C, D};
use crate::helpers::{READER, WRITER};
use comm_history_writer::delivery::{runner, DeliveryRunner};
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{HistoryManager, TestApp};
use uuid::Uuid;

const ORCHESTRATOR: &str = "gdpr_orchestrator";
/// A caller that writes records but was not given the body's scope.
const RECORDS_ONLY: &str = "pairing";

const TRANSCRIPT: &str = "customer: I lost my card\nagent:\tI will block it now";

struct Bodies {
    app: TestApp,
    /// The delivery outbox's runner, when a manager is delivered to.
    worker: Option<DeliveryRunner>,
}

/// The writer with result-ingest holding `records:body`, delivering to `manager` when given.
async fn spawn(manager: Option<&HistoryManager>) -> Bodies {
    let url = manager.map(|m| format!("{}/communicationRecords", m.url));
    let mut settings = vec![("delivery.worker_enabled", "false")];
    if let Some(url) = &url {
        settings.push(("delivery.url", url.as_str()));
        settings.push(("delivery.bearer_token", "a-token-of-the-manager"));
    }
    let app = test_support::spawn_app_with(
        &comm_history_writer::SERVICE,
        &[
            (WRITER, &["records:write", "records:assign", "records:body"]),
            (RECORDS_ONLY, &["records:write", "records:assign"]),
            (READER, &["records:read"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
        &settings,
    )
    .await;
    let worker = manager.map(|_| runner(app.pool().clone(), &app.settings, &prometheus::Registry::new()).unwrap());
    Bodies { app, worker }
}

async fn put_body(app: &TestApp, caller: &str, record: &Value, body: &Value) -> reqwest::Response {
    let id = record.as_str().unwrap();
    app.client
        .put(app.url(&format!("/communicationRecords/{id}/body")))
        .bearer_auth(app.token(caller))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Sets `text` as the body of `record`; answers how many records got it.
async fn set(app: &TestApp, record: &Value, text: &str) -> u64 {
    let response = put_body(app, WRITER, record, &json!({ "body": text })).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["updated"].as_u64().unwrap()
}

async fn body_of(app: &TestApp, record: &Value) -> String {
    let id = record.as_str().unwrap();
    let response = app.get(&format!("/communicationRecords/{id}"), READER).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn customer(id: &str) -> Value {
    json!({ "customerIds": [id] })
}

async fn call(app: &TestApp, request: Uuid, action: &str, subject: &Value, retain: Value, rules: Value) -> Value {
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": retain, "rules": rules });
    app.participant_call(request, action, &body).await
}

/// `(id, body)` of each of `subject`'s records its export lists.
async fn exported_bodies(app: &TestApp, subject: &Value) -> Vec<(Value, String)> {
    let export = call(app, Uuid::now_v7(), "export", subject, json!([]), json!([])).await;
    export["data"]["communications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].clone(), r["body"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_body_reaches_the_record_and_its_copies_once() {
    let s = spawn(None).await;
    let interaction = Uuid::new_v4().to_string();
    let first = write(&s.app, &record(Some(C), &interaction)).await;
    assert_eq!(first["body"], "", "written first, without its content");
    // D, the interaction's other customer, gets a copy of the record.
    let assignment = json!({ "interactionId": interaction, "customerId": D, "source": "pairing" });
    let assigned = s
        .app
        .post_json("/internal/customerAssignments", WRITER, &assignment)
        .await;
    assert_eq!(assigned.status().as_u16(), 200);

    assert_eq!(
        set(&s.app, &first["id"], TRANSCRIPT).await,
        2,
        "the record and D's copy"
    );
    assert_eq!(body_of(&s.app, &first["id"]).await, TRANSCRIPT);
    let records = s
        .app
        .get(&format!("/communicationRecords?customerId={D}"), READER)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(records["items"][0]["body"], TRANSCRIPT);
    assert_eq!(
        set(&s.app, &first["id"], TRANSCRIPT).await,
        0,
        "set again: nothing changes"
    );
}

#[tokio::test]
async fn a_body_over_the_bound_or_with_control_characters_is_refused_naming_the_field() {
    let s = spawn(None).await;
    let written = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    let id = &written["id"];
    let refused = [
        "x".repeat(100_001),
        "a\rb".to_owned(),
        "a\u{7}b".to_owned(),
        // A bidi override, a zero-width space, a line separator: what could spoof a display.
        "a\u{202e}b".to_owned(),
        "a\u{200b}b".to_owned(),
        "a\u{2028}b".to_owned(),
    ];
    for text in refused {
        let response = put_body(&s.app, WRITER, id, &json!({ "body": text })).await;
        assert_eq!(response.status().as_u16(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["pointer"], "/body", "{problem}");
        assert!(
            !problem.to_string().contains("a\\rb"),
            "the text is not repeated: {problem}"
        );
    }
    assert_eq!(
        set(&s.app, id, &"ž".repeat(100_000)).await,
        1,
        "the bound itself is taken"
    );
    let missing = put_body(&s.app, WRITER, id, &json!({})).await;
    assert_eq!(missing.status().as_u16(), 422);
    let unscoped = put_body(&s.app, RECORDS_ONLY, id, &json!({ "body": "text" })).await;
    assert_eq!(unscoped.status().as_u16(), 403, "records:body is result-ingest's alone");
    let unknown = put_body(
        &s.app,
        WRITER,
        &json!(Uuid::now_v7().to_string()),
        &json!({ "body": "t" }),
    )
    .await;
    assert_eq!(unknown.status().as_u16(), 410);
}

#[tokio::test]
async fn a_record_delivered_before_is_delivered_again_with_its_body() {
    let manager = HistoryManager::start(true);
    let s = spawn(Some(&manager)).await;
    let worker = s.worker.as_ref().unwrap();
    let written = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 1);
    assert_eq!(manager.received().len(), 1);
    assert_eq!(manager.received()[0].body["body"], "");

    set(&s.app, &written["id"], TRANSCRIPT).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 1, "an update");
    let received = manager.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body["body"], TRANSCRIPT);
    assert_eq!(received[1].body["interactionId"], written["interactionId"]);

    // The same body again changes nothing: nothing more to deliver.
    set(&s.app, &written["id"], TRANSCRIPT).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 0);
    assert_eq!(manager.received().len(), 2);
}

#[tokio::test]
async fn a_record_a_forget_or_a_restriction_holds_gets_no_body_and_the_refusal_names_nothing() {
    let s = spawn(None).await;
    for action in ["forget", "restrict"] {
        let subject = customer(C);
        let written = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
        let request = Uuid::now_v7();
        call(&s.app, request, action, &subject, json!([]), json!([])).await;
        let refused = put_body(&s.app, WRITER, &written["id"], &json!({ "body": TRANSCRIPT })).await;
        assert_eq!(refused.status().as_u16(), 409, "{action}");
        let problem = refused.text().await.unwrap();
        assert!(!problem.contains("lost my card") && !problem.contains(C), "{problem}");
        // A restriction's refusal is its own kind: the caller waits for the lift, not the end.
        let kind = serde_json::from_str::<Value>(&problem).unwrap()["type"].clone();
        let restricted = format!("urn:ccbridge:problem:{}", contracts::history::RECORD_RESTRICTED);
        assert_eq!(kind == json!(restricted), action == "restrict", "{action}: {kind}");
        // Undone, the record is back as it was: without a body.
        call(&s.app, request, "undo", &subject, json!([]), json!([])).await;
        assert_eq!(body_of(&s.app, &written["id"]).await, "", "{action}");
    }
    // A purged forget erased the record: gone.
    let written = write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &customer(D), json!([]), json!([])).await;
    call(&s.app, forget, "purge", &customer(D), json!([]), json!([])).await;
    let gone = put_body(&s.app, WRITER, &written["id"], &json!({ "body": TRANSCRIPT })).await;
    assert_eq!(gone.status().as_u16(), 410);
}

#[tokio::test]
async fn the_export_shows_the_body_and_a_purge_blanks_it_where_a_rule_alone_keeps_the_record() {
    let s = spawn(None).await;
    let subject = customer(C);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let written = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
        set(&s.app, &written["id"], TRANSCRIPT).await;
        ids.push(written["id"].clone());
    }
    let exported = exported_bodies(&s.app, &subject).await;
    assert_eq!(exported.len(), 3);
    assert!(exported.iter().all(|(_, body)| body == TRANSCRIPT), "{exported:?}");

    // A legal hold keeps the first record's interaction; a rule keeps every VOICE record.
    let interaction = interaction_of(&s.app, &ids[0]).await;
    let hold = json!({
        "holdId": Uuid::now_v7(),
        "subject": {},
        "interactionIds": [interaction],
        "window": null,
        "basis": "legal_claims",
    });
    let rule = json!({ "name": "voice-1y", "channels": ["VOICE"], "keepDays": 365, "basis": "legal_obligation" });
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([]), json!([])).await;
    let purged = call(&s.app, forget, "purge", &subject, json!([hold]), json!([rule])).await;
    assert_eq!(purged["counts"]["communications"], 3, "all kept: {purged}");
    let exported = exported_bodies(&s.app, &subject).await;
    let body = |id: &Value| exported.iter().find(|(r, _)| r == id).map(|(_, b)| b.clone());
    assert_eq!(body(&ids[0]).as_deref(), Some(TRANSCRIPT), "the hold keeps it whole");
    assert_eq!(
        body(&ids[1]).as_deref(),
        Some(""),
        "the rule keeps the record, not what was said"
    );
    assert_eq!(body(&ids[2]).as_deref(), Some(""));
    // Kept records stay held: no body comes back.
    let refused = put_body(&s.app, WRITER, &ids[1], &json!({ "body": TRANSCRIPT })).await;
    assert_eq!(refused.status().as_u16(), 409);
}

/// The interaction of record `id`, read from the store (the record is the subject's own).
async fn interaction_of(app: &TestApp, id: &Value) -> Value {
    let id = id.as_str().unwrap();
    app.get(&format!("/communicationRecords/{id}"), READER)
        .await
        .json::<Value>()
        .await
        .unwrap()["interactionId"]
        .clone()
}

#[tokio::test]
async fn a_purge_that_blanks_a_kept_records_body_blanks_it_at_the_manager_and_sends_nothing_else() {
    let manager = HistoryManager::start(true);
    let s = spawn(Some(&manager)).await;
    let worker = s.worker.as_ref().unwrap();
    let delivered = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 1);
    set(&s.app, &delivered["id"], TRANSCRIPT).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 1, "the update with the body");
    assert_eq!(manager.received()[1].body["body"], TRANSCRIPT);
    // Never delivered before the forget: the manager has no copy of it to correct.
    let undelivered = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    set(&s.app, &undelivered["id"], TRANSCRIPT).await;

    let subject = customer(C);
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([]), json!([])).await;
    // In grace (undo possible): nothing of the held records goes out.
    assert_eq!(drain(worker, Timestamp::now()).await, 0);
    let rule = json!({ "name": "voice-1y", "channels": ["VOICE"], "keepDays": 365, "basis": "legal_obligation" });
    let purged = call(&s.app, forget, "purge", &subject, json!([]), json!([rule])).await;
    assert_eq!(purged["counts"]["communications"], 2, "both kept by the rule: {purged}");

    assert_eq!(drain(worker, Timestamp::now()).await, 1, "the blanking alone");
    let received = manager.received();
    assert_eq!(received.len(), 3, "the undelivered record's create stays held");
    assert_eq!(received[2].body["body"], "");
    assert_eq!(received[2].body["interactionId"], delivered["interactionId"]);
    // Once: a second purge of the request blanks nothing more, sends nothing more.
    call(&s.app, forget, "purge", &subject, json!([]), json!([rule])).await;
    assert_eq!(drain(worker, Timestamp::now()).await, 0);
    assert_eq!(manager.received().len(), 3);
}
