//! `/gdpr/requests/{id}/export`, `/answer` and `/audit`: what a DPO collects from a request, the
//! export bundle (each download audited), the subject's answer alone (each look audited) and the
//! audit trail.

use super::common::{actor, load, load_whole, parse_id, refused, viewer};
use crate::audit;
use crate::bundle::{self, answer};
use crate::lifecycle::{self, Refusal};
use crate::scopes::Dpo;
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{AuditTrail, Bundle, SubjectAnswer};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, DbPool};
use service_kit::problem::ApiError;
use service_kit::problem::ProblemResponse as _;

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(web::resource("/gdpr/requests/{id}/export").route(web::get().to(export).wrap(dpo())))
        .service(web::resource("/gdpr/requests/{id}/answer").route(web::get().to(answer).wrap(dpo())))
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
    handed(&pool, &orchestrator, caller.into_inner(), &path, Handing::Bundle).await
}

/// `GET /gdpr/requests/{id}/answer`: the answer the subject reads, alone, as their bundle holds
/// it — for a DPO to look at before the hand-over. The same scope and requester-verification
/// gate as the bundle (it holds the subject's data), audited as `answer_viewed`: a look is not
/// the bundle's download.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/answer",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "The answer's page, with its path, language and checksum as the bundle's manifest names them", body = SubjectAnswer),
        (status = 409, description = "Not a finished EXPORT; or its requester's verification is not recorded while gdpr.requester_verification is required", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Erased after the retention period", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn answer(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    handed(&pool, &orchestrator, caller.into_inner(), &path, Handing::Answer).await
}

/// What a DPO takes of a completed EXPORT: each is audited as what it is.
#[derive(Clone, Copy)]
enum Handing {
    /// The whole bundle: the hand-over to the subject.
    Bundle,
    /// The answer's page alone: a look before the hand-over.
    Answer,
}

impl Handing {
    fn event(self) -> &'static str {
        match self {
            Self::Bundle => "bundle_downloaded",
            Self::Answer => "answer_viewed",
        }
    }

    fn audit_detail(self, bundle: &Bundle, requester_verified: bool) -> serde_json::Value {
        match self {
            Self::Bundle => json!({ "files": bundle.manifest.files.len(), "requesterVerified": requester_verified }),
            Self::Answer => {
                json!({ "language": bundle.manifest.answer.language, "requesterVerified": requester_verified })
            }
        }
    }
}

/// The bundle of request `id` (or its answer alone) once the gate lets `caller` have it, audited
/// under them; a request erased after its retention is a 410.
async fn handed(
    pool: &DbPool,
    orchestrator: &web::Data<Orchestrator>,
    caller: Caller,
    path: &str,
    handing: Handing,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(path)?;
    let now = Timestamp::now();
    let (whole, earlier) = pool
        .run(move |c| {
            let whole = load_whole(c, id)?;
            let earlier = bundle::context::answer_context(c, &whole.request)?;
            Ok::<_, ApiError>((whole, earlier))
        })
        .await?;
    let (request, steps) = (whole.request, whole.steps);
    let gate = viewer(&caller, orchestrator).gate(whole.verification.is_some());
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
        kept: earlier.kept,
        unchanged: earlier.unchanged,
    };
    let bundle = bundle::assemble(&request, &steps, &orchestrator.keys.bundle, &context, now)
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    let detail = handing.audit_detail(&bundle, gate.recorded);
    let orchestrator = orchestrator.clone();
    pool.run(move |c| {
        write_transaction(c, |c| {
            audit::audit(
                c,
                &orchestrator.keys.audit,
                id,
                actor(&caller),
                handing.event(),
                &detail,
                now,
            )
        })
        .map_err(ApiError::from)
    })
    .await?;
    Ok(match handing {
        Handing::Bundle => HttpResponse::Ok().json(bundle),
        Handing::Answer => HttpResponse::Ok().json(SubjectAnswer {
            answer: bundle.manifest.answer,
            page: bundle.answer,
        }),
    })
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
