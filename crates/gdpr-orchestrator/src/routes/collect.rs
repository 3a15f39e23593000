//! `/gdpr/requests/{id}/export` and `/audit`: what a DPO collects from a request, the export
//! bundle (each download audited) and the audit trail.

use super::common::{actor, load, load_whole, parse_id, refused, viewer};
use crate::audit;
use crate::bundle;
use crate::lifecycle::{self, Refusal};
use crate::scopes::Dpo;
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{AuditTrail, Bundle};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, DbPool};
use service_kit::problem::ApiError;
use service_kit::problem::ProblemResponse as _;

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(web::resource("/gdpr/requests/{id}/export").route(web::get().to(export).wrap(dpo())))
        .service(web::resource("/gdpr/requests/{id}/audit").route(web::get().to(audit_log).wrap(dpo())));
}

/// `GET /gdpr/requests/{id}/export`: the bundle of a completed EXPORT: a manifest with counts and
/// SHA-256 checksums of each file, and the subject's data per participant and category. Every
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
    let whole = pool.run(move |c| load_whole(c, id)).await?;
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
    let bundle = bundle::assemble(&request, &steps, &orchestrator.keys.bundle, now)
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
