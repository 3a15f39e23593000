//! `GET /users/{userId}` and `GET /wrapupcodes/{codeId}`: `{ "id", "name" }`.

use crate::lookups::Lookups;
use crate::scopes::GenesysLookup;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gateway::{AgentName, WrapupName};
use domain::{GenesysUserId, WrapupCode};
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/{userId}").route(web::get().to(user).wrap(from_fn(require::<GenesysLookup>))))
        .service(
            web::resource("/wrapupcodes/{codeId}")
                .route(web::get().to(wrapup_code).wrap(from_fn(require::<GenesysLookup>))),
        );
}

/// The agent's name (Genesys `name`).
#[utoipa::path(
    get,
    path = "/users/{userId}",
    tag = "lookups",
    params(("userId" = uuid::Uuid, Path, description = "The Genesys user id")),
    responses(
        (status = 200, description = "The agent", body = AgentName),
        (status = 404, description = "Genesys Cloud has no such user", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Genesys Cloud refused the lookup or answered a body that does not parse (the field's path named)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Genesys Cloud is down, slow or rate limiting; retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn user(lookups: web::Data<Lookups>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = GenesysUserId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("userId", e.to_string())]))?;
    match lookups.user(id).await? {
        Some(named) => Ok(HttpResponse::Ok().json(named)),
        None => Err(ApiError::NotFound(format!("Genesys Cloud has no user {id}"))),
    }
}

/// The wrap-up code's name; system codes (ININ-…) are answered without asking Genesys.
#[utoipa::path(
    get,
    path = "/wrapupcodes/{codeId}",
    tag = "lookups",
    params(("codeId" = String, Path, description = "A wrap-up code id (UUID) or a Genesys system code")),
    responses(
        (status = 200, description = "The wrap-up code", body = WrapupName),
        (status = 404, description = "No such wrap-up code", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Genesys Cloud refused the lookup or answered a body that does not parse (the field's path named)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Genesys Cloud is down, slow or rate limiting; retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn wrapup_code(
    lookups: web::Data<Lookups>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = WrapupCode::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("codeId", e.to_string())]))?;
    match lookups.wrapup_code(code.as_str()).await? {
        Some(named) => Ok(HttpResponse::Ok().json(named)),
        None => Err(ApiError::NotFound("Genesys Cloud has no such wrap-up code".to_owned())),
    }
}
