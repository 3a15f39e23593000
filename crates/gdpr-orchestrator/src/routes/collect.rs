//! `/gdpr/requests/{id}/export` and `/audit`: what a DPO collects from a request, the export
//! bundle (each download audited) and the audit trail.

use super::common::{actor, load, load_whole, parse_id, refused, viewer};
use crate::audit;
use crate::bundle::{self, answer};
use crate::lifecycle::{self, Refusal};
use crate::scopes::Dpo;
use crate::store::{self, Request};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{AuditTrail, Bundle};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::AnyConnection;
use service_kit::database::{write_transaction, DbPool};
use service_kit::problem::ApiError;
use service_kit::problem::ProblemResponse as _;

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(web::resource("/gdpr/requests/{id}/export").route(web::get().to(export).wrap(dpo())))
        .service(web::resource("/gdpr/requests/{id}/audit").route(web::get().to(audit_log).wrap(dpo())));
}

/// `GET /gdpr/requests/{id}/export`: the bundle of a completed EXPORT: a manifest with counts and
/// SHA-256 checksums of each file, the subject's data per participant and category, and the
/// answer they read (one self-contained HTML page in the request's language). Every
/// download is audited under the person who took it. While `gdpr.requester_verification` is
/// `required`, only once the requester's verification is recorded.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/export",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "The bundle", body = Bundle),
        (status = 409, description = "Not a finished EXPORT; or its requester's verification is not recorded while gdpr.requester_verification is required", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Erased after the retention period", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn export(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let (whole, kept) = pool
        .run(move |c| {
            let whole = load_whole(c, id)?;
            let kept = kept_of_subject(c, &whole.request)?;
            Ok::<_, ApiError>((whole, kept))
        })
        .await?;
    let (request, steps) = (whole.request, whole.steps);
    let gate = viewer(&caller, &orchestrator).gate(whole.verification.is_some());
    // The rule `download` is offered by.
    match lifecycle::may_download(&request, gate) {
        Ok(()) => {}
        Err(Refusal::Gone(detail)) => {
            let mut gone = service_kit::problem::Problem::for_status(actix_web::http::StatusCode::GONE.as_u16());
            gone.detail = Some(detail);
            return Ok(gone.to_response());
        }
        Err(refusal) => return Err(refused(refusal)),
    }
    let context = answer::Context {
        // Filed before languages were recorded: the configured one.
        language: request.language.unwrap_or(orchestrator.settings.answer_language),
        zone: orchestrator.settings.time_zone.zone(),
        kept,
    };
    let bundle = bundle::assemble(&request, &steps, &orchestrator.keys.bundle, &context, now)
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    let files = bundle.manifest.files.len();
    pool.run(move |c| {
        write_transaction(c, |c| {
            audit::audit(
                c,
                &orchestrator.keys.audit,
                id,
                actor(&caller),
                "bundle_downloaded",
                &json!({ "files": files, "requesterVerified": gate.recorded }),
                now,
            )
        })
        .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(bundle))
}

/// What an erasure of the export's subject kept (a legal hold, a statutory rule), for the answer
/// they read: the purge steps of their latest FORGET (as filed with the same identifiers) that
/// kept something.
fn kept_of_subject(c: &mut AnyConnection, export: &Request) -> Result<Vec<answer::Kept>, ApiError> {
    let Some(fingerprint) = export.subject_fingerprint.as_deref() else {
        return Ok(Vec::new());
    };
    let Some(forget) = store::find_latest_forget(c, fingerprint)? else {
        return Ok(Vec::new());
    };
    let Some(forget) = store::find_request(c, forget)? else {
        return Ok(Vec::new());
    };
    let mut steps = store::keeping_purge_steps(c, &[forget.id])?;
    Ok(steps
        .remove(&forget.id)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|step| {
            let (participant, until) = (step.participant, step.retained_until);
            step.retained.into_iter().map(move |retained| answer::Kept {
                participant: participant.clone(),
                category: retained.category,
                basis: retained.basis,
                count: retained.count,
                since: forget.received_at,
                until,
            })
        })
        .collect())
}

/// `GET /gdpr/requests/{id}/audit`: every action, oldest first, with its chain verified.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/audit",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "Every action, oldest first, with who took it and its chain verified; no identifiers", body = AuditTrail),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn audit_log(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    path: web::Path<String>,
) -> Result<web::Json<AuditTrail>, ApiError> {
    let id = parse_id(&path)?;
    let trail = pool
        .run(move |c| {
            load(c, id)?;
            audit::audit_log(c, &orchestrator.keys.audit, id).map_err(ApiError::from)
        })
        .await?;
    if !trail.chain_verified {
        tracing::error!(gdpr_request_id = %id, "the audit log's chain does not verify: it was changed");
    }
    Ok(web::Json(trail))
}
