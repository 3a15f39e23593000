//! The GDPR participant for Genesys Cloud, on the contract every ccbridge service serves
//! (`gdpr_participant`). Genesys Cloud cannot hide data and undo, so:
//! count = subject searches; export = a GDPR_EXPORT; rectify = a GDPR_UPDATE per replaced phone
//! number or e-mail address, with its `replacementTerms`; forget and undo change nothing there (said in
//! `detail`; so does restrict, which Genesys Cloud has no equivalent of); purge = a GDPR_DELETE
//! with `deleteConfirmed=true`, only reached after the orchestrator's confirmation and grace
//! window. Submissions answer `pending_external` with the
//! Genesys request ids as `externalRef`; the status call follows them until COMPLETED or ERROR.
//! Stateless: a repeated call that brings its `externalRef` follows the same Genesys requests.
//! A purge whose subject a legal hold touches submits nothing ([`held_back`]): the orchestrator
//! purges again, without that retention, when the hold ends.

use crate::models::{
    FoundGdprSubject, GdprRequest, GdprRequestStatus, GdprRequestType, GdprSubject, GdprSubjectEntityListing,
    NewGdprRequest, ReplacementTerm, ReplacementType,
};
use crate::upstream::GenesysApi;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::legal_hold::{LegalBasis, Retained};
use contracts::participant::{
    CategoryCounts, ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState, Rectification,
};
use domain::gdpr::DataSubject;
use gdpr_participant::{
    call_target, parse_request_id, rectification_of, CallVerifier, GdprParticipant, Signed, SignedCall,
};
use serde::Deserialize;
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig, verifier: web::Data<CallVerifier>) {
    cfg.app_data(verifier)
        .service(
            web::resource("/internal/gdpr/requests/{requestId}/{action}")
                .app_data(service_kit::extract::BodyLimit(gdpr_participant::CALL_MAX_BODY_BYTES))
                .route(web::post().to(act).wrap(from_fn(require::<GdprParticipant>))),
        )
        .service(
            web::resource("/internal/gdpr/requests/{requestId}")
                .route(web::get().to(status).wrap(from_fn(require::<GdprParticipant>))),
        );
}

const SUBJECTS: &str = "genesysSubjects";
const REQUESTS: &str = "genesysRequests";

/// The Genesys `GDPRSubject`s that cover our subject: one for its phone numbers and e-mail
/// addresses, one per agent (Genesys takes a single `userId` per subject).
fn genesys_subjects(subject: &DataSubject) -> Vec<GdprSubject> {
    let mut subjects = Vec::new();
    if !subject.phone_numbers.is_empty() || !subject.email_addresses.is_empty() {
        subjects.push(GdprSubject {
            phone_numbers: subject.phone_numbers.iter().map(ToString::to_string).collect(),
            email_addresses: subject.email_addresses.iter().map(ToString::to_string).collect(),
            user_id: None,
        });
    }
    subjects.extend(subject.genesys_user_ids.iter().map(|id| GdprSubject {
        user_id: Some(id.to_string()),
        ..GdprSubject::default()
    }));
    subjects
}

#[tracing::instrument(name = "gdpr participant call", skip_all, fields(gdpr_request_id, action))]
async fn act(
    api: web::Data<GenesysApi>,
    path: web::Path<(String, String)>,
    SignedCall(call): SignedCall<ParticipantCall>,
) -> Result<HttpResponse, ApiError> {
    let (_, action) = call_target(path.into_inner())?;
    let report = match action {
        ParticipantAction::Count => match &call.rectification {
            Some(rectification) => count_rectify(&api, &call.subject, rectification).await?,
            None => count(&api, &call.subject).await?,
        },
        ParticipantAction::Export | ParticipantAction::Purge => match &call.external_ref {
            // Already submitted: a hold placed since cannot call a Genesys deletion back.
            Some(refs) => follow(&api, refs).await?,
            None => match held_back(action, &call) {
                Some(report) => report,
                None => submit(&api, &call.subject, action).await?,
            },
        },
        ParticipantAction::Rectify => {
            let rectification = rectification_of(&call)?;
            match &call.external_ref {
                Some(refs) => follow(&api, refs).await?,
                None => update(&api, &rectification).await?,
            }
        }
        ParticipantAction::Forget | ParticipantAction::Undo => {
            let mut report = ParticipantReport::done(CategoryCounts::new());
            report.detail = Some("Genesys Cloud cannot hide and restore: its data is deleted by the purge".to_owned());
            report
        }
        // Nothing here pretends to restrict: the DPO restricts the subject in Genesys Cloud by
        // hand (the step's detail says so on the request).
        ParticipantAction::Restrict => {
            let mut report = ParticipantReport::done(CategoryCounts::new());
            report.detail =
                Some("Genesys Cloud has no restriction of processing: restrict the subject there by hand".to_owned());
            report
        }
    };
    tracing::info!(state = ?report.state, "GDPR participant call done");
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    #[serde(rename = "ref")]
    external_ref: Option<String>,
}

