//! A hold's page: what it covers (counted), why, on which basis, until when, who placed it and
//! who asked to release it, its audit trail, and the buttons the orchestrator allows the
//! signed-in person now (`allowedActions`): ask to release, confirm the release (a second
//! person: four eyes), withdraw the ask. The console holds no rule of its own about them.

use super::super::super::page;
use super::super::{audit_rows, call_failed, not_found, or_dash, refused_if, sent_for, shown_to, AuditRow, FormToken};
use super::{basis_label, covers, ends, particular, status_label, status_next, LIST};
use crate::bank_time::BankTime;
use crate::services::{CallError, Services};
use crate::session::{Person, Refusal};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::AuditTrail;
use contracts::legal_hold::{LegalHold, LegalHoldAction, ReleaseLegalHold, ReleaseStep, TimeWindow};
use serde::Deserialize;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/legal-holds/{id}", web::get().to(hold))
        .route("/gdpr/legal-holds/{id}/release", web::post().to(release))
        .route("/gdpr/legal-holds/{id}/release/withdraw", web::post().to(withdraw));
}

#[derive(Template)]
#[template(path = "legal_hold.html")]
struct HoldPage {
    person: Option<Person>,
    csrf: String,
    refusal: Option<String>,
    id: String,
    status: &'static str,
    /// What the hold does now, or what follows.
    next: &'static str,
    reference: String,
    reason: String,
    basis: &'static str,
    covers: String,
    window: String,
    ends: String,
    placed_by: String,
    placed_via: String,
    placed_at: String,
    release_requested: String,
    released: String,
    /// The buttons: exactly the actions the orchestrator answered it allows this person now.
    request_release: bool,
    confirm_release: bool,
    withdraw: bool,
    chain_verified: bool,
    audit: Vec<AuditRow>,
}

/// A window in words; none is every communication.
fn window(window: Option<TimeWindow>, time: &BankTime) -> String {
    match window.map(|w| (w.from.map(|at| time.at(at)), w.to.map(|at| time.at(at)))) {
        None | Some((None, None)) => "every communication".to_owned(),
        Some((Some(from), None)) => format!("communications from {from} on"),
        Some((None, Some(to))) => format!("communications before {to}"),
        Some((Some(from), Some(to))) => format!("communications from {from} until {to} (not included)"),
    }
}

/// `who` at `at`, or a dash.
fn by_at(who: Option<String>, at: Option<domain::Timestamp>, time: &BankTime) -> String {
    match (who, at) {
        (Some(who), Some(at)) => format!("{who}, {}", time.at(at)),
        (who, at) => or_dash(who.or(at.map(|at| time.at(at)))),
    }
}

async fn hold_page(
    services: &Services,
    time: &BankTime,
    person: Person,
    id: uuid::Uuid,
    refusal: Option<String>,
) -> Result<HttpResponse, Refusal> {
    let (hold_path, audit_path) = (format!("{LIST}/{id}"), format!("{LIST}/{id}/audit"));
    let (hold, audit) = tokio::join!(
        services.gdpr.get(&hold_path).send::<LegalHold>(),
        services.gdpr.get(&audit_path).send::<AuditTrail>(),
    );
    let (hold, audit) = match (hold, audit) {
        (Ok(hold), Ok(audit)) => (hold, audit),
        (Err(error), _) if not_found(&error) => return Err(Refusal::NotFound),
        (Err(error), _) | (_, Err(error)) => return Ok(call_failed(&error, person)),
    };
    let allows = |action| hold.allowed_actions.contains(&action);
    let [request_release, confirm_release, withdraw] = [
        LegalHoldAction::RequestRelease,
        LegalHoldAction::ConfirmRelease,
        LegalHoldAction::WithdrawRelease,
    ]
    .map(allows);
    let covers = covers(&hold, time);
    let ends = ends(&hold, time);
    let response = page(
        HoldPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            refusal: refusal.clone(),
            id: id.to_string(),
            status: status_label(hold.status),
            next: status_next(hold.status),
            reference: particular(hold.reference.as_ref(), &hold, time),
            reason: particular(hold.reason.as_ref(), &hold, time),
            basis: basis_label(hold.basis),
            covers,
            window: window(hold.window, time),
            ends,
            placed_by: hold.placed_by,
            placed_via: hold.placed_via,
            placed_at: time.at(hold.placed_at),
            release_requested: by_at(hold.release_requested_by, hold.release_requested_at, time),
            released: by_at(hold.released_by, hold.released_at, time),
            request_release,
            confirm_release,
            withdraw,
            chain_verified: audit.chain_verified,
            audit: audit_rows(audit, time, false),
        }
        .render(),
    );
    Ok(refused_if(response, refusal.is_some()))
}

async fn hold(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = shown_to(&session, LIST, &path)?;
    hold_page(&services, &time, person, id, None).await
}

/// After an action on hold `id`: see [`super::super::acted`] (refused: four eyes, not the one
/// who asked, a hold released meanwhile, no reason).
async fn acted(
    services: &Services,
    time: &BankTime,
    person: Person,
    id: uuid::Uuid,
    answer: Result<LegalHold, CallError>,
) -> Result<HttpResponse, Refusal> {
    super::super::acted(person, &format!("{LIST}/{id}"), answer, |person, refusal| {
        hold_page(services, time, person, id, Some(refusal))
    })
    .await
}

#[derive(Deserialize)]
struct ReleaseForm {
    csrf: Option<String>,
    /// The button's step: the page offered one, and says which (a form without it is refused
    /// once its token is checked).
    step: Option<ReleaseStep>,
    #[serde(default)]
    reason: String,
}

/// Asks to release the hold, or confirms another person's ask: the step the page's button named
/// (a page that showed "ask" never confirms an ask made meanwhile: the orchestrator refuses it).
async fn release(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ReleaseForm>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, LIST, &path, form.csrf.as_deref())?;
    let body = ReleaseLegalHold {
        step: form.step.ok_or(Refusal::BadForm)?,
        reason: form.reason.trim().to_owned(),
    };
    let answer = services
        .gdpr
        .post(&format!("{LIST}/{id}/release"))
        .json(&body)
        .send::<LegalHold>()
        .await;
    acted(&services, &time, person, id, answer).await
}

async fn withdraw(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, LIST, &path, form.csrf.as_deref())?;
    let answer = services
        .gdpr
        .post(&format!("{LIST}/{id}/release/withdraw"))
        .send::<LegalHold>()
        .await;
    acted(&services, &time, person, id, answer).await
}
