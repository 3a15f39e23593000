//! A new request: the form, its count (a count-only request, shown as a count on a page of its
//! own that refreshes itself until the count is done: no handler waits for it), then filing it
//! (always a new request, never the count).

use super::super::{page, Notice};
use super::legal_holds::items as list;
use super::request::{count_tables, CountTable};
use super::{call_failed, words};
use crate::services::Services;
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::{
    CustomerCorrectionInput, FileRequest, FiledRequest, GdprRequest, HandleReplacementInput, ReplacementInput,
    RequestStatus, RequestType, SubjectInput,
};
use domain::Timestamp;
use serde::{Deserialize, Serialize};

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

/// A count's subject, as the new-request form named it. No `Debug`: it holds the identifiers.
#[derive(Clone, Serialize, Deserialize)]
struct Counted {
    id: String,
    /// When it was counted (Unix seconds).
    counted_at: i64,
    kind: String,
    reference: String,
    customer_ids: String,
    phone_numbers: String,
    email_addresses: String,
    /// A RECTIFY's correction, as the form named it (sessions from before it: none).
    #[serde(default)]
    correction: Correction,
}

impl Counted {
    /// The filing form's hidden fields: the subject and the correction as the count named them.
    fn fields(&self) -> [(&'static str, &str); 11] {
        let c = &self.correction;
        [
            ("kind", &self.kind),
            ("reference", &self.reference),
            ("customer_ids", &self.customer_ids),
            ("phone_numbers", &self.phone_numbers),
            ("email_addresses", &self.email_addresses),
            ("phone_from", &c.phone_from),
            ("phone_to", &c.phone_to),
            ("email_from", &c.email_from),
            ("email_to", &c.email_to),
            ("interactions", &c.interactions),
            ("interactions_to", &c.interactions_to),
        ]
        .map(|(name, value)| (name, value.as_str()))
    }
}

/// The orchestrator answered another request than the one asked for (a count for a filing, or
/// an open request of the subject for a count): nothing is shown as what it is not.
fn not_what_was_asked(person: Person, reason: &str, other: &GdprRequest) -> HttpResponse {
    let id = other.id;
    let back = if other.count_only {
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
    #[serde(flatten)]
    correction: Correction,
    /// The count filed (the count page's filing form): its subject leaves the session.
    #[serde(default)]
    count: String,
}

/// A RECTIFY's correction as the form takes it: one phone number and one e-mail address replaced,
/// interactions moved to another customer (the `gdpr` command takes more at once). No `Debug`:
/// personal data.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Correction {
    #[serde(default)]
    phone_from: String,
    #[serde(default)]
    phone_to: String,
    #[serde(default)]
    email_from: String,
    #[serde(default)]
    email_to: String,
    /// Interaction ids, comma-separated.
    #[serde(default)]
    interactions: String,
    #[serde(default)]
    interactions_to: String,
}

impl Correction {
    /// The contract's replacement; `None` when the form names none. Whatever is given is sent
    /// (the orchestrator judges it, naming the field: a replacement on another type than
    /// RECTIFY is refused there, never dropped here).
    fn replacement(&self) -> Option<ReplacementInput> {
        let pair = |from: &str, to: &str| {
            (!from.trim().is_empty() || !to.trim().is_empty()).then(|| HandleReplacementInput {
                from: from.trim().to_owned(),
                to: to.trim().to_owned(),
            })
        };
        let interaction_ids = list(&self.interactions);
        let customer =
            (!interaction_ids.is_empty() || !self.interactions_to.trim().is_empty()).then(|| CustomerCorrectionInput {
                interaction_ids,
                to: self.interactions_to.trim().to_owned(),
            });
        let replacement = ReplacementInput {
            phone_numbers: pair(&self.phone_from, &self.phone_to).into_iter().collect(),
            email_addresses: pair(&self.email_from, &self.email_to).into_iter().collect(),
            customer,
        };
        (replacement != ReplacementInput::default()).then_some(replacement)
    }
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
    /// The request to file, of `kind` (see [`RequestForm::kind`]).
    fn body(&self, kind: RequestType, count_only: bool) -> FileRequest {
        let subject = SubjectInput {
            customer_ids: list(&self.customer_ids),
            phone_numbers: list(&self.phone_numbers),
            email_addresses: list(&self.email_addresses),
            ..SubjectInput::default()
        };
        FileRequest {
            replacement: self.correction.replacement(),
            ..FileRequest::new(kind, subject, self.reference.clone(), count_only)
        }
    }

