//! The participant side of the GDPR contract, for services that keep personal data in their
//! database: each implements [`GdprStore`] and mounts [`config`], so every participant answers the
//! same routes the same way.
//!
//! - `POST /internal/gdpr/requests/{requestId}/{count|export|forget|undo|purge}` with a
//!   [`ParticipantCall`] body → [`ParticipantReport`];
//! - `GET /internal/gdpr/requests/{requestId}` → what the request holds hidden here.
//!
//! Every call is keyed by the orchestrator's request id and idempotent: forget marks the
//! subject's rows with the request id (read paths skip marked rows), undo clears that mark,
//! purge deletes the marked rows. Repeating a call changes nothing more.

use crate::auth::{require, Scope};
use crate::database::{AnyConnection, DbPool};
use crate::extract::JsonBody;
use crate::problem::{ApiError, FieldProblem};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use diesel::{Connection, QueryResult};
use domain::gdpr::{
    CategoryCounts, DataSubject, ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState,
};
use domain::Timestamp;
use uuid::Uuid;

/// A service's personal data, seen through the GDPR contract. Each function runs inside one
/// transaction.
pub trait GdprStore: Send + Sync + 'static {
    /// What the subject has here, per category. Changes nothing.
    fn count(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport>;
    /// The subject's data per category, with its counts.
    fn export(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport>;
    /// Hides the subject's rows under `request_id`; returns what the request holds hidden.
    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        call: &ParticipantCall,
        now: Timestamp,
    ) -> QueryResult<CategoryCounts>;
    /// Restores what `request_id` hid; returns how many rows came back per category.
    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts>;
    /// Deletes what `request_id` hid; returns how many rows went per category.
    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts>;
    /// What `request_id` holds hidden, per category.
    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts>;
    /// Whether work that read rows `request_id` hid, before they were hidden, may still write
    /// them elsewhere (result-ingest: events in a worker's hands). While it may, the forget is
    /// answered `pending_external` and the orchestrator asks again later, so that the
    /// participants after this one catch what that work writes.
    fn in_flight(&self, _connection: &mut AnyConnection, _request_id: Uuid) -> QueryResult<bool> {
        Ok(false)
    }
}

/// What `request_id` holds hidden, `pending_external` while work on its rows is in flight.
fn forget_report<S: GdprStore>(
    store: &S,
    connection: &mut AnyConnection,
    request_id: Uuid,
    held: CategoryCounts,
) -> QueryResult<ParticipantReport> {
    let mut report = ParticipantReport::done(held);
    if store.in_flight(connection, request_id)? {
        report.state = Some(ParticipantState::PendingExternal);
        report.detail = Some("rows of the subject are being processed here; ask again later".to_owned());
    }
    Ok(report)
}

/// Mounts the participant routes for `store`, allowed to callers with scope `P`.
pub fn config<S: GdprStore, P: Scope + 'static>(cfg: &mut web::ServiceConfig, store: web::Data<S>) {
    cfg.app_data(store)
        .service(
            web::resource("/internal/gdpr/requests/{requestId}/{action}")
                .route(web::post().to(act::<S>).wrap(from_fn(require::<P>))),
        )
        .service(
            web::resource("/internal/gdpr/requests/{requestId}")
                .route(web::get().to(status::<S>).wrap(from_fn(require::<P>))),
        );
}

/// Parses the `{requestId}` path segment.
pub fn parse_request_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "requestId",
            "not a valid request id: expected a UUID",
        )])
    })
}

/// Parses the `{action}` path segment.
pub fn parse_action(value: &str) -> Result<ParticipantAction, ApiError> {
    ParticipantAction::parse(value).ok_or_else(|| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "action",
            "must be one of count, export, forget, undo, purge",
        )])
    })
}

#[tracing::instrument(name = "gdpr participant call", skip_all, fields(gdpr_request_id, action))]
async fn act<S: GdprStore>(
    pool: web::Data<DbPool>,
    store: web::Data<S>,
    path: web::Path<(String, String)>,
    JsonBody(call): JsonBody<ParticipantCall>,
) -> Result<HttpResponse, ApiError> {
    let (request_id, action) = path.into_inner();
    let request_id = parse_request_id(&request_id)?;
    let action = parse_action(&action)?;
    let span = tracing::Span::current();
    span.record("gdpr_request_id", tracing::field::display(request_id));
    span.record("action", action.as_str());
    let report = pool
        .run(move |c| {
            c.transaction(|c| match action {
                ParticipantAction::Count => store.count(c, &call.subject),
                ParticipantAction::Export => store.export(c, &call.subject),
                ParticipantAction::Forget => {
                    let held = store.forget(c, request_id, &call, Timestamp::now())?;
                    forget_report(store.as_ref(), c, request_id, held)
                }
                ParticipantAction::Undo => store.undo(c, request_id).map(ParticipantReport::done),
                // After the purge the request holds nothing here any more: report what is left.
                ParticipantAction::Purge => {
                    store.purge(c, request_id)?;
                    store.held(c, request_id).map(ParticipantReport::done)
                }
            })
            .map_err(ApiError::from)
        })
        .await?;
    let total: u64 = report.counts.values().sum();
    tracing::info!(rows = total, "GDPR participant call done");
    Ok(HttpResponse::Ok().json(report))
}

async fn status<S: GdprStore>(
    pool: web::Data<DbPool>,
    store: web::Data<S>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let request_id = parse_request_id(&path)?;
    let report = pool
        .run(move |c| {
            let held = store.held(c, request_id)?;
            forget_report(store.as_ref(), c, request_id, held).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `{category: n}` from pairs, for stores' reports.
pub fn counts<const N: usize>(pairs: [(&str, i64); N]) -> CategoryCounts {
    pairs
        .into_iter()
        .map(|(category, n)| (category.to_owned(), u64::try_from(n).unwrap_or(0)))
        .collect()
}

/// The participant routes' description (the routes are generic over the store, so the
/// operations are described on these stand-ins).
#[derive(utoipa::OpenApi)]
#[openapi(paths(participant_call, participant_status), components(schemas(ParticipantAction)))]
pub struct ParticipantApi;

/// Count, export, forget, undo or purge the subject's data under the orchestrator's request id.
/// Idempotent per request id.
#[utoipa::path(
    post,
    path = "/internal/gdpr/requests/{requestId}/{action}",
    tag = "gdpr-participant",
    params(
        ("requestId" = uuid::Uuid, Path, description = "gdpr-orchestrator's request id"),
        ("action" = ParticipantAction, Path, description = "What to do")
    ),
    request_body = ParticipantCall,
    responses((status = 200, description = "Done, or submitted to an external system", body = ParticipantReport))
)]
#[allow(dead_code)]
fn participant_call() {}

/// What the request holds hidden here, or (with `ref`) where external work stands.
#[utoipa::path(
    get,
    path = "/internal/gdpr/requests/{requestId}",
    tag = "gdpr-participant",
    params(
        ("requestId" = uuid::Uuid, Path, description = "gdpr-orchestrator's request id"),
        ("ref" = Option<String>, Query, description = "The externalRef a submission answered (genesys-gateway)")
    ),
    responses((status = 200, description = "The request's state here", body = ParticipantReport))
)]
#[allow(dead_code)]
fn participant_status() {}
