//! RESTRICT and LIFT_RESTRICTION (GDPR Art. 18) over the whole stack: a restriction hides the
//! subject's data from every back-office read as a FORGET does, erases nothing, leaves later data
//! alone and still exports what it hides; a FORGET's undo does not lift it; a second person's
//! confirmation of a LIFT_RESTRICTION does, and everything shows again exactly as before.

use crate::helpers::{after, assert_not_logged, stack, webhook, Person, Stack, BOFE, DPO, REVIEWER};
use domain::Timestamp;
use serde_json::{json, Value};

/// The person who files the lift (through the DPO tool, by name: development's four eyes).
const FILER: &str = "Alice DPO";

/// A subject with a record the bank paired to them (I1), an unassigned one from their number
/// (I2, which that record's handle suggests them for), and a neighbour's paired record.
struct Known {
    person: Person,
    neighbour: Person,
    interactions: [String; 2],
    /// The subject's records, by id.
    records: Vec<String>,
}

async fn known_subject(s: &Stack) -> Known {
    let person = Person::new();
    let neighbour = person.neighbour();
    let interactions = [(); 2].map(|()| uuid::Uuid::new_v4().to_string());
    s.pair(&person.customer_id, &interactions[0]).await;
    s.record(&interactions[0], &format!("tel:{}", person.phone)).await;
    s.record(&interactions[1], &format!("sip:{}@10.0.0.7;user=phone", person.phone))
        .await;
    let neighbour_interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&neighbour.customer_id, &neighbour_interaction).await;
    s.record(&neighbour_interaction, &format!("tel:{}", neighbour.phone))
        .await;
    let mut records = Vec::new();
    for interaction in &interactions {
        for record in s.records(&format!("interactionId={interaction}")).await {
            records.push(record["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(records.len(), 2);
    Known {
        person,
        neighbour,
        interactions,
        records,
    }
}

fn subject(known: &Known) -> Value {
    json!({ "customerIds": [known.person.customer_id], "phoneNumbers": [known.person.phone] })
}

/// The unassigned records of `interaction`, each with its suggestions.
async fn unassigned(s: &Stack, interaction: &str) -> Vec<Value> {
    let response = s.writer.get("/communicationRecords/unassigned?limit=200", BOFE).await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["interactionId"] == interaction)
        .cloned()
        .collect()
}

/// Every back-office read of the subject's data: records by customer, by interaction and one by
/// one, the unassigned listing with its suggestions, the pairing (alone and in a lookup).
async fn reads(s: &Stack, known: &Known) -> Vec<Value> {
    let mut seen = s.records(&format!("customerId={}", known.person.customer_id)).await;
    for interaction in &known.interactions {
        seen.extend(s.records(&format!("interactionId={interaction}")).await);
        seen.extend(unassigned(s, interaction).await);
    }
    for id in &known.records {
        let record = s.writer.get(&format!("/communicationRecords/{id}"), BOFE).await;
        if record.status().as_u16() == 200 {
            seen.push(record.json().await.unwrap());
        }
    }
    seen.extend(s.pairings(&known.interactions).await);
    seen
}

/// What an EXPORT of the subject bundles about the known interactions, per participant and
/// category.
async fn exported(s: &Stack, known: &Known) -> Vec<String> {
    let (request, bundle) = s.export(subject(known)).await;
    assert_eq!(request["status"], "completed", "{request}");
    let mut found = Vec::new();
    for (participant, categories) in bundle["data"].as_object().unwrap() {
        for (category, items) in categories.as_object().unwrap() {
            for item in items.as_array().unwrap() {
                let text = item.to_string();
                if known.interactions.iter().any(|i| text.contains(i.as_str())) {
                    found.push(format!("{participant}/{category}: {text}"));
                }
            }
        }
    }
    found.sort();
    found
}

/// The customers the unassigned record of `interaction` suggests.
async fn suggested(s: &Stack, interaction: &str) -> Vec<Value> {
    let items = unassigned(s, interaction).await;
    assert_eq!(items.len(), 1, "{items:?}");
    items[0]["suggestions"]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].clone())
        .collect()
}

/// `POST /gdpr/requests/{id}/lift` through the DPO tool as `person`.
async fn lift_as(s: &Stack, id: &str, person: &str, reference: &str) -> reqwest::Response {
    s.orchestrator
        .client
        .post(s.orchestrator.url(&format!("/gdpr/requests/{id}/lift")))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", person)
        .json(&json!({ "reference": reference }))
        .send()
        .await
        .unwrap()
}

