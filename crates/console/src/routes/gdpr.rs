//! The GDPR pages (role `dpo`): requests with their status and due date, a new request counted
//! first and filed after, a request's steps, counts and audit trail, confirmation (refused to
//! the person who filed it, with the orchestrator's reason), and the export as one zip. Every
//! call goes to gdpr-orchestrator in the name of the signed-in person.

use super::{page, Notice};
use crate::services::{Answer, CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr", web::get().to(list))
        .route("/gdpr/new", web::get().to(new_request))
        .route("/gdpr/count", web::post().to(count))
        .route("/gdpr/file", web::post().to(file))
        .route("/gdpr/requests/{id}", web::get().to(request))
        .route("/gdpr/requests/{id}/confirm", web::post().to(confirm))
        .route("/gdpr/requests/{id}/extend", web::post().to(extend))
        .route("/gdpr/requests/{id}/bundle.zip", web::get().to(bundle));
}

/// How long a count is waited for before its page is shown as it stands.
const COUNT_WAIT: Duration = Duration::from_secs(15);

/// A value as shown on a request's page: nothing yet is a dash.
fn text(value: &Value) -> String {
    if value.is_null() {
        "—".to_owned()
    } else {
        super::text(value)
    }
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default()
}

/// A service that did not answer: a 502 page, logged without identifiers.
fn unavailable(error: &CallError) -> HttpResponse {
    tracing::warn!(error = %error, "a service call failed");
    let mut response = page(
        Notice {
            person: None,
            heading: "Not available",
            reason: "A service the console needs did not answer. Try again in a moment.",
            back: "/gdpr",
            back_label: "Back to the requests",
        }
        .render(),
    );
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

struct RequestRow {
    id: String,
    kind: String,
    status: String,
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
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr", Role::Dpo)?;
    let overdue_only = query.overdue.unwrap_or(false);
    let path = format!(
        "/gdpr/requests?limit=100{}",
        if overdue_only { "&overdue=true" } else { "" }
    );
    let answer = match services.gdpr(Method::GET, &path, &person.subject, None).await {
        Ok(answer) => answer,
        Err(error) => return Ok(unavailable(&error)),
    };
    let requests = answer.body["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RequestRow {
            id: text(&r["id"]),
            kind: text(&r["type"]),
            status: text(&r["status"]),
            reference: text(&r["reference"]),
            due: text(&r["dueAt"]),
            overdue: r["overdue"].as_bool().unwrap_or(false),
            requested_by: text(&r["requestedBy"]),
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
    kind: &'static str,
    count_id: String,
    status: String,
    counts: Vec<(String, String)>,
    left_out: Vec<(String, String)>,
    reference: String,
    customer_ids: String,
    phone_numbers: String,
    email_addresses: String,
}

/// A refused request, shown on the form's page with the orchestrator's reason.
fn refused(answer: &Answer) -> HttpResponse {
    let reason = format!("gdpr-orchestrator refused: {}", answer.reason());
    let mut response = page(
        Notice {
            person: None,
            heading: "Refused",
            reason: &reason,
            back: "/gdpr",
            back_label: "Back to the requests",
        }
        .render(),
    );
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

async fn count(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr/new", Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let kind = form.kind(false)?;
    let filed = match services
        .gdpr(Method::POST, "/gdpr/requests", &person.subject, Some(&form.body(true)))
        .await
    {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => return Ok(refused(&answer)),
        Err(error) => return Ok(unavailable(&error)),
    };
    let id = text(&filed.body["id"]);
    // The count runs in the orchestrator's worker: wait for it a little, then show what is known.
    let started = tokio::time::Instant::now();
    let mut request = filed.body;
    while request["status"] != "completed" && started.elapsed() < COUNT_WAIT {
        tokio::time::sleep(Duration::from_millis(200)).await;
        match services
            .gdpr(Method::GET, &format!("/gdpr/requests/{id}"), &person.subject, None)
            .await
        {
            Ok(answer) if answer.is_success() => request = answer.body,
            Ok(answer) => return Ok(refused(&answer)),
            Err(error) => return Ok(unavailable(&error)),
        }
    }
    let form = form.into_inner();
    Ok(page(
        CountPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            kind,
            count_id: id,
            status: text(&request["status"]),
            counts: pairs(&request["counts"]),
            left_out: pairs(&request["leftOut"]),
            reference: form.reference,
            customer_ids: form.customer_ids,
            phone_numbers: form.phone_numbers,
            email_addresses: form.email_addresses,
        }
        .render(),
    ))
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
        .gdpr(Method::POST, "/gdpr/requests", &person.subject, Some(&form.body(false)))
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{}", text(&answer.body["id"]))))
            .finish()),
        Ok(answer) => Ok(refused(&answer)),
        Err(error) => Ok(unavailable(&error)),
    }
}

struct StepRow {
    phase: String,
    participant: String,
    state: String,
    counts: String,
    left_out: String,
    elsewhere: String,
}

struct AuditRow {
    at: String,
    actor: String,
    caller: String,
    event: String,
}

#[derive(Template)]
#[template(path = "gdpr_request.html")]
struct RequestPage {
    person: Option<Person>,
    csrf: String,
    refusal: Option<String>,
    id: String,
    kind: String,
    status: String,
    reference: String,
    due: String,
    overdue: bool,
    extension_months: String,
    extension_reason: String,
    requested_by: String,
    confirmed_by: String,
    awaiting_confirmation: bool,
    extendable: bool,
    downloadable: bool,
    counts: Vec<(String, String)>,
    steps: Vec<StepRow>,
    chain_verified: bool,
    audit: Vec<AuditRow>,
}

