//! `/unassigned` (role `backoffice`): the communications nobody paired, with the customers their
//! handle suggests; assigning one is pairing its interaction with the chosen customer
//! (interaction-pairing, in the person's name), after which the record moves to that history.

use super::{page, text, Notice};
use crate::services::{Api, CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/unassigned", web::get().to(list))
        .route("/unassigned/assign", web::post().to(assign));
}

struct SuggestionRow {
    customer_id: String,
    records: String,
    last: String,
}

struct RecordRow {
    interaction_id: String,
    at: String,
    channel: String,
    handle: String,
    title: String,
    shared: bool,
    customers_of_handle: String,
    suggestions: Vec<SuggestionRow>,
}

#[derive(Template)]
#[template(path = "unassigned.html")]
struct ListPage {
    person: Option<Person>,
    csrf: String,
    notice: Option<String>,
    records: Vec<RecordRow>,
}

fn unavailable(error: &CallError, status: StatusCode, reason: &str) -> HttpResponse {
    tracing::warn!(error = %error, "a service call failed");
    let mut response = page(
        Notice {
            person: None,
            heading: "Not available",
            reason,
            back: "/unassigned",
            back_label: "Back to the unassigned communications",
        }
        .render(),
    );
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
struct ListQuery {
    assigned: Option<String>,
}

async fn list(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/unassigned", Role::Backoffice)?;
    let answer = match services
        .call(
            Api::CommHistoryWriter,
            Method::GET,
            "/communicationRecords/unassigned?limit=50",
            &person.subject,
            None,
        )
        .await
    {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => {
            tracing::warn!(status = %answer.status, "comm-history-writer refused the unassigned listing");
            return Ok(unavailable(
                &CallError::Unreachable("comm-history-writer"),
                StatusCode::BAD_GATEWAY,
                "comm-history-writer refused the listing.",
            ));
        }
        Err(error) => {
            return Ok(unavailable(
                &error,
                StatusCode::BAD_GATEWAY,
                "comm-history-writer did not answer. Try again in a moment.",
            ))
        }
    };
    let records = answer.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RecordRow {
            interaction_id: text(&r["interactionId"]),
            at: text(&r["communicatedAt"]),
            channel: text(&r["channel"]),
            handle: text(&r["customerHandle"]),
            title: text(&r["title"]),
            shared: r["suggestions"]["shared"].as_bool().unwrap_or(false),
            customers_of_handle: text(&r["suggestions"]["customersOfHandle"]),
            suggestions: r["suggestions"]["customers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| SuggestionRow {
                    customer_id: text(&s["customerId"]),
                    records: text(&s["records"]),
                    last: text(&s["lastCommunicatedAt"]),
                })
                .collect(),
        })
        .collect();
    let notice = query
        .assigned
        .as_ref()
        .map(|_| "Paired. The record moves into the customer's history as soon as the pairing reaches it.".to_owned());
    Ok(page(
        ListPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            notice,
            records,
        }
        .render(),
    ))
}

#[derive(Deserialize)]
struct AssignForm {
    csrf: Option<String>,
    interaction_id: String,
    customer_id: String,
}

async fn assign(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/unassigned", Role::Backoffice)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let body = json!({ "interactionId": form.interaction_id.trim(), "customerId": form.customer_id.trim() });
    match services
        .call(
            Api::InteractionPairing,
            Method::POST,
            "/customers/supportInteraction",
            &person.subject,
            Some(&body),
        )
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/unassigned?assigned=1"))
            .finish()),
        Ok(answer) => {
            let reason = format!("interaction-pairing refused: {}", answer.reason());
            let mut response = page(
                Notice {
                    person: Some(person),
                    heading: "Not assigned",
                    reason: &reason,
                    back: "/unassigned",
                    back_label: "Back to the unassigned communications",
                }
                .render(),
            );
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(error) => Ok(unavailable(
            &error,
            StatusCode::BAD_GATEWAY,
            "interaction-pairing did not answer. Try again in a moment.",
        )),
    }
}
