//! `/ingest/content-jobs`: the content queue's operator routes, service-kit's one operator router
//! mounted on [`ContentQueue`]: what waits or died (record ids, no personal data), and retrying
//! dead jobs.

use crate::content::ContentQueue;
use crate::scopes::IngestOperate;
use actix_web::web;

const BASE: &str = "/ingest/content-jobs";

pub fn config(cfg: &mut web::ServiceConfig) {
    service_kit::queue::operator::config::<ContentQueue, IngestOperate>(cfg, BASE, ContentQueue);
}

/// The three routes for the service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    service_kit::queue::operator::openapi(
        BASE,
        "content",
        "content jobs (a record's body from Genesys)",
        "ingest:operate",
    )
}
