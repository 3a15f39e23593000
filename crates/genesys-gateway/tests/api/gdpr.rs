//! The gateway as the GDPR participant for Genesys Cloud: only gdpr-orchestrator's signed calls
//! reach Genesys' GDPR API, an export is submitted and followed, and a delete goes out only at
//! the purge, confirmed.

use crate::helpers::{default_harness, start, Harness, INGEST, ORCHESTRATOR};
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations};

fn call(subject: Value) -> Value {
    json!({ "subject": subject })
}

#[tokio::test]
async fn an_export_is_submitted_and_followed_until_genesys_completes_it() {
    let h = start(
        genesys_sim::Seed::default_seed().unwrap(),
        |sim| sim.gdpr_step = std::time::Duration::from_millis(20),
        &[],
    )
    .await;
    let request_id = uuid::Uuid::now_v7();
    let path = format!("/internal/gdpr/requests/{request_id}/export");
    let response = h
        .gateway
        .post_signed(&path, ORCHESTRATOR, &call(json!({ "phoneNumbers": ["+420601123456"] })))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let submitted: Value = response.json().await.unwrap();
    assert_eq!(submitted["state"], "pending_external", "{submitted}");
    assert_eq!(submitted["counts"]["genesysRequests"], 1);
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_EXPORT"]);
    let external_ref = submitted["externalRef"].as_str().unwrap().to_owned();

    // Followed by its reference until Genesys answers COMPLETED (the simulator steps it on).
    let status = format!("/internal/gdpr/requests/{request_id}?ref={external_ref}");
    let mut state = Value::Null;
    for _ in 0..50 {
        let report: Value = h.gateway.get_signed(&status, ORCHESTRATOR).await.json().await.unwrap();
        state = report["state"].clone();
        if state == "done" {
            assert!(!report["resultsUrls"].as_array().unwrap().is_empty(), "{report}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done");
}

#[tokio::test]
async fn genesys_deletes_only_at_the_purge_and_forget_undo_and_restrict_change_nothing_there() {
    let h = default_harness().await;
    let request_id = uuid::Uuid::now_v7();
    let subject = call(json!({ "emailAddresses": ["client@example.com"] }));
    for action in ["forget", "undo", "restrict"] {
        let path = format!("/internal/gdpr/requests/{request_id}/{action}");
        let report: Value = h
            .gateway
            .post_signed(&path, ORCHESTRATOR, &subject)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["state"], "done", "{report}");
        // Said, not pretended: the request's step shows what Genesys Cloud did not do.
        assert!(
            report["detail"].as_str().is_some_and(|d| d.contains("Genesys Cloud")),
            "{report}"
        );
    }
    assert_eq!(h.sim.calls_to("gdpr.requests.create"), 0);
    // The simulator refuses a GDPR_DELETE without deleteConfirmed=true: created means confirmed.
    let path = format!("/internal/gdpr/requests/{request_id}/purge");
    let report: Value = h
        .gateway
        .post_signed(&path, ORCHESTRATOR, &subject)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["state"], "pending_external", "{report}");
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_DELETE"]);
}

