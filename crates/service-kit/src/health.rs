//! `GET /healthz` (the process answers) and `GET /readyz` (and its database does too).
//! Both are unauthenticated so that probes need no token.

use crate::database::{DatabaseError, DbPool};
use crate::problem::{ApiError, Problem};
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// The health answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok`, or `ready` once the database answers.
    status: String,
    /// `sqlite`, `postgres` or `none` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = Health)))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers; a service without one is ready when it serves.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn readyz(pool: Option<web::Data<DbPool>>) -> Result<HttpResponse, ApiError> {
    let Some(pool) = pool else {
        return Ok(HttpResponse::Ok().json(json!({ "status": "ready", "database": "none" })));
    };
    let backend = pool.backend().name();
    pool.run(|connection| connection.batch_execute("SELECT 1").map_err(DatabaseError::from))
        .await
        .map_err(|error| ApiError::Unavailable {
            retry_after_seconds: 5,
            cause: error.into(),
        })?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready", "database": backend })))
}