async fn status(
    api: web::Data<GenesysApi>,
    path: web::Path<String>,
    query: web::Query<StatusQuery>,
    _signed: Signed,
) -> Result<HttpResponse, ApiError> {
    parse_request_id(&path)?;
    let report = match &query.external_ref {
        Some(refs) => follow(&api, refs).await?,
        None => {
            let mut report = ParticipantReport::done(CategoryCounts::new());
            report.detail = Some("nothing was submitted to Genesys Cloud for this request".to_owned());
            report
        }
    };
    Ok(HttpResponse::Ok().json(report))
}

/// How many Genesys subjects each phone number and e-mail address finds.
async fn count(api: &GenesysApi, subject: &DataSubject) -> Result<ParticipantReport, ApiError> {
    let mut found = 0u64;
    for (search_type, value) in handles_of(subject) {
        found += search(api, search_type, value).await?.len() as u64;
    }
    found += subject.genesys_user_ids.len() as u64;
    Ok(ParticipantReport::done([(SUBJECTS.to_owned(), found)].into()))
}

/// The subject's phone numbers and e-mail addresses, each with its Genesys `searchType`.
fn handles_of(subject: &DataSubject) -> impl Iterator<Item = (&'static str, &String)> {
    subject
        .phone_numbers
        .iter()
        .map(|p| ("PHONE", p))
        .chain(subject.email_addresses.iter().map(|e| ("EMAIL", e)))
}

/// The Genesys subjects `GET /api/v2/gdpr/subjects` finds by `value`.
async fn search(api: &GenesysApi, search_type: &str, value: &str) -> Result<Vec<FoundGdprSubject>, ApiError> {
    let listing: GdprSubjectEntityListing = api
        .get(
            "gdpr.subjects",
            "/api/v2/gdpr/subjects",
            &[("searchType", search_type), ("searchValue", value)],
        )
        .await?;
    Ok(listing.entities)
}

/// A RECTIFY's count: the subject's Genesys subjects as [`count`] finds them, and its
/// `conflicts`. A GDPR_UPDATE rewrites a value in every Genesys subject that holds it, so each
/// `from` other people hold too (a household's line, a company's switchboard) is counted under
/// its pointer (`/phoneNumbers/0/from`), and each `to` another person holds already under its own
/// (`/phoneNumbers/0/to`): Genesys would then find the subject's data by that person's value. A
/// found subject is another person's unless it is the subject's ([`is_the_subjects`]). One search
/// a replacement more than a count (the `to`); the `from`s are the subject's, searched anyway.
async fn count_rectify(
    api: &GenesysApi,
    subject: &DataSubject,
    rectification: &Rectification,
) -> Result<ParticipantReport, ApiError> {
    let mut found = subject.genesys_user_ids.len() as u64;
    let mut others_by_value = std::collections::BTreeMap::new();
    for (search_type, value) in handles_of(subject) {
        let subjects = search(api, search_type, value).await?;
        found += subjects.len() as u64;
        let others = subjects.iter().filter(|s| !is_the_subjects(s, subject)).count() as u64;
        others_by_value.insert(value.clone(), others);
    }
    let mut report = ParticipantReport::done([(SUBJECTS.to_owned(), found)].into());
    for (at, replacement) in rectification.handles_at() {
        let search_type = if at.starts_with("/phoneNumbers/") {
            "PHONE"
        } else {
            "EMAIL"
        };
        let from = match others_by_value.get(&replacement.from) {
            Some(&others) => others,
            // Not one of the subject's: the orchestrator refuses such a RECTIFY at its filing.
            None => {
                return Err(ApiError::Validation(vec![FieldProblem::new(
                    format!("/rectification{at}/from"),
                    "not one of the subject's",
                )]))
            }
        };
        let to = search(api, search_type, &replacement.to)
            .await?
            .iter()
            .filter(|s| !is_the_subjects(s, subject))
            .count() as u64;
        for (field, others) in [("from", from), ("to", to)] {
            if others > 0 {
                report.conflicts.insert(format!("{at}/{field}"), others);
            }
        }
    }
    Ok(report)
}

