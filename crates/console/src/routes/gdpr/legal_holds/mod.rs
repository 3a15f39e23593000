//! The legal holds pages (role `dpo`, issue #30): the holds, each with what it covers counted
//! (the orchestrator never serves the identifiers), a form to place one, and a hold's page
//! (hold.rs) whose buttons are exactly what the orchestrator allows the signed-in person. Every
//! call goes to gdpr-orchestrator in that person's name: it records who placed and who released.

mod hold;

use super::super::page;
use super::{call_failed, sent_from};
use crate::bank_time::BankTime;
use crate::services::Services;
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::SubjectInput;
use contracts::legal_hold::{
    IdentifierCounts, LegalBasis, LegalHold, LegalHoldPage, LegalHoldStatus, ListLegalHolds, PlaceLegalHold, TimeWindow,
};
use domain::Timestamp;
use serde::Deserialize;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/legal-holds", web::get().to(list))
        .route("/gdpr/legal-holds", web::post().to(place))
        // Before the hold's own page: `new` is no hold id.
        .route("/gdpr/legal-holds/new", web::get().to(new_hold));
    hold::config(cfg);
}

const LIST: &str = "/gdpr/legal-holds";
const NEW: &str = "/gdpr/legal-holds/new";

/// How many holds the list shows at once (then a link to the next ones).
const PAGE_SIZE: i64 = 100;

/// What a hold covers, in counts; once its particulars are erased, when that was.
fn covers(hold: &LegalHold, time: &BankTime) -> String {
    match (&hold.covers, hold.identifiers_erased_at) {
        (Some(counts), _) => counted(counts),
        (None, Some(at)) => format!("erased on {} (the hold had stopped)", time.day(at)),
        // Off the orchestrator's contract: said as such, never shown as covering nothing.
        (None, None) => "not told by gdpr-orchestrator".to_owned(),
    }
}

/// A free-text particular of a hold (its reference, its reason): erased once the hold had
/// stopped long enough, and then said so.
fn particular(value: Option<&String>, hold: &LegalHold, time: &BankTime) -> String {
    match (value, hold.identifiers_erased_at) {
        (Some(value), _) => value.clone(),
        (None, Some(at)) => format!("erased on {}", time.day(at)),
        (None, None) => "not told by gdpr-orchestrator".to_owned(),
    }
}

/// What a hold covers, in words: `2 customer ids, 1 phone number` (kinds it names none of left
/// out).
fn counted(counts: &IdentifierCounts) -> String {
    [
        (counts.customer_ids, "customer id", "customer ids"),
        (counts.phone_numbers, "phone number", "phone numbers"),
        (counts.email_addresses, "e-mail address", "e-mail addresses"),
        (counts.genesys_user_ids, "agent", "agents"),
        (counts.interaction_ids, "interaction", "interactions"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect::<Vec<_>>()
    .join(", ")
}

/// When a hold ends: its date, or until two persons release it.
fn ends(hold: &LegalHold, time: &BankTime) -> String {
    hold.ends_at.map_or_else(
        || "when two persons release it".to_owned(),
        |at| format!("{} ({})", time.at(at), crate::bank_time::relative(Timestamp::now(), at)),
    )
}

/// A hold's state in words.
const fn status_label(status: LegalHoldStatus) -> &'static str {
    match status {
        LegalHoldStatus::Active => "In force",
        LegalHoldStatus::ReleaseRequested => "In force, release asked",
        LegalHoldStatus::Released => "Released",
        LegalHoldStatus::Ended => "Ended",
    }
}

/// What a hold in `status` does, or what follows, in a sentence.
const fn status_next(status: LegalHoldStatus) -> &'static str {
    match status {
        LegalHoldStatus::Active => {
            "No erasure and no retention removes what it covers; a forget over it keeps that data, hidden, until the hold ends."
        }
        LegalHoldStatus::ReleaseRequested => {
            "Another data protection officer must confirm the release; until then it keeps what it covers."
        }
        LegalHoldStatus::Released | LegalHoldStatus::Ended => {
            "It keeps nothing any more: what it kept from an erasure is erased now."
        }
    }
}

/// A basis as the form offers it.
pub(super) const fn basis_label(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::LegalClaims => "Legal claims (Art. 17(3)(e))",
        LegalBasis::LegalObligation => "A legal obligation of the bank (Art. 17(3)(b))",
        LegalBasis::AuthorityRequest => "A competent authority's request",
    }
}

struct HoldRow {
    id: String,
    status: &'static str,
    reference: String,
    basis: &'static str,
    covers: String,
    placed_by: String,
    placed_at: String,
    ends: String,
}