#[tokio::test]
async fn only_the_orchestrators_signed_calls_reach_genesys() {
    let h = default_harness().await;
    let path = format!("/internal/gdpr/requests/{}/purge", uuid::Uuid::now_v7());
    let subject = call(json!({ "phoneNumbers": ["+420601123456"] }));
    // The orchestrator's own token without its signature: refused.
    let unsigned = h.gateway.post_json(&path, ORCHESTRATOR, &subject).await;
    let problem = assert_problem(unsigned, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("not signed"), "{problem}");
    // A signature over another call: refused.
    let forged = h
        .gateway
        .client
        .post(h.gateway.url(&path))
        .bearer_auth(h.gateway.token(ORCHESTRATOR))
        .header("Ccbridge-Gdpr-Signature", "t=1,sig=AAAA")
        .json(&subject)
        .send()
        .await
        .unwrap();
    assert_problem(forged, 403).await;
    // result-ingest's token, signed or not: it has no participant scope here.
    let ingest = h.gateway.post_signed(&path, INGEST, &subject).await;
    assert_problem(ingest, 403).await;
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

#[tokio::test]
async fn a_subject_must_arrive_normalised_and_nothing_reaches_genesys_otherwise() {
    let h = default_harness().await;
    let path = format!("/internal/gdpr/requests/{}/count", uuid::Uuid::now_v7());
    for (subject, pointer) in [
        (json!({ "phoneNumbers": ["tel:+420 601 123 456"] }), "/subject"),
        (json!({ "phoneNumbers": ["601123456"] }), "/subject"),
        (json!({ "emailAddresses": ["Client@Example.com"] }), "/subject"),
        (json!({ "jid": "x" }), "/subject/jid"),
    ] {
        let problem = assert_problem(
            h.gateway.post_signed(&path, ORCHESTRATOR, &call(subject.clone())).await,
            422,
        )
        .await;
        assert_eq!(problem_locations(&problem), [pointer], "{subject}");
        assert!(!problem.to_string().contains("601123456"), "{problem}");
    }
    let bad_action = format!("/internal/gdpr/requests/{}/delete", uuid::Uuid::now_v7());
    let problem = assert_problem(
        h.gateway
            .post_signed(
                &bad_action,
                ORCHESTRATOR,
                &call(json!({ "phoneNumbers": ["+420601123456"] })),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(problem_locations(&problem), ["action"]);
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

/// A rectify is one GDPR_UPDATE per replaced number or address, with its `replacementTerms`,
/// followed until Genesys completes it; a customer correction alone sends nothing (Genesys Cloud
/// holds no bank customer ids); a rectify without its rectification, or one not normalised, is
/// refused naming the field, and nothing reaches Genesys.
#[tokio::test]
async fn a_rectify_is_a_gdpr_update_per_replaced_handle_followed_until_done() {
    let h = start(
        genesys_sim::Seed::default_seed().unwrap(),
        |sim| sim.gdpr_step = std::time::Duration::from_millis(20),
        &[],
    )
    .await;
    let request_id = uuid::Uuid::now_v7();
    let path = format!("/internal/gdpr/requests/{request_id}/rectify");
    let subject = json!({ "phoneNumbers": ["+420601123456"], "emailAddresses": ["client@example.com"] });
    for (body, pointer) in [
        (call(subject.clone()), "/rectification"),
        (
            json!({ "subject": subject, "rectification": { "phoneNumbers": [{ "from": "+420601123456", "to": "tel:+420602000111" }] } }),
            "/rectification/phoneNumbers/0/to",
        ),
        (
            json!({ "subject": subject, "rectification": { "emailAddresses": [{ "from": "client@example.com", "to": "client@example.com" }] } }),
            "/rectification/emailAddresses/0/to",
        ),
        (json!({ "subject": subject, "rectification": {} }), "/rectification"),
    ] {
        let problem = assert_problem(h.gateway.post_signed(&path, ORCHESTRATOR, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [pointer], "{body}");
        assert!(!problem.to_string().contains("602000111"), "{problem}");
    }
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());

    let customer_only = json!({ "subject": { "customerIds": [CUSTOMER] },
        "rectification": { "customer": { "interactionIds": [INTERACTION], "to": AGENT } } });
    let answered = report(&h, &path, &customer_only).await;
    assert_eq!(
        (
            answered["state"].as_str(),
            answered["counts"]["genesysRequests"].as_u64()
        ),
        (Some("done"), Some(0))
    );
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());

    let rectify = json!({ "subject": subject, "rectification": {
        "phoneNumbers": [{ "from": "+420601123456", "to": "+420602000111" }],
        "emailAddresses": [{ "from": "client@example.com", "to": "new@example.com" }],
    } });
    let submitted = report(&h, &path, &rectify).await;
    assert_eq!(submitted["state"], "pending_external", "{submitted}");
    assert_eq!(submitted["counts"]["genesysRequests"], 2);
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_UPDATE", "GDPR_UPDATE"]);
    assert_eq!(
        h.sim.gdpr_replacement_terms(),
        [
            json!([{ "type": "PHONE", "existingValue": "+420601123456", "updatedValue": "+420602000111" }]),
            json!([{ "type": "EMAIL", "existingValue": "client@example.com", "updatedValue": "new@example.com" }]),
        ]
    );
    // Asked again with its reference, it follows the same updates (nothing submitted twice).
    let external_ref = submitted["externalRef"].as_str().unwrap();
    let again = json!({ "subject": rectify["subject"], "rectification": rectify["rectification"], "externalRef": external_ref });
    let mut state = Value::Null;
    for _ in 0..50 {
        state = report(&h, &path, &again).await["state"].clone();
        if state == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done");
    assert_eq!(h.sim.calls_to("gdpr.requests.create"), 2);
}

/// A RECTIFY's count says who else Genesys Cloud would correct: a GDPR_UPDATE rewrites a number
/// in every Genesys subject that holds it, so a `from` another person holds too (a household's
/// line) is a conflict under its pointer, and so is a `to` another person holds already; a fresh
/// `to` and a `from` only the subject holds are none. Counted by search alone: nothing is
/// submitted, and no value is in the answer.
#[tokio::test]
async fn a_rectify_count_names_a_number_other_genesys_subjects_hold() {
    let mut seed = genesys_sim::Seed::default_seed().unwrap();
    // The subject's own (the default seed's, +420601123456 and client@example.com), a
    // household member on the same line, and someone already holding the new number.
    seed.gdpr_subjects
        .push(json!({ "name": "Jan Dvořák", "phoneNumbers": ["+420601123456", "+420608000888"] }));
    seed.gdpr_subjects
        .push(json!({ "name": "Eva Malá", "phoneNumbers": ["+420603000333"] }));
    let h = start(seed, |_| {}, &[]).await;
    let path = format!("/internal/gdpr/requests/{}/count", uuid::Uuid::now_v7());
    let subject = json!({ "phoneNumbers": ["+420601123456"], "emailAddresses": ["client@example.com"] });
    let count = |phone_to: &str| {
        json!({ "subject": subject, "rectification": {
            "phoneNumbers": [{ "from": "+420601123456", "to": phone_to }],
            "emailAddresses": [{ "from": "client@example.com", "to": "new@example.com" }],
        } })
    };
    let shared = report(&h, &path, &count("+420603000333")).await;
    assert_eq!(shared["state"], "done", "{shared}");
    assert_eq!(
        shared["conflicts"],
        json!({ "/phoneNumbers/0/from": 1, "/phoneNumbers/0/to": 1 }),
        "{shared}"
    );
    // Both holders of the shared line are found; the e-mail address is the subject's alone.
    assert_eq!(shared["counts"]["genesysSubjects"], 3, "{shared}");
    for value in ["601123456", "603000333", "608000888", "example.com"] {
        assert!(!shared.to_string().contains(value), "{shared}");
    }
    let fresh = report(&h, &path, &count("+420604000444")).await;
    assert_eq!(fresh["conflicts"], json!({ "/phoneNumbers/0/from": 1 }), "{fresh}");
    assert_eq!(h.sim.calls_to("gdpr.requests.create"), 0);
    // One search per handle of the subject's and one per `to`, each count.
    assert_eq!(h.sim.calls_to("gdpr.subjects"), 8);

    // Where only the subject holds the number, nothing stands in the way.
    let h = start(genesys_sim::Seed::default_seed().unwrap(), |_| {}, &[]).await;
    let alone = report(&h, &path, &count("+420604000444")).await;
    assert_eq!(alone["state"], "done", "{alone}");
    assert_eq!(alone["conflicts"], json!({}), "checked, none found: {alone}");
    assert_eq!(alone["counts"]["genesysSubjects"], 2, "{alone}");
}

/// A purge call carrying `retain`.
fn purge_call(subject: Value, retain: Value) -> Value {
    json!({ "subject": subject, "retain": retain })
}

/// A new request's purge.
fn purge_path() -> String {
    format!("/internal/gdpr/requests/{}/purge", uuid::Uuid::now_v7())
}

/// The gateway's report on the orchestrator's signed call of `path` with `body`.
async fn report(h: &Harness, path: &str, body: &Value) -> Value {
    let response = h.gateway.post_signed(path, ORCHESTRATOR, body).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn retention(subject: Value, basis: &str) -> Value {
    json!({ "holdId": uuid::Uuid::now_v7(), "subject": subject, "basis": basis })
}

const AGENT: &str = "0d4f7a9e-5b2c-4e3a-9f1d-7c6b5a4e3d2c";
const CUSTOMER: &str = "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c";
const INTERACTION: &str = "9e3b6d2a-7c1f-4a8e-b5d0-2f6c9a3e7b1d";

#[tokio::test]
async fn a_held_subjects_delete_waits_and_a_later_purge_without_the_hold_submits_it() {
    let h = default_harness().await;
    let path = purge_path();
    // Two Genesys subjects: the handles, and the agent (an interaction is none of its own).
    let subject = json!({
        "phoneNumbers": ["+420601123456"],
        "emailAddresses": ["client@example.com"],
        "genesysUserIds": [AGENT],
        "interactionIds": [INTERACTION],
    });
    // One shared address holds the whole deletion back, whatever else the hold names and its
    // window; a hold naming one of the subject's interactions (whoever it belongs to) holds it
    // back too. The subjects that wait are counted once, under the first basis of the holds.
    let retain = json!([
        retention(json!({ "emailAddresses": ["client@example.com", "other@example.com"] }), "legal_claims"),
        {
            "holdId": uuid::Uuid::now_v7(),
            "subject": { "genesysUserIds": [AGENT] },
            "window": { "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z" },
            "basis": "legal_claims",
        },
        retention(json!({ "phoneNumbers": ["+420601123456"] }), "authority_request"),
        {
            "holdId": uuid::Uuid::now_v7(),
            "subject": {},
            "interactionIds": [INTERACTION],
            "basis": "legal_obligation",
        },
    ]);
    let held = report(&h, &path, &purge_call(subject.clone(), retain)).await;
    assert_eq!(held["state"], "done", "{held}");
    assert_eq!(
        held["retained"],
        json!([{ "category": "genesysSubjects", "basis": "legal_claims", "count": 2 }]),
        "{held}"
    );
    assert!(held.get("externalRef").is_none(), "{held}");
    let detail = held["detail"].as_str().unwrap();
    assert!(detail.contains("legal hold"), "{detail}");
    for identifier in ["601123456", "client@", AGENT] {
        assert!(!held.to_string().contains(identifier), "{held}");
    }
    assert_eq!(h.sim.calls_to("gdpr.requests.create"), 0, "{:?}", h.sim.calls());

    // The hold ended: the orchestrator purges the same request again without it.
    let resubmitted = report(&h, &path, &call(subject)).await;
    assert_eq!(resubmitted["state"], "pending_external", "{resubmitted}");
    assert_eq!(resubmitted["counts"]["genesysRequests"], 2);
    assert!(resubmitted.get("retained").is_none(), "{resubmitted}");
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_DELETE", "GDPR_DELETE"]);
}

#[tokio::test]
async fn a_retention_of_someone_else_does_not_hold_the_delete_back_nor_one_placed_after_it_was_submitted() {
    let h = default_harness().await;
    let path = purge_path();
    let subject =
        json!({ "phoneNumbers": ["+420601123456"], "customerIds": [CUSTOMER], "interactionIds": [INTERACTION] });
    let unrelated = json!([retention(
        json!({
            "phoneNumbers": ["+420601999999"],
            "emailAddresses": ["client@example.com"],
            "customerIds": [uuid::Uuid::new_v4()],
            "interactionIds": [uuid::Uuid::new_v4()],
            "genesysUserIds": [AGENT],
        }),
        "legal_obligation"
    )]);
    let submitted = report(&h, &path, &purge_call(subject.clone(), unrelated)).await;
    assert_eq!(submitted["state"], "pending_external", "{submitted}");
    assert!(submitted.get("retained").is_none(), "{submitted}");
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_DELETE"]);

    // Submitted before the hold came: the repeated call follows the Genesys request it has.
    let external_ref = submitted["externalRef"].as_str().unwrap();
    let mut repeated = purge_call(subject.clone(), json!([retention(subject, "legal_claims")]));
    repeated["externalRef"] = json!(external_ref);
    let followed = report(&h, &path, &repeated).await;
    assert_eq!(followed["externalRef"], external_ref, "{followed}");
    assert_ne!(followed["state"], "failed", "{followed}");
    assert!(followed.get("retained").is_none(), "{followed}");
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_DELETE"]);
}

/// A RECTIFY's rectify (and its count) holds back as a purge does: a hold naming one of the
/// subject's interactions, anything another participant left unchanged, or a statutory rule on
/// calls keeps evidence Genesys Cloud would rewrite (a GDPR_UPDATE corrects a value everywhere),
/// so nothing is submitted and `keptUnchanged` says what waits; without them it is submitted.
#[tokio::test]
async fn a_rectify_evidence_keeps_submits_no_gdpr_update_and_says_what_stays_unchanged() {
    let h = default_harness().await;
    // The default seed's Genesys subject holds the number and the address.
    let subject = json!({
        "phoneNumbers": ["+420601123456"],
        "emailAddresses": ["client@example.com"],
        "interactionIds": [INTERACTION],
    });
    let rectification = json!({ "phoneNumbers": [{ "from": "+420601123456", "to": "+420604000444" }] });
    let hold = json!({ "holdId": uuid::Uuid::now_v7(), "subject": {}, "interactionIds": [INTERACTION], "basis": "legal_claims" });
    let voice_rule =
        json!({ "name": "mifid2-voice", "channels": ["VOICE"], "keepDays": 365, "basis": "legal_obligation" });
    let kept_by_writer = json!({ "category": "communications", "basis": "legal_claims", "count": 1 });
    for (keeper, basis) in [
        (json!({ "retain": [hold] }), "legal_claims"),
        (json!({ "rules": [voice_rule] }), "legal_obligation"),
        (json!({ "keptElsewhere": [kept_by_writer] }), "legal_claims"),
    ] {
        let mut body = json!({ "subject": subject, "rectification": rectification });
        body.as_object_mut()
            .unwrap()
            .extend(keeper.as_object().unwrap().clone());
        let unchanged = json!([{ "category": "genesysSubjects", "basis": basis, "count": 1 }]);
        let counted = report(
            &h,
            &format!("/internal/gdpr/requests/{}/count", uuid::Uuid::now_v7()),
            &body,
        )
        .await;
        assert_eq!(counted["keptUnchanged"], unchanged, "{counted}");
        assert_eq!(counted["conflicts"], json!({}), "{counted}");
        let path = format!("/internal/gdpr/requests/{}/rectify", uuid::Uuid::now_v7());
        let answered = report(&h, &path, &body).await;
        assert_eq!(answered["state"], "done", "{answered}");
        assert_eq!(answered["counts"]["genesysRequests"], 0, "{answered}");
        assert_eq!(answered["keptUnchanged"], unchanged, "{answered}");
        assert!(answered.get("externalRef").is_none(), "{answered}");
        let detail = answered["detail"].as_str().unwrap();
        assert!(detail.contains("by hand"), "{detail}");
        assert!(!answered.to_string().contains("601123456"), "{answered}");
        assert_eq!(h.sim.calls_to("gdpr.requests.create"), 0, "{:?}", h.sim.calls());
    }
    assert!(h.sim.gdpr_request_types().is_empty());

    // A rule on e-mail keeps no call of a number's; a hold of someone else's keeps nothing of
    // theirs: the GDPR_UPDATE goes.
    let email_rule = json!({ "name": "mail", "channels": ["EMAIL"], "keepDays": 365, "basis": "legal_obligation" });
    let unrelated = retention(json!({ "phoneNumbers": ["+420601999999"] }), "legal_claims");
    let body =
        json!({ "subject": subject, "rectification": rectification, "rules": [email_rule], "retain": [unrelated] });
    let path = format!("/internal/gdpr/requests/{}/rectify", uuid::Uuid::now_v7());
    let submitted = report(&h, &path, &body).await;
    assert_eq!(submitted["state"], "pending_external", "{submitted}");
    assert!(submitted.get("keptUnchanged").is_none(), "{submitted}");
    assert_eq!(submitted["conflicts"], json!({}), "{submitted}");
    assert_eq!(h.sim.gdpr_request_types(), ["GDPR_UPDATE"]);
}

/// The rectify searches again before it submits: a `to` someone came to hold since the count
/// (a recycled number's new owner), or a spouse's contact on the shared line, is a conflict now;
/// that replacement is not submitted and the report names its pointer; the other goes.
#[tokio::test]
async fn a_rectify_submits_no_gdpr_update_for_a_value_someone_else_holds_by_then() {
    let mut seed = genesys_sim::Seed::default_seed().unwrap();
    seed.gdpr_subjects.push(
        json!({ "name": "Eva Malá", "externalContactId": uuid::Uuid::new_v4(), "phoneNumbers": ["+420603000333"] }),
    );
    let h = start(seed, |_| {}, &[]).await;
    let path = format!("/internal/gdpr/requests/{}/rectify", uuid::Uuid::now_v7());
    let body = json!({
        "subject": { "phoneNumbers": ["+420601123456", "+420603000333"], "emailAddresses": ["client@example.com"] },
        "rectification": {
            "phoneNumbers": [{ "from": "+420601123456", "to": "+420603000333" }],
            "emailAddresses": [{ "from": "client@example.com", "to": "new@example.com" }],
        },
    });
    let answered = report(&h, &path, &body).await;
    assert_eq!(answered["state"], "pending_external", "{answered}");
    assert_eq!(answered["counts"]["genesysRequests"], 1, "{answered}");
    assert_eq!(answered["conflicts"], json!({ "/phoneNumbers/0/to": 1 }), "{answered}");
    assert_eq!(
        h.sim.gdpr_replacement_terms(),
        [json!([{ "type": "EMAIL", "existingValue": "client@example.com", "updatedValue": "new@example.com" }])]
    );
    for value in ["601123456", "603000333", "example.com"] {
        assert!(!answered.to_string().contains(value), "{answered}");
    }

    // A spouse's external contact holding only the shared line: nothing goes.
    let mut seed = genesys_sim::Seed::default_seed().unwrap();
    seed.gdpr_subjects.push(
        json!({ "name": "Jan Dvořák", "externalContactId": uuid::Uuid::new_v4(), "phoneNumbers": ["+420601123456"] }),
    );
    let h = start(seed, |_| {}, &[]).await;
    let body = json!({
        "subject": { "phoneNumbers": ["+420601123456"] },
        "rectification": { "phoneNumbers": [{ "from": "+420601123456", "to": "+420604000444" }] },
    });
    let answered = report(&h, &path, &body).await;
    assert_eq!(answered["state"], "done", "{answered}");
    assert_eq!(answered["counts"]["genesysRequests"], 0, "{answered}");
    assert_eq!(
        answered["conflicts"],
        json!({ "/phoneNumbers/0/from": 1 }),
        "{answered}"
    );
    assert!(h.sim.gdpr_request_types().is_empty());
}
