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
//! purges again, without that retention, when the hold ends. A rectify the same rule holds back
//! (or a statutory rule may: [`keeper`]) submits nothing either and reports `keptUnchanged`: the
//! DPO corrects Genesys Cloud by hand once the hold or rule ends.

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
use domain::Channel;
use gdpr_participant::{
    call_target, parse_request_id, rectification_of, CallVerifier, GdprParticipant, Signed, SignedCall,
};
use serde::Deserialize;
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem};

mod keeper;
mod whose;
use keeper::*;
use whose::*;

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
            Some(rectification) => count_rectify(&api, &call, rectification).await?,
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
                None => match unchanged(&call, &rectification) {
                    Some(kept) => kept_unchanged_report(kept),
                    None => update(&api, &call.subject, &rectification).await?,
                },
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

/// A RECTIFY's count: the subject's Genesys subjects as [`count`] finds them, what evidence
/// keeps unchanged ([`unchanged`]: no GDPR_UPDATE would be submitted), and the correction's
/// [`conflicts`], searched again by the rectify itself before it submits anything.
async fn count_rectify(
    api: &GenesysApi,
    call: &ParticipantCall,
    rectification: &Rectification,
) -> Result<ParticipantReport, ApiError> {
    let subject = &call.subject;
    let mut found = subject.genesys_user_ids.len() as u64;
    let mut searched = Searched::new();
    for (search_type, value) in handles_of(subject) {
        let subjects = search(api, search_type, value).await?;
        found += subjects.len() as u64;
        searched.insert(value.clone(), subjects);
    }
    let mut report = ParticipantReport::done([(SUBJECTS.to_owned(), found)].into());
    // Always said, none found too: a count that says nothing was never checked.
    report.conflicts = Some(conflicts(api, subject, rectification, searched).await?);
    if let Some(kept) = unchanged(call, rectification) {
        report.kept_unchanged = vec![kept];
        report.detail = Some(KEPT_UNCHANGED.to_owned());
    }
    Ok(report)
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
/// The count's searches are made again first (a value may have reached someone else since): a
/// replacement with a conflict now is not submitted, and the report names its conflicts.
async fn update(
    api: &GenesysApi,
    subject: &DataSubject,
    rectification: &Rectification,
) -> Result<ParticipantReport, ApiError> {
    let conflicts = conflicts(api, subject, rectification, Searched::new()).await?;
    let mut bodies = Vec::new();
    for (at, replacement) in rectification.handles_at() {
        if [format!("{at}/from"), format!("{at}/to")]
            .iter()
            .any(|pointer| conflicts.contains_key(pointer))
        {
            continue;
        }
        let (term_type, subject) = if at.starts_with("/phoneNumbers/") {
            let subject = GdprSubject {
                phone_numbers: vec![replacement.from.clone()],
                ..GdprSubject::default()
            };
            (ReplacementType::Phone, subject)
        } else {
            let subject = GdprSubject {
                email_addresses: vec![replacement.from.clone()],
                ..GdprSubject::default()
            };
            (ReplacementType::Email, subject)
        };
        bodies.push(NewGdprRequest {
            request_type: GdprRequestType::GdprUpdate,
            subject,
            replacement_terms: vec![ReplacementTerm {
                term_type,
                existing_value: replacement.from.clone(),
                updated_value: replacement.to.clone(),
            }],
        });
    }
    let mut report = match (bodies.is_empty(), conflicts.is_empty()) {
        (false, _) => post_all(api, &[], bodies).await?,
        (true, true) => {
            let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
            report.detail = Some(
                "Genesys Cloud holds no bank customer ids: a customer correction changes nothing there".to_owned(),
            );
            report
        }
        (true, false) => ParticipantReport::done([(REQUESTS.to_owned(), 0)].into()),
    };
    if !conflicts.is_empty() {
        tracing::info!(
            conflicts = conflicts.len(),
            "GDPR_UPDATE not submitted for a value someone else holds now"
        );
        report.detail = Some(
            "someone else holds a value of the correction in Genesys Cloud now: its GDPR_UPDATE was not submitted"
                .to_owned(),
        );
    }
    report.conflicts = Some(conflicts);
    Ok(report)
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

    fn found(json: serde_json::Value) -> FoundGdprSubject {
        serde_json::from_value(json).expect("a GDPRSubject")
    }

    fn rectification(json: serde_json::Value) -> Rectification {
        serde_json::from_value(json).expect("a rectification")
    }

    #[test]
    fn a_spouses_genesys_subject_on_the_shared_line_is_another_person_even_holding_only_that_line() {
        let ours = subject(serde_json::json!({ "phoneNumbers": ["+420601123456"] }));
        let klara = serde_json::json!({ "name": "Klára Dvořáková", "externalContactId": "8D1E2F3A-4B5C-4D6E-9F0A-1B2C3D4E5F60", "phoneNumbers": ["+420601123456"] });
        let jan = serde_json::json!({ "name": "Jan Dvořák", "externalContactId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "phoneNumbers": ["+420601123456"] });
        // Each alone could be the subject: no one else holds the line.
        for alone in [&klara, &jan] {
            assert_eq!(others_holding_from(&[found(alone.clone())], &ours), 0, "{alone}");
        }
        // Both: two Genesys identities, one of them someone else.
        assert_eq!(
            others_holding_from(&[found(klara.clone()), found(jan.clone())], &ours),
            1
        );
        // The same person found twice (ids in any case), or beside a bare subject (no identity
        // field: only the value), is one person.
        let klara_again = serde_json::json!({ "name": "Klára Dvořáková", "externalContactId": "8d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f60", "phoneNumbers": ["tel:+420601123456"] });
        let bare = serde_json::json!({ "phoneNumbers": ["+420601123456"] });
        assert_eq!(
            others_holding_from(&[found(klara.clone()), found(klara_again), found(bare)], &ours),
            0
        );
        // Told apart by any identity field: a dialer contact, a journey customer, an external id.
        for other in [
            serde_json::json!({ "dialerContactId": { "id": "c-1", "contactListId": "l-1" }, "phoneNumbers": ["+420601123456"] }),
            serde_json::json!({ "journeyCustomer": { "type": "cookie", "id": "j-1" }, "phoneNumbers": ["+420601123456"] }),
            serde_json::json!({ "externalId": "crm-77", "phoneNumbers": ["+420601123456"] }),
        ] {
            assert_eq!(
                others_holding_from(&[found(klara.clone()), found(other.clone())], &ours),
                1,
                "{other}"
            );
        }
        // One with a number of its own is someone else whatever its identity.
        let household = serde_json::json!({ "phoneNumbers": ["+420601123456", "+420608000888"] });
        assert_eq!(others_holding_from(&[found(klara), found(household)], &ours), 1);
    }

    #[test]
    fn a_new_number_the_filer_also_names_as_the_subjects_is_still_someone_elses_in_genesys() {
        let agent = "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c";
        // The filer lists old and new among the subject's numbers.
        let ours = subject(serde_json::json!({
            "phoneNumbers": ["+420601123456", "+420603000333"],
            "genesysUserIds": [agent],
        }));
        let correction = rectification(serde_json::json!({
            "phoneNumbers": [{ "from": "+420601123456", "to": "+420603000333" }],
        }));
        let stranger = found(serde_json::json!({ "name": "Eva Malá", "phoneNumbers": ["+420603000333"] }));
        assert!(
            is_the_subjects(&stranger, &ours),
            "all its numbers are ones the filer named"
        );
        assert_eq!(others_holding_to(&[stranger], &ours, &correction), 1);
        // The subject's own, holding the old number (in any notation) and the new one already,
        // and the subject's agent, are not.
        let own = found(serde_json::json!({ "name": "Klára", "phoneNumbers": ["+420 601 123 456", "+420603000333"] }));
        let as_agent = found(serde_json::json!({ "userId": agent.to_uppercase(), "phoneNumbers": ["+420603000333"] }));
        assert_eq!(others_holding_to(&[own, as_agent], &ours, &correction), 0);
        let another_agent = found(
            serde_json::json!({ "userId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "phoneNumbers": ["+420603000333"] }),
        );
        assert_eq!(others_holding_to(&[another_agent], &ours, &correction), 1);
    }

    #[test]
    fn a_correction_waits_for_what_holds_a_purge_back_and_for_a_rule_on_a_channel_its_values_travel_on() {
        let request =
            subject(serde_json::json!({ "phoneNumbers": ["+420601123456"], "emailAddresses": ["client@example.com"] }));
        let phone =
            rectification(serde_json::json!({ "phoneNumbers": [{ "from": "+420601123456", "to": "+420603000333" }] }));
        let email = rectification(
            serde_json::json!({ "emailAddresses": [{ "from": "client@example.com", "to": "new@example.com" }] }),
        );
        let rule = |channels: serde_json::Value| -> contracts::participant::StatutoryRule {
            serde_json::from_value(serde_json::json!({ "name": "mifid2", "channels": channels, "keepDays": 365, "basis": "legal_obligation" }))
                .expect("a rule")
        };
        let mut call = ParticipantCall {
            subject: request,
            rules: vec![rule(serde_json::json!(["VOICE"]))],
            ..serde_json::from_value(serde_json::json!({ "subject": {} })).expect("a call")
        };
        let kept = unchanged(&call, &phone).expect("a voice rule keeps the number's calls");
        assert_eq!(
            kept,
            Retained {
                category: SUBJECTS.to_owned(),
                basis: LegalBasis::LegalObligation,
                count: 1
            }
        );
        assert!(
            unchanged(&call, &email).is_none(),
            "no voice call is found by an address"
        );
        // A purge is held back by the participants that keep a rule's rows (kept_elsewhere), not
        // by the rule itself: it is purged again when they let them go.
        assert!(held_back(ParticipantAction::Purge, &call).is_none());
        call.rules = vec![rule(serde_json::json!([]))];
        assert!(unchanged(&call, &email).is_some(), "a rule on every channel");
        call.rules.clear();
        assert!(unchanged(&call, &phone).is_none());
        // What holds a purge back holds a correction back too.
        call.kept_elsewhere = vec![Retained {
            category: "communications".to_owned(),
            basis: LegalBasis::LegalClaims,
            count: 1,
        }];
        assert_eq!(unchanged(&call, &phone).map(|k| k.basis), Some(LegalBasis::LegalClaims));
        assert!(held_back(ParticipantAction::Purge, &call).is_some());
        // A customer correction alone asks nothing of Genesys: nothing to keep there.
        let customer = rectification(serde_json::json!({ "customer": {
            "interactionIds": ["9e3b6d2a-7c1f-4a8e-b5d0-2f6c9a3e7b1d"], "to": "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c" } }));
        assert!(unchanged(&call, &customer).is_none());
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
