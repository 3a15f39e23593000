//! `GET /gdpr/retention`: the retention schedule as the data protection officers read it (the
//! console's Retention page): the statutory rules in force and how many legal holds are. Scope
//! `dpo`. Counts only: the holds' subjects are served to comm-history-writer's expiry alone
//! (`/internal/gdpr/retentions`).

use crate::scopes::Dpo;
use crate::store::legal_holds;
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::retention::{RetentionSchedule, SCHEDULE_ROUTE};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::problem::ApiError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(SCHEDULE_ROUTE).route(web::get().to(schedule).wrap(from_fn(require::<Dpo>))));
}

/// `GET /gdpr/retention`.
#[utoipa::path(
    get,
    path = "/gdpr/retention",
    tag = "gdpr",
    responses(
        (status = 200, description = "The statutory retention rules and how many legal holds are in force (counted, never named)", body = RetentionSchedule)
    ),
    description = "Needs scope `dpo`. Counts only: never a hold's subject."
)]
pub(crate) async fn schedule(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
) -> Result<HttpResponse, ApiError> {
    // The same holds the expiry and a purge are given (`in_force`), counted: a few hundred at
    // most, each read whole rather than a second definition of "in force" to keep in step.
    let holds = pool
        .run(|c| legal_holds::in_force(c, Timestamp::now()).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(RetentionSchedule {
        rules: orchestrator.settings.statutory_rules().to_vec(),
        legal_holds_in_force: u64::try_from(holds.len()).unwrap_or(u64::MAX),
    }))
}
