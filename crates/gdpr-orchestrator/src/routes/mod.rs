//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod collect;
mod common;
mod decisions;
mod legal_holds;
mod reports;
mod requests;
mod retention_schedule;
mod retentions;
mod verification;
mod views;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        requests::create,
        requests::list,
        requests::get_request,
        requests::undo,
        requests::lift,
        decisions::confirm,
        decisions::extend,
        verification::record,
        collect::export,
        collect::answer,
        collect::audit_log,
        legal_holds::place,
        legal_holds::list,
        legal_holds::get_hold,
        legal_holds::release,
        legal_holds::withdraw,
        legal_holds::audit_log,
        retentions::retentions,
        retention_schedule::schedule,
        reports::monthly
    ),
    tags((name = "gdpr", description = "Export Me, Forget Me, Undo Forget and Restriction (Art. 18) across ccbridge and Genesys Cloud"))
)]
struct Api;

/// Where the requests' queue is operated (scope `gdpr:operate`).
pub const QUEUE_BASE: &str = "/gdpr/queue";

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(service_kit::queue::operator::openapi(
        QUEUE_BASE,
        "gdpr-queue",
        "GDPR requests",
        <crate::scopes::Operate as service_kit::auth::Scope>::NAME,
    ));
    api
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    requests::config(cfg);
    decisions::config(cfg);
    verification::config(cfg);
    collect::config(cfg);
    legal_holds::config(cfg);
    retentions::config(cfg);
    retention_schedule::config(cfg);
    reports::config(cfg);
    service_kit::queue::operator::config::<crate::queue::GdprRequests, crate::scopes::Operate>(
        cfg,
        QUEUE_BASE,
        crate::queue::GdprRequests,
    );
}
