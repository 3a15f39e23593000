//! `/inbox` (role `operator`): result-ingest's pending and dead webhook results as its queue's
//! operator routes list them (contracts::queue: ids, kinds, attempts, reasons; no personal data),
//! retrying one or every dead one, and the sweeps, with a form to
//! sweep a window. Calls go to result-ingest in the operator's name.

use super::queues::{self, EntryRow, INBOX};
use super::{failed, page, Back};
use crate::bank_time::BankTime;
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
    /// The bank's time zone, which the window's pickers are read in.
    zone: String,
    /// The pickers' first values: the last 24 hours.
    default_from: String,
    default_to: String,
}

/// A call to result-ingest that gave no answer the page can use, as a page.
fn call_failed(error: &CallError, person: Person) -> HttpResponse {
    failed(error, Some(person), BACK)
}

fn sweep_row(sweep: Sweep, time: &BankTime) -> SweepRow {
    SweepRow {
        id: sweep.id.to_string(),
        window: format!("{} to {}", time.at(sweep.from), time.at(sweep.to)),
        status: match sweep.status {
            contracts::ingest::SweepStatus::Pending => "Waiting to start",
            contracts::ingest::SweepStatus::Running => "Running",
            contracts::ingest::SweepStatus::Done => "Done",
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
    time: web::Data<BankTime>,
    session: Session,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    let sweeps_query = SweepsQuery {
        limit: Some("20".to_owned()),
        ..SweepsQuery::default()
    };
    let (events, sweeps) = tokio::join!(
        queues::entries(&INBOX, &services, &time),
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
    let now = Timestamp::now();
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
            sweeps: sweeps.items.into_iter().map(|s| sweep_row(s, &time)).collect(),
            zone: time.name().to_owned(),
            default_from: time.picker_value(day_before(now)),
            default_to: time.picker_value(now),
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

/// The picker's first "From": a day before `now`.
fn day_before(now: Timestamp) -> Timestamp {
    Timestamp::from_offset_date_time(now.as_offset_date_time() - time::Duration::days(1)).unwrap_or(now)
}

/// A form's time that is no date and time: refused naming the field.
fn bad_time(person: Person, field: &str) -> HttpResponse {
    let reason = format!("\"{field}\" is not a date and time (pick one, such as 29 Nov 2026 08:00).");
    super::bad_form(person, "Refused", &reason, BACK)
}

async fn sweep(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    form: web::Form<SweepForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/inbox", Role::Operator)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    // The pickers' values, in the bank's zone (RFC 3339 with an offset is taken too: scripts).
    let at = |text: &str| Timestamp::parse(text.trim()).or_else(|_| time.from_picker(text));
    let Ok(from) = at(&form.from) else {
        return Ok(bad_time(person, "From"));
    };
    let Ok(to) = at(&form.to) else {
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