/// Whether a Genesys subject a search found is the request's subject: every phone number and
/// e-mail address it holds is one the subject names, and it is no agent but one of the
/// subject's. A subject holding anything else (another number, an address, another agent) is
/// taken for another person: Genesys has no bank customer id to tell them apart by, and a
/// correction Genesys applies to everyone who holds a value cannot be undone for them.
fn is_the_subjects(found: &FoundGdprSubject, subject: &DataSubject) -> bool {
    use domain::HandleKey;
    let phones = found
        .phone_numbers
        .iter()
        .all(|p| matches!(HandleKey::of(p), HandleKey::Phone(key) if subject.phone_numbers.contains(&key)));
    let emails = found
        .email_addresses
        .iter()
        .all(|e| matches!(HandleKey::of(e), HandleKey::Email(key) if subject.email_addresses.contains(&key)));
    let agent = found.user_id.as_deref().is_none_or(|user| {
        subject
            .genesys_user_ids
            .iter()
            .any(|id| id.to_string().eq_ignore_ascii_case(user))
    });
    phones && emails && agent
}

/// A purge's GDPR_DELETE that a retention holds back: nothing is submitted, and the Genesys
/// subjects that wait are counted once, under the first basis (in [`LegalBasis`] order) of the
/// retentions that hold it back, as a participant counts a row several cover. Genesys deletes per
/// person (everything of a phone number's, an address's or an agent's, in every interaction), so
/// one identifier shared with a retention's subject holds back the whole deletion, whatever the
/// retention's window.
fn held_back(action: ParticipantAction, call: &ParticipantCall) -> Option<ParticipantReport> {
    if action != ParticipantAction::Purge {
        return None;
    }
    // A hold that names one of the subject's identifiers, or anything of theirs another
    // participant kept (a hold on an interaction of their number's, a statutory rule on their
    // calls: Genesys holds those calls' recordings).
    let shared = call
        .retain
        .iter()
        .filter(|retention| {
            shares_identifier(&retention.subject, &call.subject)
                || !retention.interaction_ids.is_disjoint(&call.subject.interaction_ids)
        })
        .map(|retention| retention.basis);
    let kept = call.kept_elsewhere.iter().filter(|k| k.count > 0).map(|k| k.basis);
    let first_basis: Option<LegalBasis> = shared.chain(kept).min();
    let waiting = genesys_subjects(&call.subject).len() as u64;
    // Nothing Genesys knows of the subject: nothing to hold back (`submit` says so).
    let basis = first_basis.filter(|_| waiting > 0)?;
    tracing::info!(waiting, "GDPR_DELETE held back by a retention");
    let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
    report.retained = vec![Retained {
        category: SUBJECTS.to_owned(),
        basis,
        count: waiting,
    }];
    report.detail = Some(
        "a legal hold or a statutory rule keeps the subject's data: the GDPR_DELETE to Genesys Cloud waits until it ends"
            .to_owned(),
    );
    Some(report)
}

/// Whether two subjects name one identifier in common, of any kind.
fn shares_identifier(a: &DataSubject, b: &DataSubject) -> bool {
    !a.customer_ids.is_disjoint(&b.customer_ids)
        || !a.phone_numbers.is_disjoint(&b.phone_numbers)
        || !a.email_addresses.is_disjoint(&b.email_addresses)
        || !a.genesys_user_ids.is_disjoint(&b.genesys_user_ids)
        || !a.interaction_ids.is_disjoint(&b.interaction_ids)
}

/// Submits one Genesys request per Genesys subject.
async fn submit(
    api: &GenesysApi,
    subject: &DataSubject,
    action: ParticipantAction,
) -> Result<ParticipantReport, ApiError> {
    let subjects = genesys_subjects(subject);
    if subjects.is_empty() {
        let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
        report.detail = Some("the subject has no identifier Genesys Cloud knows (phone, e-mail or agent)".to_owned());
        return Ok(report);
    }
    let (request_type, query): (GdprRequestType, &[(&str, &str)]) = match action {
        ParticipantAction::Purge => (GdprRequestType::GdprDelete, &[("deleteConfirmed", "true")]),
        _ => (GdprRequestType::GdprExport, &[]),
    };
    let bodies = subjects.into_iter().map(|subject| NewGdprRequest {
        request_type,
        subject,
        replacement_terms: Vec::new(),
    });
    post_all(api, query, bodies.collect()).await
}

