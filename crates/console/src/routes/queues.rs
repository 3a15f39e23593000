//! The background queues' operator pages (role `operator`), over service-kit's one operator
//! router as each service mounts it (contracts::queue): a queue's dead and pending entries (ids,
//! kinds, attempts, reasons: no personal data), retrying one or every dead one. `/queues/{queue}`
//! serves the delivery outbox (comm-history-writer) and the pairing outbox
//! (interaction-pairing); the inbox page (`/inbox`) shows result-ingest's queue the same way.

use super::{failed, page, Back};
use crate::bank_time::{relative, BankTime};
use crate::services::{Api, CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::queue::{QueueEntry, QueuePage, QueueQuery, QueueRetried, QueueRetriedCount};
use serde::Deserialize;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/queues/{queue}", web::get().to(queue_page))
        .route("/queues/{queue}/{id}/retry", web::post().to(retry_one))
        .route("/queues/{queue}/retry-dead", web::post().to(retry_dead));
}

/// A queue an operator page shows: where its operator routes are.
pub(super) struct Operated {
    /// The page's name (`/queues/{name}`).
    name: &'static str,
    title: &'static str,
    what: &'static str,
    service: Service,
    /// Where the service mounts the queue's operator routes.
    base: &'static str,
}

#[derive(Clone, Copy)]
enum Service {
    History,
    Pairing,
    Ingest,
}

impl Operated {
    fn api<'a>(&self, services: &'a Services) -> &'a Api {
        match self.service {
            Service::History => &services.history,
            Service::Pairing => &services.pairing,
            Service::Ingest => &services.ingest,
        }
    }
}

/// result-ingest's inbox, shown on `/inbox` with the sweeps.
pub(super) const INBOX: Operated = Operated {
    name: "inbox",
    title: "Inbox",
    what: "Webhook results waiting to become records, and those that died",
    service: Service::Ingest,
    base: "/ingest/events",
};

const QUEUES: [Operated; 2] = [
    Operated {
        name: "deliveries",
        title: "Deliveries",
        what: "Records on their way to the bank's communication-history-manager, and those that died",
        service: Service::History,
        base: "/deliveries",
    },
    Operated {
        name: "pairing-outbox",
        title: "Pairing outbox",
        what: "Pairings on their way to comm-history-writer, and those that died",
        service: Service::Pairing,
        base: "/pairing-outbox",
    },
];

fn operated(name: &str) -> Result<&'static Operated, Refusal> {
    QUEUES.iter().find(|q| q.name == name).ok_or(Refusal::NotFound)
}

/// One entry as the page shows it.
pub(super) struct EntryRow {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) queued_at: String,
    pub(super) attempts: u32,
    pub(super) next_attempt_at: String,
    pub(super) last_error: String,
}

fn entry_row(entry: QueueEntry, time: &BankTime) -> EntryRow {
    let now = domain::Timestamp::now();
    EntryRow {
        id: entry.id.to_string(),
        kind: entry.kind,
        queued_at: format!("{} ({})", time.at(entry.created_at), relative(now, entry.created_at)),
        attempts: entry.attempts,
        next_attempt_at: entry
            .next_attempt_at
            .map(|at| format!("{} ({})", time.at(at), relative(now, at)))
            .unwrap_or_default(),
        last_error: entry.last_error.unwrap_or_default(),
    }
}

/// A queue's dead and pending entries (the first 100 of each).
pub(super) async fn entries(
    queue: &Operated,
    services: &Services,
    time: &BankTime,
) -> Result<(Vec<EntryRow>, Vec<EntryRow>), CallError> {
    let api = queue.api(services);
    let listed = |status: &'static str| {
        let which = QueueQuery {
            status: Some(status.to_owned()),
            limit: Some("100".to_owned()),
            cursor: None,
        };
        api.get(queue.base).query(&which).send::<QueuePage>()
    };
    let (dead, pending) = tokio::join!(listed("dead"), listed("pending"));
    let rows = |page: QueuePage| page.items.into_iter().map(|e| entry_row(e, time)).collect();
    Ok((rows(dead?), rows(pending?)))
}

/// Retries one dead entry (`Some(id)`) or every one.
pub(super) async fn retry(queue: &Operated, services: &Services, id: Option<uuid::Uuid>) -> Result<(), CallError> {
    let api = queue.api(services);
    match id {
        Some(id) => api
            .post(&format!("{}/{id}/retry", queue.base))
            .send::<QueueRetried>()
            .await
            .map(drop),
        None => api
            .post(&format!("{}/retry-dead", queue.base))
            .send::<QueueRetriedCount>()
            .await
            .map(drop),
    }
}

/// The notice after a retry: where its page says it went.
pub(super) const RETRIED: &str = "Back to pending: the worker takes it up again.";

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePageView {
    person: Option<Person>,
    csrf: String,
    name: &'static str,
    title: &'static str,
    what: &'static str,
    /// Where the page's forms post (`{actions}/{id}/retry`, `{actions}/retry-dead`).
    actions: String,
    notice: Option<&'static str>,
    dead: Vec<EntryRow>,
    pending: Vec<EntryRow>,
}

#[derive(Deserialize)]
struct PageQuery {
    done: Option<String>,
}

fn back(queue: &Operated) -> String {
    format!("/queues/{}", queue.name)
}

async fn queue_page(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Refusal> {
    let queue = operated(&path)?;
    let here = back(queue);
    let person = session::require_role(&session, &here, Role::Operator)?;
    let (dead, pending) = match entries(queue, &services, &time).await {
        Ok(entries) => entries,
        Err(error) => {
            return Ok(failed(
                &error,
                Some(person),
                Back {
                    path: "/status",
                    label: "Back to the status",
                },
            ))
        }
    };
    Ok(page(
        QueuePageView {
            csrf: person.csrf.clone(),
            person: Some(person),
            name: queue.name,
            title: queue.title,
            what: queue.what,
            actions: here,
            notice: query.done.as_ref().map(|_| RETRIED),
            dead,
            pending,
        }
        .render(),
    ))
}

#[derive(Deserialize)]
struct FormToken {
    csrf: Option<String>,
}

/// The queue a form of its page was sent for, and the operator who sent it (the form's token
/// checked).
fn sent_by_operator(session: &Session, name: &str, csrf: Option<&str>) -> Result<(&'static Operated, Person), Refusal> {
    let queue = operated(name)?;
    let person = session::require_role(session, &back(queue), Role::Operator)?;
    session::check_form_token(&person, csrf)?;
    Ok((queue, person))
}

/// After a retry on `queue`'s page: back to it, or the page of what failed.
fn retried(queue: &Operated, person: Person, answer: Result<(), CallError>) -> HttpResponse {
    let here = back(queue);
    match answer {
        Ok(()) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{here}?done=retry")))
            .finish(),
        Err(error) => failed(
            &error,
            Some(person),
            Back {
                path: &here,
                label: "Back to the queue",
            },
        ),
    }
}

async fn retry_one(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let (name, id) = path.into_inner();
    let (queue, person) = sent_by_operator(&session, &name, form.csrf.as_deref())?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| Refusal::NotFound)?;
    let answer = retry(queue, &services, Some(id)).await;
    Ok(retried(queue, person, answer))
}

async fn retry_dead(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let (queue, person) = sent_by_operator(&session, &path, form.csrf.as_deref())?;
    let answer = retry(queue, &services, None).await;
    Ok(retried(queue, person, answer))
}
