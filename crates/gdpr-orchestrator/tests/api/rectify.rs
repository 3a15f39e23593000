//! RECTIFY (GDPR Art. 16) over the whole stack: a replaced phone number is replaced in every
//! participant (records, webhook results, Genesys Cloud by a GDPR_UPDATE, the copies at the
//! bank's communication-history-manager; a forget's suppression of the old number stays),
//! interactions attributed to the wrong customer move to the right one, each only after a count
//! and a second person's confirmation, audited; bad replacements are refused at the door naming
//! the field, and a correction while a FORGET or a RESTRICT holds its rows is 409 (what a legal
//! hold keeps is left as it was: `rectify_evidence`).

use crate::helpers::{after, assert_not_logged, stack, stack_delivering_to, webhook, Person, Stack, BOFE, DPO};
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations};

/// Files a RECTIFY through the DPO tool as `person` (by name: development's four eyes).
async fn file_rectify(s: &Stack, subject: Value, replacement: Value, person: &str) -> reqwest::Response {
    let body = json!({ "type": "RECTIFY", "subject": subject, "replacement": replacement, "reference": "CASE-16" });
    s.orchestrator
        .client
        .post(s.orchestrator.url("/gdpr/requests"))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", person)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A RECTIFY filed by Alice, counted, refused to Alice's own confirmation, confirmed by Bob and
/// run to its end; answers the request as served.
async fn rectified(s: &Stack, subject: Value, replacement: Value) -> Value {
    let filed = file_rectify(s, subject, replacement, "Alice").await;
    assert_eq!(filed.status().as_u16(), 201);
    let filed: Value = filed.json().await.unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    let now = Timestamp::now();
    let counted = s.run(&id, now).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    // Counted, nothing changed yet; a client acting as itself is never offered the confirmation.
    let counts = counted["counts"].as_object().unwrap();
    assert!(counts.keys().all(|k| k.starts_with("count.")), "{counted}");
    assert!(
        !counted["allowedActions"]
            .as_array()
            .unwrap()
            .contains(&json!("confirm")),
        "{counted}"
    );
    let refused = assert_problem(s.confirm_as(&id, Some("Alice")).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("four eyes"), "{refused}");
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", now, 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(request["confirmedBy"], "Bob");
    // The test stack's gate is advisory: nothing waited, and the audit says so.
    let trail = s.audit(&id).await;
    let confirmed = trail.iter().find(|e| e["event"] == "confirmed").unwrap();
    assert_eq!(confirmed["detail"]["requesterVerified"], false, "{confirmed}");
    request
}

fn handles_of(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| r["customerHandle"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_replaced_number_is_replaced_everywhere_after_a_count_and_a_second_persons_confirmation() {
    let manager = test_support::HistoryManager::start(true);
    let s = stack_delivering_to(&manager.url).await;
    let person = Person::new();
    let neighbour = person.neighbour();
    let new_number = Person::new().phone;
    // A record the bank paired with the customer, one from their number nobody paired, and a
    // neighbour's: the first two reach the manager.
    let (paired, unpaired, theirs) = [(); 3].map(|()| uuid::Uuid::new_v4().to_string()).into();
    s.pair(&person.customer_id, &paired).await;
    s.record(&paired, &format!("tel:{}", person.phone)).await;
    s.record(&unpaired, &format!("sip:{}@10.0.0.7;user=phone", person.phone))
        .await;
    s.pair(&neighbour.customer_id, &theirs).await;
    s.record(&theirs, &format!("tel:{}", neighbour.phone)).await;
    assert_eq!(s.delivery_worker().drain(Timestamp::now()).await.unwrap().done, 3);

    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] });
    let replacement = json!({ "phoneNumbers": [{ "from": format!("tel:{}", person.phone), "to": new_number }] });
    let request = rectified(&s, subject, replacement).await;
    // Served without the subject or the values.
    let served = request.to_string();
    assert!(
        !served.contains(&person.digits) && !served.contains(&new_number[4..]),
        "{served}"
    );
    assert_eq!(request["counts"]["count.communications"], 2, "{request}");
    assert_eq!(request["counts"]["rectify.communications"], 2, "{request}");
    assert_eq!(request["counts"]["rectify.webhookResults"], 2, "{request}");

    // The records carry the new number (and suggest by it); the neighbour's is untouched.
    for interaction in [&paired, &unpaired] {
        let records = s.records(&format!("interactionId={interaction}")).await;
        assert_eq!(handles_of(&records), [new_number.as_str()]);
    }
    let records = s.records(&format!("interactionId={theirs}")).await;
    assert_eq!(handles_of(&records), [format!("tel:{}", neighbour.phone).as_str()]);

    // The webhook results too: an export of the customer by the new number finds both (the
    // unpaired one by the number), by the old number alone nothing.
    let (_, bundle) = s
        .export(json!({ "customerIds": [person.customer_id], "phoneNumbers": [new_number] }))
        .await;
    let results = bundle["data"]["result-ingest"]["webhookResults"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{bundle}");
    assert!(results.iter().all(|r| r["result"]["ani"] == new_number), "{bundle}");
    let (old, _) = s.export(json!({ "phoneNumbers": [person.phone] })).await;
    assert_eq!(old["counts"]["export.webhookResults"], 0, "{old}");
    assert_eq!(old["counts"]["export.communications"], 0, "{old}");

    // Genesys Cloud got one GDPR_UPDATE replacing the number; it finds the subject by the new one.
    assert_eq!(
        s.sim.gdpr_replacement_terms(),
        [json!([{ "type": "PHONE", "existingValue": person.phone, "updatedValue": new_number }])]
    );

    // The copies at the manager are corrected: each record goes again (an update superseding its
    // first delivery), with the new number.
    assert_eq!(s.delivery_worker().drain(Timestamp::now()).await.unwrap().done, 2);
    let at_manager: Vec<Value> = manager.records().into_values().collect();
    let corrected: Vec<&Value> = at_manager
        .iter()
        .filter(|r| r["customerHandle"] == new_number)
        .collect();
    assert_eq!(corrected.len(), 2, "{at_manager:?}");
    assert!(corrected.iter().all(|r| r["supersedes"].is_string()), "{corrected:?}");

    // Suggestions follow: a later call from the new number is suggested for the customer, whose
    // paired record now carries it.
    let later = uuid::Uuid::new_v4().to_string();
    s.record(&later, &format!("tel:{new_number}")).await;
    let response = s.writer.get("/communicationRecords/unassigned?limit=200", BOFE).await;
    let page: Value = response.json().await.unwrap();
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["interactionId"] == later.as_str())
        .unwrap_or_else(|| panic!("{page}"));
    let suggested: Vec<&Value> = item["suggestions"]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customerId"])
        .collect();
    assert_eq!(suggested, [&json!(person.customer_id)], "{item}");

    let id = request["id"].as_str().unwrap();
    let events: Vec<String> = s
        .audit(id)
        .await
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    for event in ["received", "confirmed", "completed"] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
    assert_not_logged(&[&person.digits, &new_number[4..]]);
}

