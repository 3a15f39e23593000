//! `/ingest/events`: the inbox's operator routes, service-kit's one operator router mounted on
//! [`InboxQueue`]: what waits or died (no personal data), and replaying dead events.

use crate::inbox::InboxQueue;
use crate::scopes::IngestOperate;
use actix_web::web;

const BASE: &str = "/ingest/events";

pub fn config(cfg: &mut web::ServiceConfig) {
    service_kit::queue::operator::config::<InboxQueue, IngestOperate>(cfg, BASE, InboxQueue::default());
}

/// The three routes for the service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    service_kit::queue::operator::openapi(BASE, "inbox", "inbox events", "ingest:operate")
}
