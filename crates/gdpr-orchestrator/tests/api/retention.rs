//! A FORGET over data a legal hold covers: everything else is erased, what the hold covers is
//! kept hidden and the request ends `completed_with_retention`; when the hold is released (two
//! persons) or ends, the worker purges again and the request ends `completed`.

use crate::helpers::{after, stack, Person, Stack, DPO, REVIEWER};
use domain::Timestamp;
use serde_json::{json, Value};

/// The subject in two records by phone and one by a pairing; a neighbour with one of their own.
struct Known {
    person: Person,
    neighbour: Person,
    /// [by phone, by phone, paired]
    interactions: [String; 3],
}

async fn known_subject(s: &Stack) -> Known {
    let person = Person::new();
    let neighbour = person.neighbour();
    let interactions = [(); 3].map(|()| uuid::Uuid::new_v4().to_string());
    s.record(&interactions[0], &format!("tel:{}", person.phone)).await;
    s.record(&interactions[1], &format!("tel:{}", person.phone)).await;
    s.pair(&person.customer_id, &interactions[2]).await;
    s.record(&interactions[2], "tel:+420777000222").await;
    let neighbour_interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&neighbour.customer_id, &neighbour_interaction).await;
    s.record(&neighbour_interaction, &format!("tel:{}", neighbour.phone))
        .await;
    Known {
        person,
        neighbour,
        interactions,
    }
}

fn subject(known: &Known) -> Value {
    json!({ "customerIds": [known.person.customer_id], "phoneNumbers": [format!("tel:{}", known.person.phone)] })
}

/// Places a hold as the DPO's tool for `alice`; answers its id.
async fn place(s: &Stack, hold: Value) -> String {
    let response = s
        .orchestrator
        .client
        .post(s.orchestrator.url("/gdpr/legal-holds"))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "alice")
        .json(&hold)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Asks to release (as `alice`) and confirms (as the reviewer).
async fn release(s: &Stack, id: &str) {
    for (person, step) in [("alice", "ask"), (REVIEWER, "confirm")] {
        let response = s
            .orchestrator
            .client
            .post(s.orchestrator.url(&format!("/gdpr/legal-holds/{id}/release")))
            .bearer_auth(s.orchestrator.token(DPO))
            .header("X-Acting-User", person)
            .json(&json!({ "step": step, "reason": "the claim was settled" }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
}

/// The hold as the DPO's tool reads it, or its audit trail (`/audit`), its chain verified.
async fn hold_of(s: &Stack, id: &str, tail: &str) -> Value {
    let response = s
        .orchestrator
        .client
        .get(s.orchestrator.url(&format!("/gdpr/legal-holds/{id}{tail}")))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    if tail == "/audit" {
        assert_eq!(body["chainVerified"], true, "{body}");
    }
    body
}

/// A confirmed FORGET of the subject, run past its grace window and its purge.
async fn forget_and_purge(s: &Stack, known: &Known, now: Timestamp) -> (String, Value, Timestamp) {
    let id = s.forget_in_grace(subject(known), now).await;
    let (request, later) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    (id, request, later)
}

fn purge_steps(request: &Value) -> Vec<&Value> {
    request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["phase"] == "purge")
        .collect()
}

fn retained_of<'a>(request: &'a Value, participant: &str) -> &'a Value {
    &purge_steps(request)
        .into_iter()
        .find(|p| p["participant"] == participant)
        .unwrap_or_else(|| panic!("no purge step of {participant}: {request}"))["retained"]
}