#[tokio::test]
async fn a_customer_correction_moves_the_named_interactions_to_the_right_customer() {
    let manager = test_support::HistoryManager::start(true);
    let s = stack_delivering_to(&manager.url).await;
    let (wrong, right) = (Person::new(), Person::new());
    let (moved, stays) = [(); 2].map(|()| uuid::Uuid::new_v4().to_string()).into();
    s.pair(&wrong.customer_id, &moved).await;
    s.record(&moved, &format!("tel:{}", right.phone)).await;
    s.pair(&wrong.customer_id, &stays).await;
    s.record(&stays, &format!("tel:{}", wrong.phone)).await;
    assert_eq!(s.delivery_worker().drain(Timestamp::now()).await.unwrap().done, 2);

    let subject = json!({ "customerIds": [wrong.customer_id] });
    let replacement = json!({ "customer": { "interactionIds": [moved], "to": right.customer_id } });
    let request = rectified(&s, subject, replacement).await;
    // The count is of what the correction changes: the interaction that stays is not in it.
    assert_eq!(request["counts"]["count.pairings"], 1, "{request}");
    assert_eq!(request["counts"]["count.communications"], 1, "{request}");
    assert_eq!(request["counts"]["rectify.pairings"], 1, "{request}");
    assert_eq!(request["counts"]["rectify.communications"], 1, "{request}");
    assert_eq!(request["counts"]["rectify.genesysRequests"], 0, "{request}");

    let customer_of = |records: Vec<Value>| -> Vec<String> {
        records
            .iter()
            .map(|r| r["customerId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        customer_of(s.records(&format!("interactionId={moved}")).await),
        std::slice::from_ref(&right.customer_id)
    );
    assert_eq!(
        customer_of(s.records(&format!("interactionId={stays}")).await),
        std::slice::from_ref(&wrong.customer_id)
    );
    assert_eq!(s.records(&format!("customerId={}", wrong.customer_id)).await.len(), 1);
    let pairing: Value = s
        .pairing
        .get(&format!("/customers/supportInteraction/{moved}"), BOFE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pairing["customerId"], right.customer_id.as_str(), "{pairing}");
    let customers: Vec<&Value> = pairing["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customerId"])
        .collect();
    assert_eq!(customers, [&json!(right.customer_id)], "{pairing}");
    assert!(
        s.sim.gdpr_replacement_terms().is_empty(),
        "Genesys Cloud holds no bank customer ids"
    );
    assert_eq!(s.delivery_worker().drain(Timestamp::now()).await.unwrap().done, 1);
    let at_manager: Vec<Value> = manager.records().into_values().collect();
    let corrected: Vec<&Value> = at_manager
        .iter()
        .filter(|r| r["customerId"] == right.customer_id.as_str())
        .collect();
    assert_eq!(corrected.len(), 1, "{at_manager:?}");
    assert_eq!(corrected[0]["interactionId"], moved.as_str());
}

/// A RECTIFY never moves a forget's suppression: a late delivery of a result from before the
/// forget still carrying the old number (Genesys Cloud's conversations keep the number the call
/// came from) stays out after the number is corrected: an erasure stays erased. Nothing
/// suppresses the new number's results (whoever held it before keeps them).
#[tokio::test]
async fn a_forgets_suppression_of_the_replaced_number_stays() {
    let s = stack().await;
    let person = Person::new();
    let new_number = Person::new().phone;
    let interaction = uuid::Uuid::new_v4().to_string();
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    let subject = json!({ "phoneNumbers": [person.phone] });
    forgotten(&s, subject.clone()).await;

    let replacement = json!({ "phoneNumbers": [{ "from": person.phone, "to": new_number }] });
    rectified(&s, subject, replacement).await;

    let late_interaction = uuid::Uuid::new_v4().to_string();
    let s = &s;
    let deliver = |ani: String| {
        let body = webhook(&late_interaction, &ani, "2026-11-20T09:41:07.512Z");
        async move {
            let response = s.deliver(&body).await;
            assert!(response.status().is_success());
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(deliver(format!("tel:{}", person.phone)).await["suppressed"], true);
    assert_eq!(deliver(format!("tel:{new_number}")).await["suppressed"], false);
}

/// A FORGET filed, confirmed and purged (its grace window passed): `completed`.
async fn forgotten(s: &Stack, subject: Value) {
    let now = Timestamp::now();
    let id = s.forget_in_grace(subject, now).await;
    let (request, _) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
}

/// A refusal because something stands in the correction's way: 409, saying why, naming nobody.
async fn refused_in_the_way(response: reqwest::Response, why: &str, identifiers: &[&str]) {
    let problem = assert_problem(response, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains(why), "{problem}");
    for identifier in identifiers {
        assert!(!problem.to_string().contains(identifier), "{problem}");
    }
}

/// Interaction `moved` of customer `wrong`, to move to `right`.
async fn misattributed(s: &Stack) -> (Person, Person, String) {
    let (wrong, right) = (Person::new(), Person::new());
    let moved = uuid::Uuid::new_v4().to_string();
    s.pair(&wrong.customer_id, &moved).await;
    s.record(&moved, &format!("tel:{}", right.phone)).await;
    (wrong, right, moved)
}

/// A customer correction never hands another request's rows over: while a FORGET of the
/// customer is in its grace window, moving its interaction to another customer is refused at
/// the door; the interaction stays where the FORGET holds it.
#[tokio::test]
async fn a_customer_correction_is_refused_while_a_forget_of_the_customer_holds_its_rows() {
    let s = stack().await;
    let (wrong, right, moved) = misattributed(&s).await;
    s.forget_in_grace(json!({ "customerIds": [wrong.customer_id] }), Timestamp::now())
        .await;
    let replacement = json!({ "customer": { "interactionIds": [moved], "to": right.customer_id } });
    let subject = json!({ "customerIds": [wrong.customer_id] });
    refused_in_the_way(
        file_rectify(&s, subject, replacement, "Alice").await,
        "FORGET",
        &[&wrong.customer_id, &right.customer_id, &moved],
    )
    .await;
    let listed: Value = s.orchestrator.get("/gdpr/requests", DPO).await.json().await.unwrap();
    let types: Vec<&Value> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["type"])
        .collect();
    assert_eq!(types, [&json!("FORGET")], "no RECTIFY was filed: {listed}");
}

/// Interactions are never attributed again to a customer a FORGET erased.
#[tokio::test]
async fn interactions_are_never_moved_to_an_erased_customer() {
    let s = stack().await;
    let (wrong, right, moved) = misattributed(&s).await;
    forgotten(&s, json!({ "customerIds": [right.customer_id] })).await;
    let replacement = json!({ "customer": { "interactionIds": [moved], "to": right.customer_id } });
    refused_in_the_way(
        file_rectify(&s, json!({ "customerIds": [wrong.customer_id] }), replacement, "Alice").await,
        "erased",
        &[&wrong.customer_id, &right.customer_id, &moved],
    )
    .await;
}

#[tokio::test]
async fn bad_replacements_are_refused_at_the_door_naming_the_field_and_nothing_is_filed() {
    let s = stack().await;
    let person = Person::new();
    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone], "emailAddresses": ["client@example.com"] });
    for (replacement, pointer) in [
        (
            json!({ "phoneNumbers": [{ "from": person.phone, "to": "not a number" }] }),
            "/replacement/phoneNumbers/0/to",
        ),
        (
            json!({ "phoneNumbers": [{ "from": person.phone, "to": format!("tel:{}", person.phone) }] }),
            "/replacement/phoneNumbers/0/to",
        ),
        (
            json!({ "phoneNumbers": [{ "from": "+420601000000", "to": "+420601000001" }] }),
            "/replacement/phoneNumbers/0/from",
        ),
        (
            json!({ "emailAddresses": [{ "from": "client@example.com", "to": "no address" }] }),
            "/replacement/emailAddresses/0/to",
        ),
        (
            json!({ "emailAddresses": [{ "from": "client@example.com", "to": "CLIENT@example.com" }] }),
            "/replacement/emailAddresses/0/to",
        ),
        (
            json!({ "customer": { "interactionIds": ["x"], "to": uuid::Uuid::new_v4() } }),
            "/replacement/customer/interactionIds/0",
        ),
        (
            json!({ "customer": { "interactionIds": [uuid::Uuid::new_v4()], "to": person.customer_id } }),
            "/replacement/customer/to",
        ),
        (json!({}), "/replacement"),
    ] {
        let response = file_rectify(&s, subject.clone(), replacement.clone(), "Alice").await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem_locations(&problem), [pointer], "{replacement}: {problem}");
        assert!(!problem.to_string().contains(&person.digits), "{problem}");
    }
    // A RECTIFY names what to correct; no other type carries a replacement.
    let missing = s
        .orchestrator
        .post_json(
            "/gdpr/requests",
            DPO,
            &json!({ "type": "RECTIFY", "subject": subject, "reference": "CASE-16" }),
        )
        .await;
    let problem = assert_problem(missing, 422).await;
    assert_eq!(problem_locations(&problem), ["/replacement"], "{problem}");
    let body = json!({ "type": "EXPORT", "subject": subject, "reference": "CASE-16",
        "replacement": { "phoneNumbers": [{ "from": person.phone, "to": "+420602000111" }] } });
    let problem = assert_problem(s.orchestrator.post_json("/gdpr/requests", DPO, &body).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/replacement"], "{problem}");
    let listed: Value = s.orchestrator.get("/gdpr/requests", DPO).await.json().await.unwrap();
    assert_eq!(listed["requests"], json!([]), "nothing was filed");

    // One correction of a subject at a time: the same again is the open one, another is refused.
    let first = json!({ "phoneNumbers": [{ "from": person.phone, "to": "+420602000111" }] });
    let filed = file_rectify(&s, subject.clone(), first.clone(), "Alice").await;
    assert_eq!(filed.status().as_u16(), 201);
    let again: Value = file_rectify(&s, subject.clone(), first, "Alice")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true, "{again}");
    let other = json!({ "phoneNumbers": [{ "from": person.phone, "to": "+420602000222" }] });
    let refused = assert_problem(file_rectify(&s, subject, other, "Alice").await, 409).await;
    assert!(!refused.to_string().contains("602000222"), "{refused}");
}

