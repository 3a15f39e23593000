//! `GET /users/{userId}` and `GET /wrapupcodes/{codeId}`: `{ "id", "name" }`.

use crate::lookups::Lookups;
use crate::scopes::GenesysLookup;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
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

async fn user(lookups: web::Data<Lookups>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = GenesysUserId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("userId", e.to_string())]))?;
    match lookups.user(id).await? {
        Some(named) => Ok(HttpResponse::Ok().json(named)),
        None => Err(ApiError::NotFound(format!("Genesys Cloud has no user {id}"))),
    }
}

async fn wrapup_code(lookups: web::Data<Lookups>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = WrapupCode::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("codeId", e.to_string())]))?;
    match lookups.wrapup_code(code.as_str()).await? {
        Some(named) => Ok(HttpResponse::Ok().json(named)),
        None => Err(ApiError::NotFound("Genesys Cloud has no such wrap-up code".to_owned())),
    }
}
