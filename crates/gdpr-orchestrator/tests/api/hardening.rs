//! A request reaches exactly its subject: a shared number does not reach another customer's data,
//! overlapping FORGETs hold a row together, agents are subjects too, national numbers are found,
//! only the orchestrator's signed calls act, four eyes confirm, and an undo racing the purge is
//! one or the other, never half of each.

use crate::helpers::{after, assert_not_logged, stack, webhook, Person, BOFE, DPO, ORCHESTRATOR_CALLER};
use diesel::RunQueryDsl;
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::assert_problem;

/// The Genesys user id of the agent in the example results ("Jana Nováková" in the simulator).
const JANA: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

fn interactions_of(items: &Value, field: &str) -> Vec<String> {
    let mut found: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Rows of a service's table whose text holds `needle` (the whole row as text).
async fn rows_holding(app: &test_support::TestApp, table: &str, needle: &str) -> usize {
    test_support::dump_tables(app.pool())
        .await
        .iter()
        .filter(|line| line.starts_with(&format!("{table}: ")) && line.contains(needle))
        .count()
}

/// A number another customer shares with the subject (a family line): what BOFE attributed to
/// that customer is left out of the subject's export and forget, counted, and untouched.
#[tokio::test]
async fn a_shared_number_never_reaches_the_other_customers_data() {
    let s = stack().await;
    let subject_person = Person::new();
    let other_customer = uuid::Uuid::new_v4().to_string();
    let phone = format!("tel:{}", subject_person.phone);
    let [unpaired, theirs, ours] = [(); 3].map(|()| uuid::Uuid::new_v4().to_string());
    // From the shared number: one call nobody paired, one BOFE paired to the other customer, one
    // paired to the subject.
    s.record(&unpaired, &phone).await;
    s.pair(&other_customer, &theirs).await;
    s.record(&theirs, &phone).await;
    s.pair(&subject_person.customer_id, &ours).await;
    s.record(&ours, &phone).await;
    let subject = json!({ "customerIds": [subject_person.customer_id], "phoneNumbers": [subject_person.phone] });

    let (request, bundle) = s.export(subject.clone()).await;
    let data = &bundle["data"];
    assert_eq!(
        interactions_of(&data["comm-history-writer"]["communications"], "interactionId"),
        sorted(vec![unpaired.clone(), ours.clone()])
    );
    let results: Vec<String> = data["result-ingest"]["webhookResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"]["conversationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(results), sorted(vec![unpaired.clone(), ours.clone()]));
    assert_eq!(
        interactions_of(&data["interaction-pairing"]["pairings"], "interactionId"),
        vec![ours.clone()]
    );
    assert!(
        !bundle.to_string().contains(&theirs),
        "nothing of the other customer's call"
    );
    // Left out, counted per participant and phase, never named.
    assert_eq!(request["leftOut"]["count.communications"], 1, "{request}");
    assert_eq!(request["leftOut"]["count.webhookResults"], 1, "{request}");
    assert_eq!(request["leftOut"]["export.communications"], 1, "{request}");
    let writer_step = request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "export" && p["participant"] == "comm-history-writer")
        .unwrap();
    assert_eq!(writer_step["leftOut"]["communications"], 1);

    // The number alone: the subject's own paired call is attributed to a customer the request does
    // not name, so it is left out too.
    let (by_number, _) = s.export(json!({ "phoneNumbers": [subject_person.phone] })).await;
    assert_eq!(by_number["counts"]["count.communications"], 1);
    assert_eq!(by_number["leftOut"]["count.communications"], 2);

    // FORGET, purged: the other customer's record, result and pairing are all still there.
    let now = Timestamp::now();
    let id = s.forget_in_grace(subject, now).await;
    let forgotten = s.request(&id).await;
    assert_eq!(forgotten["leftOut"]["forget.communications"], 1, "{forgotten}");
    assert_eq!(s.records(&format!("customerId={other_customer}")).await.len(), 1);
    let (request, _) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let (_, theirs_bundle) = s.export(json!({ "customerIds": [other_customer] })).await;
    let data = &theirs_bundle["data"];
    assert_eq!(
        interactions_of(&data["comm-history-writer"]["communications"], "interactionId"),
        vec![theirs.clone()]
    );
    assert_eq!(data["result-ingest"]["webhookResults"].as_array().unwrap().len(), 1);
    assert_eq!(
        interactions_of(&data["interaction-pairing"]["pairings"], "interactionId"),
        vec![theirs.clone()]
    );
    assert!(s.records(&format!("interactionId={unpaired}")).await.is_empty());
    assert!(s.records(&format!("interactionId={ours}")).await.is_empty());
    assert_not_logged(&[&subject_person.digits, &subject_person.customer_id, &other_customer]);
}

/// A record two FORGETs hold (one by number, one by customer id): undoing the first leaves it
/// hidden, a re-pairing does not bring it back, and the second's purge deletes it.
#[tokio::test]
async fn overlapping_forgets_hold_a_row_together() {
    let s = stack().await;
    let person = Person::new();
    let interaction = uuid::Uuid::new_v4().to_string();
    // Recorded before BOFE paired it: the record has no customer; the number finds it, and so does
    // the customer id through the pairing.
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    s.pair(&person.customer_id, &interaction).await;
    let by_interaction = format!("interactionId={interaction}");
    assert_eq!(s.records(&by_interaction).await.len(), 1);

    let now = Timestamp::now();
    let by_number = json!({ "phoneNumbers": [person.phone] });
    let first = s.forget_in_grace(by_number.clone(), now).await;
    let second = s
        .forget_in_grace(json!({ "customerIds": [person.customer_id] }), now)
        .await;
    assert!(s.records(&by_interaction).await.is_empty());

    // Undo the first: the second still holds the record.
    let undo = s.file("UNDO_FORGET", by_number, false).await;
    assert_eq!(s.run(&undo, now).await["status"], "completed");
    assert_eq!(s.request(&first).await["status"], "undone");
    assert!(
        s.records(&by_interaction).await.is_empty(),
        "still held by the second FORGET"
    );

    // BOFE pairs the held interaction again: refused, and nothing comes back into view.
    let again = s
        .pairing
        .post_json(
            "/customers/supportInteraction",
            BOFE,
            &json!({ "customerId": person.customer_id, "interactionId": interaction }),
        )
        .await;
    let problem = assert_problem(again, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("GDPR"), "{problem}");
    let pairing = s
        .pairing
        .get(&format!("/customers/supportInteraction/{interaction}"), BOFE)
        .await;
    assert_eq!(pairing.status().as_u16(), 404);
    assert!(s.records(&by_interaction).await.is_empty());

    // The second's purge deletes the record (and the pairing) for good.
    assert_eq!(
        rows_holding(&s.pairing, "interaction_customers", &interaction).await,
        1,
        "held, still there"
    );
    let (request, _) = s.run_while(&second, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(rows_holding(&s.writer, "communication_records", &interaction).await, 0);
    assert_eq!(rows_holding(&s.pairing, "interaction_customers", &interaction).await, 0);
    // The first, undone, is never purged and holds nothing.
    assert_eq!(s.request(&first).await["status"], "undone");
}

/// A request by `genesysUserIds` finds what ccbridge holds of the agent; forgetting them keeps the
/// customers' records and hides the agent on them; undo brings the agent back; the purge blanks.
#[tokio::test]
async fn an_agent_is_a_data_subject_and_the_customers_records_stay() {
    let s = stack().await;
    let (one, two) = (Person::new(), Person::new());
    let (x1, x2) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    s.pair(&one.customer_id, &x1).await;
    s.record(&x1, &format!("tel:{}", one.phone)).await;
    s.record(&x2, &format!("tel:{}", two.phone)).await;
    let agent = json!({ "genesysUserIds": [JANA] });

    let (request, bundle) = s.export(agent.clone()).await;
    assert_eq!(request["counts"]["count.agentCommunications"], 2, "{request}");
    assert_eq!(request["counts"]["count.agentWebhookResults"], 2, "{request}");
    assert_eq!(request["counts"]["count.communications"], 0);
    let handled = &bundle["data"]["comm-history-writer"]["agentCommunications"];
    assert_eq!(
        interactions_of(handled, "interactionId"),
        sorted(vec![x1.clone(), x2.clone()])
    );
    assert!(handled.as_array().unwrap().iter().all(|r| r["genesysUserId"] == JANA));
    let results = &bundle["data"]["result-ingest"]["agentWebhookResults"];
    assert_eq!(results.as_array().unwrap().len(), 2);
    // The agent's part only: no customer's number, name or customer id in their export.
    let text = bundle.to_string();
    for customer_data in [&one.digits, &two.digits, &one.customer_id] {
        assert!(!text.contains(customer_data.as_str()), "{text}");
    }
    assert!(bundle["manifest"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "comm-history-writer/agentCommunications.json"));

    // A result the agent handled, accepted before the forget, still waiting for the worker.
    let x3 = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        s.deliver(&webhook(&x3, &format!("tel:{}", two.phone), "2026-11-20T09:41:07.512Z"))
            .await
            .status()
            .as_u16(),
        202
    );

    // FORGET the agent: the customer's record stays, without the agent.
    let now = Timestamp::now();
    let id = s.forget_in_grace(agent.clone(), now).await;
    let records = s.records(&format!("customerId={}", one.customer_id)).await;
    assert_eq!(records.len(), 1, "the customer's record is kept");
    assert_eq!(records[0]["bankUserName"], Value::Null);
    assert_eq!(records[0]["genesysUserId"], Value::Null);
    assert_eq!(records[0]["purpose"], "Sale completed");
    // The waiting result becomes its customer's record, written without the agent.
    s.drain_ingest().await;
    let late = s.records(&format!("interactionId={x3}")).await;
    assert_eq!(late.len(), 1);
    assert_eq!(
        (&late[0]["bankUserName"], &late[0]["genesysUserId"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(late[0]["purpose"], "Sale completed");

    // Undo: the agent is back on the records.
    let undo = s.file("UNDO_FORGET", agent.clone(), false).await;
    assert_eq!(s.run(&undo, now).await["status"], "completed");
    let records = s.records(&format!("customerId={}", one.customer_id)).await;
    assert_eq!(records[0]["bankUserName"], "Jana Nováková");
    assert_eq!(records[0]["genesysUserId"], JANA);
    assert_eq!(s.request(&id).await["status"], "undone");
    // A record written while the agent was hidden stays without them (docs/security.md).
    assert_eq!(
        s.records(&format!("interactionId={x3}")).await[0]["bankUserName"],
        Value::Null
    );

    // Forget again and purge: the records stay, the agent is blanked in them and in the inbox.
    let id = s.forget_in_grace(agent, now).await;
    let (request, _) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let records = s.records(&format!("customerId={}", one.customer_id)).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["bankUserName"], Value::Null);
    for app in [&s.writer, &s.ingest] {
        let kept = test_support::dump_tables(app.pool()).await;
        for table in ["communication_records", "inbox_events"] {
            let holding: Vec<&String> = kept
                .iter()
                .filter(|l| l.starts_with(&format!("{table}: ")) && (l.contains(JANA) || l.contains("Jana Nov")))
                .collect();
            assert!(holding.is_empty(), "the agent is still in {table}: {holding:?}");
        }
    }
}

/// Genesys may store a national number (`tel:601…`): a request giving the number with its
/// country code still finds it, through the configured default region.
#[tokio::test]
async fn a_national_number_is_found_by_its_international_form() {
    let s = stack().await;
    let national = format!("601{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
    let interaction = uuid::Uuid::new_v4().to_string();
    s.record(&interaction, &format!("tel:{national}")).await;
    let (request, bundle) = s.export(json!({ "phoneNumbers": [format!("+420{national}")] })).await;
    assert_eq!(request["counts"]["count.communications"], 1, "{request}");
    assert_eq!(request["counts"]["count.webhookResults"], 1, "{request}");
    assert_eq!(
        interactions_of(
            &bundle["data"]["comm-history-writer"]["communications"],
            "interactionId"
        ),
        vec![interaction]
    );
    // And a national number in the request is read in the same region.
    let (request, _) = s.export(json!({ "phoneNumbers": [national.clone()] })).await;
    assert_eq!(request["counts"]["count.communications"], 1);
    assert_not_logged(&[&national]);
}

/// Four eyes: the person who filed a FORGET cannot confirm it; another can; the audit log names
/// both, and the client they came through.
#[tokio::test]
async fn a_forget_is_confirmed_by_another_person_than_its_filer() {
    let s = stack().await;
    let person = Person::new();
    let filed = s
        .file_as(
            "FORGET",
            json!({ "phoneNumbers": [person.phone] }),
            false,
            Some("Alice"),
        )
        .await;
    assert_eq!(filed.status().as_u16(), 201);
    let filed: Value = filed.json().await.unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["requestedBy"], "Alice");
    assert_eq!(filed["requestedVia"], DPO);
    s.run(&id, Timestamp::now()).await;

    let refused = assert_problem(s.confirm_as(&id, Some("Alice")).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("four eyes"), "{refused}");
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");
    // A client that may not delegate cannot name anyone.
    let not_delegating = s
        .ingest
        .client
        .get(s.ingest.url("/ingest/events?status=dead"))
        .bearer_auth(s.ingest.token(crate::helpers::OPERATOR))
        .header("X-Acting-User", "Alice")
        .send()
        .await
        .unwrap();
    assert_problem(not_delegating, 403).await;

    let confirmed = s.confirm_as(&id, Some("Bob")).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(
        (confirmed["confirmedBy"].as_str(), confirmed["confirmedVia"].as_str()),
        (Some("Bob"), Some(DPO))
    );

    let audit: Value = s
        .orchestrator
        .get(&format!("/gdpr/requests/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["chainVerified"], true);
    let by_event = |event: &str| -> Vec<(String, String)> {
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| {
                (
                    e["actor"].as_str().unwrap().to_owned(),
                    e["caller"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(by_event("received"), [("Alice".to_owned(), DPO.to_owned())]);
    assert_eq!(by_event("confirmation_refused"), [("Alice".to_owned(), DPO.to_owned())]);
    assert_eq!(by_event("confirmed"), [("Bob".to_owned(), DPO.to_owned())]);
}

/// A participant call that gdpr-orchestrator did not sign, whatever request id it names and
/// whoever sends it, changes nothing.
#[tokio::test]
async fn a_forged_forget_is_refused_whoever_sends_it() {
    let s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let before = s.dump_participants().await;
    let call = json!({ "subject": { "phoneNumbers": [person.phone] } });
    for app in [&s.writer, &s.ingest, &s.pairing] {
        for action in ["forget", "purge"] {
            let path = format!("/internal/gdpr/requests/{}/{action}", uuid::Uuid::now_v7());
            // result-ingest's token: it holds no participant scope on any service.
            let with_ingest_token = app
                .client
                .post(app.url(&path))
                .bearer_auth(crate::helpers::INGEST_TOKEN)
                .json(&call)
                .send()
                .await
                .unwrap();
            assert_problem(
                with_ingest_token,
                if app.address == s.ingest.address { 401 } else { 403 },
            )
            .await;
            // The orchestrator's own token, without its signature.
            let unsigned = app.post_json(&path, ORCHESTRATOR_CALLER, &call).await;
            let problem = assert_problem(unsigned, 403).await;
            assert!(problem["detail"].as_str().unwrap().contains("not signed"), "{problem}");
        }
    }
    assert_eq!(s.dump_participants().await, before, "nothing changed");
    let logs = crate::helpers::logs();
    assert!(
        logs.contains("GDPR participant call refused: not signed by gdpr-orchestrator"),
        "the refusal is logged"
    );
    assert_not_logged(&[&person.digits]);
}

/// An UNDO_FORGET filed as the grace window ends races the purge: one of them wins, the other is
/// refused or sees the result, and nothing is half restored and half purged. The worker's clock
/// is the test's (past the window); the undo decides on the database's (inside it). Each order is
/// played on purpose (undo first, purge first) and asserted, then both at once, where either may
/// win.
#[tokio::test]
async fn an_undo_racing_the_purge_is_one_or_the_other() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Order {
        UndoFirst,
        PurgeFirst,
        AtOnce,
    }
    let s = stack().await;
    let mut won = std::collections::BTreeMap::<&str, usize>::new();
    let orders = [Order::UndoFirst, Order::PurgeFirst]
        .into_iter()
        .cycle()
        .take(4)
        .chain([Order::AtOnce; 6]);
    for order in orders {
        let person = Person::new();
        let interaction = uuid::Uuid::new_v4().to_string();
        s.pair(&person.customer_id, &interaction).await;
        s.record(&interaction, &format!("tel:{}", person.phone)).await;
        let subject = json!({ "customerIds": [person.customer_id] });
        let now = Timestamp::now();
        let forget = s.forget_in_grace(subject.clone(), now).await;
        let past_the_window = after(now, 25 * 3600);
        let undo = match order {
            Order::UndoFirst => {
                let undo = s.file_as("UNDO_FORGET", subject.clone(), false, None).await;
                s.worker.drain(past_the_window).await.unwrap();
                undo
            }
            Order::PurgeFirst => {
                s.worker.drain(past_the_window).await.unwrap();
                s.file_as("UNDO_FORGET", subject.clone(), false, None).await
            }
            Order::AtOnce => {
                let (undo, drained) = tokio::join!(
                    s.file_as("UNDO_FORGET", subject.clone(), false, None),
                    s.worker.drain(past_the_window)
                );
                drained.unwrap();
                undo
            }
        };
        let undo_status = undo.status().as_u16();
        let undo_body: Value = undo.json().await.unwrap();
        // Let whichever won finish.
        if let Some(undo_id) = undo_body["id"].as_str() {
            s.run(undo_id, now).await;
        }
        let (forget_request, _) = s.run_while(&forget, "purging", past_the_window, 20).await;
        let records = s.records(&format!("interactionId={interaction}")).await;
        let pairing = s
            .pairing
            .get(&format!("/customers/supportInteraction/{interaction}"), BOFE)
            .await
            .status()
            .as_u16();
        let stored = rows_holding(&s.writer, "communication_records", &interaction).await;
        let winner = match undo_status {
            201 => {
                assert_eq!(forget_request["status"], "undone", "{forget_request}");
                assert_eq!(records.len(), 1, "restored");
                assert_eq!(pairing, 200);
                "undo"
            }
            409 => {
                assert!(
                    undo_body["detail"].as_str().unwrap().contains("purge"),
                    "the refusal says why: {undo_body}"
                );
                assert_eq!(forget_request["status"], "completed", "{forget_request}");
                assert_eq!((records.len(), stored, pairing), (0, 0, 404), "purged");
                "purge"
            }
            other => panic!("the UNDO answered {other}: {undo_body}"),
        };
        match order {
            Order::UndoFirst => assert_eq!(winner, "undo", "an undo inside the window comes first"),
            Order::PurgeFirst => assert_eq!(winner, "purge", "a purge under way refuses the undo"),
            Order::AtOnce => {}
        }
        *won.entry(winner).or_default() += 1;
    }
    eprintln!("won: {won:?}");
    assert!(won["undo"] >= 2 && won["purge"] >= 2, "each order happened: {won:?}");
}

/// An unconfirmed FORGET expires after `gdpr.confirmation_timeout_days`, and its subject goes.
#[tokio::test]
async fn an_unconfirmed_forget_expires_and_its_subject_is_erased() {
    let s = stack().await;
    let person = Person::new();
    let id = s.file("FORGET", json!({ "phoneNumbers": [person.phone] }), false).await;
    let now = Timestamp::now();
    assert_eq!(s.run(&id, now).await["status"], "awaiting_confirmation");
    s.worker.drain(after(now, 99 * 86_400)).await.unwrap();
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");
    s.worker.drain(after(now, 101 * 86_400)).await.unwrap();
    let request = s.request(&id).await;
    assert_eq!(request["status"], "expired", "{request}");
    assert!(request["identifiersErasedAt"].is_string());
    assert_eq!(request["reference"], Value::Null);
    let orchestrator = test_support::dump_tables(s.orchestrator.pool()).await;
    assert!(
        !orchestrator.iter().any(|l| l.contains(&person.digits)),
        "the subject is erased"
    );
    assert!(
        !orchestrator
            .iter()
            .any(|l| l.starts_with("gdpr_requests: ") && l.contains("CASE-4711")),
        "so is the case reference"
    );
    let confirm = assert_problem(s.confirm(&id).await, 409).await;
    assert!(confirm["detail"].as_str().unwrap().contains("expired"), "{confirm}");
}

/// An export's data is sealed at rest, and every download of its bundle is audited.
#[tokio::test]
async fn export_bundles_are_sealed_at_rest_and_downloads_audited() {
    let s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let (request, bundle) = s.export(json!({ "phoneNumbers": [person.phone] })).await;
    assert!(bundle.to_string().contains(&person.digits), "the bundle holds the data");
    let id = request["id"].as_str().unwrap();
    let stored = test_support::dump_tables(s.orchestrator.pool()).await;
    let steps: Vec<&String> = stored.iter().filter(|l| l.starts_with("gdpr_steps: ")).collect();
    assert!(steps.iter().any(|l| l.contains("aes256gcm:")), "{steps:?}");
    assert!(
        !steps
            .iter()
            .any(|l| l.contains(&person.digits) || l.contains("webhookResults\":[")),
        "no export data in the clear"
    );
    s.bundle(id).await;
    let downloads = s
        .audit(id)
        .await
        .iter()
        .filter(|e| e["event"] == "bundle_downloaded")
        .count();
    assert_eq!(downloads, 2);
}

/// A stored status no code knows is an error (an opaque 500, logged), never read as a default.
#[tokio::test]
async fn an_unknown_stored_status_is_an_error_not_a_default() {
    let s = stack().await;
    let id = s
        .file("EXPORT", json!({ "phoneNumbers": [Person::new().phone] }), true)
        .await;
    let sql = format!("UPDATE gdpr_requests SET status = 'nonsense' WHERE id = '{id}'");
    s.orchestrator
        .pool()
        .run(move |c| {
            diesel::sql_query(sql)
                .execute(c)
                .map_err(service_kit::problem::ApiError::from)
        })
        .await
        .unwrap();
    let response = s.orchestrator.get(&format!("/gdpr/requests/{id}"), DPO).await;
    let problem = assert_problem(response, 500).await;
    assert!(problem.get("detail").is_none(), "opaque: {problem}");
    // The worker takes it up as nothing, and its pass fails loudly on it.
    assert!(s.worker.drain(Timestamp::now()).await.is_err());
}

/// Every change of a request is made over the version its writer read: a writer that read before
/// another wrote changes nothing, and a worker whose lease another worker took over saves nothing.
#[tokio::test]
async fn a_stale_copy_of_a_request_is_never_saved() {
    use contracts::gdpr::RequestStatus;
    use gdpr_orchestrator::queue::GdprRequests;
    use gdpr_orchestrator::store::{self, StoreError};
    use service_kit::queue::Storage as _;
    let s = stack().await;
    let id = s
        .file("EXPORT", json!({ "phoneNumbers": [Person::new().phone] }), false)
        .await;
    let id = uuid::Uuid::parse_str(&id).unwrap();
    let outcome = s
        .orchestrator
        .pool()
        .run(move |c| {
            let mut first = store::find_request(c, id)?.unwrap();
            let mut second = first.clone();
            first.status = RequestStatus::Blocked;
            store::save_request(c, &mut first)
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
            second.status = RequestStatus::Counting;
            let stale = matches!(store::save_request(c, &mut second), Err(StoreError::Stale));
            // A claim moves the version on too: a worker holding an older copy saves nothing.
            let now = domain::Timestamp::now();
            let claim = service_kit::queue::Claim {
                now,
                limit: 1,
                lease_until: crate::helpers::after(now, 60),
            };
            let claimed = GdprRequests.claim(c, claim)?.first().map(|entry| entry.id);
            let after_claim = matches!(store::save_request(c, &mut first), Err(StoreError::Stale));
            let stored = store::find_request(c, id)?.unwrap();
            Ok::<_, diesel::result::Error>((stale, claimed, after_claim, stored.status))
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(outcome, (true, Some(id), true, RequestStatus::Blocked));
}

/// An interaction shared by two customers (the caller acted for both): forgetting one hides that
/// customer's pairing and record only; the other's stay; undo brings them back.
#[tokio::test]
async fn forgetting_one_customer_of_a_shared_interaction_keeps_the_others() {
    let s = stack().await;
    let (a, b) = (Person::new(), Person::new());
    let interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&a.customer_id, &interaction).await;
    s.pair(&b.customer_id, &interaction).await;
    s.record(&interaction, &format!("tel:{}", a.phone)).await;
    let by_interaction = format!("interactionId={interaction}");
    assert_eq!(s.records(&by_interaction).await.len(), 2, "one record per customer");

    let now = Timestamp::now();
    let forget = s.forget_in_grace(json!({ "customerIds": [a.customer_id] }), now).await;
    let left = s.records(&by_interaction).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["customerId"], b.customer_id.as_str());
    let pairing: Value = s
        .pairing
        .get(&format!("/customers/supportInteraction/{interaction}"), BOFE)
        .await
        .json()
        .await
        .unwrap();
    let customers: Vec<&Value> = pairing["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customerId"])
        .collect();
    assert_eq!(customers, [&json!(b.customer_id)], "A's pairing is hidden, B's stays");

    let undo = s
        .file("UNDO_FORGET", json!({ "customerIds": [a.customer_id] }), false)
        .await;
    assert_eq!(s.run(&undo, now).await["status"], "completed");
    assert_eq!(s.request(&forget).await["status"], "undone");
    assert_eq!(s.records(&by_interaction).await.len(), 2);
}

/// A stack delivering to a stand-in manager, and a customer's record (of an interaction paired
/// with them) delivered there: the manager, the stack, the customer as a subject, the record.
async fn a_customers_record_at_the_manager() -> (test_support::HistoryManager, crate::helpers::Stack, Value, Value) {
    let manager = test_support::HistoryManager::start(true);
    let s = crate::helpers::stack_delivering_to(&manager.url).await;
    let a = Person::new();
    let interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&a.customer_id, &interaction).await;
    s.record(&interaction, &format!("tel:{}", a.phone)).await;
    assert_eq!(s.delivery_worker().drain(Timestamp::now()).await.unwrap().done, 1);
    assert_eq!(manager.records().len(), 1);
    let record = s.records(&format!("interactionId={interaction}")).await[0].clone();
    (manager, s, json!({ "customerIds": [a.customer_id] }), record)
}

#[tokio::test]
async fn an_export_and_a_forgets_purge_name_the_records_delivered_to_the_banks_manager() {
    let (_manager, s, subject, record) = a_customers_record_at_the_manager().await;
    let record = &record;
    let (_, bundle) = s.export(subject.clone()).await;
    let delivered = &bundle["data"]["comm-history-writer"]["communicationHistoryManagerDeliveries"];
    assert_eq!(delivered.as_array().unwrap().len(), 1, "{bundle}");
    assert_eq!(delivered[0]["recordId"], record["id"]);
    assert_eq!(delivered[0]["externalId"], "chm-1");

    // A forget erases nothing, so it lists nothing to erase at the manager; the purge lists the
    // copies of exactly the records it erased.
    let now = Timestamp::now();
    let forget = s.forget_in_grace(subject, now).await;
    let step_of = |request: &Value, phase: &str| {
        request["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|step| step["phase"] == phase && step["participant"] == "comm-history-writer")
            .cloned()
            .unwrap()
    };
    let in_grace = step_of(&s.request(&forget).await, "forget");
    assert!(in_grace.get("toEraseElsewhere").is_none(), "{in_grace}");
    let (request, _) = s.run_while(&forget, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let step = step_of(&request, "purge");
    let to_erase = step["toEraseElsewhere"].as_array().unwrap();
    assert_eq!(to_erase.len(), 1, "{step}");
    assert_eq!(to_erase[0]["system"], "communication-history-manager");
    assert_eq!(to_erase[0]["recordId"], record["id"]);
    assert_eq!(to_erase[0]["externalId"], "chm-1");
    assert!(to_erase[0]["deliveredAt"].is_string());
}

/// A restriction erases nothing: it tells the bank to restrict at its manager the copies of the
/// records it restricted (GDPR Art. 19), never to erase them.
#[tokio::test]
async fn a_restriction_names_the_records_delivered_to_the_banks_manager_to_restrict_there() {
    let (manager, s, subject, record) = a_customers_record_at_the_manager().await;
    let id = s.file("RESTRICT", subject, false).await;
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "restricted", "{request}");
    let steps = request["participants"].as_array().unwrap();
    assert!(
        steps.iter().all(|step| step.get("toEraseElsewhere").is_none()),
        "{request}"
    );
    let step = steps
        .iter()
        .find(|step| step["phase"] == "restrict" && step["participant"] == "comm-history-writer")
        .unwrap();
    let to_restrict = step["toRestrictElsewhere"].as_array().unwrap();
    assert_eq!(to_restrict.len(), 1, "{step}");
    assert_eq!(to_restrict[0]["system"], "communication-history-manager");
    assert_eq!(to_restrict[0]["recordId"], record["id"]);
    assert_eq!(to_restrict[0]["externalId"], "chm-1");
    assert_eq!(manager.records().len(), 1, "nothing asked of the manager itself");
}
