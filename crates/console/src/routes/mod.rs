//! The console's pages, one module a page; each exposes `config`.

mod assets;
mod gdpr;
mod inbox;
pub mod sign_in;
mod status;
mod unassigned;

use crate::session::Person;
use askama::Template;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    assets::config(cfg);
    sign_in::config(cfg);
    status::config(cfg);
    gdpr::config(cfg);
    unassigned::config(cfg);
    inbox::config(cfg);
}

/// The console serves pages, not an API: its OpenAPI description is the shared parts alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

/// A rendered page, or a 500 when its template cannot render (a defect, logged).
fn page(rendered: Result<String, askama::Error>) -> actix_web::HttpResponse {
    match rendered {
        Ok(html) => actix_web::HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            tracing::error!(error = %error, "a page did not render");
            actix_web::HttpResponse::InternalServerError().finish()
        }
    }
}

/// A page that says what went wrong, and where to go from there.
#[derive(Template)]
#[template(path = "problem.html")]
struct Notice<'a> {
    person: Option<Person>,
    heading: &'a str,
    reason: &'a str,
    back: &'a str,
    back_label: &'a str,
}

/// A JSON value as a page shows it: text as it is, null as nothing.
fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
