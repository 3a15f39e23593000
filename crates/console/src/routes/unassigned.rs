//! `/unassigned` (role `backoffice`): the communications nobody paired, with the customers their
//! handle suggests; assigning one is pairing its interaction with the chosen customer
//! (interaction-pairing, in the person's name), after which the record moves to that history.
//! An assignment pairs only a communication nobody paired meanwhile (interaction-pairing checks
//! it in the pairing's transaction); one paired meanwhile is shown with who paired it, and is
//! re-assigned only with a reason, recorded with the pairing.

use super::{failed, page, Back};
use crate::bank_time::BankTime;
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::history::{UnassignedQuery, UnassignedRecordPage};
use contracts::pairing::{Actor, PairInteraction, Pairing, PairingMode};
use domain::{CustomerId, InteractionId};
use serde::Deserialize;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/unassigned", web::get().to(list))
        .route("/unassigned/assign", web::post().to(assign));
}

const BACK: Back<'static> = Back {
    path: "/unassigned",
    label: "Back to the unassigned communications",
};

struct SuggestionRow {
    customer_id: String,
    records: i64,
    last: String,
}

struct RecordRow {
    interaction_id: String,
    at: String,
    channel: &'static str,
    handle: String,
    title: String,
    shared: bool,
    customers_of_handle: usize,
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

#[derive(Deserialize)]
struct ListQuery {
    assigned: Option<String>,
}

async fn list(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/unassigned", Role::Backoffice)?;
    let which = UnassignedQuery {
        limit: Some("50".to_owned()),
        ..UnassignedQuery::default()
    };
    let answer: UnassignedRecordPage = match services
        .history
        .get("/communicationRecords/unassigned")
        .query(&which)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(error) => return Ok(failed(&error, Some(person), BACK)),
    };
    let records = answer
        .items
        .into_iter()
        .map(|r| {
            let attributes = r.record.attributes;
            RecordRow {
                interaction_id: attributes.interaction_id.to_string(),
                at: time.at(attributes.communicated_at),
                channel: attributes.channel.as_str(),
                handle: attributes.customer_handle.as_str().to_owned(),
                title: attributes.title.as_str().to_owned(),
                shared: r.suggestions.shared,
                customers_of_handle: r.suggestions.customers_of_handle,
                suggestions: r
                    .suggestions
                    .customers
                    .into_iter()
                    .map(|s| SuggestionRow {
                        customer_id: s.customer_id.to_string(),
                        records: s.records,
                        last: time.day(s.last_communicated_at),
                    })
                    .collect(),
            }
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
fn actor(actor: Option<&Actor>) -> String {
    match actor {
        Some(Actor {
            display_name: Some(name),
            caller,
            ..
        }) => format!("{name} (through {caller})"),
        Some(Actor { caller, .. }) => format!("{caller} (no person)"),
        None => "not recorded".to_owned(),
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
async fn paired_meanwhile(
    services: &Services,
    time: &BankTime,
    person: Person,
    interaction: InteractionId,
    customer: CustomerId,
) -> HttpResponse {
    let path = format!("/customers/supportInteraction/{interaction}");
    let pairing: Pairing = match services.pairing.get(&path).send().await {
        Ok(pairing) => pairing,
        Err(error) => return not_assigned(&error, person),
    };
    let customers = pairing
        .customers
        .into_iter()
        .map(|c| PairedRow {
            customer_id: c.customer_id.to_string(),
            paired_at: time.at(c.paired_at),
            paired_by: actor(c.paired_by.as_ref()),
            reason: c.reason.unwrap_or_default(),
        })
        .collect();
    let mut response = page(
        ReassignPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            interaction_id: interaction.to_string(),
            customer_id: customer.to_string(),
            customers,
        }
        .render(),
    );
    *response.status_mut() = StatusCode::CONFLICT;
    response
}

/// The assignment did not happen: interaction-pairing's reason (or why it could not be asked),
/// on a page of its own.
fn not_assigned(error: &CallError, person: Person) -> HttpResponse {
    failed(error, Some(person), BACK)
}

/// A form's field that is not an id: refused naming the field, never repeating the value.
fn bad_field(person: Person, field: &str) -> HttpResponse {
    let reason = format!("The {field} is not an id (a UUID such as 5773eca4-0874-4617-a6e8-85591aa94609).");
    super::bad_form(person, "Not assigned", &reason, BACK)
}

async fn assign(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/unassigned", Role::Backoffice)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let Ok(interaction) = InteractionId::parse(form.interaction_id.trim()) else {
        return Ok(bad_field(person, "interaction id"));
    };
    let Ok(customer) = CustomerId::parse(form.customer_id.trim()) else {
        return Ok(bad_field(person, "customer id"));
    };
    let body = PairInteraction {
        interaction_id: interaction,
        customer_id: customer,
        mode: if form.reason.is_some() {
            PairingMode::Reassign
        } else {
            PairingMode::Unassigned
        },
        reason: form.reason.as_deref().map(|reason| reason.trim().to_owned()),
    };
    match services
        .pairing
        .post("/customers/supportInteraction")
        .json(&body)
        .send::<Pairing>()
        .await
    {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/unassigned?assigned=1"))
            .finish()),
        // Paired by someone else since the list was shown (or held by a GDPR forget: then the
        // pairing reads as none, and its refusal is shown).
        Err(error) if error.status() == Some(reqwest::StatusCode::CONFLICT) && form.reason.is_none() => {
            Ok(paired_meanwhile(&services, &time, person, interaction, customer).await)
        }
        Err(error) => Ok(not_assigned(&error, person)),
    }
}
