//! `/expired-copies`: the copies at the bank's communication-history-manager of records erased
//! past their retention ([`crate::expiry`]), ids only, for operators to erase there (ccbridge
//! cannot reach the manager's records for it) and then acknowledge. Scope `records:operate`.

use crate::expiry::{self, ExpiredCopy};
use crate::scopes::RecordsOperate;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::problem::{ApiError, FieldProblem};
use uuid::Uuid;

/// Copies listed at a time: the oldest first; acknowledging them brings on the next.
const PAGE: i64 = 500;

pub fn config(cfg: &mut web::ServiceConfig) {
    let operate = || from_fn(require::<RecordsOperate>);
    cfg.service(web::resource("/expired-copies").route(web::get().to(list).wrap(operate())))
        .service(web::resource("/expired-copies/{deliveryId}/erased").route(web::post().to(erased).wrap(operate())));
}

/// The oldest copies to erase at the manager, and how many there are in all.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpiredCopies {
    pub items: Vec<ExpiredCopy>,
    pub total: i64,
}

/// `GET /expired-copies`: the oldest 500 copies at the communication-history-manager of records
/// erased past their retention, and how many there are.
#[utoipa::path(
    get,
    path = "/expired-copies",
    tag = "deliveries",
    description = "Needs scope `records:operate`.",
    responses((status = 200, description = "The oldest copies to erase at the manager", body = ExpiredCopies))
)]
pub(crate) async fn list(pool: web::Data<DbPool>) -> Result<HttpResponse, ApiError> {
    let (items, total) = pool
        .run(|c| expiry::expired_copies(c, PAGE).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(ExpiredCopies { items, total }))
}

/// `POST /expired-copies/{deliveryId}/erased`: the copy was erased at the manager; no longer
/// listed. 404 when it is not (or no longer) listed.
#[utoipa::path(
    post,
    path = "/expired-copies/{deliveryId}/erased",
    tag = "deliveries",
    description = "Needs scope `records:operate`.",
    params(("deliveryId" = Uuid, Path, description = "The delivery that made the copy")),
    responses(
        (status = 204, description = "No longer listed"),
        (status = 404, description = "Not listed", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn erased(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path)
        .map_err(|_| ApiError::Validation(vec![FieldProblem::parameter("deliveryId", "must be a UUID")]))?;
    if pool
        .run(move |c| expiry::acknowledge(c, id).map_err(ApiError::from))
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("no expired copy of delivery {id}")))
    }
}