#[tokio::test]
async fn a_hold_on_an_interaction_keeps_its_record_through_a_forget_until_two_persons_release_it() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let now = Timestamp::now();
    let held = &known.interactions[2];
    let hold = place(
        &s,
        json!({
            "subject": {},
            "interactionIds": [held],
            "reference": "LIT-2026-044",
            "reason": "a complaint before the ombudsman",
            "basis": "legal_claims",
        }),
    )
    .await;

    let (id, request, later) = forget_and_purge(&s, &known, now).await;
    assert_eq!(request["status"], "completed_with_retention", "{request}");
    assert_eq!(
        retained_of(&request, "comm-history-writer"),
        &json!([{ "category": "communications", "basis": "legal_claims", "count": 1 }]),
        "{request}"
    );
    // Genesys Cloud deletes per person: the subject's deletion waits for the hold.
    assert!(
        s.sim.gdpr_request_types().is_empty(),
        "{:?}",
        s.sim.gdpr_request_types()
    );
    // Kept, yet restricted: no back-office read finds the held record or the erased ones.
    assert!(s.records(&format!("interactionId={held}")).await.is_empty());
    assert!(s
        .records(&format!("customerId={}", known.person.customer_id))
        .await
        .is_empty());
    let dump = s.dump_participants().await.join("\n");
    assert!(dump.contains(held.as_str()), "the held interaction's record is kept");
    for erased in &known.interactions[..2] {
        assert!(!dump.contains(erased.as_str()), "{erased} is erased");
    }
    // The neighbour is untouched.
    assert_eq!(
        s.records(&format!("customerId={}", known.neighbour.customer_id))
            .await
            .len(),
        1
    );
    // Nothing happens while the hold is in force, however long: nor to the hold's particulars.
    let request = s.run(&id, after(later, 30 * 86_400)).await;
    assert_eq!(request["status"], "completed_with_retention");
    let kept = hold_of(&s, &hold, "").await;
    assert_eq!(kept["reason"], "a complaint before the ombudsman", "{kept}");
    assert_eq!(kept["covers"]["interactionIds"], 1, "{kept}");
    assert!(kept.get("identifiersErasedAt").is_none(), "{kept}");

    release(&s, &hold).await;
    // The worker's housekeeping (a minute on its clock) takes the FORGET up again.
    s.run(&id, after(later, 31 * 86_400)).await;
    let (request, _) = s.run_while(&id, "purging", after(later, 31 * 86_400 + 60), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    for step in purge_steps(&request) {
        assert!(step.get("retained").is_none(), "{step}");
    }
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_DELETE"]);
    let dump = s.dump_participants().await.join("\n");
    assert!(!dump.contains(held.as_str()), "erased once the hold was released");
    let events: Vec<String> = s
        .audit(&id)
        .await
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    for expected in ["completed_with_retention", "retention_ended", "completed"] {
        assert!(events.iter().any(|e| e == expected), "{expected} in {events:?}");
    }
    // More than gdpr.identifier_retention_days (30) after its release, the same housekeeping
    // erased the hold's particulars: whose data, which case and why are gone; its story stays.
    let erased = hold_of(&s, &hold, "").await;
    assert_eq!(erased["status"], "released", "{erased}");
    assert!(erased.get("reason").is_none(), "{erased}");
    assert!(erased.get("covers").is_none(), "{erased}");
    assert!(erased["identifiersErasedAt"].is_string(), "{erased}");
    assert!(erased.get("reference").is_none(), "{erased}");
    let trail = hold_of(&s, &hold, "/audit").await;
    let hold_events: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(hold_events.last(), Some(&"hold_particulars_erased"), "{hold_events:?}");
    // (The FORGET's own subject, the held interaction among it, is the request's: kept 30 days
    // after it finished.)
    let dump = test_support::dump_tables(s.orchestrator.pool()).await;
    let dump: Vec<&String> = dump.iter().filter(|l| l.starts_with("legal_holds:")).collect();
    assert_eq!(dump.len(), 1, "{dump:?}");
    for gone in [
        held.as_str(),
        "a complaint before the ombudsman",
        "the claim was settled",
    ] {
        assert!(!dump[0].contains(gone), "{gone:?} erased from the hold's row: {dump:?}");
    }
}

