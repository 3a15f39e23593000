//! A request's page (steps, counts, audit trail), confirming it (four eyes), extending its
//! deadline, and its export as one zip.

use super::super::page;
use super::{audit_rows, call_failed, not_found, or_dash, refused_if, sent_for, shown_to, words, AuditRow, FormToken};
use crate::bank_time::BankTime;
use crate::services::{CallError, Services};
use crate::session::{Person, Refusal};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::{
    AllowedAction, AuditTrail, Bundle, ExtendDeadline, FiledRequest, GdprRequest, LiftRestriction, UndoForget,
};
use domain::Timestamp;
use serde::Deserialize;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/requests/{id}", web::get().to(request))
        .route("/gdpr/requests/{id}/confirm", web::post().to(confirm))
        .route("/gdpr/requests/{id}/extend", web::post().to(extend))
        .route("/gdpr/requests/{id}/undo", web::post().to(file_from::<UndoForget>))
        .route("/gdpr/requests/{id}/lift", web::post().to(file_from::<LiftRestriction>))
        .route("/gdpr/requests/{id}/bundle.zip", web::post().to(bundle));
}

struct StepRow {
    phase: String,
    system: String,
    state: &'static str,
    counts: String,
    left_out: String,
    elsewhere: String,
    /// What a legal hold kept from the purge, or a RECTIFY left unchanged, and on which basis.
    kept: String,
}

/// One phase's counts as a table: a row per system, a column per category.
pub(super) struct CountTable {
    pub(super) caption: String,
    /// Each category: its name in the contract (for `data-category`) and in words.
    pub(super) categories: Vec<(String, String)>,
    pub(super) rows: Vec<CountRow>,
}

pub(super) struct CountRow {
    /// The participant's name (for `data-system`).
    pub(super) participant: String,
    pub(super) system: String,
    /// Per category (as `categories`): its name in the contract and the count (a dash for none).
    pub(super) cells: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "gdpr_request.html")]
struct RequestPage {
    person: Option<Person>,
    csrf: String,
    refusal: Option<String>,
    id: String,
    kind: &'static str,
    /// The confirm button's words: what the second person confirms.
    confirm_label: &'static str,
    status: &'static str,
    /// What happens next, in a sentence.
    next: String,
    /// Why the orchestrator holds it where it is (a system that failed), when it says.
    status_reason: Option<String>,
    reference: String,
    due: String,
    /// The deadline for machines (`<time datetime>`).
    due_at: String,
    overdue: bool,
    extension: String,
    filed: String,
    confirmed: String,
    /// A RECTIFY's conflicts, in sentences ([`words::conflict_lines`]): said before the actions,
    /// among which the orchestrator then offers no confirmation.
    conflicts: Vec<String>,
    /// A RECTIFY awaiting confirmation counted without the check of who else holds its values
    /// ([`words::not_counted`]): it must be filed, and so counted, again.
    not_counted: bool,
    /// A RECTIFY's rows attributed to a customer the request does not name, which keep the old
    /// value ([`words::left_with_the_old_value`]).
    old_value_stays: Vec<String>,
    /// A RECTIFY's replacements a system did not apply: the value was someone else's by the time
    /// it was applied ([`words::not_applied_lines`]).
    not_applied: Vec<String>,
    /// The buttons: exactly the actions the orchestrator answered it allows this person now
    /// (`allowedActions`); the console holds no rule of its own about them.
    confirm: bool,
    extend: bool,
    undo: bool,
    lift: bool,
    download: bool,
    record_verification: bool,
    tables: Vec<CountTable>,
    /// A RECTIFY's rows a legal hold or a statutory rule keeps as evidence, in sentences: they
    /// stay as they were ([`words::unchanged_lines`]).
    unchanged: Vec<String>,
    steps: Vec<StepRow>,
    chain_verified: bool,
    audit: Vec<AuditRow>,
}