/// Outside development a RECTIFY is filed by a person the identity provider signed in, and (the
/// requester gate required) confirmed by another only once how the requester's identity was
/// verified is recorded: replacing a customer's number at an impostor's word would hand the
/// impostor the customer's history.
#[tokio::test]
async fn a_rectify_waits_for_the_requesters_verification_and_two_signed_in_persons() {
    use test_support::oidc::{Provider, ProviderOptions};
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let mut options = crate::helpers::StackOptions::production_with_persons(&provider, 60);
    options
        .orchestrator
        .push(("gdpr.requester_verification".to_owned(), "required".to_owned()));
    let s = crate::helpers::stack_with(options).await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let body = json!({ "type": "RECTIFY", "subject": { "phoneNumbers": [person.phone] }, "reference": "CASE-16",
        "replacement": { "phoneNumbers": [{ "from": person.phone, "to": Person::new().phone }] } });
    // A client acting as itself files no RECTIFY (any one person could then confirm it).
    let refused = assert_problem(s.orchestrator.post_json("/gdpr/requests", DPO, &body).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("RECTIFY"), "{refused}");

    let (dana, bob) = (provider.access_token("dana").await, provider.access_token("bob").await);
    let as_person = |method: reqwest::Method, path: String, token: &str, body: Option<&Value>| {
        let mut request = s
            .orchestrator
            .client
            .request(method, s.orchestrator.url(&path))
            .bearer_auth(s.orchestrator.token(DPO))
            .header("X-Person-Token", token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send()
    };
    let filed = as_person(reqwest::Method::POST, "/gdpr/requests".to_owned(), &dana, Some(&body))
        .await
        .unwrap();
    assert_eq!(filed.status().as_u16(), 201);
    let id = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(s.run(&id, Timestamp::now()).await["status"], "awaiting_confirmation");
    let refused = assert_problem(s.confirm_signed_in(&id, &bob).await, 409).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("not verified yet"),
        "{refused}"
    );
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");
    assert!(s.sim.gdpr_replacement_terms().is_empty(), "nothing corrected yet");

    let verification = json!({ "method": "online_banking_login", "evidenceReference": "DMS-2026-00016" });
    let recorded = as_person(
        reqwest::Method::POST,
        format!("/gdpr/requests/{id}/verification"),
        &dana,
        Some(&verification),
    )
    .await
    .unwrap();
    assert_eq!(recorded.status().as_u16(), 200);
    assert_problem(s.confirm_signed_in(&id, &dana).await, 403).await;
    assert_eq!(s.confirm_signed_in(&id, &bob).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let trail = s.audit(&id).await;
    let confirmed = trail.iter().find(|e| e["event"] == "confirmed").unwrap();
    assert_eq!(confirmed["detail"]["requesterVerified"], true, "{confirmed}");
    assert_eq!(s.sim.gdpr_replacement_terms().len(), 1);
}

/// GET the request as `person` would see it (development's four eyes, by name).
async fn request_as(s: &Stack, id: &str, person: &str) -> Value {
    let response = s
        .orchestrator
        .client
        .get(s.orchestrator.url(&format!("/gdpr/requests/{id}")))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", person)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// Whether `request` (as served) offers its caller the confirmation.
fn offers_confirm(request: &Value) -> bool {
    request["allowedActions"]
        .as_array()
        .unwrap()
        .contains(&json!("confirm"))
}

/// A RECTIFY onto a number another customer's record and webhook result already carry (a DPO's
/// typo, or an impostor who passed the gate: the verification proves who asks, not whose the new
/// number is) would merge the subject's rows into that person's: an export by their number would
/// hand them over. The count names the field and how many rows hold it (never the value); the
/// confirmation is not offered and, asked for, is 409 `rectification-conflict` naming the field,
/// audited with the counts alone; nothing changes anywhere, Genesys Cloud included. The same
/// correction onto a fresh number is offered and confirmed.
#[tokio::test]
async fn a_rectify_onto_a_number_another_customers_rows_carry_is_never_confirmed() {
    let s = stack().await;
    let person = Person::new();
    let neighbour = person.neighbour();
    let (mine, theirs) = [(); 2].map(|()| uuid::Uuid::new_v4().to_string()).into();
    s.pair(&person.customer_id, &mine).await;
    s.record(&mine, &format!("tel:{}", person.phone)).await;
    s.pair(&neighbour.customer_id, &theirs).await;
    s.record(&theirs, &format!("tel:{}", neighbour.phone)).await;

    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] });
    let onto = |to: &str| json!({ "phoneNumbers": [{ "from": person.phone, "to": to }] });
    let filed = file_rectify(&s, subject.clone(), onto(&neighbour.phone), "Alice").await;
    assert_eq!(filed.status().as_u16(), 201);
    let id = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let counted = s.run(&id, Timestamp::now()).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    // The neighbour's record (comm-history-writer) and webhook result (result-ingest).
    assert_eq!(
        counted["conflicts"],
        json!({ "/replacement/phoneNumbers/0/to": 2 }),
        "{counted}"
    );
    let seen_by_bob = request_as(&s, &id, "Bob").await;
    assert!(!offers_confirm(&seen_by_bob), "{seen_by_bob}");

    let refused = assert_problem(s.confirm_as(&id, Some("Bob")).await, 409).await;
    assert_eq!(
        refused["type"], "urn:ccbridge:problem:rectification-conflict",
        "{refused}"
    );
    assert_eq!(problem_locations(&refused), ["/replacement/phoneNumbers/0/to"]);
    assert!(!refused.to_string().contains(&neighbour.digits), "{refused}");
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "awaiting_confirmation", "{request}");
    assert!(request["confirmedBy"].is_null(), "{request}");
    let trail = s.audit(&id).await;
    let refusal = trail
        .iter()
        .find(|e| e["event"] == "confirmation_refused")
        .unwrap_or_else(|| panic!("{trail:?}"));
    assert_eq!(
        refusal["detail"],
        json!({ "reason": "rectification-conflict", "conflicts": { "/replacement/phoneNumbers/0/to": 2 } })
    );
    // Nothing changed: both records as they were, nothing sent to Genesys Cloud.
    for (interaction, number) in [(&mine, &person.phone), (&theirs, &neighbour.phone)] {
        let records = s.records(&format!("interactionId={interaction}")).await;
        assert_eq!(handles_of(&records), [format!("tel:{number}").as_str()]);
    }
    assert!(s.sim.gdpr_replacement_terms().is_empty());

    // Another customer's correction onto a number nobody else holds is offered and carried out.
    let (other, fresh) = (Person::new(), Person::new().phone);
    let others = uuid::Uuid::new_v4().to_string();
    s.pair(&other.customer_id, &others).await;
    s.record(&others, &format!("tel:{}", other.phone)).await;
    let subject = json!({ "customerIds": [other.customer_id], "phoneNumbers": [other.phone] });
    let replacement = json!({ "phoneNumbers": [{ "from": other.phone, "to": fresh }] });
    let request = rectified(&s, subject, replacement).await;
    // Checked, and nothing found: `{}` ("never checked" is absent, and refused).
    assert_eq!(request["conflicts"], json!({}), "{request}");
    assert_eq!(request["counts"]["rectify.communications"], 1, "{request}");
    let records = s.records(&format!("interactionId={others}")).await;
    assert_eq!(handles_of(&records), [fresh.as_str()]);
    assert_not_logged(&[&person.digits, &neighbour.digits, &other.digits]);
}