#[derive(Template)]
#[template(path = "legal_holds.html")]
struct ListPage {
    person: Option<Person>,
    holds: Vec<HoldRow>,
    /// The state the list is limited to, if any (as the query names it, in words).
    status: Option<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    /// The next page's query, when there are more holds.
    next: Option<String>,
}

async fn list(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    query: web::Query<ListLegalHolds>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, LIST, Role::Dpo)?;
    // The list's own links send a state the orchestrator knows, or none.
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(status) => Some(LegalHoldStatus::parse(status).ok_or(Refusal::BadForm)?),
    };
    let which = ListLegalHolds {
        status: status.map(|s| s.as_str().to_owned()),
        limit: Some(PAGE_SIZE),
        ..query.into_inner()
    };
    let answer: LegalHoldPage = match services.gdpr.get(LIST).query(&which).send().await {
        Ok(answer) => answer,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    let next = answer.next.map(|cursor| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = status {
            query.append_pair("status", status.as_str());
        }
        query.append_pair("cursor", &cursor).finish()
    });
    let holds = answer
        .holds
        .iter()
        .map(|h| HoldRow {
            id: h.id.to_string(),
            status: status_label(h.status),
            reference: particular(h.reference.as_ref(), h, &time),
            basis: basis_label(h.basis),
            covers: covers(h, &time),
            placed_by: h.placed_by.clone(),
            placed_at: time.at(h.placed_at),
            ends: ends(h, &time),
        })
        .collect();
    Ok(page(
        ListPage {
            person: Some(person),
            holds,
            status: status.map(|s| (s.as_str(), status_label(s))),
            statuses: LegalHoldStatus::ALL
                .iter()
                .map(|s| (s.as_str(), status_label(*s)))
                .collect(),
            next,
        }
        .render(),
    ))
}

/// The form to place a hold, as sent (and shown again, with the refusal, when it is refused).
/// No `Debug`: it holds the subject's identifiers.
#[derive(Default, Deserialize)]
struct HoldForm {
    csrf: Option<String>,
    #[serde(default)]
    customer_ids: String,
    #[serde(default)]
    phone_numbers: String,
    #[serde(default)]
    email_addresses: String,
    #[serde(default)]
    genesys_user_ids: String,
    #[serde(default)]
    interaction_ids: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    window_from: String,
    #[serde(default)]
    window_to: String,
    #[serde(default)]
    ends_at: String,
}

/// A comma-separated field's items.
pub(super) fn items(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A date-time picker's value (`2027-01-31T12:00`, in the bank's time zone, as the form
/// says), or RFC 3339 with its offset; nothing given is `None`.
fn date_time(text: &str, time: &BankTime) -> Result<Option<Timestamp>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(text)
        .or_else(|_| time.from_picker(text))
        .map(Some)
        .map_err(|_| ())
}

impl HoldForm {
    /// The hold to place, or what is wrong with the form in words naming its field (never its
    /// value). What the console checks is only what it must to send the contract's types; the
    /// orchestrator judges the rest.
    fn body(&self, time: &BankTime) -> Result<PlaceLegalHold, String> {
        let mut problems = Vec::new();
        let interaction_ids = items(&self.interaction_ids)
            .iter()
            .map(|id| uuid::Uuid::parse_str(id))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|_| {
                problems.push("Interaction ids: each must be a UUID");
                Vec::new()
            });
        let basis = LegalBasis::parse(&self.basis).ok_or("Basis: choose one of the list");
        let mut at = |text: &str, field: &'static str| {
            date_time(text, time).unwrap_or_else(|()| {
                problems.push(field);
                None
            })
        };
        let from = at(&self.window_from, "Held from: not a date and time");
        let to = at(&self.window_to, "Held until: not a date and time");
        let ends_at = at(&self.ends_at, "The hold ends: not a date and time");
        let basis = basis.map_err(|problem| problems.push(problem));
        let (Ok(basis), true) = (basis, problems.is_empty()) else {
            return Err(problems.join("; "));
        };
        Ok(PlaceLegalHold {
            subject: SubjectInput {
                customer_ids: items(&self.customer_ids),
                phone_numbers: items(&self.phone_numbers),
                email_addresses: items(&self.email_addresses),
                genesys_user_ids: items(&self.genesys_user_ids),
            },
            interaction_ids,
            window: (from.is_some() || to.is_some()).then_some(TimeWindow { from, to }),
            reference: self.reference.trim().to_owned(),
            reason: self.reason.trim().to_owned(),
            basis,
            ends_at,
        })
    }
}

