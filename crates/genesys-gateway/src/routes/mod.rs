//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod lookups;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(lookups::user, lookups::wrapup_code),
    tags((name = "lookups", description = "Agent and wrap-up code names, cached"))
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(gdpr_participant::ParticipantApi::openapi());
    api
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig, verifier: actix_web::web::Data<gdpr_participant::CallVerifier>) {
    lookups::config(cfg);
    crate::gdpr::config(cfg, verifier);
}
