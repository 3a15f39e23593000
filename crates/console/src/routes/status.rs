//! `/status` (every role): each service's readiness, the queues and the GDPR deadlines.

use super::page;
use crate::services::{Figures, ServiceStatus, Services};
use crate::session::{self, Person};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(status));
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    person: Option<Person>,
    services: Vec<ServiceStatus>,
    pending_events: String,
    dead_events: String,
    oldest_pending: String,
    unassigned: String,
    pending_deliveries: String,
    overdue: String,
}

fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |v| format!("{v}"))
}

async fn status(services: web::Data<Services>, session: Session) -> Result<HttpResponse, session::Refusal> {
    let person = session::require(&session, "/status")?;
    let (readiness, figures): (Vec<ServiceStatus>, Figures) = tokio::join!(services.readiness(), services.figures());
    Ok(page(
        StatusPage {
            person: Some(person),
            services: readiness,
            pending_events: shown(figures.pending_events),
            dead_events: shown(figures.dead_events),
            oldest_pending: match (figures.pending_events, figures.oldest_pending_seconds) {
                (Some(waiting), _) if waiting <= 0.0 => "nothing is waiting".to_owned(),
                // The gauge counts whole seconds; a negative one is no wait.
                (_, Some(seconds)) => crate::bank_time::duration(seconds.max(0.0) as u64),
                (_, None) => "unknown".to_owned(),
            },
            unassigned: shown(figures.unassigned_records),
            pending_deliveries: shown(figures.pending_deliveries),
            overdue: shown(figures.overdue_requests),
        }
        .render(),
    ))
}