fn events(audit: &[Value]) -> Vec<&str> {
    audit.iter().map(|e| e["event"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_restriction_hides_without_erasing_still_exports_and_a_second_person_lifts_it() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let before = reads(&s, &known).await;
    assert_eq!(
        before.len(),
        1 + 2 + 1 + 1 + 2 + 1,
        "by customer, by interaction (two), unassigned (one), the pairing, one by one (two), the lookup: {before:?}"
    );
    assert_eq!(
        suggested(&s, &known.interactions[1]).await,
        [json!(known.person.customer_id)]
    );
    let exported_before = exported(&s, &known).await;
    assert!(
        exported_before.len() >= 4,
        "records, the pairing and the results: {exported_before:?}"
    );
    let neighbour_records = s.records(&format!("customerId={}", known.neighbour.customer_id)).await;
    let everything_before = s.dump_participants().await;
    let now = Timestamp::now();

    // RESTRICT: counted, then hidden everywhere at once; answered (`restricted`), lift offered.
    let id = s.file("RESTRICT", subject(&known), false).await;
    let request = s.run(&id, now).await;
    assert_eq!(request["status"], "restricted", "{request}");
    assert_eq!(request["counts"]["count.communications"], 2, "{request}");
    assert_eq!(request["counts"]["restrict.communications"], 2, "{request}");
    assert_eq!(request["counts"]["restrict.pairings"], 1, "{request}");
    assert_eq!(request["overdue"], false);
    assert!(request["completedAt"].is_string(), "{request}");
    assert_eq!(request["allowedActions"], json!(["lift"]), "{request}");
    let genesys = request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "restrict" && p["participant"] == "genesys-cloud")
        .unwrap();
    assert_eq!(genesys["state"], "done");
    assert!(genesys["detail"].as_str().unwrap().contains("by hand"), "{genesys}");
    assert!(reads(&s, &known).await.is_empty(), "restricted data is read");
    assert_eq!(
        s.records(&format!("customerId={}", known.neighbour.customer_id)).await,
        neighbour_records
    );
    // Nothing was erased (every row naming the subject is still there), nothing suppressed,
    // nothing asked of Genesys Cloud but the EXPORT.
    let naming = |dump: &[String]| dump.iter().filter(|l| l.contains(&known.person.digits)).count();
    let everything = s.dump_participants().await;
    assert_eq!(naming(&everything), naming(&everything_before));
    assert!(naming(&everything) >= 4, "records and results of the subject");
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_EXPORT"]);

    // The right of access stands: an EXPORT bundles exactly what it bundled before.
    assert_eq!(exported(&s, &known).await, exported_before);

    // Data that comes later is not restricted (nothing is suppressed), and the restricted
    // records suggest nobody for it.
    let later = uuid::Uuid::new_v4().to_string();
    let response = s
        .deliver(&webhook(
            &later,
            &format!("tel:{}", known.person.phone),
            &Timestamp::now().to_string(),
        ))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    s.drain_ingest().await;
    assert!(suggested(&s, &later).await.is_empty());

    // A FORGET of the subject, then its undo: the restriction stands.
    let forget = s.forget_in_grace(subject(&known), now).await;
    assert!(
        unassigned(&s, &later).await.is_empty(),
        "the FORGET hides the later record"
    );
    let undo = s
        .orchestrator
        .post_json(
            &format!("/gdpr/requests/{forget}/undo"),
            DPO,
            &json!({ "reference": "CASE-4712" }),
        )
        .await;
    assert_eq!(undo.status().as_u16(), 201);
    let undo: Value = undo.json().await.unwrap();
    let undone = s.run(undo["id"].as_str().unwrap(), now).await;
    assert_eq!(undone["status"], "completed", "{undone}");
    assert_eq!(s.request(&forget).await["status"], "undone");
    assert!(
        reads(&s, &known).await.is_empty(),
        "the FORGET's undo lifted the restriction"
    );
    assert_eq!(unassigned(&s, &later).await.len(), 1, "the later record shows again");
    assert_eq!(s.request(&id).await["status"], "restricted");

    // The lift waits for a second person; the filer cannot confirm it.
    let filed = lift_as(&s, &id, FILER, "CASE-4713").await;
    assert_eq!(filed.status().as_u16(), 201);
    let filed: Value = filed.json().await.unwrap();
    let lift = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["type"], "LIFT_RESTRICTION");
    assert_eq!(filed["status"], "awaiting_confirmation");
    assert_eq!(filed["targetRequestId"], id.as_str());
    let repeat = lift_as(&s, &id, FILER, "CASE-4713").await;
    assert_eq!(repeat.status().as_u16(), 200, "a repeated lift answers the one filed");
    let repeat: Value = repeat.json().await.unwrap();
    assert_eq!(
        (repeat["id"].as_str(), &repeat["duplicate"]),
        (Some(lift.as_str()), &json!(true))
    );
    assert_eq!(s.run(&lift, now).await["status"], "awaiting_confirmation");
    assert!(reads(&s, &known).await.is_empty(), "lifted before its confirmation");
    let refused = s.confirm_as(&lift, Some(FILER)).await;
    let problem = test_support::assert_problem(refused, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("four eyes"), "{problem}");
    let refused = s.confirm_as(&lift, None).await;
    test_support::assert_problem(refused, 403).await;
    assert!(reads(&s, &known).await.is_empty());

    // Confirmed by another person: lifted, and everything reads exactly as before.
    let confirmed = s.confirm(&lift).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let lifted = s.run(&lift, now).await;
    assert_eq!(lifted["status"], "completed", "{lifted}");
    assert_eq!(lifted["confirmedBy"], REVIEWER);
    let restrict = s.request(&id).await;
    assert_eq!(restrict["status"], "lifted", "{restrict}");
    assert_eq!(restrict["allowedActions"], json!([]), "{restrict}");
    assert_eq!(reads(&s, &known).await, before);
    assert_eq!(
        suggested(&s, &later).await,
        [json!(known.person.customer_id)],
        "the subject's records suggest them again"
    );
    let again = lift_as(&s, &id, FILER, "CASE-4714").await;
    let problem = test_support::assert_problem(again, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("lifted"), "{problem}");

    // The restriction's story: restricted, a lift asked for, lifted by the lift (the DPO tells
    // the subject before confirming one: Art. 18(3)); the lift's: the refusals, the confirmation.
    let story = s.audit(&id).await;
    let told = events(&story);
    for event in ["received", "restricted", "lift_requested", "status_changed"] {
        assert!(told.contains(&event), "{event} missing from {told:?}");
    }
    let last = story.last().unwrap();
    assert_eq!(
        (&last["event"], &last["detail"]["to"], &last["detail"]["by"]),
        (&json!("status_changed"), &json!("lifted"), &json!(lift))
    );
    let told = s.audit(&lift).await;
    let told = events(&told);
    assert!(
        told.contains(&"confirmation_refused") && told.contains(&"confirmed"),
        "{told:?}"
    );
    assert_not_logged(&[&known.person.digits, &known.person.customer_id]);
}

