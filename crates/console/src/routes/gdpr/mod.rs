//! The GDPR pages (role `dpo`): requests with their status and due date, a new request counted
//! first and filed after, a request's steps, counts and audit trail, confirmation (refused to
//! the person who filed it, with the orchestrator's reason), and the export as one zip. Every
//! call goes to gdpr-orchestrator in the name of the signed-in person.

mod answer;
mod filing;
mod legal_holds;
mod reports;
mod request;
mod retention;
mod verification;
mod words;

use super::{failed, page, Back};
use crate::bank_time::BankTime;
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::{AuditTrail, ListRequests, RequestPage};
use domain::Timestamp;
use serde::Deserialize;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr", web::get().to(list));
    answer::config(cfg);
    filing::config(cfg);
    legal_holds::config(cfg);
    reports::config(cfg);
    request::config(cfg);
    retention::config(cfg);
    verification::config(cfg);
}

/// Where a GDPR page that failed sends the person back to.
const BACK: Back<'static> = Back {
    path: "/gdpr",
    label: "Back to the requests",
};

/// A call to gdpr-orchestrator that gave no answer the page can use, as a page.
fn call_failed(error: &CallError, person: Person) -> HttpResponse {
    failed(error, Some(person), BACK)
}

/// A value as shown on a request's page: nothing (yet) is a dash.
fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

/// The id in a page's path; anything else is no page.
fn parse_id(path: &str) -> Result<uuid::Uuid, Refusal> {
    uuid::Uuid::parse_str(path).map_err(|_| Refusal::NotFound)
}

/// The orchestrator knows no such request or hold.
fn not_found(error: &CallError) -> bool {
    error.status() == Some(reqwest::StatusCode::NOT_FOUND)
}

/// The DPO who sent a form of the page at `page` (the form's token checked).
fn sent_from(session: &Session, page: &str, csrf: Option<&str>) -> Result<Person, Refusal> {
    let person = session::require_role(session, page, Role::Dpo)?;
    session::check_form_token(&person, csrf)?;
    Ok(person)
}

/// The id in `path` that a form of the page `{page}/{id}` was sent for, and the DPO who sent it
/// (the form's token checked).
fn sent_for(session: &Session, page: &str, path: &str, csrf: Option<&str>) -> Result<(uuid::Uuid, Person), Refusal> {
    let (id, person) = shown_to(session, page, path)?;
    session::check_form_token(&person, csrf)?;
    Ok((id, person))
}

/// The id in `path` of the page `{page}/{id}`, and the DPO it is shown to.
fn shown_to(session: &Session, page: &str, path: &str) -> Result<(uuid::Uuid, Person), Refusal> {
    let id = parse_id(path)?;
    Ok((id, session::require_role(session, &format!("{page}/{id}"), Role::Dpo)?))
}

/// After an action on what the page at `page` shows: back to that page when done; refused (a
/// problem with a 4xx: four eyes, a state that no longer allows it, a bad field), the page again
/// (`again`) saying why in the orchestrator's words, which never name an identifier; anything
/// else, the page of a failed call.
async fn acted<T, Fut>(
    person: Person,
    page: &str,
    answer: Result<T, CallError>,
    again: impl FnOnce(Person, String) -> Fut,
) -> Result<HttpResponse, Refusal>
where
    Fut: std::future::Future<Output = Result<HttpResponse, Refusal>>,
{
    let error = match answer {
        Ok(_) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, page.to_owned()))
                .finish())
        }
        Err(error) => error,
    };
    match error.problem() {
        Some(problem) if error.status().is_some_and(|s| s.is_client_error()) => {
            again(person, super::reason(problem).to_owned()).await
        }
        _ => Ok(call_failed(&error, person)),
    }
}

/// A page shown again with the orchestrator's refusal of an action answers 403.
fn refused_if(mut response: HttpResponse, refused: bool) -> HttpResponse {
    if refused && response.status().is_success() {
        *response.status_mut() = actix_web::http::StatusCode::FORBIDDEN;
    }
    response
}

/// A form that sends its token alone.
#[derive(Deserialize)]
struct FormToken {
    csrf: Option<String>,
}

/// One entry of an audit trail, as the timeline shows it (`timeline.html`).
struct AuditRow {
    /// When, in the bank's time zone.
    at: String,
    /// The same instant for machines (`<time datetime>`).
    at_rfc3339: String,
    /// The person's subject at the identity provider (or the client acting as itself).
    actor: String,
    /// Their name as the provider gives it (none for a client acting as itself).
    actor_name: String,
    caller: String,
    /// What happened, in words.
    event: String,
}

fn audit_rows(trail: AuditTrail, time: &BankTime, count_only: bool) -> Vec<AuditRow> {
    trail
        .entries
        .into_iter()
        .map(|e| AuditRow {
            at: time.at(e.at),
            at_rfc3339: e.at.to_rfc3339(),
            event: words::event(&e, count_only),
            actor: e.actor,
            actor_name: e.actor_name.unwrap_or_default(),
            caller: e.caller.unwrap_or_default(),
        })
        .collect()
}

struct RequestRow {
    id: String,
    kind: &'static str,
    /// What the next step is, in a sentence.
    next: String,
    /// A count (count-only): shown as a count, linked to its count page.
    count_only: bool,
    status: &'static str,
    reference: String,
    due: String,
    overdue: bool,
    requested_by: String,
}

#[derive(Template)]
#[template(path = "gdpr_list.html")]
struct ListPage {
    person: Option<Person>,
    requests: Vec<RequestRow>,
    overdue_only: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    overdue: Option<bool>,
}

async fn list(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr", Role::Dpo)?;
    let overdue_only = query.overdue == Some(true);
    let which = ListRequests {
        overdue: overdue_only.then_some(true),
        limit: Some(100),
        ..ListRequests::default()
    };
    let answer: RequestPage = match services.gdpr.get("/gdpr/requests").query(&which).send().await {
        Ok(answer) => answer,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    let now = Timestamp::now();
    let requests = answer
        .requests
        .into_iter()
        .map(|r| RequestRow {
            id: r.id.to_string(),
            kind: words::kind(r.request_type),
            next: words::next(&r, &time),
            count_only: r.count_only,
            status: words::status(r.status, r.count_only),
            due: words::due(&r, &time, now),
            reference: or_dash(r.reference),
            overdue: r.overdue,
            requested_by: r.requested_by,
        })
        .collect();
    Ok(page(
        ListPage {
            person: Some(person),
            requests,
            overdue_only,
        }
        .render(),
    ))
}
