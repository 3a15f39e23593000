//! A new request: the form, its count (a count-only request, shown as a count on a page of its
//! own that refreshes itself until the count is done: no handler waits for it), then filing it
//! (always a new request, never the count).

use super::super::{page, Notice};
use super::{pairs, refused, text, unavailable};
use crate::services::{Answer, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/new", web::get().to(new_request))
        .route("/gdpr/count", web::post().to(count))
        .route("/gdpr/counts/{id}", web::get().to(count_page))
        .route("/gdpr/file", web::post().to(file));
}

/// Seconds between a running count's page refreshing itself (`Refresh`: no script).
const COUNT_REFRESH_SECONDS: u32 = 2;

/// A count's page stops refreshing itself this long after the count was received (a count held
/// back by an outage would otherwise poll the orchestrator, and keep the page open, without end):
/// then it offers a link to look again.
const COUNT_REFRESH_MINUTES: i64 = 10;

/// The session's key for the subjects of the person's latest counts, by count id: the count's
/// page files the subject it counted without the subject ever being in a URL.
const COUNTED: &str = "gdpr_counted";

/// How many counts' subjects a session keeps (the newest).
const COUNTS_KEPT: usize = 3;

/// How long a count's subject stays in the session to be filed (then: count again). Filing it
/// deletes it at once.
const COUNTED_KEPT_MINUTES: i64 = 30;

/// A count's subject, as the new-request form named it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counted {
    id: String,
    /// When it was counted (Unix seconds).
    counted_at: i64,
    kind: String,
    reference: String,
    customer_ids: String,
    phone_numbers: String,
    email_addresses: String,
}

/// Whether an orchestrator's answer is a count-only request.
fn is_count(request: &Value) -> bool {
    request["countOnly"].as_bool() == Some(true)
}

/// The orchestrator answered another request than the one asked for (a count for a filing, or
/// an open request of the subject for a count): nothing is shown as what it is not.
fn not_what_was_asked(person: Person, reason: &str, other: &Value) -> HttpResponse {
    let id = text(&other["id"]);
    let back = if is_count(other) {
        format!("/gdpr/counts/{id}")
    } else {
        format!("/gdpr/requests/{id}")
    };
    let mut response = page(
        Notice {
            person: Some(person),
            heading: "Not filed",
            reason,
            back: &back,
            back_label: "See the open one",
        }
        .render(),
    );
    *response.status_mut() = StatusCode::CONFLICT;
    response
}

#[derive(Template)]
#[template(path = "gdpr_new.html")]
struct NewPage {
    csrf: String,
    person: Option<Person>,
}

async fn new_request(session: Session) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr/new", Role::Dpo)?;
    Ok(page(
        NewPage {
            csrf: person.csrf.clone(),
            person: Some(person),
        }
        .render(),
    ))
}

/// The new-request form, as sent (and sent again, hidden, to file after the count).
#[derive(Deserialize)]
struct RequestForm {
    csrf: Option<String>,
    kind: String,
    reference: String,
    #[serde(default)]
    customer_ids: String,
    #[serde(default)]
    phone_numbers: String,
    #[serde(default)]
    email_addresses: String,
    /// The count filed (the count page's filing form): its subject leaves the session.
    #[serde(default)]
    count: String,
}

/// The counted subjects the session keeps, those older than [`COUNTED_KEPT_MINUTES`] left out.
fn counted_subjects(session: &Session) -> Result<Vec<Counted>, Refusal> {
    let mut counted: Vec<Counted> = session.get(COUNTED).map_err(|_| Refusal::Session)?.unwrap_or_default();
    let oldest = time::OffsetDateTime::now_utc().unix_timestamp() - COUNTED_KEPT_MINUTES * 60;
    counted.retain(|c| c.counted_at >= oldest);
    Ok(counted)
}

/// Keeps `counted` as the session's counted subjects (none: the key leaves the session).
fn keep_counted(session: &Session, counted: Vec<Counted>) -> Result<(), Refusal> {
    if counted.is_empty() {
        session.remove(COUNTED);
        Ok(())
    } else {
        session.insert(COUNTED, counted).map_err(|_| Refusal::Session)
    }
}

impl RequestForm {
    fn body(&self, count_only: bool) -> Value {
        let list = |text: &str| -> Vec<String> {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        json!({
            "type": self.kind,
            "reference": self.reference,
            "countOnly": count_only,
            "subject": {
                "customerIds": list(&self.customer_ids),
                "phoneNumbers": list(&self.phone_numbers),
                "emailAddresses": list(&self.email_addresses),
            }
        })
    }

    /// The request type: EXPORT or FORGET, counted first; UNDO_FORGET (no count) when `filing`.
    fn kind(&self, filing: bool) -> Result<&'static str, Refusal> {
        match (self.kind.as_str(), filing) {
            ("EXPORT", _) => Ok("EXPORT"),
            ("FORGET", _) => Ok("FORGET"),
            ("UNDO_FORGET", true) => Ok("UNDO_FORGET"),
            _ => Err(Refusal::BadForm),
        }
    }
}

#[derive(Template)]
#[template(path = "gdpr_count.html")]
struct CountPage {
    person: Option<Person>,
    csrf: String,
    kind: String,
    count_id: String,
    status: String,
    /// Still counting.
    counting: bool,
    /// Still counting, for less than [`COUNT_REFRESH_MINUTES`]: the page refreshes itself.
    refreshing: bool,
    counts: Vec<(String, String)>,
    left_out: Vec<(String, String)>,
    /// The counted subject, for the filing form: once counted, and in this session only.
    subject: Option<Counted>,
}

