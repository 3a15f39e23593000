//! `/gdpr/requests/{id}/confirm` and `/extend`: the DPO's decisions on a filed request, each
//! audited under the person who took it.

use super::common::{actor, audit_if_forbidden, lock, parse_id, refused, store_error, viewer, vouching, Whole};
use super::views::answer;
use crate::audit::{self};
use crate::lifecycle::{self, Confirmer};
use crate::rectification::conflicts;
use crate::scopes::Dpo;
use crate::store::{self};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{ExtendDeadline, GdprRequest};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, DbPool};
use service_kit::extract::JsonBody;
use service_kit::problem::{ApiError, FieldProblem, ProblemResponse as _};

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(web::resource("/gdpr/requests/{id}/confirm").route(web::post().to(confirm).wrap(dpo())))
        .service(web::resource("/gdpr/requests/{id}/extend").route(web::post().to(extend).wrap(dpo())));
}

/// `POST /gdpr/requests/{id}/confirm`: a FORGET, RECTIFY or LIFT_RESTRICTION awaiting
/// confirmation is carried out (a FORGET's purge is due once the grace window has passed). With
/// `gdpr.four_eyes`, the person who filed it may not confirm it, nor a client acting as itself;
/// outside development both are persons the identity provider signed in (403, audited as
/// refused). While `gdpr.requester_verification` is `required`, a FORGET or a RECTIFY is
/// confirmed only once its requester's verification is recorded (409). A RECTIFY is checked
/// again against what stands in its way (a FORGET, a RESTRICT, a hold on the customer to move
/// to: 409): things
/// change between its filing and its confirmation. A RECTIFY whose count found a value of it
/// held by someone else ([`crate::rectification::conflicts`]) is never confirmed: 409 of kind
/// `rectification-conflict` naming each field, audited with the counts alone; nor one whose
/// count steps carry no such check (counted before it existed): 409 `rectification-not-counted`.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/confirm",
    tag = "gdpr",
    params(
        ("id" = Uuid, Path, description = "The request id"),
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    responses(
        (status = 200, description = "Confirmed: carried out now (a FORGET purged after the grace window)", body = GdprRequest),
        (status = 401, description = "No valid credentials (Bearer token, or Basic with the caller's name); or the person's token (X-Person-Token) is not valid (signature, issuer, audience, expiry); or X-Acting-User outside development", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Four eyes: the person who filed it may not confirm it, nor a client acting as itself; outside development the filer and the confirmer are each a person the identity provider signed in", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a FORGET, RECTIFY or LIFT_RESTRICTION awaiting confirmation; or a FORGET or a RECTIFY whose requester's verification is not recorded while gdpr.requester_verification is required; or a RECTIFY that a FORGET under way or kept or a RESTRICT now stands in the way of (the detail says which), or whose customer to move to was erased or is named by a legal hold in force; or a RECTIFY whose count found a value of it that people other than the subject hold (type urn:ccbridge:problem:rectification-conflict, one error per field: /replacement/phoneNumbers/0/to rows or Genesys Cloud subjects already holding the new value, …/from other Genesys Cloud subjects holding the old one)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn confirm(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let context = orchestrator.clone();
    let by = caller.clone();
    let outcome = pool
        .run(move |c| {
            let outcome = write_transaction(c, |c| {
                let mut request = lock(c, id)?;
                let verification = store::verifications::find(c, id)?;
                let gate = viewer(&by, &context).gate(verification.is_some());
                let detail = match lifecycle::confirm(
                    &mut request,
                    Confirmer {
                        actor: actor(&by),
                        vouched_by: vouching(&by),
                    },
                    context.four_eyes,
                    gate,
                    context.settings.grace(),
                    now,
                ) {
                    Ok(detail) => detail,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                if request.rectification.is_some() {
                    let check = conflicts::Check::of_steps(&store::steps(c, id)?);
                    if check.refused().is_some() {
                        // Nothing saved: the request waits, unconfirmed, until it expires.
                        return Ok(Ok(Err(check)));
                    }
                }
                if let Some(rectification) = &request.rectification {
                    let subject = request.subject.as_ref().ok_or_else(|| {
                        ApiError::Unexpected(anyhow::anyhow!("a RECTIFY awaiting confirmation without its subject"))
                    })?;
                    if let Some(why) = crate::rectification::in_the_way(c, subject, rectification, now)? {
                        return Err(ApiError::Conflict(why.to_owned()));
                    }
                }
                store::save_request(c, &mut request).map_err(store_error)?;
                audit::audit(c, &context.keys.audit, id, actor(&by), "confirmed", &detail, now)?;
                Ok::<_, ApiError>(Ok(Ok(Whole::of(c, request)?)))
            })?;
            audit_if_forbidden(c, &context, id, &by, "confirmation_refused", &outcome, now)?;
            if let Ok(Err(check)) = &outcome {
                write_transaction(c, |c| {
                    let detail = json!(check.refused());
                    audit::audit(
                        c,
                        &context.keys.audit,
                        id,
                        actor(&by),
                        "confirmation_refused",
                        &detail,
                        now,
                    )
                })?;
            }
            Ok::<_, ApiError>(outcome)
        })
        .await?;
    let whole = match outcome.map_err(refused)? {
        Ok(whole) => whole,
        Err(check) => {
            let problem = check
                .refusal()
                .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a conflict refusal without conflicts")))?;
            tracing::info!(gdpr_request_id = %id, kind = %problem.problem_type, fields = problem.errors.len(), "RECTIFY confirmation refused: its values are held by others, or were never checked");
            return Ok(problem.to_response());
        }
    };
    tracing::info!(gdpr_request_id = %id, request_type = whole.request.request_type.as_str(), "GDPR request confirmed");
    Ok(HttpResponse::Ok().json(answer(whole, &caller, &orchestrator, now).into_inner()))
}

/// `POST /gdpr/requests/{id}/extend`: GDPR Art. 12(3) allows two more months at most, with a
/// reason the subject must be told within the first month.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/extend",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    request_body = ExtendDeadline,
    responses(
        (status = 200, description = "Extended", body = GdprRequest),
        (status = 409, description = "Finished, or more than two months in all", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn extend(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ExtendDeadline>,
) -> Result<web::Json<GdprRequest>, ApiError> {
    let id = parse_id(&path)?;
    let mut problems = Vec::new();
    if !(1..=2).contains(&body.months) {
        problems.push(FieldProblem::new("/months", "must be 1 or 2"));
    }
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 1000 {
        problems.push(FieldProblem::new("/reason", "must be 1 to 1000 characters"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let by = caller.clone();
    let context = orchestrator.clone();
    let whole = pool
        .run(move |c| {
            write_transaction(c, |c| {
                let mut request = lock(c, id)?;
                let detail = lifecycle::extend(&mut request, body.months, reason, now).map_err(refused)?;
                store::save_request(c, &mut request).map_err(store_error)?;
                audit::audit(
                    c,
                    &context.keys.audit,
                    id,
                    actor(&by),
                    "deadline_extended",
                    &detail,
                    now,
                )?;
                Whole::of(c, request)
            })
        })
        .await?;
    Ok(answer(whole, &caller, &orchestrator, now))
}
