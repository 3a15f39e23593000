//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod gdpr;
mod gdpr_participant;
mod lookups;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(lookups::user, lookups::wrapup_code, gdpr::create, gdpr::get_request, gdpr::subjects),
    tags(
        (name = "lookups", description = "Agent and wrap-up code names, cached"),
        (name = "genesys-gdpr", description = "Genesys Cloud's GDPR API, passed through")
    )
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(service_kit::gdpr_participant::ParticipantApi::openapi());
    api
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    lookups::config(cfg);
    gdpr::config(cfg);
    gdpr_participant::config(cfg);
}
