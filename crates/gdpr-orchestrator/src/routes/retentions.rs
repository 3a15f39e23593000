//! `GET /internal/gdpr/retentions`: what a participant's own expiry must leave ([`Retentions`]):
//! every legal hold in force, expanded as a purge gets it, and every statutory rule. Scope
//! `gdpr:retentions` (the participants' clean-ups alone: comm-history-writer, result-ingest,
//! interaction-pairing): it names the holds' subjects.

use crate::participants::Participants;
use crate::scopes::Retentions as RetentionsScope;
use crate::worker::WorkError;
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::participant::{Retentions, RETENTIONS_ROUTE};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::problem::ApiError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(RETENTIONS_ROUTE).route(web::get().to(retentions).wrap(from_fn(require::<RetentionsScope>))),
    );
}

/// `GET /internal/gdpr/retentions`: every legal hold in force now, its subject expanded as a
/// purge gets it, and every statutory rule. When interaction-pairing cannot say which
/// interactions a hold's customers have, 503: the caller must not expire anything meanwhile.
#[utoipa::path(
    get,
    path = "/internal/gdpr/retentions",
    tag = "gdpr",
    description = "Needs scope `gdpr:retentions` (the participants' age-based clean-ups alone: the holds' subjects are personal data).",
    responses(
        (status = 200, description = "Every legal hold in force and every statutory rule", body = Retentions),
        (status = 503, description = "A hold's interactions could not be asked for: expire nothing now", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn retentions(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    participants: web::Data<Participants>,
) -> Result<HttpResponse, ApiError> {
    let now = Timestamp::now();
    let settings = &orchestrator.settings;
    match crate::retentions::in_force(&pool, settings, &participants, now).await {
        Ok(Ok(holds)) => Ok(HttpResponse::Ok().json(Retentions {
            holds,
            rules: settings.statutory_rules().to_vec(),
        })),
        Ok(Err(reason)) => Err(ApiError::Unavailable {
            retry_after_seconds: 60,
            cause: anyhow::anyhow!("{reason}"),
        }),
        Err(WorkError::Database(error)) => Err(error.into()),
        Err(error) => Err(ApiError::Unexpected(error.into())),
    }
}