#[tokio::test]
async fn a_hold_on_another_customer_keeps_nothing_of_this_one() {
    let s = stack().await;
    let known = known_subject(&s).await;
    place(
        &s,
        json!({
            "subject": { "customerIds": [known.neighbour.customer_id] },
            "reference": "LIT-2026-045",
            "reason": "an investigation of the neighbour",
            "basis": "authority_request",
        }),
    )
    .await;
    let (_, request, _) = forget_and_purge(&s, &known, Timestamp::now()).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_DELETE"]);
    // The neighbour's record is still there, and visible (a hold does not restrict by itself).
    assert_eq!(
        s.records(&format!("customerId={}", known.neighbour.customer_id))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_hold_that_ends_by_its_date_lets_the_worker_erase_what_it_kept() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let now = Timestamp::now();
    let ends_at = after(now, 40 * 86_400);
    place(
        &s,
        json!({
            "subject": { "customerIds": [known.person.customer_id] },
            "reference": "LIT-2026-046",
            "reason": "kept until the limitation period ends",
            "basis": "legal_obligation",
            "endsAt": ends_at,
        }),
    )
    .await;
    let (id, request, _) = forget_and_purge(&s, &known, now).await;
    assert_eq!(request["status"], "completed_with_retention", "{request}");
    assert_eq!(
        retained_of(&request, "comm-history-writer"),
        &json!([{ "category": "communications", "basis": "legal_obligation", "count": 1 }]),
        "the customer's paired record is kept: {request}"
    );
    // Answered, though it keeps: a FORGET filed again for the subject is a new request (what
    // came since is its), never this one's duplicate.
    let again = s.file_as("FORGET", subject(&known), false, None).await;
    assert_eq!(again.status().as_u16(), 201);
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["id"].as_str(), Some(id.as_str()), "{again}");
    assert!(again.get("duplicate").is_none_or(|d| d == false), "{again}");
    let request = s.run(&id, after(now, 39 * 86_400)).await;
    assert_eq!(request["status"], "completed_with_retention");
    s.run(&id, after(ends_at, 60)).await;
    let (request, _) = s.run_while(&id, "purging", after(ends_at, 120), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    let dump = s.dump_participants().await.join("\n");
    assert!(!dump.contains(known.interactions[2].as_str()));
}

/// A statutory rule in the orchestrator's settings: every VOICE record kept `days` after it.
async fn stack_keeping_voice_for(days: u32) -> Stack {
    let rule = json!([{
        "name": "mifid2-voice",
        "channels": ["VOICE"],
        "keep_days": days,
        "basis": "legal_obligation",
    }]);
    crate::helpers::stack_with(crate::helpers::StackOptions {
        orchestrator: vec![("gdpr.statutory_retention".to_owned(), rule.to_string())],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_statutory_rule_keeps_recent_voice_records_and_the_worker_comes_back_at_its_end() {
    let s = stack_keeping_voice_for(365).await;
    let person = Person::new();
    let (recent, old) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let ani = format!("tel:{}", person.phone);
    let recent_at = "2026-11-20T09:41:07.512Z";
    for (conversation, at) in [(&recent, recent_at), (&old, "2024-01-10T08:00:00Z")] {
        assert_eq!(
            s.deliver(&crate::helpers::webhook(conversation, &ani, at))
                .await
                .status()
                .as_u16(),
            202
        );
    }
    s.drain_ingest().await;
    let subject = json!({ "phoneNumbers": [ani] });
    let now = Timestamp::now();
    let id = s.forget_in_grace(subject, now).await;
    let (request, later) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;

    assert_eq!(request["status"], "completed_with_retention", "{request}");
    assert_eq!(
        retained_of(&request, "comm-history-writer"),
        &json!([{ "category": "communications", "basis": "legal_obligation", "count": 1 }]),
        "the recent VOICE record is kept, the one past the rule's 365 days is not: {request}"
    );
    let dump = s.dump_participants().await.join("\n");
    assert!(dump.contains(recent.as_str()), "the recent record is kept");
    assert!(!dump.contains(old.as_str()), "the old record is erased");
    // The rule is about the communication's record: the webhook results go as usual. Genesys
    // Cloud deletes a whole number at once, the kept call's recording with it: it waits.
    assert!(purge_steps(&request)
        .iter()
        .filter(|p| !["comm-history-writer", "genesys-cloud"].contains(&p["participant"].as_str().unwrap()))
        .all(|p| p.get("retained").is_none()));
    assert_eq!(
        retained_of(&request, "genesys-cloud"),
        &json!([{ "category": "genesysSubjects", "basis": "legal_obligation", "count": 1 }]),
        "{request}"
    );
    assert!(
        s.sim.gdpr_request_types().is_empty(),
        "{:?}",
        s.sim.gdpr_request_types()
    );
    assert!(
        s.records(&format!("interactionId={recent}")).await.is_empty(),
        "kept, yet restricted"
    );

    // Before the rule's end nothing happens; at it, the worker purges the writer's step again.
    let ends = Timestamp::parse("2027-11-20T09:41:07.512Z").unwrap();
    s.run(&id, after(ends, -3600).max(later)).await;
    let retention_ended = |trail: &[Value]| trail.iter().filter(|e| e["event"] == "retention_ended").count();
    assert_eq!(retention_ended(&s.audit(&id).await), 0);
    s.run(&id, after(ends, 60)).await;
    assert_eq!(
        retention_ended(&s.audit(&id).await),
        1,
        "taken up again at the rule's end"
    );
    // (The participants judge a rule's end by their own clock, which is not this test's: the
    // erasure at the end, and Genesys' deletion then, are the hold test's above.)
}

#[tokio::test]
async fn a_hold_on_an_interaction_of_the_subjects_number_holds_genesys_deletion_back() {
    let s = stack().await;
    let person = Person::new();
    let ani = format!("tel:{}", person.phone);
    // An unassigned call from the number: no customer, so nothing links it to the subject but
    // the number the hold does not name.
    let held = uuid::Uuid::new_v4().to_string();
    s.record(&held, &ani).await;
    let hold = place(
        &s,
        json!({
            "subject": {},
            "interactionIds": [held],
            "reference": "LIT-2026-047",
            "reason": "a disputed trade on that call",
            "basis": "legal_claims",
        }),
    )
    .await;
    let now = Timestamp::now();
    let id = s.forget_in_grace(json!({ "phoneNumbers": [ani] }), now).await;
    let (request, later) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed_with_retention", "{request}");
    assert_eq!(
        retained_of(&request, "genesys-cloud"),
        &json!([{ "category": "genesysSubjects", "basis": "legal_claims", "count": 1 }]),
        "{request}"
    );
    assert!(
        s.sim.gdpr_request_types().is_empty(),
        "{:?}",
        s.sim.gdpr_request_types()
    );

    release(&s, &hold).await;
    s.run(&id, after(later, 120)).await;
    let (request, _) = s.run_while(&id, "purging", after(later, 180), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_DELETE"]);
}
