//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod content_jobs;
mod events;
mod sweeps;
mod webhook;

pub use sweeps::SweepLimits;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        webhook::accept,
        sweeps::start,
        sweeps::list,
        sweeps::one
    ),
    tags(
        (name = "webhook", description = "Genesys reports an interaction's result"),
        (name = "inbox", description = "Operators: what waits or failed, and replaying it"),
        (name = "content", description = "Operators: the content jobs that add what was said or written to records"),
        (name = "sweeps", description = "Operators: results found in Genesys' analytics that the webhook never delivered")
    )
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(events::openapi());
    api.merge(content_jobs::openapi());
    api.merge(gdpr_participant::ParticipantApi::openapi());
    api
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    webhook::config(cfg);
    events::config(cfg);
    content_jobs::config(cfg);
    sweeps::config(cfg);
}
