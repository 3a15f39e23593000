//! `/communicationRecords`: write a record (exactly once per `Idempotency-Key`), read one, list
//! a customer's or an interaction's records newest first.

use crate::scopes::{RecordsRead, RecordsWrite};
use crate::store::{self, CreateError, Created, Cursor, Idempotency, IdempotencyKey, ListFilter};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};
use contracts::history::{CommunicationRecordPage, RecordsQuery};
use domain::{
    CommunicationRecord, CommunicationRecordId, CustomerId, InteractionId, NewCommunicationRecord, Timestamp,
};
use service_kit::auth::{require, Caller};
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::ProblemResponse as _;
use service_kit::problem::{ApiError, FieldProblem};

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 200;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/communicationRecords")
            .route(web::post().to(create).wrap(from_fn(require::<RecordsWrite>)))
            .route(web::get().to(list).wrap(from_fn(require::<RecordsRead>))),
    )
    .service(
        web::resource("/communicationRecords/{id}")
            .route(web::get().to(get_record).wrap(from_fn(require::<RecordsRead>))),
    );
}

fn location(id: CommunicationRecordId) -> String {
    format!("/communicationRecords/{id}")
}

/// `POST /communicationRecords`: 201 with the record. A retry with the same `Idempotency-Key`
/// and body answers the first record again (`Idempotency-Replayed: true`) and writes nothing; the
/// same key with another body is 409.
/// Stores a record; with an `Idempotency-Key`, the same key and body again answer the first record.
#[utoipa::path(
    post,
    path = "/communicationRecords",
    tag = "records",
    request_body = NewCommunicationRecord,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; a retry with the same key and body answers the first record")),
    responses(
        (status = 201, description = "Stored (or replayed: header Idempotency-Replayed: true)", body = CommunicationRecord),
        (status = 409, description = "The key was used with another body", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "A purged GDPR forget erased what this write would store (the key's record, or the customer's part in the communication): nothing written; settled, not worth retrying", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "create communication record", skip_all, fields(record_id, replayed))]
pub(crate) async fn create(
    pool: web::Data<DbPool>,
    policy: web::Data<store::WritePolicy>,
    caller: web::ReqData<Caller>,
    request: HttpRequest,
    JsonBody(record): JsonBody<NewCommunicationRecord>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = match request.headers().get("Idempotency-Key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .map_err(|_| "must be visible ASCII characters without spaces")
                .and_then(IdempotencyKey::parse)
                .map_err(|detail| ApiError::Validation(vec![FieldProblem::header("Idempotency-Key", detail)]))?;
            let request_hash = store::request_hash(&record).map_err(|e| ApiError::Unexpected(e.into()))?;
            Some(Idempotency {
                caller: caller.into_inner().name,
                key,
                request_hash,
            })
        }
    };
    let created = pool
        .run(
            move |c| match store::create(c, &record, idempotency.as_ref(), Timestamp::now(), &policy) {
                Ok(created) => Ok(Some(created)),
                Err(CreateError::Erased) => Ok(None),
                Err(CreateError::Conflict(conflict)) => Err(ApiError::Conflict(conflict.to_string())),
                Err(CreateError::Database(e)) => Err(ApiError::from(e)),
            },
        )
        .await?;
    let Some(created) = created else {
        return Ok(erased());
    };
    let (record, replayed) = match created {
        Created::New(record) => (record, false),
        Created::Replayed(record) => (record, true),
    };
    let span = tracing::Span::current();
    span.record("record_id", tracing::field::display(record.id));
    span.record("replayed", replayed);
    tracing::info!("communication record stored");
    Ok(HttpResponse::Created()
        .insert_header(("Location", location(record.id)))
        .insert_header(("Idempotency-Replayed", if replayed { "true" } else { "false" }))
        .json(record))
}

/// 410 Gone, naming nothing: a purged GDPR forget erased what the write would store.
pub(crate) fn erased() -> HttpResponse {
    let mut problem = service_kit::problem::Problem::for_status(actix_web::http::StatusCode::GONE.as_u16());
    problem.detail = Some("erased by a GDPR forget: nothing was stored".to_owned());
    problem.to_response()
}

/// `GET /communicationRecords/{id}`.
#[utoipa::path(
    get,
    path = "/communicationRecords/{id}",
    tag = "records",
    params(("id" = uuid::Uuid, Path, description = "The record's id")),
    responses(
        (status = 200, description = "The record", body = CommunicationRecord),
        (status = 404, description = "No such record", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_record(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = CommunicationRecordId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("id", e.to_string())]))?;
    match pool.run(move |c| store::find(c, id).map_err(ApiError::from)).await? {
        Some(record) => Ok(HttpResponse::Ok().json(record)),
        None => Err(ApiError::NotFound(format!("no communication record {id}"))),
    }
}

/// `GET /communicationRecords?customerId=…` or `?interactionId=…` (both narrow further), newest
/// first, `limit` (1–200, default 50) at a time, continued with `cursor`.
#[utoipa::path(
    get,
    path = "/communicationRecords",
    tag = "records",
    params(RecordsQuery),
    responses((status = 200, description = "A page of records, newest first", body = CommunicationRecordPage))
)]
pub(crate) async fn list(pool: web::Data<DbPool>, query: web::Query<RecordsQuery>) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut problems = Vec::new();
    let mut filter = ListFilter::default();
    if let Some(value) = &query.customer_id {
        match CustomerId::parse(value) {
            Ok(id) => filter.customer_id = Some(id),
            Err(e) => problems.push(FieldProblem::parameter("customerId", e.to_string())),
        }
    }
    if let Some(value) = &query.interaction_id {
        match InteractionId::parse(value) {
            Ok(id) => filter.interaction_id = Some(id),
            Err(e) => problems.push(FieldProblem::parameter("interactionId", e.to_string())),
        }
    }
    if query.customer_id.is_none() && query.interaction_id.is_none() {
        problems.push(FieldProblem::parameter(
            "customerId",
            "customerId or interactionId is required",
        ));
    }
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(limit)) if (1..=MAX_PAGE_SIZE).contains(&limit) => limit,
        Some(_) => {
            problems.push(FieldProblem::parameter(
                "limit",
                format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
            ));
            DEFAULT_PAGE_SIZE
        }
    };
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(text) => {
            let cursor = Cursor::decode(text);
            if cursor.is_none() {
                problems.push(FieldProblem::parameter("cursor", "is not a cursor this service issued"));
            }
            cursor
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let page = pool
        .run(move |c| store::list(c, filter, cursor, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(CommunicationRecordPage {
        items: page.records,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}