/// Submits each of `bodies` (a non-empty list); answers `pending_external` with their Genesys
/// request ids as the `externalRef`.
async fn post_all(
    api: &GenesysApi,
    query: &[(&str, &str)],
    bodies: Vec<NewGdprRequest>,
) -> Result<ParticipantReport, ApiError> {
    let mut ids = Vec::new();
    for body in bodies {
        let created: GdprRequest = api
            .post("gdpr.requests.create", "/api/v2/gdpr/requests", query, &body)
            .await?;
        let request_type = body.request_type;
        tracing::info!(genesys_request_id = %created.id, ?request_type, "GDPR request submitted to Genesys Cloud");
        ids.push(created.id.to_string());
    }
    let mut report = ParticipantReport::with_state(
        ParticipantState::PendingExternal,
        [(REQUESTS.to_owned(), ids.len() as u64)].into(),
    );
    report.external_ref = Some(ids.join(","));
    Ok(report)
}

/// Submits a GDPR_UPDATE per replaced phone number or e-mail address (Genesys takes one subject
/// a request), each replacing the old value with the new one wherever Genesys Cloud holds it.
async fn update(
    api: &GenesysApi,
    rectification: &contracts::participant::Rectification,
) -> Result<ParticipantReport, ApiError> {
    let phones = rectification.phone_numbers.iter().map(|r| (ReplacementType::Phone, r));
    let emails = rectification
        .email_addresses
        .iter()
        .map(|r| (ReplacementType::Email, r));
    let mut bodies = Vec::new();
    for (term_type, replacement) in phones.chain(emails) {
        let subject = match term_type {
            ReplacementType::Phone => GdprSubject {
                phone_numbers: vec![replacement.from.clone()],
                ..GdprSubject::default()
            },
            ReplacementType::Email => GdprSubject {
                email_addresses: vec![replacement.from.clone()],
                ..GdprSubject::default()
            },
        };
        let body = NewGdprRequest {
            request_type: GdprRequestType::GdprUpdate,
            subject,
            replacement_terms: vec![ReplacementTerm {
                term_type,
                existing_value: replacement.from.clone(),
                updated_value: replacement.to.clone(),
            }],
        };
        bodies.push(body);
    }
    if bodies.is_empty() {
        let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
        report.detail =
            Some("Genesys Cloud holds no bank customer ids: a customer correction changes nothing there".to_owned());
        return Ok(report);
    }
    post_all(api, &[], bodies).await
}