/// The count found nothing, then a neighbour's record and webhook result arrived under the new
/// number before the confirmation (numbers get recycled): each participant's rectify checks again
/// as it writes and leaves the subject's rows with the old number rather than merge them into the
/// neighbour's; the request says, per system, which replacement was not applied (pointer and
/// count, never the value).
#[tokio::test]
async fn a_number_someone_else_took_after_the_count_is_not_applied_and_the_request_says_where() {
    let s = stack().await;
    let person = Person::new();
    let (neighbour, fresh) = (Person::new(), Person::new().phone);
    let (mine, theirs) = [(); 2].map(|()| uuid::Uuid::new_v4().to_string()).into();
    s.pair(&person.customer_id, &mine).await;
    s.record(&mine, &format!("tel:{}", person.phone)).await;
    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] });
    let replacement = json!({ "phoneNumbers": [{ "from": person.phone, "to": fresh }] });
    let filed = file_rectify(&s, subject, replacement, "Alice").await;
    assert_eq!(filed.status().as_u16(), 201);
    let id = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let counted = s.run(&id, Timestamp::now()).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    assert_eq!(counted["conflicts"], json!({}), "{counted}");

    s.pair(&neighbour.customer_id, &theirs).await;
    s.record(&theirs, &format!("tel:{fresh}")).await;
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", Timestamp::now(), 20).await;
    let not_applied: Vec<(&str, &Value)> = request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["phase"] == "rectify" && step["conflicts"] != json!({}))
        .map(|step| (step["participant"].as_str().unwrap(), &step["conflicts"]))
        .collect();
    let to = json!({ "/phoneNumbers/0/to": 1 });
    assert!(not_applied.contains(&("comm-history-writer", &to)), "{request}");
    assert!(not_applied.contains(&("result-ingest", &to)), "{request}");
    for (interaction, number) in [(&mine, &person.phone), (&theirs, &fresh)] {
        let records = s.records(&format!("interactionId={interaction}")).await;
        assert_eq!(handles_of(&records), [format!("tel:{number}").as_str()], "{request}");
    }
    assert!(!request.to_string().contains(&fresh), "{request}");
    assert_not_logged(&[&person.digits, &fresh[4..]]);
}