/// A standing restriction is answered: filing another for the subject files a new one, which
/// restricts what came since (a repeat while the first is still running answers that one).
#[tokio::test]
async fn a_second_restriction_of_a_restricted_subject_is_filed_and_hides_what_came_since() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let now = Timestamp::now();
    let first = s.file("RESTRICT", subject(&known), false).await;
    let repeat = s.file_as("RESTRICT", subject(&known), false, None).await;
    assert_eq!(repeat.status().as_u16(), 200, "while the first is still running");
    let repeat: Value = repeat.json().await.unwrap();
    assert_eq!(
        (repeat["id"].as_str(), &repeat["duplicate"]),
        (Some(first.as_str()), &json!(true))
    );
    assert_eq!(s.run(&first, now).await["status"], "restricted");

    let later = uuid::Uuid::new_v4().to_string();
    let response = s
        .deliver(&webhook(
            &later,
            &format!("tel:{}", known.person.phone),
            &now.to_string(),
        ))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    s.drain_ingest().await;
    assert_eq!(
        unassigned(&s, &later).await.len(),
        1,
        "later data is not restricted by the first"
    );

    let second = s.file_as("RESTRICT", subject(&known), false, None).await;
    assert_eq!(second.status().as_u16(), 201, "the first is answered: a new request");
    let second: Value = second.json().await.unwrap();
    let second = second["id"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(s.run(&second, now).await["status"], "restricted");
    assert!(
        unassigned(&s, &later).await.is_empty(),
        "the second hides what came since"
    );
    assert_eq!(s.request(&first).await["status"], "restricted");
}