    /// The form's type: EXPORT, FORGET, RESTRICT or RECTIFY are counted first (`filing` false); filed,
    /// UNDO_FORGET too (it has no count). Which a form offers is the form's, not a state rule.
    fn kind(&self, filing: bool) -> Result<RequestType, Refusal> {
        match (RequestType::parse(&self.kind), filing) {
            (
                Some(kind @ (RequestType::Export | RequestType::Forget | RequestType::Restrict | RequestType::Rectify)),
                _,
            ) => Ok(kind),
            (Some(RequestType::UndoForget), true) => Ok(RequestType::UndoForget),
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
    status: &'static str,
    /// Counted to the end (the orchestrator's `completed`).
    counted: bool,
    /// Still counting.
    counting: bool,
    /// Still counting, for less than [`COUNT_REFRESH_MINUTES`]: the page refreshes itself.
    refreshing: bool,
    counts: Vec<CountTable>,
    left_out: Vec<CountTable>,
    /// A RECTIFY's rows a legal hold or a statutory rule keeps as evidence, in sentences: the
    /// correction would leave them as they are ([`words::unchanged_lines`]).
    unchanged: Vec<String>,
    /// A RECTIFY's conflicts, in sentences ([`words::conflict_lines`]): filed, it would never be
    /// confirmed.
    conflicts: Vec<String>,
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
    let filed: FiledRequest = match services
        .gdpr
        .post("/gdpr/requests")
        .json(&form.body(kind, true))
        .send()
        .await
    {
        Ok(filed) => filed,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    if !filed.request.count_only {
        return Ok(not_what_was_asked(
            person,
            "gdpr-orchestrator answered an open request of this subject, not a count: see it there.",
            &filed.request,
        ));
    }
    let id = filed.request.id.to_string();
    let form = form.into_inner();
    let mut counted = counted_subjects(&session)?;
    counted.retain(|c| c.id != id);
    counted.push(Counted {
        id: id.clone(),
        counted_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        kind: kind.as_str().to_owned(),
        reference: form.reference,
        customer_ids: form.customer_ids,
        phone_numbers: form.phone_numbers,
        email_addresses: form.email_addresses,
        correction: form.correction,
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
    let id = uuid::Uuid::parse_str(&path).map_err(|_| Refusal::NotFound)?.to_string();
    let person = session::require_role(&session, &format!("/gdpr/counts/{id}"), Role::Dpo)?;
    let request: GdprRequest = match services.gdpr.get(&format!("/gdpr/requests/{id}")).send().await {
        Ok(request) => request,
        Err(error) if error.status() == Some(reqwest::StatusCode::NOT_FOUND) => return Err(Refusal::NotFound),
        Err(error) => return Ok(call_failed(&error, person)),
    };
    if !request.count_only {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/requests/{id}")))
            .finish());
    }
    // Still counting until the orchestrator calls it finished (its rule, not the console's).
    let counting = !request.status.is_finished();
    let mut counted = counted_subjects(&session)?;
    let subject = if request.status == RequestStatus::Completed {
        counted.iter().find(|c| c.id == id).cloned()
    } else {
        None
    };
    if !counting && subject.is_none() {
        // Failed or cancelled: nothing of it will be filed, its subject leaves the session.
        counted.retain(|c| c.id != id);
        keep_counted(&session, counted)?;
    }
    let refreshing = counting && refreshes(request.received_at, time::OffsetDateTime::now_utc());
    let mut response = page(
        CountPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            kind: words::kind(request.request_type),
            counted: request.status == RequestStatus::Completed,
            count_id: id.clone(),
            status: words::status(request.status, request.count_only),
            counting,
            refreshing,
            counts: count_tables(request.participants.as_deref().unwrap_or_default(), |s| &s.counts),
            left_out: count_tables(request.participants.as_deref().unwrap_or_default(), |s| &s.left_out),
            unchanged: words::unchanged_lines(&request),
            conflicts: words::conflict_lines(&request),
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
/// [`COUNT_REFRESH_MINUTES`] after the orchestrator received it.
fn refreshes(received_at: Timestamp, now: time::OffsetDateTime) -> bool {
    now < received_at.as_offset_date_time() + time::Duration::minutes(COUNT_REFRESH_MINUTES)
}

/// The filed request's page, unless the orchestrator answered a count: a filing is never
/// shown as (or sent on to) a count.
fn filed(person: Person, filed: &FiledRequest) -> HttpResponse {
    if filed.request.count_only {
        return not_what_was_asked(
            person,
            "gdpr-orchestrator answered a count of this subject, not the request filed: nothing was filed.",
            &filed.request,
        );
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/gdpr/requests/{}", filed.request.id)))
        .finish()
}

async fn file(
    services: web::Data<Services>,
    session: Session,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, "/gdpr/new", Role::Dpo)?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    let kind = form.kind(true)?;
    match services
        .gdpr
        .post("/gdpr/requests")
        .json(&form.body(kind, false))
        .send::<FiledRequest>()
        .await
    {
        Ok(answer) => {
            // Filed: the count's subject is not kept a moment longer.
            let mut counted = counted_subjects(&session)?;
            counted.retain(|c| c.id != form.count);
            keep_counted(&session, counted)?;
            Ok(filed(person, &answer))
        }
        Err(error) => Ok(call_failed(&error, person)),
    }
}

#[cfg(test)]
mod tests {
    use super::refreshes;
    use domain::Timestamp;
    use time::macros::datetime;

    #[test]
    fn a_correction_is_sent_as_the_form_names_it_and_none_when_it_names_nothing() {
        assert!(super::Correction::default().replacement().is_none());
        let correction = super::Correction {
            phone_from: " +420601555111 ".to_owned(),
            phone_to: "+420601555222".to_owned(),
            interactions: "a, b,".to_owned(),
            ..super::Correction::default()
        };
        let replacement = correction.replacement().unwrap();
        let phone = &replacement.phone_numbers[0];
        assert_eq!(
            (phone.from.as_str(), phone.to.as_str()),
            ("+420601555111", "+420601555222")
        );
        assert!(replacement.email_addresses.is_empty());
        // Half a correction is sent too: the orchestrator names what is missing.
        let customer = replacement.customer.unwrap();
        assert_eq!(
            (customer.interaction_ids, customer.to),
            (vec!["a".to_owned(), "b".to_owned()], String::new())
        );
    }

    #[test]
    fn a_counts_page_refreshes_itself_for_ten_minutes_after_the_count_was_received() {
        let received = Timestamp::parse("2026-12-06T04:00:00Z").unwrap();
        assert!(refreshes(received, datetime!(2026-12-06 04:09:59 UTC)));
        assert!(!refreshes(received, datetime!(2026-12-06 04:10:00 UTC)));
    }
}