/// A RECTIFY whose count a participant answered without the check of whose its values are (one
/// of a version before it: the step's conflicts stored NULL, not `{}`) is not "no conflicts":
/// the confirmation is never offered and, asked for, is 409 `rectification-not-counted`,
/// audited; nothing changes. The DPO files it again: the same request is counted again, with the
/// check, and then confirmed.
#[tokio::test]
async fn a_rectify_counted_without_the_check_is_never_confirmed() {
    let s = stack().await;
    let person = Person::new();
    let mine = uuid::Uuid::new_v4().to_string();
    s.pair(&person.customer_id, &mine).await;
    s.record(&mine, &format!("tel:{}", person.phone)).await;
    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] });
    let replacement = json!({ "phoneNumbers": [{ "from": person.phone, "to": Person::new().phone }] });
    let filed = file_rectify(&s, subject.clone(), replacement.clone(), "Alice").await;
    assert_eq!(filed.status().as_u16(), 201);
    let id = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let counted = s.run(&id, Timestamp::now()).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    assert!(offers_confirm(&request_as(&s, &id, "Bob").await));
    // As an older comm-history-writer would have left it: its count step without a check.
    let request_id = uuid::Uuid::parse_str(&id).unwrap();
    let unchecked = s
        .orchestrator
        .pool()
        .run(move |c| {
            use diesel::prelude::*;
            use gdpr_orchestrator::schema::gdpr_steps::dsl;
            diesel::update(
                dsl::gdpr_steps
                    .filter(dsl::request_id.eq(service_kit::database::sql_types::DbUuid(request_id)))
                    .filter(dsl::phase.eq("count"))
                    .filter(dsl::participant.eq("comm-history-writer")),
            )
            .set(dsl::conflicts.eq(None::<String>))
            .execute(c)
            .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(unchecked, 1);

    let seen_by_bob = request_as(&s, &id, "Bob").await;
    assert!(seen_by_bob.get("conflicts").is_none(), "{seen_by_bob}");
    assert!(!offers_confirm(&seen_by_bob), "{seen_by_bob}");
    let refused = assert_problem(s.confirm_as(&id, Some("Bob")).await, 409).await;
    assert_eq!(
        refused["type"], "urn:ccbridge:problem:rectification-not-counted",
        "{refused}"
    );
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "awaiting_confirmation", "{request}");
    let trail = s.audit(&id).await;
    let refusal = trail
        .iter()
        .find(|e| e["event"] == "confirmation_refused")
        .unwrap_or_else(|| panic!("{trail:?}"));
    assert_eq!(refusal["detail"], json!({ "reason": "rectification-not-counted" }));
    let records = s.records(&format!("interactionId={mine}")).await;
    assert_eq!(handles_of(&records), [format!("tel:{}", person.phone).as_str()]);
    assert!(s.sim.gdpr_replacement_terms().is_empty());

    // Filed again (Dana, the same correction): the open request, counted again with the check.
    let again = file_rectify(&s, subject, replacement, "Dana").await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["id"].as_str(), again["duplicate"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    assert_eq!(again["status"], "counting", "{again}");
    let counted = s.run(&id, Timestamp::now()).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    assert_eq!(counted["conflicts"], json!({}), "{counted}");
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let records = s.records(&format!("interactionId={mine}")).await;
    assert_ne!(handles_of(&records), [format!("tel:{}", person.phone).as_str()]);
}
