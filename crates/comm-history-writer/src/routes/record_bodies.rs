//! `PUT /communicationRecords/{id}/body`: what was said or written in the communication, added
//! after the record was written (result-ingest's content queue, scope `records:body`). The caller
//! cuts the text to its size; this refuses what is over the record's bound, naming the field.

use crate::bodies::{self, BodySet};
use crate::scopes::RecordsBody;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::history::{RecordBody, Updated, RECORD_RESTRICTED};
use domain::CommunicationRecordId;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::ProblemResponse as _;
use service_kit::problem::{ApiError, FieldProblem, Problem};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/communicationRecords/{id}/body")
            .route(web::put().to(set_body).wrap(from_fn(require::<RecordsBody>))),
    );
}

/// 200 `{ "updated": n }`: the body is set on the record and its copies for the interaction's
/// other customers (0: they had it already). A record that was delivered to the bank's
/// communication-history-manager is delivered again, updated.
#[utoipa::path(
    put,
    path = "/communicationRecords/{id}/body",
    tag = "records",
    params(("id" = uuid::Uuid, Path, description = "The record's id")),
    request_body = RecordBody,
    responses(
        (status = 200, description = "Set (or the record had it already)", body = Updated),
        (status = 409, description = "A GDPR request holds the record: a FORGET (nothing set; settled, not worth retrying) or a RESTRICT (kind `record-restricted`: nothing set until it is lifted; asked again after)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "No such record (erased, expired): nothing set; settled, not worth retrying", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is over the record's bound, or holds a control or invisible format character (a bidi override, a zero-width character, a line separator) other than a line feed or a tab", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "set record body", skip_all, fields(record_id, updated))]
pub(crate) async fn set_body(
    pool: web::Data<DbPool>,
    path: web::Path<String>,
    JsonBody(request): JsonBody<RecordBody>,
) -> Result<HttpResponse, ApiError> {
    let id = CommunicationRecordId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("id", e.to_string())]))?;
    tracing::Span::current().record("record_id", tracing::field::display(id));
    // The record's bound allows a carriage return and format characters; a body is lines of
    // text as domain's one filter leaves them (no `\r`, no bidi override, no zero-width character).
    if domain::text::without_controls(request.body.as_str()) != request.body.as_str() {
        return Err(ApiError::validation(
            "/body",
            "must hold no control or invisible format characters but line feeds and tabs",
        ));
    }
    let set = pool
        .run(move |c| bodies::set_body(c, id, request.body.as_str()).map_err(ApiError::from))
        .await?;
    match set {
        BodySet::Set { updated } => {
            tracing::Span::current().record("updated", updated);
            Ok(HttpResponse::Ok().json(Updated {
                updated: updated as u64,
            }))
        }
        BodySet::Held => Ok(refused(409, "a GDPR request holds the record: nothing was set")),
        BodySet::Restricted => {
            let mut problem = Problem::for_status(409);
            problem.problem_type = format!("urn:ccbridge:problem:{RECORD_RESTRICTED}");
            problem.detail = Some("a restriction holds the record: nothing was set until it is lifted".to_owned());
            Ok(problem.to_response())
        }
        BodySet::Gone => Ok(refused(410, "no such record (erased or expired): nothing was set")),
    }
}

/// A refusal in fixed words: never the body, never who the record is about.
fn refused(status: u16, detail: &str) -> HttpResponse {
    let mut problem = Problem::for_status(status);
    problem.detail = Some(detail.to_owned());
    problem.to_response()
}
