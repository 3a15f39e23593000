//! A RECTIFY leaves evidence as it was (review-31 M7), over the whole stack: the orchestrator
//! sends the legal holds in force and the statutory rules with the RECTIFY's count and rectify;
//! of the subject's records on the old number, one a legal hold keeps (an interaction it names)
//! and one a statutory rule keeps (a recent voice call) keep it, the free one is corrected. The
//! count the DPO confirms and the finished request say what stayed and why (`keptUnchanged` per
//! participant, category and basis), the audit counts it, the subject's answer to an export says
//! so, and the same correction counted again finds nothing more to change. Genesys Cloud, which
//! corrects a number everywhere it holds it, gets no GDPR_UPDATE while evidence of the subject's
//! is kept (review-33 H1). A legal hold on what the correction reaches refuses nothing: its rows
//! stay, the rest is corrected; only a hold on the customer interactions would move to refuses
//! (review-33 M7).

use crate::helpers::{stack_with, webhook, Person, Stack, StackOptions, DPO};
use domain::Timestamp;
use serde_json::{json, Value};

/// Every VOICE record kept 365 days after it (MiFID II's records of client communications).
async fn stack_keeping_voice_for_a_year() -> Stack {
    let rule =
        json!([{ "name": "mifid2-voice", "channels": ["VOICE"], "keep_days": 365, "basis": "legal_obligation" }]);
    stack_with(StackOptions {
        orchestrator: vec![("gdpr.statutory_retention".to_owned(), rule.to_string())],
        ..Default::default()
    })
    .await
}