/// Where the Genesys requests in `refs` stand: done when all are COMPLETED, failed when one says
/// ERROR, pending otherwise.
async fn follow(api: &GenesysApi, refs: &str) -> Result<ParticipantReport, ApiError> {
    let mut statuses = Vec::new();
    let mut results_urls = Vec::new();
    for id in refs.split(',').filter(|id| !id.is_empty()) {
        let id = uuid::Uuid::try_parse(id).map_err(|_| {
            ApiError::Validation(vec![FieldProblem::new(
                "/externalRef",
                "not a list of Genesys request ids",
            )])
        })?;
        // A status outside the documented set does not parse: it is never read as pending.
        let request: GdprRequest = api
            .get("gdpr.requests.get", &format!("/api/v2/gdpr/requests/{id}"), &[])
            .await?;
        results_urls.extend(request.results_url);
        statuses.push(request.status);
    }
    let state = if statuses.contains(&GdprRequestStatus::Error) {
        ParticipantState::Failed
    } else if statuses.iter().all(|s| *s == GdprRequestStatus::Completed) {
        ParticipantState::Done
    } else {
        ParticipantState::PendingExternal
    };
    let mut report = ParticipantReport::with_state(state, [(REQUESTS.to_owned(), statuses.len() as u64)].into());
    report.external_ref = Some(refs.to_owned());
    report.results_urls = results_urls;
    report.detail = (state == ParticipantState::Failed).then(|| "Genesys Cloud reported ERROR".to_owned());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::participant::Retention;
    use std::collections::BTreeSet;

    fn subject(json: serde_json::Value) -> DataSubject {
        serde_json::from_value(json).expect("a normalised subject")
    }

    #[test]
    fn a_found_genesys_subject_is_the_subjects_only_when_all_its_numbers_and_addresses_are() {
        let ours = subject(serde_json::json!({
            "phoneNumbers": ["+420601123456"],
            "emailAddresses": ["client@example.com"],
            "genesysUserIds": ["5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c"],
        }));
        let found = |json: serde_json::Value| -> FoundGdprSubject { serde_json::from_value(json).unwrap() };
        for theirs in [
            serde_json::json!({ "phoneNumbers": ["+420 601 123 456"], "emailAddresses": ["Client@Example.com"] }),
            serde_json::json!({ "phoneNumbers": ["tel:+420601123456"] }),
            serde_json::json!({ "userId": "5A0C8E1F-3B7D-4F2A-9C6E-1D8B4A7F0E3C", "phoneNumbers": ["+420601123456"] }),
        ] {
            assert!(is_the_subjects(&found(theirs.clone()), &ours), "{theirs}");
        }
        for others in [
            // A household member on the same line, with a number of their own.
            serde_json::json!({ "phoneNumbers": ["+420601123456", "+420608000888"] }),
            serde_json::json!({ "phoneNumbers": ["+420601123456"], "emailAddresses": ["jan@example.com"] }),
            // An agent who is not the subject.
            serde_json::json!({ "userId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "phoneNumbers": ["+420601123456"] }),
        ] {
            assert!(!is_the_subjects(&found(others.clone()), &ours), "{others}");
        }
    }

    #[test]
    fn one_identifier_of_any_kind_in_common_is_shared() {
        let customer = "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c";
        let other = "9e3b6d2a-7c1f-4a8e-b5d0-2f6c9a3e7b1d";
        let request = subject(serde_json::json!({
            "customerIds": [customer],
            "phoneNumbers": ["+420601123456"],
            "emailAddresses": ["client@example.com"],
            "genesysUserIds": [customer],
            "interactionIds": [customer],
        }));
        for key in ["customerIds", "genesysUserIds", "interactionIds"] {
            let shared = subject(serde_json::json!({ key: [other, customer] }));
            assert!(shares_identifier(&shared, &request), "{key}");
            let unrelated = subject(serde_json::json!({ key: [other] }));
            assert!(!shares_identifier(&unrelated, &request), "{key}");
        }
        for (key, same, different) in [
            ("phoneNumbers", "+420601123456", "+420601123457"),
            ("emailAddresses", "client@example.com", "other@example.com"),
        ] {
            assert!(
                shares_identifier(&subject(serde_json::json!({ key: [same] })), &request),
                "{key}"
            );
            assert!(
                !shares_identifier(&subject(serde_json::json!({ key: [different] })), &request),
                "{key}"
            );
        }
    }

    #[test]
    fn subjects_two_holds_of_different_bases_hold_back_are_counted_once_under_the_first_basis() {
        let request = subject(serde_json::json!({
            "phoneNumbers": ["+420601123456"],
            "genesysUserIds": ["5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c"],
        }));
        let hold = |basis| Retention {
            hold_id: uuid::Uuid::now_v7(),
            subject: subject(serde_json::json!({ "phoneNumbers": ["+420601123456"] })),
            interaction_ids: BTreeSet::new(),
            window: None,
            basis,
        };
        let call = ParticipantCall {
            subject: request,
            retain: vec![hold(LegalBasis::AuthorityRequest), hold(LegalBasis::LegalObligation)],
            ..serde_json::from_value(serde_json::json!({ "subject": {} })).expect("a call")
        };
        let report = held_back(ParticipantAction::Purge, &call).expect("held back");
        assert_eq!(
            report.retained,
            vec![Retained {
                category: SUBJECTS.to_owned(),
                basis: LegalBasis::LegalObligation,
                count: 2,
            }],
            "the number's subject and the agent, once"
        );
        assert_eq!(report.counts, [(REQUESTS.to_owned(), 0)].into());
    }

    #[test]
    fn anything_another_participant_kept_of_the_subject_holds_the_deletion_back() {
        let request = subject(serde_json::json!({ "phoneNumbers": ["+420601123456"] }));
        let kept = |count| Retained {
            category: "communications".to_owned(),
            basis: LegalBasis::LegalClaims,
            count,
        };
        // No hold names the number (one names an interaction of theirs): the writer kept a record.
        let mut call = ParticipantCall {
            subject: request,
            kept_elsewhere: vec![kept(1)],
            ..serde_json::from_value(serde_json::json!({ "subject": {} })).expect("a call")
        };
        let report = held_back(ParticipantAction::Purge, &call).expect("held back");
        assert_eq!(
            report.retained,
            vec![Retained {
                category: SUBJECTS.to_owned(),
                basis: LegalBasis::LegalClaims,
                count: 1,
            }]
        );
        // Nothing kept (the hold ended, the purge again erased it): the deletion goes.
        call.kept_elsewhere = vec![kept(0)];
        assert!(held_back(ParticipantAction::Purge, &call).is_none());
        call.kept_elsewhere.clear();
        assert!(held_back(ParticipantAction::Purge, &call).is_none());
    }
}