/// Files the count (count-only) and sends the browser to its page at once.
async fn count(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr/new", Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let kind = form.kind(false)?;
    let filed = match services
        .gdpr(Method::POST, "/gdpr/requests", Some(&form.body(true)))
        .await
    {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => return Ok(refused(&answer)),
        Err(error) => return Ok(unavailable(&error)),
    };
    if !is_count(&filed.body) {
        return Ok(not_what_was_asked(
            person,
            "gdpr-orchestrator answered an open request of this subject, not a count: see it there.",
            &filed.body,
        ));
    }
    let id = text(&filed.body["id"]);
    let form = form.into_inner();
    let mut counted = counted_subjects(&session)?;
    counted.retain(|c| c.id != id);
    counted.push(Counted {
        id: id.clone(),
        counted_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        kind: kind.to_owned(),
        reference: form.reference,
        customer_ids: form.customer_ids,
        phone_numbers: form.phone_numbers,
        email_addresses: form.email_addresses,
    });
    let excess = counted.len().saturating_sub(COUNTS_KEPT);
    counted.drain(..excess);
    keep_counted(&session, counted)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/gdpr/counts/{id}")))
        .finish())
}

/// A count's page: its figures once done (with the filing form when this session counted it),
/// else its status, refreshing itself. A request that is not a count is shown on its own page.
async fn count_page(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let id = path.into_inner();
    if id.len() != 36 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Refusal::NotFound);
    }
    let person = session::require_role(&session, &format!("/gdpr/counts/{id}"), Role::Dpo)?;
    let request = match services.gdpr(Method::GET, &format!("/gdpr/requests/{id}"), None).await {
        Ok(answer) if answer.is_success() => answer.body,
        Ok(answer) if answer.status == reqwest::StatusCode::NOT_FOUND => return Err(Refusal::NotFound),
        Ok(answer) => return Ok(refused(&answer)),
        Err(error) => return Ok(unavailable(&error)),
    };
    if !is_count(&request) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{id}")))
            .finish());
    }
    let status = text(&request["status"]);
    let counting = matches!(status.as_str(), "received" | "blocked" | "counting");
    let mut counted = counted_subjects(&session)?;
    let subject = if status == "completed" {
        counted.iter().find(|c| c.id == id).cloned()
    } else {
        None
    };
    if !counting && subject.is_none() {
        // Failed or cancelled: nothing of it will be filed, its subject leaves the session.
        counted.retain(|c| c.id != id);
        keep_counted(&session, counted)?;
    }
    let refreshing = counting && refreshes(&request, time::OffsetDateTime::now_utc());
    let mut response = page(
        CountPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            kind: text(&request["type"]),
            count_id: id.clone(),
            status,
            counting,
            refreshing,
            counts: pairs(&request["counts"]),
            left_out: pairs(&request["leftOut"]),
            subject,
        }
        .render(),
    );
    if refreshing {
        // The refresh comes back marked: it is not the person's activity (session_store.rs).
        let refresh = format!(
            "{COUNT_REFRESH_SECONDS}; url=/gdpr/counts/{id}?{}",
            crate::session_store::PASSIVE_QUERY
        );
        response.headers_mut().insert(
            header::REFRESH,
            header::HeaderValue::from_str(&refresh).map_err(|_| Refusal::NotFound)?,
        );
    }
    Ok(response)
}

/// Whether a count still counting at `now` has its page refresh itself: for
/// [`COUNT_REFRESH_MINUTES`] after the orchestrator received it. Without a time of receipt, not
/// at all (no guess that would refresh for ever).
fn refreshes(request: &Value, now: time::OffsetDateTime) -> bool {
    time::OffsetDateTime::parse(
        request["receivedAt"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .is_ok_and(|received| now < received + time::Duration::minutes(COUNT_REFRESH_MINUTES))
}

/// The filed request's page, unless the orchestrator answered a count: a filing is never
/// shown as (or sent on to) a count.
fn filed(person: Person, answer: &Answer) -> HttpResponse {
    if is_count(&answer.body) {
        return not_what_was_asked(
            person,
            "gdpr-orchestrator answered a count of this subject, not the request filed: nothing was filed.",
            &answer.body,
        );
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/gdpr/requests/{}", text(&answer.body["id"]))))
        .finish()
}

async fn file(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr/new", Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    form.kind(true)?;
    match services
        .gdpr(Method::POST, "/gdpr/requests", Some(&form.body(false)))
        .await
    {
        Ok(answer) if answer.is_success() => {
            // Filed: the count's subject is not kept a moment longer.
            let mut counted = counted_subjects(&session)?;
            counted.retain(|c| c.id != form.count);
            keep_counted(&session, counted)?;
            Ok(filed(person, &answer))
        }
        Ok(answer) => Ok(refused(&answer)),
        Err(error) => Ok(unavailable(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::refreshes;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn a_counts_page_refreshes_itself_for_ten_minutes_after_the_count_was_received() {
        let request = json!({ "receivedAt": "2026-12-06T04:00:00Z" });
        assert!(refreshes(&request, datetime!(2026-12-06 04:09:59 UTC)));
        assert!(!refreshes(&request, datetime!(2026-12-06 04:10:00 UTC)));
        assert!(!refreshes(&json!({}), datetime!(2026-12-06 04:00:01 UTC)));
    }
}
