//! `/inbox` (role `operator`): result-ingest's pending and dead webhook results (ids, attempts,
//! reasons: no personal data), retrying one or every dead one, and the sweeps, with a form to
//! sweep a window. Calls go to result-ingest in the operator's name.

use super::{page, text, Notice};
use crate::services::{Answer, Api, CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/inbox", web::get().to(inbox))
        .route("/inbox/events/{id}/retry", web::post().to(retry_one))
        .route("/inbox/retry-dead", web::post().to(retry_dead))
        .route("/inbox/sweeps", web::post().to(sweep));
}

struct EventRow {
    id: String,
    conversation_id: String,
    accepted_at: String,
    attempts: String,
    next_attempt_at: String,
    last_error: String,
}

struct SweepRow {
    id: String,
    window: String,
    status: String,
    progress: String,
    requested_by: String,
    last_error: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    person: Option<Person>,
    csrf: String,
    notice: Option<String>,
    dead: Vec<EventRow>,
    pending: Vec<EventRow>,
    sweeps: Vec<SweepRow>,
}

fn problem(heading: &str, reason: &str, status: StatusCode) -> HttpResponse {
    let mut response = page(
        Notice {
            person: None,
            heading,
            reason,
            back: "/inbox",
            back_label: "Back to the inbox",
        }
        .render(),
    );
    *response.status_mut() = status;
    response
}

fn unavailable(error: &CallError) -> HttpResponse {
    tracing::warn!(error = %error, "a service call failed");
    problem(
        "Not available",
        "result-ingest did not answer. Try again in a moment.",
        StatusCode::BAD_GATEWAY,
    )
}

fn refused(answer: &Answer) -> HttpResponse {
    problem(
        "Refused",
        &format!("result-ingest refused: {}", answer.reason()),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

fn events(answer: &Answer) -> Vec<EventRow> {
    answer.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| EventRow {
            id: text(&e["id"]),
            conversation_id: text(&e["conversationId"]),
            accepted_at: text(&e["acceptedAt"]),
            attempts: text(&e["attempts"]),
            next_attempt_at: text(&e["nextAttemptAt"]),
            last_error: text(&e["lastError"]),
        })
        .collect()
}

#[derive(Deserialize)]
struct InboxQuery {
    done: Option<String>,
}

async fn inbox(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    let get = |path: &'static str| services.call(Api::ResultIngest, Method::GET, path, None);
    let (dead, pending, sweeps) = tokio::join!(
        get("/ingest/events?status=dead&limit=100"),
        get("/ingest/events?status=pending&limit=100"),
        get("/ingest/sweeps?limit=20"),
    );
    let (dead, pending, sweeps) = match (dead, pending, sweeps) {
        (Ok(d), Ok(p), Ok(s)) if d.is_success() && p.is_success() && s.is_success() => (d, p, s),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => return Ok(unavailable(&error)),
        (d, p, s) => {
            let refusal = [d, p, s].into_iter().flatten().find(|a| !a.is_success());
            return Ok(refusal.map_or_else(
                || problem("Refused", "result-ingest refused.", StatusCode::BAD_GATEWAY),
                |answer| refused(&answer),
            ));
        }
    };
    let sweeps = sweeps.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SweepRow {
            id: text(&s["id"]),
            window: format!("{} to {}", text(&s["from"]), text(&s["to"])),
            status: text(&s["status"]),
            progress: format!("{}%", text(&s["progressPercent"])),
            requested_by: text(&s["requestedBy"]),
            last_error: text(&s["lastError"]),
        })
        .collect();
    let notice = query.done.as_deref().map(|done| match done {
        "sweep" => "Sweep asked for: it appears below and runs in the background.".to_owned(),
        _ => "Back to pending: the worker takes it up again.".to_owned(),
    });
    Ok(page(
        InboxPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            notice,
            dead: events(&dead),
            pending: events(&pending),
            sweeps,
        }
        .render(),
    ))
}

#[derive(Deserialize)]
struct FormToken {
    csrf: Option<String>,
}

fn back_to_inbox(done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/inbox?done={done}")))
        .finish()
}

async fn post(services: &Services, path: &str, body: Option<&Value>, done: &str) -> HttpResponse {
    match services.call(Api::ResultIngest, Method::POST, path, body).await {
        Ok(answer) if answer.is_success() => back_to_inbox(done),
        Ok(answer) => refused(&answer),
        Err(error) => unavailable(&error),
    }
}

async fn retry_one(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let id = path.into_inner();
    if !(id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')) {
        return Err(Refusal::NotFound);
    }
    Ok(post(&services, &format!("/ingest/events/{id}/retry"), None, "retry").await)
}

async fn retry_dead(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    Ok(post(&services, "/ingest/events/retry-dead", None, "retry").await)
}

#[derive(Deserialize)]
struct SweepForm {
    csrf: Option<String>,
    from: String,
    to: String,
}

async fn sweep(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<SweepForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let body = json!({ "from": form.from.trim(), "to": form.to.trim() });
    Ok(post(&services, "/ingest/sweeps", Some(&body), "sweep").await)
}
