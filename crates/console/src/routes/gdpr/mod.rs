//! The GDPR pages (role `dpo`): requests with their status and due date, a new request counted
//! first and filed after, a request's steps, counts and audit trail, confirmation (refused to
//! the person who filed it, with the orchestrator's reason), and the export as one zip. Every
//! call goes to gdpr-orchestrator in the name of the signed-in person.

mod filing;
mod request;

use super::{page, Notice};
use crate::services::{Answer, CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr", web::get().to(list));
    filing::config(cfg);
    request::config(cfg);
}

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

struct RequestRow {
    id: String,
    kind: String,
    /// A count (count-only): shown as a count, linked to its count page.
    count_only: bool,
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
    let answer = match services.gdpr(Method::GET, &path, None).await {
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
            count_only: r["countOnly"].as_bool() == Some(true),
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