fn parse_id(path: &str) -> Result<String, Refusal> {
    uuid_like(path).then(|| path.to_owned()).ok_or(Refusal::NotFound)
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

async fn request_page(
    services: &Services,
    person: Person,
    id: &str,
    refusal: Option<String>,
) -> Result<HttpResponse, Refusal> {
    let (request_path, audit_path) = (format!("/gdpr/requests/{id}"), format!("/gdpr/requests/{id}/audit"));
    let (request, audit) = match tokio::join!(
        services.gdpr(Method::GET, &request_path, &person.subject, None),
        services.gdpr(Method::GET, &audit_path, &person.subject, None),
    ) {
        (Ok(request), Ok(audit)) if request.is_success() && audit.is_success() => (request.body, audit.body),
        (Ok(request), _) if request.status == reqwest::StatusCode::NOT_FOUND => return Err(Refusal::NotFound),
        (Err(error), _) | (_, Err(error)) => return Ok(unavailable(&error)),
        (Ok(answer), _) => return Ok(refused(&answer)),
    };
    let status = text(&request["status"]);
    let kind = text(&request["type"]);
    let steps = request["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| StepRow {
            phase: text(&s["phase"]),
            participant: text(&s["participant"]),
            state: text(&s["state"]),
            counts: pairs(&s["counts"])
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            left_out: pairs(&s["leftOut"])
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            elsewhere: s["toEraseElsewhere"]
                .as_array()
                .map(|copies| format!("{} record(s) in the {}", copies.len(), text(&copies[0]["system"])))
                .unwrap_or_default(),
        })
        .collect();
    let entries = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| AuditRow {
            at: text(&e["at"]),
            actor: text(&e["actor"]),
            caller: text(&e["caller"]),
            event: text(&e["event"]),
        })
        .collect();
    let mut response = page(
        RequestPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            refusal: refusal.clone(),
            id: id.to_owned(),
            awaiting_confirmation: status == "awaiting_confirmation",
            extendable: !matches!(
                status.as_str(),
                "completed" | "undone" | "cancelled" | "expired" | "in_grace"
            ) && request["extensionMonths"].as_i64().unwrap_or(0) < 2,
            extension_months: text(&request["extensionMonths"]),
            extension_reason: super::text(&request["extensionReason"]),
            downloadable: kind == "EXPORT" && status == "completed" && request["countOnly"] != true,
            kind,
            status,
            reference: text(&request["reference"]),
            due: text(&request["dueAt"]),
            overdue: request["overdue"].as_bool().unwrap_or(false),
            requested_by: text(&request["requestedBy"]),
            confirmed_by: text(&request["confirmedBy"]),
            counts: pairs(&request["counts"]),
            steps,
            chain_verified: audit["chainVerified"].as_bool().unwrap_or(false),
            audit: entries,
        }
        .render(),
    );
    if refusal.is_some() {
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    Ok(response)
}

async fn request(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let id = parse_id(&path)?;
    let person = session::require_role(&session, &format!("/gdpr/requests/{id}"), Role::Dpo)?;
    request_page(&services, person, &id, None).await
}

#[derive(Deserialize)]
struct FormToken {
    csrf: Option<String>,
}

async fn confirm(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let id = parse_id(&path)?;
    let person = session::require_role(&session, &format!("/gdpr/requests/{id}"), Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    match services
        .gdpr(
            Method::POST,
            &format!("/gdpr/requests/{id}/confirm"),
            &person.subject,
            None,
        )
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{id}")))
            .finish()),
        // Refused (four eyes, or no longer awaiting confirmation): the page says why.
        Ok(answer) => request_page(&services, person, &id, Some(answer.reason())).await,
        Err(error) => Ok(unavailable(&error)),
    }
}

#[derive(Deserialize)]
struct ExtendForm {
    csrf: Option<String>,
    months: i32,
    reason: String,
}

async fn extend(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ExtendForm>,
) -> Result<HttpResponse, Refusal> {
    let id = parse_id(&path)?;
    let person = session::require_role(&session, &format!("/gdpr/requests/{id}"), Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let body = json!({ "months": form.months, "reason": form.reason.trim() });
    match services
        .gdpr(
            Method::POST,
            &format!("/gdpr/requests/{id}/extend"),
            &person.subject,
            Some(&body),
        )
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{id}")))
            .finish()),
        Ok(answer) => request_page(&services, person, &id, Some(answer.reason())).await,
        Err(error) => Ok(unavailable(&error)),
    }
}

/// The export bundle as one zip: `manifest.json`, one file per participant and category (the
/// exact bytes the manifest's checksums cover), and `SHA256SUMS`.
async fn bundle(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let id = parse_id(&path)?;
    let person = session::require_role(&session, &format!("/gdpr/requests/{id}"), Role::Dpo)?;
    let answer = match services
        .gdpr(
            Method::GET,
            &format!("/gdpr/requests/{id}/export"),
            &person.subject,
            None,
        )
        .await
    {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => return Ok(refused(&answer)),
        Err(error) => return Ok(unavailable(&error)),
    };
    match crate::bundle_zip::zip_bundle(&answer.body) {
        Ok(bytes) => Ok(HttpResponse::Ok()
            .content_type("application/zip")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"gdpr-export-{id}.zip\""),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(bytes)),
        Err(reason) => {
            tracing::error!(reason = %reason, "an export bundle could not be zipped");
            Ok(HttpResponse::InternalServerError().finish())
        }
    }
}
