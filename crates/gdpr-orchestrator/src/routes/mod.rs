//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod collect;
mod common;
mod decisions;
mod requests;
mod views;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        requests::create,
        requests::list,
        requests::get_request,
        requests::undo,
        decisions::confirm,
        decisions::extend,
        collect::export,
        collect::audit_log
    ),
    tags((name = "gdpr", description = "Export Me, Forget Me and Undo Forget across ccbridge and Genesys Cloud"))
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    Api::openapi()
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    requests::config(cfg);
    decisions::config(cfg);
    collect::config(cfg);
}
