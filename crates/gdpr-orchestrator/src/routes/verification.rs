//! `/gdpr/requests/{id}/verification`: how the requester's identity was verified, recorded once
//! by a person the identity provider signed in, and audited.

use super::common::{actor, audit_if_forbidden, lock, parse_id, refused, viewer, Whole};
use super::views::answer;
use crate::audit;
use crate::lifecycle;
use crate::scopes::Dpo;
use crate::store;
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::web;
use contracts::gdpr::{GdprRequest, RecordVerification, RequesterVerification, VerificationMethod};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, DbPool};
use service_kit::extract::JsonBody;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(web::resource("/gdpr/requests/{id}/verification").route(web::post().to(record).wrap(dpo())));
}

/// The characters of an evidence reference besides letters and digits.
const REFERENCE_PUNCTUATION: &str = "-_./:#";

/// An evidence reference, or the problem naming `/evidenceReference`. It points to the evidence
/// in the bank's records and must not be the evidence: only the characters of a document or case
/// id (no spaces, no `@` or `+`: never an e-mail address or phone number), with a letter among
/// them (a register's prefix: a bare number may be an identity document's or a phone number).
fn evidence_reference(text: &str) -> Result<String, FieldProblem> {
    let reference = text.trim();
    let length = reference.chars().count();
    let allowed = reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || REFERENCE_PUNCTUATION.contains(c));
    let has_letter = reference.chars().any(|c| c.is_ascii_alphabetic());
    if !(3..=100).contains(&length) || !allowed || !has_letter {
        return Err(FieldProblem::new(
            "/evidenceReference",
            "must be the id of the evidence in the bank's records (3 to 100 letters, digits and -_./:#, with a register's letters, e.g. DMS-2026-1), never the evidence itself (no document number, e-mail address or phone number)",
        ));
    }
    Ok(reference.to_owned())
}

/// `POST /gdpr/requests/{id}/verification`: records how the requester's identity was verified,
/// by the signed-in person who checked it. Offered as `record_verification` in `allowedActions`.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/verification",
    tag = "gdpr",
    request_body = RecordVerification,
    params(
        ("id" = Uuid, Path, description = "The request id"),
        ("X-Person-Token" = Option<String>, Header, description = "The person who verified the requester: their access token (JWT) from the bank's identity provider, verified against auth.persons (required: a name in X-Acting-User is refused)")
    ),
    responses(
        (status = 200, description = "Recorded: the request as it now stands", body = GdprRequest),
        (status = 422, description = "An unknown method (`/method`), or an evidence reference that is no reference (`/evidenceReference`)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a person the identity provider signed in (X-Person-Token): audited as refused", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Recorded already; a count, an UNDO_FORGET or a LIFT_RESTRICTION; undone, cancelled, expired, lifted or its identifiers erased", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "record requester verification", skip_all, fields(gdpr_request_id))]
pub(crate) async fn record(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<RecordVerification>,
) -> Result<web::Json<GdprRequest>, ApiError> {
    let id = parse_id(&path)?;
    tracing::Span::current().record("gdpr_request_id", tracing::field::display(id));
    let method = VerificationMethod::parse(body.method.trim());
    let evidence = evidence_reference(&body.evidence_reference);
    let (Some(method), Ok(evidence_reference)) = (method, &evidence) else {
        let mut problems = Vec::new();
        if method.is_none() {
            let methods: Vec<_> = VerificationMethod::ALL.iter().map(|m| m.as_str()).collect();
            problems.push(FieldProblem::new(
                "/method",
                format!("must be one of {}", methods.join(", ")),
            ));
        }
        problems.extend(evidence.err());
        return Err(ApiError::Validation(problems));
    };
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let verification = RequesterVerification {
        method,
        evidence_reference: Some(evidence_reference.clone()),
        verified_by: caller.person().to_owned(),
        verified_by_name: caller.person.as_ref().map(|p| p.display_name.clone()),
        verified_via: caller.name.clone(),
        verified_at: now,
    };
    let context = orchestrator.clone();
    let by = caller.clone();
    let outcome = pool
        .run(move |c| {
            let outcome = write_transaction(c, |c| {
                let request = lock(c, id)?;
                let recorded = store::verifications::find(c, id)?.is_some();
                if let Err(refusal) = lifecycle::may_record_verification(&request, viewer(&by, &context).by, recorded) {
                    return Ok(Err(refusal));
                }
                if !store::verifications::insert(c, id, &verification)? {
                    return Err(ApiError::Unexpected(anyhow::anyhow!(
                        "request {id}'s verification appeared under the request's lock"
                    )));
                }
                // The method, who and when; the evidence reference points to the subject's
                // records and stays out of the append-only chain (it is erased with the request's
                // identifiers).
                audit::audit(
                    c,
                    &context.keys.audit,
                    id,
                    actor(&by),
                    "requester_verified",
                    &json!({ "method": method, "evidenceRecorded": true }),
                    now,
                )?;
                Ok::<_, ApiError>(Ok(Whole::of(c, request)?))
            })?;
            audit_if_forbidden(c, &context, id, &by, "verification_refused", &outcome, now)?;
            Ok::<_, ApiError>(outcome)
        })
        .await?;
    let whole = outcome.map_err(refused)?;
    tracing::info!(method = method.as_str(), "GDPR requester verification recorded");
    Ok(answer(whole, &caller, &orchestrator, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evidence_reference_is_a_records_id_never_the_evidence() {
        for good in ["DMS-2026-00042", "case:4711/attachment#2", "ABC"] {
            assert_eq!(evidence_reference(&format!(" {good} ")).unwrap(), good);
        }
        for bad in [
            "",
            "AB",
            "123456789",
            "+420601234567",
            "jan.novak@example.com",
            "OP 123456789",
            "850101/1234",
            "Jan Novák, OP 123456789",
        ] {
            let problem = evidence_reference(bad).unwrap_err();
            assert_eq!(problem.pointer.as_deref(), Some("/evidenceReference"), "{bad}");
        }
    }
}
