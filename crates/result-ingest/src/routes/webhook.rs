//! `POST /customers/supportResult`: Genesys' data action reports an interaction's result.
//! Validated, stored durably (group-committed with concurrent requests) and answered 202 within
//! the request; the worker does the rest.

use crate::accept_batcher::AcceptBatcher;
use crate::inbox::Acceptance;
use crate::metrics::IngestMetrics;
use crate::participant_data::ParticipantDataSettings;
use crate::scopes::IngestWebhook;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::ingest::{Accepted, SupportResult};
use service_kit::auth::require;
use service_kit::extract::JsonBody;
use service_kit::problem::ApiError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/supportResult").route(web::post().to(accept).wrap(from_fn(require::<IngestWebhook>))),
    );
}

/// 202 with the event id; the same result again answers the first id (and is processed once).
/// A result about a subject forgotten after it happened: 200 `suppressed`, nothing stored.
/// `participantData`: only the configured attributes are kept (`ingest.participant_data`); a
/// value of one that does not parse, or any on a channel whose participant data is not trusted
/// (`ingest.participant_data.channels`), is ignored and counted, the result kept.
#[utoipa::path(
    post,
    path = "/customers/supportResult",
    tag = "webhook",
    request_body = SupportResult,
    responses(
        (status = 202, description = "Stored durably; `duplicate` when the same result was delivered before (same id)", body = Accepted),
        (status = 200, description = "About a subject forgotten after the interaction: dropped, nothing stored", body = Accepted),
        (status = 503, description = "The inbox cannot be written; retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "accept support result", skip_all, fields(conversation_id = %result.conversation_id, event_id, duplicate, suppressed))]
pub(crate) async fn accept(
    batcher: web::Data<AcceptBatcher>,
    metrics: web::Data<IngestMetrics>,
    participant_data: web::Data<ParticipantDataSettings>,
    JsonBody(mut result): JsonBody<SupportResult>,
) -> Result<HttpResponse, ApiError> {
    let read = participant_data.minimise(result.channel(), &mut result.participant_data);
    metrics.count_ignored(&read.ignored);
    let accepted = match batcher.accept(result, read.customer).await? {
        Acceptance::Stored(accepted) => accepted,
        Acceptance::Suppressed => {
            // Answered as a success: Genesys must stop redelivering a result we will never keep.
            metrics.suppressed.inc();
            tracing::Span::current().record("suppressed", true);
            return Ok(HttpResponse::Ok().json(Accepted {
                id: None,
                duplicate: false,
                suppressed: true,
            }));
        }
    };
    let span = tracing::Span::current();
    span.record("event_id", tracing::field::display(accepted.id));
    span.record("duplicate", accepted.duplicate);
    if accepted.duplicate {
        metrics.duplicates.inc();
    } else {
        metrics.accepted.inc();
    }
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/ingest/events/{}", accepted.id)))
        .json(Accepted {
            id: Some(accepted.id),
            duplicate: accepted.duplicate,
            suppressed: false,
        }))
}
