//! A new request: the form, its count (count-only, waited for a while), then filing it.

use super::super::page;
use super::{pairs, refused, text, unavailable};
use crate::services::Services;
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/new", web::get().to(new_request))
        .route("/gdpr/count", web::post().to(count))
        .route("/gdpr/file", web::post().to(file));
}

/// How long a count is waited for before its page is shown as it stands.
const COUNT_WAIT: Duration = Duration::from_secs(15);

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