/// `person` (by name) posts `body` to `path` as the DPO tool; answers the JSON of a 201.
async fn created(s: &Stack, path: &str, person: &str, body: &Value) -> Value {
    let response = s
        .orchestrator
        .client
        .post(s.orchestrator.url(path))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", person)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

/// A RECTIFY filed by Alice and counted: its id and when it was counted.
async fn filed_and_counted(s: &Stack, body: &Value) -> (String, Timestamp) {
    let id = created(s, "/gdpr/requests", "Alice", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = Timestamp::now();
    assert_eq!(s.run(&id, now).await["status"], "awaiting_confirmation");
    (id, now)
}

/// A RECTIFY filed by Alice, counted (answered as counted), confirmed by Bob and run to its end.
async fn counted_and_rectified(s: &Stack, body: &Value) -> (Value, Value) {
    let id = created(s, "/gdpr/requests", "Alice", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = Timestamp::now();
    let counted = s.run(&id, now).await;
    assert_eq!(counted["status"], "awaiting_confirmation", "{counted}");
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", now, 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    (counted, request)
}

/// What `participant`'s step of `phase` says stayed unchanged (`[]` when nothing).
fn kept_unchanged(request: &Value, phase: &str, participant: &str) -> Value {
    let step = request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == phase && p["participant"] == participant)
        .unwrap_or_else(|| panic!("no {phase} step of {participant}: {request}"));
    step.get("keptUnchanged").cloned().unwrap_or_else(|| json!([]))
}

/// What `phase` of a RECTIFY said: the records and the results it changed, and what the hold and
/// the rule kept unchanged (a rule keeps communication records only: of the webhook results, the
/// held call's stays).
fn assert_phase(request: &Value, phase: &str, (records, results): (u64, u64)) {
    let records_kept = json!([
        { "category": "communications", "basis": "legal_claims", "count": 1 },
        { "category": "communications", "basis": "legal_obligation", "count": 1 }
    ]);
    let results_kept = json!([{ "category": "webhookResults", "basis": "legal_claims", "count": 1 }]);
    // Genesys Cloud, last, corrects nothing: the number's one Genesys subject waits, under the
    // first basis of what the others kept.
    let genesys_kept = json!([{ "category": "genesysSubjects", "basis": "legal_claims", "count": 1 }]);
    let kept = |participant| kept_unchanged(request, phase, participant);
    assert_eq!(kept("comm-history-writer"), records_kept, "{request}");
    assert_eq!(kept("result-ingest"), results_kept, "{request}");
    assert_eq!(kept("genesys-cloud"), genesys_kept, "{request}");
    assert_eq!(
        request["counts"][format!("{phase}.communications")],
        records,
        "{request}"
    );
    assert_eq!(
        request["counts"][format!("{phase}.webhookResults")],
        results,
        "{request}"
    );
}

fn handle_of(records: &[Value]) -> &str {
    assert_eq!(records.len(), 1, "{records:?}");
    records[0]["customerHandle"].as_str().unwrap()
}

#[tokio::test]
async fn a_correction_leaves_what_a_legal_hold_or_a_statutory_rule_keeps_as_it_was() {
    let s = stack_keeping_voice_for_a_year().await;
    let person = Person::new();
    let new_number = Person::new().phone;
    let ani = format!("tel:{}", person.phone);
    // Three voice calls from the number: one the hold names (past the rule's year), one of ten
    // days ago (the rule keeps it), one past the rule and held by nothing.
    let [held, ruled, free] = [(); 3].map(|()| uuid::Uuid::new_v4().to_string());
    for (conversation, days) in [(&held, 700), (&ruled, 10), (&free, 600)] {
        let at = Timestamp::now().as_offset_date_time() - time::Duration::days(days);
        let at = Timestamp::from_offset_date_time(at).unwrap().to_rfc3339();
        assert_eq!(
            s.deliver(&webhook(conversation, &ani, &at)).await.status().as_u16(),
            202
        );
    }
    s.drain_ingest().await;
    let hold = json!({
        "subject": {},
        "interactionIds": [held],
        "reference": "LIT-16",
        "reason": "litigation about a disputed instruction",
        "basis": "legal_claims",
    });
    created(&s, "/gdpr/legal-holds", "Carol", &hold).await;

    let body = json!({
        "type": "RECTIFY",
        "subject": { "phoneNumbers": [person.phone] },
        "replacement": { "phoneNumbers": [{ "from": person.phone, "to": new_number }] },
        "reference": "CASE-16-M7",
    });
    let (counted, request) = counted_and_rectified(&s, &body).await;
    assert_phase(&counted, "count", (1, 2));
    assert_phase(&request, "rectify", (1, 2));
    assert!(!request.to_string().contains(&person.digits), "{request}");
    // The held and the ruled calls are Genesys Cloud's too: no GDPR_UPDATE went out.
    assert!(
        !s.sim.gdpr_request_types().iter().any(|t| t == "GDPR_UPDATE"),
        "{:?}",
        s.sim.gdpr_request_types()
    );
    assert_eq!(request["counts"]["rectify.genesysRequests"], 0, "{request}");

    // Read back through comm-history-writer: the two keep the old number, the free one is new.
    for interaction in [&held, &ruled] {
        let records = s.records(&format!("interactionId={interaction}")).await;
        assert_eq!(handle_of(&records), ani, "kept as it was: {interaction}");
    }
    assert_eq!(
        handle_of(&s.records(&format!("interactionId={free}")).await),
        new_number
    );

    // The audit counts what stayed, naming no number.
    let id = request["id"].as_str().unwrap();
    let trail = s.audit(id).await;
    let completed = trail.iter().find(|e| e["event"] == "completed").unwrap();
    let mut kept: Vec<(&str, &str, &str, u64)> = completed["detail"]["keptUnchanged"]
        .as_array()
        .unwrap_or_else(|| panic!("{completed}"))
        .iter()
        .map(|k| {
            (
                k["participant"].as_str().unwrap(),
                k["category"].as_str().unwrap(),
                k["basis"].as_str().unwrap(),
                k["count"].as_u64().unwrap(),
            )
        })
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            ("comm-history-writer", "communications", "legal_claims", 1),
            ("comm-history-writer", "communications", "legal_obligation", 1),
            ("genesys-cloud", "genesysSubjects", "legal_claims", 1),
            ("result-ingest", "webhookResults", "legal_claims", 1),
        ],
        "{completed}"
    );
    let dump = serde_json::to_string(&trail).unwrap();
    assert!(
        !dump.contains(&person.digits) && !dump.contains(&new_number[4..]),
        "{dump}"
    );

    // The subject's answer to an export says what stayed and that the correction stands beside
    // it (the request's language, Czech here).
    let (_, bundle) = s.export(json!({ "phoneNumbers": [person.phone] })).await;
    let answer = bundle["answer"].as_str().unwrap();
    assert!(answer.contains("jako vaše doplňující prohlášení"), "{answer}");
    assert!(answer.contains("opravu jste žádali"), "{answer}");
    // Genesys Cloud's, named in words, not sent the correction either.
    assert!(
        answer.contains("Vaše údaje v Genesys Cloud, platformě kontaktního centra banky"),
        "{answer}"
    );

    // The same correction counted again finds nothing more to change and still names what
    // stays. (Its confirmation would be refused: the corrected rows carry the new number now, and
    // a number alone does not show them the subject's.)
    let mut again = body.clone();
    again["reference"] = "CASE-16-M7-2".into();
    again["countOnly"] = true.into();
    let id = created(&s, "/gdpr/requests", "Alice", &again).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let counted = s.run(&id, Timestamp::now()).await;
    assert_eq!(counted["status"], "completed", "{counted}");
    assert_phase(&counted, "count", (0, 0));
    for interaction in [&held, &ruled] {
        let records = s.records(&format!("interactionId={interaction}")).await;
        assert_eq!(handle_of(&records), ani, "still as it was: {interaction}");
    }
}

