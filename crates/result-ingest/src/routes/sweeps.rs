//! `/ingest/sweeps`: operators sweep a past window on demand (after an outage, say) and follow
//! each sweep's progress; the schedule's sweeps are listed beside theirs.

use crate::scopes::IngestOperate;
use crate::settings::IngestSettings;
use crate::sweep::{self, NewSweep, SweepOrigin};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::ingest::{Sweep, SweepPage, SweepRequest, SweepsQuery};
use domain::Timestamp;
use service_kit::auth::{require, Caller};
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::pagination::{keyset_page, page_parameters};
use service_kit::problem::{ApiError, FieldProblem};
use std::time::Duration;
use uuid::Uuid;

/// How far back an operator may sweep: only while a result's event is kept (processed events
/// are removed after `ingest.retention_days`) is a result found again known to be written.
/// And how many operators' sweeps may be open at once (`ingest.sweep_max_open_operator`).
#[derive(Debug, Clone, Copy)]
pub struct SweepLimits {
    reach: Duration,
    max_open_operator: u32,
}

impl From<&IngestSettings> for SweepLimits {
    fn from(settings: &IngestSettings) -> Self {
        Self {
            reach: settings.sweep_reach(),
            max_open_operator: settings.sweep_max_open_operator,
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ingest/sweeps")
            .route(web::post().to(start).wrap(from_fn(require::<IngestOperate>)))
            .route(web::get().to(list).wrap(from_fn(require::<IngestOperate>))),
    )
    .service(web::resource("/ingest/sweeps/{id}").route(web::get().to(one).wrap(from_fn(require::<IngestOperate>))));
}

/// `POST /ingest/sweeps`: sweeps the window; 202 with the sweep, followed at its `Location`.
#[utoipa::path(
    post,
    path = "/ingest/sweeps",
    tag = "sweeps",
    request_body = SweepRequest,
    responses(
        (status = 202, description = "The sweep, due now", body = Sweep),
        (status = 409, description = "`ingest.sweep_max_open_operator` operator sweeps are open already", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A wrong window (the field named)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn start(
    pool: web::Data<DbPool>,
    limits: web::Data<SweepLimits>,
    caller: web::ReqData<Caller>,
    JsonBody(request): JsonBody<SweepRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = Timestamp::now();
    let mut problems = Vec::new();
    let reach_start = now.as_offset_date_time() - limits.reach;
    if request.from.as_offset_date_time() < reach_start {
        problems.push(FieldProblem::new(
            "/from",
            format!(
                "must be within the last {} days (ingest.retention_days): older results' events are removed, \
                 and a result found again could be written twice",
                limits.reach.as_secs() / 86_400
            ),
        ));
    }
    if request.to <= request.from {
        problems.push(FieldProblem::new("/to", "must be later than from"));
    }
    if request.to > now {
        problems.push(FieldProblem::new("/to", "must not be in the future"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let new = NewSweep {
        origin: SweepOrigin::Operator,
        requested_by: Some(caller.person().to_owned()),
        from: request.from,
        to: request.to,
    };
    let max_open = limits.max_open_operator;
    let sweep = pool
        .run(move |c| sweep::create_bounded(c, &new, now, max_open).map_err(ApiError::from))
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "{max_open} operator sweeps are open already (ingest.sweep_max_open_operator): \
                 wait for one to finish (GET /ingest/sweeps)"
            ))
        })?;
    tracing::info!(sweep_id = %sweep.view.id, caller = %caller.name, "an operator asked for a sweep");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/ingest/sweeps/{}", sweep.view.id)))
        .json(sweep.view))
}

/// `GET /ingest/sweeps?limit=&cursor=`: the schedule's and operators' sweeps, newest first.
#[utoipa::path(
    get,
    path = "/ingest/sweeps",
    tag = "sweeps",
    params(SweepsQuery),
    responses(
        (status = 200, description = "Sweeps, newest first", body = SweepPage),
        (status = 422, description = "A wrong parameter (named)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn list(pool: web::Data<DbPool>, query: web::Query<SweepsQuery>) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let (limit, before) = page_parameters(query.limit.as_deref(), query.cursor.as_deref(), 20, 100, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let items = pool
        .run(move |c| sweep::list(c, before, limit + 1).map_err(ApiError::from))
        .await?;
    let (items, next_cursor) = keyset_page(items, limit, |sweep| (sweep.view.created_at, sweep.view.id));
    Ok(HttpResponse::Ok().json(SweepPage {
        items: items.into_iter().map(|sweep| sweep.view).collect(),
        next_cursor,
    }))
}

/// `GET /ingest/sweeps/{id}`: a sweep and its progress.
#[utoipa::path(
    get,
    path = "/ingest/sweeps/{id}",
    tag = "sweeps",
    params(("id" = Uuid, Path, description = "The sweep id")),
    responses(
        (status = 200, description = "The sweep", body = Sweep),
        (status = 404, description = "No such sweep", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a sweep id", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn one(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = Uuid::try_parse(&path).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid sweep id: expected a UUID",
        )])
    })?;
    let sweep = pool.run(move |c| sweep::get(c, id).map_err(ApiError::from)).await?;
    sweep
        .map(|sweep| HttpResponse::Ok().json(sweep.view))
        .ok_or_else(|| ApiError::NotFound(format!("no sweep {id}")))
}