#[tokio::test]
async fn only_a_standing_restriction_can_be_lifted_and_a_count_restricts_nothing() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let before = reads(&s, &known).await;
    let now = Timestamp::now();

    // A count: counted, nothing hidden, nothing to lift.
    let count = s.file("RESTRICT", subject(&known), true).await;
    let counted = s.run(&count, now).await;
    assert_eq!(counted["status"], "completed", "{counted}");
    assert_eq!(counted["counts"]["count.communications"], 2);
    assert_eq!(reads(&s, &known).await, before);
    test_support::assert_problem(lift_as(&s, &count, FILER, "CASE-1").await, 409).await;

    // Filed, not run yet: nothing to lift so far.
    let id = s.file("RESTRICT", subject(&known), false).await;
    let problem = test_support::assert_problem(lift_as(&s, &id, FILER, "CASE-2").await, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("once it is restricted"),
        "{problem}"
    );
    // A FORGET is not lifted, nor a LIFT_RESTRICTION filed at the door.
    let forget = s.file("FORGET", subject(&known), false).await;
    test_support::assert_problem(lift_as(&s, &forget, FILER, "CASE-3").await, 409).await;
    let refused = s
        .orchestrator
        .post_json(
            "/gdpr/requests",
            DPO,
            &json!({ "type": "LIFT_RESTRICTION", "subject": subject(&known), "reference": "CASE-4" }),
        )
        .await;
    let problem = test_support::assert_problem(refused, 422).await;
    assert!(problem.to_string().contains("/type"), "{problem}");
    assert_eq!(s.run(&id, now).await["status"], "restricted");

    // A lift nobody confirms expires (gdpr.confirmation_timeout_days); the restriction stands,
    // its subject kept for the next lift.
    let lift = lift_as(&s, &id, FILER, "CASE-5").await;
    assert_eq!(lift.status().as_u16(), 201);
    let lift: Value = lift.json().await.unwrap();
    s.worker.drain(after(now, 101 * 86_400)).await.unwrap();
    let expired = s.request(lift["id"].as_str().unwrap()).await;
    assert_eq!(expired["status"], "expired", "{expired}");
    let restrict = s.request(&id).await;
    assert_eq!(restrict["status"], "restricted", "{restrict}");
    assert!(restrict["identifiersErasedAt"].is_null(), "{restrict}");
    assert!(reads(&s, &known).await.is_empty());
    assert_eq!(lift_as(&s, &id, FILER, "CASE-5").await.status().as_u16(), 201);
}

/// `gdpr OPERATION … --as PERSON` against `s`; answers whether it succeeded, and its stdout and
/// stderr.
async fn command(s: &Stack, out: &std::path::Path, person: &str, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend([
        "-o".to_owned(),
        out.display().to_string(),
        "--as".to_owned(),
        person.to_owned(),
        "--token".to_owned(),
        s.orchestrator.token(DPO).to_owned(),
        "--url".to_owned(),
        s.orchestrator.address.clone(),
        "--poll-ms".to_owned(),
        "100".to_owned(),
        "--timeout-seconds".to_owned(),
        "60".to_owned(),
    ]);
    std::fs::create_dir_all(out).unwrap();
    let output = crate::cli::gdpr(&all.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn written(out: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("output.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn the_gdpr_command_restricts_and_a_second_person_lifts() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let before = reads(&s, &known).await;
    let running = crate::cli::run_worker(&s);
    let work = tempfile::tempdir().unwrap();

    let out = work.path().join("restrict");
    let (ok, _, stderr) = command(&s, &out, FILER, &["restrict", "-i", &known.person.customer_id]).await;
    assert!(ok, "{stderr}");
    let restrict = written(&out)["request"].clone();
    assert_eq!(restrict["status"], "restricted", "{restrict}");
    let id = restrict["id"].as_str().unwrap().to_owned();
    assert!(s
        .records(&format!("customerId={}", known.person.customer_id))
        .await
        .is_empty());

    let out = work.path().join("lift");
    let (ok, stdout, stderr) = command(&s, &out, FILER, &["lift", "-i", &id, "--reference", "CASE-9"]).await;
    assert!(ok, "{stderr}");
    let lift = written(&out)["request"].clone();
    assert_eq!(lift["status"], "awaiting_confirmation", "{lift}");
    let lift = lift["id"].as_str().unwrap().to_owned();
    assert!(stdout.contains(&format!("gdpr confirm -i {lift}")), "{stdout}");

    let out = work.path().join("own");
    let (ok, _, stderr) = command(&s, &out, FILER, &["confirm", "-i", &lift]).await;
    assert!(!ok && stderr.contains("four eyes"), "{stderr}");
    assert_eq!(s.request(&id).await["status"], "restricted");

    let out = work.path().join("confirm");
    let (ok, _, stderr) = command(&s, &out, REVIEWER, &["confirm", "-i", &lift]).await;
    assert!(ok, "{stderr}");
    assert_eq!(written(&out)["request"]["status"], "completed");
    assert_eq!(s.request(&id).await["status"], "lifted");
    assert_eq!(reads(&s, &known).await, before);
    running.abort();
}
