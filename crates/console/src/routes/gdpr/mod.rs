//! The GDPR pages (role `dpo`): requests with their status and due date, a new request counted
//! first and filed after, a request's steps, counts and audit trail, confirmation (refused to
//! the person who filed it, with the orchestrator's reason), and the export as one zip. Every
//! call goes to gdpr-orchestrator in the name of the signed-in person.

mod filing;
mod request;

use super::{failed, page, Back};
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::{ListRequests, RequestPage};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr", web::get().to(list));
    filing::config(cfg);
    request::config(cfg);
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

/// Counts by `{phase}.{category}`, as a page lists them.
fn pairs(counts: &BTreeMap<String, u64>) -> Vec<(String, String)> {
    counts.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
}

struct RequestRow {
    id: String,
    kind: &'static str,
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
    let requests = answer
        .requests
        .into_iter()
        .map(|r| RequestRow {
            id: r.id.to_string(),
            kind: r.request_type.as_str(),
            count_only: r.count_only,
            status: r.status.as_str(),
            reference: or_dash(r.reference),
            due: r.due_at.to_string(),
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
