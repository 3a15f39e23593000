//! A request's page (steps, counts, audit trail), confirming it (four eyes), extending its
//! deadline, and its export as one zip.

use super::super::page;
use super::{pairs, refused, text, unavailable};
use crate::services::Services;
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/requests/{id}", web::get().to(request))
        .route("/gdpr/requests/{id}/confirm", web::post().to(confirm))
        .route("/gdpr/requests/{id}/extend", web::post().to(extend))
        .route("/gdpr/requests/{id}/bundle.zip", web::post().to(bundle));
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
    /// The person's subject at the identity provider (or the client acting as itself).
    actor: String,
    /// Their name as the provider gives it (none for a client acting as itself).
    actor_name: String,
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
        services.gdpr(Method::GET, &request_path, None),
        services.gdpr(Method::GET, &audit_path, None),
    ) {
        (Ok(request), Ok(audit)) if request.is_success() && audit.is_success() => (request.body, audit.body),
        (Ok(request), _) if request.status == reqwest::StatusCode::NOT_FOUND => return Err(Refusal::NotFound),
        (Err(error), _) | (_, Err(error)) => return Ok(unavailable(&error)),
        (Ok(answer), _) => return Ok(refused(&answer)),
    };
    if request["countOnly"].as_bool() == Some(true) {
        // A count is shown as a count, on its own page: never as the request it counted for.
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/counts/{id}")))
            .finish());
    }
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
            actor_name: text(&e["actorName"]),
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
    act(&services, person, &id, "confirm", None).await
}

/// Posts an action on request `id` in the person's name: back to its page when done; refused
/// (four eyes, a state that no longer allows it, a bad extension), the page says why.
async fn act(
    services: &Services,
    person: Person,
    id: &str,
    action: &str,
    body: Option<&serde_json::Value>,
) -> Result<HttpResponse, Refusal> {
    match services
        .gdpr(Method::POST, &format!("/gdpr/requests/{id}/{action}"), body)
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{id}")))
            .finish()),
        Ok(answer) => request_page(services, person, id, Some(answer.reason())).await,
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
    act(&services, person, &id, "extend", Some(&body)).await
}

/// The export bundle as one zip: `manifest.json`, one file per participant and category (the
/// exact bytes the manifest's checksums cover), and `SHA256SUMS`. Downloaded through the page's
/// form (a POST with its token): every download is an audit entry, so a link on another site,
/// which a browser follows with the session's cookie, must fetch nothing.
async fn bundle(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let id = parse_id(&path)?;
    let person = session::require_role(&session, &format!("/gdpr/requests/{id}"), Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let answer = match services
        .gdpr(Method::GET, &format!("/gdpr/requests/{id}/export"), None)
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