/// A hold placed on the subject's number (for one period) between the filing and the
/// confirmation refuses nothing: the call it holds keeps the old number, the other is
/// corrected, and Genesys Cloud, which would correct both, gets no GDPR_UPDATE.
#[tokio::test]
async fn a_legal_hold_on_the_subjects_number_keeps_its_rows_and_the_rest_is_corrected() {
    let s = crate::helpers::stack().await;
    let person = Person::new();
    let new_number = Person::new().phone;
    let ani = format!("tel:{}", person.phone);
    let [held, free] = [(); 2].map(|()| uuid::Uuid::new_v4().to_string());
    for (conversation, at) in [(&held, "2025-03-10T09:00:00Z"), (&free, "2026-11-20T09:41:07Z")] {
        assert_eq!(s.deliver(&webhook(conversation, &ani, at)).await.status().as_u16(), 202);
    }
    s.drain_ingest().await;
    let body = json!({
        "type": "RECTIFY",
        "subject": { "phoneNumbers": [person.phone] },
        "replacement": { "phoneNumbers": [{ "from": person.phone, "to": new_number }] },
        "reference": "CASE-16-HOLD",
    });
    let (id, now) = filed_and_counted(&s, &body).await;
    let hold = json!({
        "subject": { "phoneNumbers": [person.phone] },
        "window": { "from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" },
        "reference": "LIT-17",
        "reason": "litigation about a 2025 instruction",
        "basis": "legal_claims",
    });
    created(&s, "/gdpr/legal-holds", "Carol", &hold).await;

    let confirmed = s.confirm_as(&id, Some("Bob")).await;
    assert_eq!(
        confirmed.status().as_u16(),
        200,
        "a hold on the subject refuses nothing"
    );
    let (request, _) = s.run_while(&id, "rectifying", now, 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(handle_of(&s.records(&format!("interactionId={held}")).await), ani);
    assert_eq!(
        handle_of(&s.records(&format!("interactionId={free}")).await),
        new_number
    );
    assert_eq!(
        kept_unchanged(&request, "rectify", "comm-history-writer"),
        json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }]),
        "{request}"
    );
    assert_eq!(
        kept_unchanged(&request, "rectify", "genesys-cloud"),
        json!([{ "category": "genesysSubjects", "basis": "legal_claims", "count": 1 }]),
        "{request}"
    );
    assert!(s.sim.gdpr_replacement_terms().is_empty(), "no GDPR_UPDATE");
    assert!(!request.to_string().contains(&person.digits), "{request}");
}

/// A customer correction onto a customer a hold names is refused at the door, naming the field
/// and no identifier (moving rows under a hold would change what it keeps); a hold on the
/// customer the interaction leaves refuses nothing: the held interaction stays where it was.
#[tokio::test]
async fn only_a_hold_on_the_customer_interactions_move_to_refuses_a_customer_correction() {
    let s = crate::helpers::stack().await;
    let (wrong, right) = (Person::new(), Person::new());
    let moved = uuid::Uuid::new_v4().to_string();
    s.pair(&wrong.customer_id, &moved).await;
    s.record(&moved, &format!("tel:{}", right.phone)).await;
    let hold_on = |customer: &str, reference: &str| {
        json!({
            "subject": { "customerIds": [customer] },
            "reference": reference,
            "reason": "litigation about the mortgage",
            "basis": "legal_claims",
        })
    };
    let body = json!({
        "type": "RECTIFY",
        "subject": { "customerIds": [wrong.customer_id] },
        "replacement": { "customer": { "interactionIds": [moved], "to": right.customer_id } },
        "reference": "CASE-16-MOVE",
    });

    created(&s, "/gdpr/legal-holds", "Carol", &hold_on(&right.customer_id, "LIT-8")).await;
    let refused = s
        .orchestrator
        .client
        .post(s.orchestrator.url("/gdpr/requests"))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "Alice")
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = test_support::assert_problem(refused, 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("legal hold") && detail.contains("/replacement/customer/to"),
        "{problem}"
    );
    for identifier in [&wrong.customer_id, &right.customer_id, &moved] {
        assert!(!problem.to_string().contains(identifier.as_str()), "{problem}");
    }

    // Filed onto a customer no hold names; the customer it leaves is held before the
    // confirmation: confirmed, and the held interaction stays with it, reported as kept.
    let other = Person::new();
    let mut body = body.clone();
    body["replacement"]["customer"]["to"] = other.customer_id.as_str().into();
    let (id, now) = filed_and_counted(&s, &body).await;
    created(&s, "/gdpr/legal-holds", "Carol", &hold_on(&wrong.customer_id, "LIT-9")).await;
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", now, 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let records = s.records(&format!("interactionId={moved}")).await;
    assert_eq!(records[0]["customerId"], wrong.customer_id.as_str(), "{records:?}");
    assert_eq!(
        kept_unchanged(&request, "rectify", "comm-history-writer"),
        json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }]),
        "{request}"
    );
}
