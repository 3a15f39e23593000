//! `GET /healthz` (the process answers and no background task has stopped) and `GET /readyz`
//! (and its database answers, and no background task keeps failing). Both are unauthenticated so
//! that probes need no token.

use crate::background::TaskHealth;
use crate::database::{DatabaseError, DbPool};
use crate::problem::ProblemResponse as _;
use crate::problem::{ApiError, Problem};
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

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

/// 503 naming what is wrong (task names and reasons, never personal data).
fn unhealthy(problems: &[String]) -> HttpResponse {
    let mut problem = Problem::for_status(actix_web::http::StatusCode::SERVICE_UNAVAILABLE.as_u16());
    problem.detail = Some(problems.join("; "));
    problem.to_response()
}

/// The process answers, and none of its background tasks has stopped.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Alive", body = Health),
        (status = 503, description = "A background task stopped: restart the process", body = Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn healthz(tasks: Option<web::Data<TaskHealth>>) -> HttpResponse {
    let stopped = tasks.map(|tasks| tasks.stopped()).unwrap_or_default();
    if !stopped.is_empty() {
        return unhealthy(&stopped);
    }
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
        database: None,
    })
}

/// Ready when the database answers and the background tasks work; a service without a database
/// is ready when it serves.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database does not answer, or a background task stopped or keeps failing", body = Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn readyz(
    pool: Option<web::Data<DbPool>>,
    tasks: Option<web::Data<TaskHealth>>,
) -> Result<HttpResponse, ApiError> {
    let problems = tasks.map(|tasks| tasks.problems()).unwrap_or_default();
    if !problems.is_empty() {
        return Ok(unhealthy(&problems));
    }
    let Some(pool) = pool else {
        return Ok(HttpResponse::Ok().json(Health {
            status: "ready".to_owned(),
            database: Some("none".to_owned()),
        }));
    };
    let backend = pool.backend().name();
    pool.run(|connection| connection.batch_execute("SELECT 1").map_err(DatabaseError::from))
        .await
        .map_err(|error| ApiError::Unavailable {
            retry_after_seconds: 5,
            cause: error.into(),
        })?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".to_owned(),
        database: Some(backend.to_owned()),
    }))
}
