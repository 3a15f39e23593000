//! A verified requester (issue #31): handing a customer's history to an impostor, or erasing it at
//! an impostor's word, is itself a breach. While `gdpr.requester_verification = "required"` (the
//! default), an export's bundle is not handed over and a FORGET not confirmed until a person the
//! identity provider signed in recorded how the requester's identity was verified; the audit
//! chain holds who, how and when, never the evidence's reference.

use crate::helpers::{assert_not_logged, stack_with, Person, Stack, StackOptions, DPO};
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::assert_problem;
use test_support::oidc::{Provider, ProviderOptions};

const EVIDENCE: &str = "DMS-2026-00042";

/// The stack outside development, its people signed in at `provider`, verification `rule`.
async fn production(provider: &Provider, rule: &str) -> Stack {
    let mut options = StackOptions::production_with_persons(provider, 60);
    options
        .orchestrator
        .push(("gdpr.requester_verification".to_owned(), rule.to_owned()));
    stack_with(options).await
}

/// `method` `path` through the DPO tool for the person `token` signs in, with `body`.
async fn as_person(
    s: &Stack,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = s
        .orchestrator
        .client
        .request(method, s.orchestrator.url(path))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Person-Token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn shown_to(s: &Stack, id: &str, token: &str) -> Value {
    let response = as_person(s, reqwest::Method::GET, &format!("/gdpr/requests/{id}"), token, None).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn record(s: &Stack, id: &str, token: &str, method: &str, evidence: &str) -> reqwest::Response {
    let body = json!({ "method": method, "evidenceReference": evidence });
    as_person(
        s,
        reqwest::Method::POST,
        &format!("/gdpr/requests/{id}/verification"),
        token,
        Some(body),
    )
    .await
}

fn actions(request: &Value) -> Vec<&str> {
    request["allowedActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn entry<'a>(entries: &'a [Value], event: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["event"] == event)
        .unwrap_or_else(|| panic!("no {event} entry: {entries:?}"))
}

/// A subject with one record, and the JSON that names them.
async fn recorded_subject(s: &Stack) -> (Person, Value) {
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let subject = json!({ "phoneNumbers": [person.phone] });
    (person, subject)
}

#[tokio::test]
async fn an_export_is_handed_over_only_once_a_signed_in_person_recorded_how_the_requester_was_verified() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let s = production(&provider, "required").await;
    let (person, subject) = recorded_subject(&s).await;
    let dana = provider.access_token("dana").await;
    let filed: Value = s
        .file_signed_in("EXPORT", subject, false, &dana)
        .await
        .json()
        .await
        .unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    let (request, _) = s.run_while(&id, "exporting", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");

    // Completed, but nobody checked who asked: no download, the verification to record instead.
    let before = shown_to(&s, &id, &dana).await;
    println!("completed, unverified: allowedActions {:?}", actions(&before));
    assert_eq!(actions(&before), ["record_verification"]);
    assert!(before.get("requesterVerification").is_none(), "{before}");
    let export = format!("/gdpr/requests/{id}/export");
    let refused = assert_problem(as_person(&s, reqwest::Method::GET, &export, &dana, None).await, 409).await;
    println!("download before the verification: 409 {}", refused["detail"]);
    assert!(
        refused["detail"].as_str().unwrap().contains("not verified yet"),
        "{refused}"
    );
    // The answer alone holds the subject's data as the bundle does: the same gate.
    let answer = format!("/gdpr/requests/{id}/answer");
    let refused = assert_problem(as_person(&s, reqwest::Method::GET, &answer, &dana, None).await, 409).await;
    println!("the answer before the verification: 409 {}", refused["detail"]);
    assert!(
        refused["detail"].as_str().unwrap().contains("not verified yet"),
        "{refused}"
    );

    // An unknown method and evidence that is no reference (a phone number) are refused by name;
    // nothing is recorded.
    let bad = assert_problem(record(&s, &id, &dana, "phone_call", &person.phone).await, 422).await;
    let pointers: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/method", "/evidenceReference"], "{bad}");
    assert!(!bad.to_string().contains(&person.digits), "{bad}");
    assert!(shown_to(&s, &id, &dana).await.get("requesterVerification").is_none());

    let recorded = record(&s, &id, &dana, "video_call", EVIDENCE).await;
    assert_eq!(recorded.status().as_u16(), 200);
    let after: Value = recorded.json().await.unwrap();
    println!("recorded: {}", after["requesterVerification"]);
    let verification = &after["requesterVerification"];
    assert_eq!(
        (
            &verification["method"],
            &verification["evidenceReference"],
            &verification["verifiedBy"],
            &verification["verifiedByName"],
            &verification["verifiedVia"]
        ),
        (
            &json!("video_call"),
            &json!(EVIDENCE),
            &json!("dana"),
            &json!("Dana Dpo"),
            &json!(DPO)
        )
    );
    assert_eq!(actions(&after), ["download"]);
    // Once: a second record (another method) changes nothing.
    let again = assert_problem(record(&s, &id, &dana, "signed_letter", "DMS-2026-00043").await, 409).await;
    assert!(
        again["detail"].as_str().unwrap().contains("recorded already"),
        "{again}"
    );
    assert_eq!(shown_to(&s, &id, &dana).await["requesterVerification"], *verification);

    // A look at the answer is audited as a look, not as the bundle's hand-over.
    let viewed = as_person(&s, reqwest::Method::GET, &answer, &dana, None).await;
    assert_eq!(viewed.status().as_u16(), 200);
    let viewed: contracts::gdpr::SubjectAnswer = viewed.json().await.unwrap();
    assert_eq!(viewed.answer.path, "answer.cs.html");
    assert!(viewed.verified_page().unwrap().starts_with("<!DOCTYPE html>"));
    let trail = s.audit(&id).await;
    let look = entry(&trail, "answer_viewed");
    assert_eq!(
        (&look["actor"], &look["detail"]["requesterVerified"]),
        (&json!("dana"), &json!(true))
    );
    assert!(!trail.iter().any(|e| e["event"] == "bundle_downloaded"), "{trail:?}");

    let bundle = as_person(&s, reqwest::Method::GET, &export, &dana, None).await;
    assert_eq!(bundle.status().as_u16(), 200);
    let bundle: contracts::gdpr::Bundle = bundle.json().await.unwrap();
    // The page looked at is the page handed over.
    assert_eq!(bundle.manifest.answer, viewed.answer);
    assert_eq!(bundle.answer, viewed.page);

    // The chain holds who verified, how and when; the evidence's reference stays out of it.
    let trail = s.audit(&id).await;
    let verified = entry(&trail, "requester_verified");
    assert_eq!(
        (&verified["actor"], &verified["actorName"]),
        (&json!("dana"), &json!("Dana Dpo"))
    );
    assert_eq!(verified["detail"]["method"], "video_call");
    assert_eq!(entry(&trail, "bundle_downloaded")["detail"]["requesterVerified"], true);
    assert!(!json!(trail).to_string().contains(EVIDENCE));
    assert_not_logged(&[EVIDENCE, &person.phone, "Dana Dpo"]);
}

#[tokio::test]
async fn a_forget_is_confirmed_only_once_the_requester_is_verified() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let s = production(&provider, "required").await;
    let (_, subject) = recorded_subject(&s).await;
    let (dana, bob) = (provider.access_token("dana").await, provider.access_token("bob").await);
    let filed: Value = s
        .file_signed_in("FORGET", subject, false, &dana)
        .await
        .json()
        .await
        .unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(s.run(&id, Timestamp::now()).await["status"], "awaiting_confirmation");

    // Bob is another person (four eyes), but nobody has verified the requester yet.
    assert_eq!(
        actions(&shown_to(&s, &id, &bob).await),
        ["extend", "undo", "record_verification"]
    );
    let refused = assert_problem(s.confirm_signed_in(&id, &bob).await, 409).await;
    println!("confirm before the verification: 409 {}", refused["detail"]);
    assert!(
        refused["detail"].as_str().unwrap().contains("not verified yet"),
        "{refused}"
    );
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");

    // Dana saw the requester's identity card at the branch.
    assert_eq!(
        record(&s, &id, &dana, "in_person_id_document", EVIDENCE)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(actions(&shown_to(&s, &id, &bob).await), ["confirm", "extend", "undo"]);
    assert_eq!(s.confirm_signed_in(&id, &bob).await.status().as_u16(), 200);
    assert_eq!(s.run(&id, Timestamp::now()).await["status"], "in_grace");
    let trail = s.audit(&id).await;
    assert_eq!(entry(&trail, "confirmed")["detail"]["requesterVerified"], true);
    assert_eq!(
        entry(&trail, "requester_verified")["detail"]["method"],
        "in_person_id_document"
    );
}

/// In development a person may be named in `X-Acting-User`: never enough to vouch for a
/// requester's identity.
#[tokio::test]
async fn a_typed_name_never_records_a_verification_and_the_refusal_is_audited() {
    let s = stack_with(StackOptions {
        orchestrator: vec![("gdpr.requester_verification".to_owned(), "required".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let (_, subject) = recorded_subject(&s).await;
    let id = s.file("EXPORT", subject, false).await;
    let (request, _) = s.run_while(&id, "exporting", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert!(actions(&request).is_empty(), "{request}");

    let response = s
        .orchestrator
        .client
        .post(s.orchestrator.url(&format!("/gdpr/requests/{id}/verification")))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "alice")
        .json(&json!({ "method": "video_call", "evidenceReference": EVIDENCE }))
        .send()
        .await
        .unwrap();
    let refused = assert_problem(response, 403).await;
    println!("X-Acting-User records a verification: 403 {}", refused["detail"]);
    assert!(s.request(&id).await.get("requesterVerification").is_none());
    assert_eq!(entry(&s.audit(&id).await, "verification_refused")["actor"], "alice");
    let export = s.orchestrator.get(&format!("/gdpr/requests/{id}/export"), DPO).await;
    assert_problem(export, 409).await;
}

/// `advisory`: nothing waits, and the audit says the bundle went to a requester nobody verified.
#[tokio::test]
async fn advisory_hands_the_bundle_over_and_the_audit_says_unverified() {
    let s = stack_with(StackOptions {
        orchestrator: vec![("gdpr.requester_verification".to_owned(), "advisory".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let (_, subject) = recorded_subject(&s).await;
    let (request, _) = s.export(subject).await;
    let id = request["id"].as_str().unwrap();
    assert_eq!(actions(&s.request(id).await), ["download"]);
    assert_eq!(
        entry(&s.audit(id).await, "bundle_downloaded")["detail"]["requesterVerified"],
        false
    );
}

/// `gdpr exportme` stops at a completed export whose requester nobody verified, saying how to go
/// on; `gdpr verify`, signed in, records it and writes the bundle; `--method`/`--evidence` on
/// `exportme` record it right after filing (and `--language` chooses the subject's answer's).
#[tokio::test]
async fn the_gdpr_command_records_the_verification_and_then_writes_the_bundle() {
    use crate::cli::{gdpr_signed_in, read_json, run_worker, signed_in_args};
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let s = production(&provider, "required").await;
    let (_, subject) = recorded_subject(&s).await;
    let subject = subject.to_string();
    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let args = |operation: &str, input: &str, out: &str, more: &[&str]| {
        let mut args = signed_in_args(&s, &provider, [operation, input], &work.path().join(out), 100);
        args.extend(more.iter().map(|a| (*a).to_owned()));
        args
    };

    let stopped = gdpr_signed_in(args("exportme", &subject, "stopped", &[]), &provider, "dana").await;
    assert!(!stopped.status.success());
    let reason = String::from_utf8_lossy(&stopped.stderr);
    println!(
        "gdpr exportme, unverified: {}",
        reason.lines().last().unwrap_or_default()
    );
    assert!(reason.contains("gdpr verify -i"), "{reason}");
    let id = read_json(&work.path().join("stopped/output.json"))["request"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!work.path().join("stopped/manifest.json").exists());

    let verify = ["--method", "video_call", "--evidence", EVIDENCE];
    let verified = gdpr_signed_in(args("verify", &id, "verified", &verify), &provider, "dana").await;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let output = read_json(&work.path().join("verified/output.json"));
    assert_eq!(output["request"]["requesterVerification"]["method"], "video_call");
    assert_eq!(output["request"]["requesterVerification"]["verifiedBy"], "dana");
    assert!(work.path().join("verified/manifest.json").exists());
    // The subject's answer beside the files, in the filing's language (the default, Czech).
    let answer = std::fs::read_to_string(work.path().join("verified/answer.cs.html")).unwrap();
    assert!(answer.contains("<html lang=\"cs\">"));

    let at_once = [
        "--method",
        "signed_letter",
        "--evidence",
        "DMS-2026-00044",
        "--language",
        "en",
    ];
    let filed = gdpr_signed_in(args("exportme", &subject, "at-once", &at_once), &provider, "bob").await;
    assert!(filed.status.success(), "{}", String::from_utf8_lossy(&filed.stderr));
    let output = read_json(&work.path().join("at-once/output.json"));
    assert_eq!(output["request"]["language"], "en");
    assert_eq!(output["request"]["requesterVerification"]["method"], "signed_letter");
    assert!(work.path().join("at-once/answer.en.html").exists());
    running.abort();
}

/// The evidence reference points to the subject's records: erased with the request's identifiers
/// once `gdpr.identifier_retention_days` have passed; how, by whom and when stay.
#[tokio::test]
async fn the_evidence_reference_is_erased_with_the_requests_identifiers() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let s = production(&provider, "required").await;
    let (_, subject) = recorded_subject(&s).await;
    let dana = provider.access_token("dana").await;
    let filed: Value = s
        .file_signed_in("EXPORT", subject, false, &dana)
        .await
        .json()
        .await
        .unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    let (request, now) = s.run_while(&id, "exporting", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(
        record(&s, &id, &dana, "signed_letter", EVIDENCE)
            .await
            .status()
            .as_u16(),
        200
    );

    s.worker.drain(crate::helpers::after(now, 31 * 86_400)).await.unwrap();
    let erased = s.request(&id).await;
    assert!(erased["identifiersErasedAt"].is_string(), "{erased}");
    let verification = &erased["requesterVerification"];
    assert!(
        verification.get("evidenceReference").is_none() || verification["evidenceReference"].is_null(),
        "{erased}"
    );
    assert_eq!(
        (&verification["method"], &verification["verifiedBy"]),
        (&json!("signed_letter"), &json!("dana"))
    );
    let tables = test_support::dump_tables(s.orchestrator.pool()).await;
    assert!(
        !tables.iter().any(|line| line.contains(EVIDENCE)),
        "the evidence reference is erased"
    );
}
