//! `/deliveries`: the delivery outbox to the communication-history-manager, as operators see every
//! queue (`service_kit::queue::operator`: ids, kinds, states and reasons, no personal data) and
//! how they retry its dead letters. Scope `records:operate`.

use crate::scopes::RecordsOperate;
use crate::store::deliveries::DeliveryOutbox;
use actix_web::web;

pub const PATH: &str = "/deliveries";

pub fn config(cfg: &mut web::ServiceConfig) {
    service_kit::queue::operator::config::<DeliveryOutbox, RecordsOperate>(cfg, PATH, DeliveryOutbox);
}

/// The three routes, for the service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use service_kit::auth::Scope;
    service_kit::queue::operator::openapi(
        PATH,
        "deliveries",
        "deliveries to the bank's communication-history-manager",
        RecordsOperate::NAME,
    )
}