#[derive(Template)]
#[template(path = "legal_hold_new.html")]
struct NewPage {
    person: Option<Person>,
    csrf: String,
    refusal: Option<String>,
    form: HoldForm,
    bases: Vec<(&'static str, &'static str)>,
    /// The bank's time zone, which the pickers are read in.
    zone: String,
}

fn new_page(person: Person, time: &BankTime, form: HoldForm, refusal: Option<String>) -> HttpResponse {
    let refused = refusal.is_some();
    let mut response = page(
        NewPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            refusal,
            form,
            bases: LegalBasis::ALL.iter().map(|b| (b.as_str(), basis_label(*b))).collect(),
            zone: time.name().to_owned(),
        }
        .render(),
    );
    if refused && response.status().is_success() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn new_hold(time: web::Data<BankTime>, session: Session) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, NEW, Role::Dpo)?;
    Ok(new_page(person, &time, HoldForm::default(), None))
}

/// Places the hold and shows its page; refused (by the console's reading of the form or by the
/// orchestrator), the form again with what was typed and the reason.
async fn place(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, Refusal> {
    let person = sent_from(&session, NEW, form.csrf.as_deref())?;
    let form = form.into_inner();
    let body = match form.body(&time) {
        Ok(body) => body,
        Err(reason) => return Ok(new_page(person, &time, form, Some(reason))),
    };
    match services.gdpr.post(LIST).json(&body).send::<LegalHold>().await {
        Ok(hold) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{LIST}/{}", hold.id)))
            .finish()),
        Err(error) => match error.problem() {
            // The orchestrator's problems name fields, never their values.
            Some(problem) if error.status().is_some_and(|s| s.is_client_error()) => {
                let reason = format!("gdpr-orchestrator refused: {}", super::super::reason(problem));
                Ok(new_page(person, &time, form, Some(reason)))
            }
            _ => Ok(call_failed(&error, person)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prague() -> BankTime {
        BankTime::named("Europe/Prague").unwrap()
    }

    #[test]
    fn a_date_time_inputs_value_is_read_in_the_banks_time_zone() {
        let at = |text: &str| date_time(text, &prague()).unwrap().map(|t| t.to_string());
        assert_eq!(at("2027-01-31T12:00").as_deref(), Some("2027-01-31T11:00:00Z"));
        assert_eq!(at("2027-07-31T12:00:30").as_deref(), Some("2027-07-31T10:00:30Z"));
        assert_eq!(at("2027-01-31T12:00:00+01:00").as_deref(), Some("2027-01-31T11:00:00Z"));
        assert_eq!(at("2027-01-31T12:00:00Z").as_deref(), Some("2027-01-31T12:00:00Z"));
        assert_eq!(at(" "), None);
        assert!(date_time("31.1.2027", &prague()).is_err());
    }

    #[test]
    fn a_form_becomes_the_contracts_hold_and_its_problems_name_fields_never_values() {
        let form = HoldForm {
            customer_ids: " a , b ,".to_owned(),
            interaction_ids: "9e3b6d2a-7c1f-4a8e-b5d0-2f6c9a3e7b1d".to_owned(),
            reference: " CASE-7 ".to_owned(),
            reason: "litigation".to_owned(),
            basis: "legal_claims".to_owned(),
            window_to: "2027-01-31T12:00".to_owned(),
            ..HoldForm::default()
        };
        let body = form.body(&prague()).unwrap();
        assert_eq!(body.subject.customer_ids, ["a", "b"]);
        assert_eq!(body.interaction_ids.len(), 1);
        assert_eq!(body.reference, "CASE-7");
        assert_eq!(body.basis, LegalBasis::LegalClaims);
        let window = body.window.unwrap();
        assert_eq!(
            (window.from, window.to.map(|t| t.to_string())),
            (None, Some("2027-01-31T11:00:00Z".to_owned()))
        );
        assert_eq!(body.ends_at, None);

        let bad = HoldForm {
            interaction_ids: "conversation-4711".to_owned(),
            basis: "consent".to_owned(),
            ends_at: "tomorrow".to_owned(),
            ..HoldForm::default()
        };
        let problems = bad.body(&prague()).unwrap_err();
        assert_eq!(
            problems,
            "Interaction ids: each must be a UUID; The hold ends: not a date and time; Basis: choose one of the list"
        );
    }

    #[test]
    fn covers_counts_each_kind_named() {
        let counts = IdentifierCounts {
            customer_ids: 1,
            phone_numbers: 2,
            interaction_ids: 1,
            ..IdentifierCounts::default()
        };
        assert_eq!(counted(&counts), "1 customer id, 2 phone numbers, 1 interaction");
    }
}