/// The participants' counts (`which`: counted or left out), one table per phase in the order
/// the phases ran: systems by category, in words.
pub(super) fn count_tables(
    steps: &[contracts::gdpr::GdprStep],
    which: impl Fn(&contracts::gdpr::GdprStep) -> &std::collections::BTreeMap<String, u64>,
) -> Vec<CountTable> {
    let mut phases: Vec<contracts::participant::ParticipantAction> = Vec::new();
    for step in steps {
        if !which(step).is_empty() && !phases.contains(&step.phase) {
            phases.push(step.phase);
        }
    }
    phases
        .into_iter()
        .map(|phase| {
            let of_phase: Vec<_> = steps
                .iter()
                .filter(|s| s.phase == phase && !which(s).is_empty())
                .collect();
            let mut categories: Vec<&String> = of_phase.iter().flat_map(|s| which(s).keys()).collect();
            categories.sort_by_key(|c| words::category_rank(c));
            categories.dedup();
            CountTable {
                caption: words::phase(phase).to_owned(),
                categories: categories
                    .iter()
                    .map(|c| ((*c).clone(), words::category(c).to_owned()))
                    .collect(),
                rows: of_phase
                    .iter()
                    .map(|s| CountRow {
                        participant: s.participant.clone(),
                        system: words::system(&s.participant).to_owned(),
                        cells: categories
                            .iter()
                            .map(|c| {
                                let count = which(s).get(*c).map_or_else(|| "—".to_owned(), u64::to_string);
                                ((*c).clone(), count)
                            })
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// `{category} {n}: {basis}; …`: what a purge kept, counted, never named.
fn kept(retained: &[contracts::legal_hold::Retained]) -> String {
    retained
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}",
                words::category(&r.category),
                r.count,
                super::legal_holds::basis_label(r.basis)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a step asks the bank to do in systems outside ccbridge: erase the copies of what a
/// purge erased (GDPR Art. 17(2)), restrict those of what a RESTRICT restricted (Art. 19).
fn elsewhere(step: &contracts::gdpr::GdprStep) -> String {
    [
        ("erase", &step.to_erase_elsewhere),
        ("restrict", &step.to_restrict_elsewhere),
    ]
    .into_iter()
    .filter_map(|(what, copies)| {
        copies.first().map(|copy| {
            let records = if copies.len() == 1 { "record" } else { "records" };
            format!("{what} {} {records} in the {}", copies.len(), copy.system)
        })
    })
    .collect::<Vec<_>>()
    .join("; ")
}

/// `{category in words} {n}, …`
fn listed(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let mut counts: Vec<_> = counts.iter().collect();
    counts.sort_by_key(|(category, _)| words::category_rank(category));
    counts
        .into_iter()
        .map(|(k, v)| format!("{} {v}", words::category(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn request_page(
    services: &Services,
    time: &BankTime,
    person: Person,
    id: uuid::Uuid,
    refusal: Option<String>,
) -> Result<HttpResponse, Refusal> {
    let (request_path, audit_path) = (format!("/gdpr/requests/{id}"), format!("/gdpr/requests/{id}/audit"));
    let (request, audit) = tokio::join!(
        services.gdpr.get(&request_path).send::<GdprRequest>(),
        services.gdpr.get(&audit_path).send::<AuditTrail>(),
    );
    let (request, audit) = match (request, audit) {
        (Ok(request), Ok(audit)) => (request, audit),
        (Err(error), _) if not_found(&error) => return Err(Refusal::NotFound),
        (Err(error), _) | (_, Err(error)) => return Ok(call_failed(&error, person)),
    };
    if request.count_only {
        // A count is shown as a count, on its own page: never as the request it counted for.
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/gdpr/counts/{id}")))
            .finish());
    }
    let participants = request.participants.clone().unwrap_or_default();
    let steps = participants
        .iter()
        .map(|s| StepRow {
            phase: words::phase(s.phase).to_owned(),
            system: words::system(&s.participant).to_owned(),
            state: words::step_state(s.state),
            counts: listed(&s.counts),
            left_out: listed(&s.left_out),
            elsewhere: elsewhere(s),
            kept: if s.kept_unchanged.is_empty() {
                kept(&s.retained)
            } else {
                format!("left unchanged: {}", kept(&s.kept_unchanged))
            },
        })
        .collect();
    let unchanged = words::unchanged_lines(&request);
    let [confirm, extend, undo, lift, download, record_verification] = [
        AllowedAction::Confirm,
        AllowedAction::Extend,
        AllowedAction::Undo,
        AllowedAction::Lift,
        AllowedAction::Download,
        AllowedAction::RecordVerification,
    ]
    .map(|action| request.allows(action));
    let response = page(
        RequestPage {
            csrf: person.csrf.clone(),
            person: Some(person),
            refusal: refusal.clone(),
            id: id.to_string(),
            kind: words::kind(request.request_type),
            confirm_label: words::confirm_label(request.request_type),
            status: words::status(request.status, request.count_only),
            next: words::next(&request, time),
            status_reason: request.status_reason.clone(),
            due: words::due(&request, time, Timestamp::now()),
            due_at: request.due_at.to_rfc3339(),
            overdue: request.overdue,
            extension: match (request.extension_months, request.extension_reason.as_deref()) {
                (0, _) => "—".to_owned(),
                (months, reason) => format!(
                    "by {months} month{}{}",
                    if months == 1 { "" } else { "s" },
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
            },
            filed: format!("{}, {}", request.requested_by, time.at(request.received_at)),
            confirmed: match (&request.confirmed_by, request.confirmed_at) {
                (Some(by), Some(at)) => format!("{by}, {}", time.at(at)),
                (by, _) => or_dash(by.clone()),
            },
            conflicts: words::conflict_lines(&request),
            not_counted: words::not_counted(&request),
            old_value_stays: words::left_with_the_old_value(&request),
            not_applied: words::not_applied_lines(&request),
            reference: or_dash(request.reference),
            confirm,
            extend,
            undo,
            lift,
            download,
            record_verification,
            tables: count_tables(&participants, |s| &s.counts),
            unchanged,
            steps,
            chain_verified: audit.chain_verified,
            audit: audit_rows(audit, time, request.count_only),
        }
        .render(),
    );
    Ok(refused_if(response, refusal.is_some()))
}

async fn request(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = shown_to(&session, REQUESTS, &path)?;
    request_page(&services, &time, person, id, None).await
}

/// Where a request's page is: `{REQUESTS}/{id}`.
const REQUESTS: &str = "/gdpr/requests";

async fn confirm(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, REQUESTS, &path, form.csrf.as_deref())?;
    let answer = services
        .gdpr
        .post(&format!("/gdpr/requests/{id}/confirm"))
        .send::<GdprRequest>()
        .await;
    acted(&services, &time, person, id, answer).await
}

/// After an action on request `id`: see [`super::acted`].
async fn acted<T>(
    services: &Services,
    time: &BankTime,
    person: Person,
    id: uuid::Uuid,
    answer: Result<T, CallError>,
) -> Result<HttpResponse, Refusal> {
    super::acted(person, &format!("{REQUESTS}/{id}"), answer, |person, refusal| {
        request_page(services, time, person, id, Some(refusal))
    })
    .await
}

#[derive(Deserialize)]
struct ExtendForm {
    csrf: Option<String>,
    months: i32,
    reason: String,
}

async fn extend(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ExtendForm>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, REQUESTS, &path, form.csrf.as_deref())?;
    let body = ExtendDeadline {
        months: form.months,
        reason: form.reason.trim().to_owned(),
    };
    let answer = services
        .gdpr
        .post(&format!("/gdpr/requests/{id}/extend"))
        .json(&body)
        .send::<GdprRequest>()
        .await;
    acted(&services, &time, person, id, answer).await
}

/// The case number of a request filed from another's page (an UNDO_FORGET, a LIFT_RESTRICTION).
#[derive(Deserialize)]
struct ReferenceForm {
    csrf: Option<String>,
    reference: String,
}

/// A request filed from another's page under its own case number: an UNDO_FORGET (undoes the
/// FORGET) or a LIFT_RESTRICTION (lifts the RESTRICT once another person confirms it).
trait FiledFromPage: serde::Serialize {
    /// `POST /gdpr/requests/{id}/{ACTION}`.
    const ACTION: &'static str;
    fn with_reference(reference: String) -> Self;
}

impl FiledFromPage for UndoForget {
    const ACTION: &'static str = "undo";
    fn with_reference(reference: String) -> Self {
        Self { reference }
    }
}

impl FiledFromPage for LiftRestriction {
    const ACTION: &'static str = "lift";
    fn with_reference(reference: String) -> Self {
        Self { reference }
    }
}

/// Files `B` from request `path`'s page: to the new request's page; refused, the page says why.
async fn file_from<B: FiledFromPage>(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ReferenceForm>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, REQUESTS, &path, form.csrf.as_deref())?;
    let body = B::with_reference(form.reference.trim().to_owned());
    match services
        .gdpr
        .post(&format!("{REQUESTS}/{id}/{}", B::ACTION))
        .json(&body)
        .send::<FiledRequest>()
        .await
    {
        Ok(filed) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{REQUESTS}/{}", filed.request.id)))
            .finish()),
        Err(error) => acted(&services, &time, person, id, Err::<(), _>(error)).await,
    }
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
    let (id, person) = sent_for(&session, REQUESTS, &path, form.csrf.as_deref())?;
    let bundle = match services
        .gdpr
        .get(&format!("/gdpr/requests/{id}/export"))
        .send::<Bundle>()
        .await
    {
        Ok(bundle) => bundle,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    match crate::bundle_zip::zip_bundle(&bundle) {
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

#[cfg(test)]
mod tests {
    use contracts::legal_hold::{LegalBasis, Retained};

    #[test]
    fn what_a_purge_kept_is_listed_with_its_basis() {
        let retained = [
            Retained {
                category: "communications".to_owned(),
                basis: LegalBasis::LegalClaims,
                count: 3,
            },
            Retained {
                category: "genesysSubjects".to_owned(),
                basis: LegalBasis::AuthorityRequest,
                count: 1,
            },
        ];
        assert_eq!(
            super::kept(&retained),
            "Communications 3: Legal claims (Art. 17(3)(e)); People in Genesys Cloud 1: A competent authority's request"
        );
        assert_eq!(super::kept(&[]), "");
    }

    #[test]
    fn what_a_rectify_left_unchanged_is_said_with_its_system_and_why() {
        let kept = Retained {
            category: "communications".to_owned(),
            basis: LegalBasis::LegalObligation,
            count: 2,
        };
        let line = super::words::kept_unchanged("comm-history-writer", &kept);
        assert!(
            line.starts_with("Communication history, Communications: 2 kept as it was"),
            "{line}"
        );
        assert!(line.contains("legal obligation"), "{line}");
    }

    #[test]
    fn counts_are_a_table_per_phase_of_systems_by_category_in_words() {
        use contracts::participant::ParticipantAction::{Count, Export};
        let step = |phase, participant: &str, counts: &[(&str, u64)]| contracts::gdpr::GdprStep {
            phase,
            participant: participant.to_owned(),
            state: contracts::gdpr::StepState::Done,
            attempts: 1,
            counts: counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            left_out: Default::default(),
            detail: None,
            results_urls: Vec::new(),
            to_erase_elsewhere: Vec::new(),
            to_restrict_elsewhere: Vec::new(),
            retained: Vec::new(),
            kept_unchanged: Vec::new(),
            conflicts: None,
            updated_at: domain::Timestamp::now(),
        };
        let steps = [
            step(
                Count,
                "comm-history-writer",
                &[("agentCommunications", 2), ("communications", 3)],
            ),
            step(Count, "interaction-pairing", &[("pairings", 1)]),
            step(Count, "result-ingest", &[]),
            step(Export, "comm-history-writer", &[("communications", 3)]),
        ];
        let tables = super::count_tables(&steps, |s| &s.counts);
        let shown: Vec<_> = tables
            .iter()
            .map(|t| {
                let rows: Vec<_> = t
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            r.system.as_str(),
                            r.cells.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
                        )
                    })
                    .collect();
                let columns: Vec<_> = t.categories.iter().map(|c| c.1.as_str()).collect();
                (t.caption.as_str(), columns, rows)
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "Counted",
                    vec![
                        "Communications",
                        "Pairings with customers",
                        "Communications as the agent"
                    ],
                    vec![
                        ("Communication history", vec!["3", "—", "2"]),
                        ("Customer pairings", vec!["—", "1", "—"]),
                    ]
                ),
                (
                    "Exported",
                    vec!["Communications"],
                    vec![("Communication history", vec!["3"])]
                ),
            ]
        );
    }

    #[test]
    fn a_step_says_what_to_erase_and_what_to_restrict_elsewhere() {
        let copy = |n: u128| contracts::participant::ExternalCopy {
            system: "communication-history-manager".to_owned(),
            record_id: uuid::Uuid::from_u128(n),
            idempotency_key: format!("k{n}"),
            external_id: None,
            delivered_at: domain::Timestamp::now(),
        };
        let mut step = contracts::gdpr::GdprStep {
            phase: contracts::participant::ParticipantAction::Purge,
            participant: "comm-history-writer".to_owned(),
            state: contracts::gdpr::StepState::Done,
            attempts: 1,
            counts: Default::default(),
            left_out: Default::default(),
            detail: None,
            results_urls: Vec::new(),
            to_erase_elsewhere: vec![copy(1), copy(2)],
            to_restrict_elsewhere: Vec::new(),
            retained: Vec::new(),
            kept_unchanged: Vec::new(),
            conflicts: None,
            updated_at: domain::Timestamp::now(),
        };
        assert_eq!(
            super::elsewhere(&step),
            "erase 2 records in the communication-history-manager"
        );
        step.to_erase_elsewhere.clear();
        step.to_restrict_elsewhere = vec![copy(3)];
        assert_eq!(
            super::elsewhere(&step),
            "restrict 1 record in the communication-history-manager"
        );
        step.to_restrict_elsewhere.clear();
        assert_eq!(super::elsewhere(&step), "");
    }
}
