//! `/inbox` (role `operator`): result-ingest's pending and dead webhook results as its queue's
//! operator routes list them (contracts::queue: ids, kinds, attempts, reasons; no personal data),
//! retrying one or every dead one, and the sweeps, with a form to
//! sweep a window. Calls go to result-ingest in the operator's name.

use super::queues::{self, EntryRow, INBOX};
use super::{failed, page, Back};
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::ingest::{Sweep, SweepPage, SweepRequest, SweepsQuery};
use domain::Timestamp;
use serde::Deserialize;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/inbox", web::get().to(inbox))
        .route("/inbox/events/{id}/retry", web::post().to(retry_one))
        .route("/inbox/events/retry-dead", web::post().to(retry_dead))
        .route("/inbox/sweeps", web::post().to(sweep));
}

const BACK: Back<'static> = Back {
    path: "/inbox",
    label: "Back to the inbox",
};

struct SweepRow {
    id: String,
    window: String,
    status: &'static str,
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
    /// Where the inbox's retry forms post.
    actions: &'static str,
    dead: Vec<EntryRow>,
    pending: Vec<EntryRow>,
    sweeps: Vec<SweepRow>,
}

/// A call to result-ingest that gave no answer the page can use, as a page.
fn call_failed(error: &CallError, person: Person) -> HttpResponse {
    failed(error, Some(person), BACK)
}

fn sweep_row(sweep: Sweep) -> SweepRow {
    SweepRow {
        id: sweep.id.to_string(),
        window: format!("{} to {}", sweep.from, sweep.to),
        status: match sweep.status {
            contracts::ingest::SweepStatus::Pending => "pending",
            contracts::ingest::SweepStatus::Running => "running",
            contracts::ingest::SweepStatus::Done => "done",
        },
        progress: format!("{}%", sweep.progress_percent),
        requested_by: sweep.requested_by.unwrap_or_default(),
        last_error: sweep.last_error.unwrap_or_default(),
    }
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
    let sweeps_query = SweepsQuery {
        limit: Some("20".to_owned()),
        ..SweepsQuery::default()
    };
    let (events, sweeps) = tokio::join!(
        queues::entries(&INBOX, &services),
        services
            .ingest
            .get("/ingest/sweeps")
            .query(&sweeps_query)
            .send::<SweepPage>(),
    );
    let ((dead, pending), sweeps) = match (events, sweeps) {
        (Ok(events), Ok(sweeps)) => (events, sweeps),
        (Err(error), _) | (_, Err(error)) => return Ok(call_failed(&error, person)),
    };
    let notice = query.done.as_deref().map(|done| match done {
        "sweep" => "Sweep asked for: it appears below and runs in the background.".to_owned(),
        _ => queues::RETRIED.to_owned(),
    });
    Ok(page(
        InboxPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            notice,
            actions: "/inbox/events",
            dead,
            pending,
            sweeps: sweeps.items.into_iter().map(sweep_row).collect(),
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

async fn retry_one(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let id = uuid::Uuid::parse_str(&path).map_err(|_| Refusal::NotFound)?;
    Ok(match queues::retry(&INBOX, &services, Some(id)).await {
        Ok(()) => back_to_inbox("retry"),
        Err(error) => call_failed(&error, person),
    })
}

async fn retry_dead(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    Ok(match queues::retry(&INBOX, &services, None).await {
        Ok(()) => back_to_inbox("retry"),
        Err(error) => call_failed(&error, person),
    })
}

#[derive(Deserialize)]
struct SweepForm {
    csrf: Option<String>,
    from: String,
    to: String,
}

/// A form's time that is not RFC 3339: refused naming the field.
fn bad_time(person: Person, field: &str) -> HttpResponse {
    let reason = format!("\"{field}\" is not a time in RFC 3339, such as 2026-11-29T08:00:00Z.");
    super::bad_form(person, "Refused", &reason, BACK)
}

async fn sweep(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<SweepForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let Ok(from) = Timestamp::parse(form.from.trim()) else {
        return Ok(bad_time(person, "From"));
    };
    let Ok(to) = Timestamp::parse(form.to.trim()) else {
        return Ok(bad_time(person, "To"));
    };
    Ok(
        match services
            .ingest
            .post("/ingest/sweeps")
            .json(&SweepRequest { from, to })
            .send::<Sweep>()
            .await
        {
            Ok(_) => back_to_inbox("sweep"),
            Err(error) => call_failed(&error, person),
        },
    )
}
