//! The stylesheet, served by the binary itself: no CDN, nothing fetched elsewhere.

use actix_web::{web, HttpResponse};

const STYLESHEET: &str = include_str!("../../static/console.css");

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/console.css", web::get().to(stylesheet));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}
