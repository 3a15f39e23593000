//! A request's requester verification: the form a DPO records on how the requester's identity was
//! verified (the method, and where the evidence is kept in the bank's records), in their own name.
//! The orchestrator decides whether it may be recorded and by whom; the page says its reasons.

use super::super::page;
use super::{acted, call_failed, not_found, refused_if, sent_for, shown_to};
use crate::bank_time::BankTime;
use crate::services::Services;
use crate::session::{Person, Refusal};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::{AllowedAction, GdprRequest, RecordVerification, VerificationMethod};
use serde::Deserialize;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/requests/{id}/verification", web::get().to(form))
        .route("/gdpr/requests/{id}/verification", web::post().to(record));
}

/// Where a request's page is.
const REQUESTS: &str = "/gdpr/requests";

/// A method as the form offers it.
struct Method {
    value: &'static str,
    words: &'static str,
}

/// Each method, in words.
pub(super) fn method_words(method: VerificationMethod) -> &'static str {
    match method {
        VerificationMethod::InPersonIdDocument => "In person at a branch, against an identity document",
        VerificationMethod::OnlineBankingLogin => "Signed in to online banking (strong customer authentication)",
        VerificationMethod::QualifiedElectronicSignature => "A request with a qualified electronic signature",
        VerificationMethod::SignedLetter => "A letter with an officially verified signature",
        VerificationMethod::VideoCall => "A video call, against an identity document",
    }
}

#[derive(Template)]
#[template(path = "gdpr_verification.html")]
struct VerificationPage {
    person: Option<Person>,
    csrf: String,
    refusal: Option<String>,
    id: String,
    kind: &'static str,
    reference: String,
    /// How it was verified, once recorded (then there is no form).
    recorded: Option<String>,
    /// Whether the orchestrator lets this person record it now.
    allowed: bool,
    methods: Vec<Method>,
    /// What was sent, shown again with a refusal.
    method: String,
    evidence_reference: String,
}

#[derive(Deserialize)]
struct VerificationForm {
    csrf: Option<String>,
    method: String,
    evidence_reference: String,
}

async fn form_page(
    services: &Services,
    time: &BankTime,
    person: Person,
    id: uuid::Uuid,
    refusal: Option<String>,
    sent: Option<VerificationForm>,
) -> Result<HttpResponse, Refusal> {
    let request: GdprRequest = match services.gdpr.get(&format!("/gdpr/requests/{id}")).send().await {
        Ok(request) => request,
        Err(error) if not_found(&error) => return Err(Refusal::NotFound),
        Err(error) => return Ok(call_failed(&error, person)),
    };
    let recorded = request.requester_verification.as_ref().map(|v| {
        format!(
            "{}, recorded by {} on {}",
            method_words(v.method),
            v.verified_by_name.as_deref().unwrap_or(&v.verified_by),
            time.at(v.verified_at)
        )
    });
    let (method, evidence_reference) = sent.map_or_else(Default::default, |s| (s.method, s.evidence_reference));
    let allowed = request.allows(AllowedAction::RecordVerification);
    let response = page(
        VerificationPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            refusal: refusal.clone(),
            id: id.to_string(),
            kind: super::words::kind(request.request_type),
            reference: request.reference.unwrap_or_default(),
            recorded,
            allowed,
            methods: VerificationMethod::ALL
                .into_iter()
                .map(|m| Method {
                    value: m.as_str(),
                    words: method_words(m),
                })
                .collect(),
            method,
            evidence_reference,
        }
        .render(),
    );
    Ok(refused_if(response, refusal.is_some()))
}

async fn form(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = shown_to(&session, REQUESTS, &path)?;
    form_page(&services, &time, person, id, None, None).await
}

async fn record(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<VerificationForm>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, REQUESTS, &path, form.csrf.as_deref())?;
    let form = form.into_inner();
    let answer = services
        .gdpr
        .post(&format!("/gdpr/requests/{id}/verification"))
        .json(&RecordVerification {
            method: form.method.clone(),
            evidence_reference: form.evidence_reference.clone(),
        })
        .send::<GdprRequest>()
        .await;
    acted(
        person,
        &format!("{REQUESTS}/{id}"),
        answer,
        |person, reason| async move { form_page(&services, &time, person, id, Some(reason), Some(form)).await },
    )
    .await
}
