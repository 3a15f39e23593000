//! `/unassigned` (role `backoffice`): the communications nobody paired, with the customers their
//! handle suggests; assigning one is pairing its interaction with the chosen customer
//! (interaction-pairing, in the person's name), after which the record moves to that history.
//! An assignment pairs only a communication nobody paired meanwhile (interaction-pairing checks
//! it in the pairing's transaction); one paired meanwhile is shown with who paired it, and is
//! re-assigned only with a reason, recorded with the pairing.

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

/// A service that did not answer: a 502 page saying which.
fn did_not_answer(error: &CallError, service: &str) -> HttpResponse {
    unavailable(
        error,
        StatusCode::BAD_GATEWAY,
        &format!("{service} did not answer. Try again in a moment."),
    )
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
        Err(error) => return Ok(did_not_answer(&error, "comm-history-writer")),
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
    /// Given to re-assign a communication paired meanwhile.
    reason: Option<String>,
}

/// A customer of an interaction, as the re-assign page shows it.
struct PairedRow {
    customer_id: String,
    paired_at: String,
    paired_by: String,
    reason: String,
}

/// Who made a pairing, as shown: the person's display name and the client it came through.
fn actor(value: &serde_json::Value) -> String {
    match (value["displayName"].as_str(), value["caller"].as_str()) {
        (Some(name), Some(caller)) => format!("{name} (through {caller})"),
        (None, Some(caller)) => format!("{caller} (no person)"),
        _ => "not recorded".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "unassigned_reassign.html")]
struct ReassignPage {
    person: Option<Person>,
    csrf: String,
    interaction_id: String,
    customer_id: String,
    customers: Vec<PairedRow>,
}

/// The page of a communication paired since the list was shown: who has it, and the form that
/// re-assigns it with a reason. 409: the assignment asked for did not happen.
async fn paired_meanwhile(services: &Services, person: Person, form: &AssignForm) -> HttpResponse {
    let interaction = form.interaction_id.trim();
    let path = format!("/customers/supportInteraction/{interaction}");
    let answer = match services.call(Api::InteractionPairing, Method::GET, &path, None).await {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => return not_assigned(person, &answer.reason()),
        Err(error) => return did_not_answer(&error, "interaction-pairing"),
    };
    let customers = answer.body["customers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| PairedRow {
            customer_id: text(&c["customerId"]),
            paired_at: text(&c["pairedAt"]),
            paired_by: actor(&c["pairedBy"]),
            reason: text(&c["reason"]),
        })
        .collect();
    let mut response = page(
        ReassignPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            interaction_id: interaction.to_owned(),
            customer_id: form.customer_id.trim().to_owned(),
            customers,
        }
        .render(),
    );
    *response.status_mut() = StatusCode::CONFLICT;
    response
}

/// interaction-pairing refused the assignment: its reason, on a page of its own.
fn not_assigned(person: Person, reason: &str) -> HttpResponse {
    let reason = format!("interaction-pairing refused: {reason}");
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
    response
}

async fn assign(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/unassigned", Role::Backoffice)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let body = match form.reason.as_deref() {
        None => json!({
            "interactionId": form.interaction_id.trim(),
            "customerId": form.customer_id.trim(),
            "mode": "unassigned",
        }),
        Some(reason) => json!({
            "interactionId": form.interaction_id.trim(),
            "customerId": form.customer_id.trim(),
            "mode": "reassign",
            "reason": reason.trim(),
        }),
    };
    match services
        .call(
            Api::InteractionPairing,
            Method::POST,
            "/customers/supportInteraction",
            Some(&body),
        )
        .await
    {
        Ok(answer) if answer.is_success() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/unassigned?assigned=1"))
            .finish()),
        // Paired by someone else since the list was shown (or held by a GDPR forget: then the
        // pairing reads as none, and its refusal is shown).
        Ok(answer) if answer.status == reqwest::StatusCode::CONFLICT && form.reason.is_none() => {
            Ok(paired_meanwhile(&services, person, &form).await)
        }
        Ok(answer) => Ok(not_assigned(person, &answer.reason())),
        Err(error) => Ok(did_not_answer(&error, "interaction-pairing")),
    }
}
