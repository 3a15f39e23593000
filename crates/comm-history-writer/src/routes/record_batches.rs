//! `POST /communicationRecords/batch`: many records in one transaction, each exactly once per
//! its own idempotency key. result-ingest's worker writes a claimed batch this way, so a
//! thousand records cost a few commits instead of a thousand.

use crate::scopes::RecordsWrite;
use crate::store::{self, BatchEntry, BatchOutcome, Idempotency, IdempotencyKey};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::history::{RecordBatch, RecordBatchResult, RecordBatchResults, RecordOutcome as Outcome};
use domain::{CustomerSource, Timestamp};
use service_kit::auth::{require, Caller};
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::{ApiError, FieldProblem};

pub use contracts::history::MAX_BATCH;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/communicationRecords/batch")
            .route(web::post().to(create_batch).wrap(from_fn(require::<RecordsWrite>))),
    );
}

/// 200 with one result an entry. The whole batch is validated first: an invalid entry (or key)
/// is a 422 naming it (`/records/3/record/title`) and nothing is written.
#[utoipa::path(
    post,
    path = "/communicationRecords/batch",
    tag = "records",
    request_body = RecordBatch,
    responses(
        (status = 200, description = "Every entry written, replayed or refused (see each result)", body = RecordBatchResults),
        (status = 422, description = "An entry is invalid: nothing was written", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "create communication records", skip_all, fields(entries = request.records.len(), created, replayed, conflicts, erased))]
pub(crate) async fn create_batch(
    pool: web::Data<DbPool>,
    policy: web::Data<store::WritePolicy>,
    caller: web::ReqData<Caller>,
    JsonBody(request): JsonBody<RecordBatch>,
) -> Result<HttpResponse, ApiError> {
    if request.records.is_empty() || request.records.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "/records",
            format!("must hold 1 to {MAX_BATCH} entries"),
        ));
    }
    let caller = caller.into_inner().name;
    let mut problems = Vec::new();
    let mut entries = Vec::with_capacity(request.records.len());
    for (index, entry) in request.records.into_iter().enumerate() {
        match IdempotencyKey::parse(&entry.idempotency_key) {
            Ok(_) if entry.customer_source.is_some() && entry.record.customer_id.is_none() => problems.push(
                FieldProblem::new(format!("/records/{index}/customerSource"), "only with a customerId"),
            ),
            Ok(key) => {
                let request_hash = store::request_hash(&entry.record).map_err(|e| ApiError::Unexpected(e.into()))?;
                entries.push(BatchEntry {
                    customer_source: entry
                        .customer_source
                        .map_or(CustomerSource::Pairing, CustomerSource::from),
                    record: entry.record,
                    idempotency: Idempotency {
                        caller: caller.clone(),
                        key,
                        request_hash,
                    },
                });
            }
            Err(detail) => problems.push(FieldProblem::new(format!("/records/{index}/idempotencyKey"), detail)),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let (outcomes, entries) = pool
        .run(move |c| {
            let outcomes = store::create_batch(c, &entries, Timestamp::now(), &policy).map_err(ApiError::from)?;
            Ok::<_, ApiError>((outcomes, entries))
        })
        .await?;
    let results: Vec<RecordBatchResult> = entries
        .into_iter()
        .zip(outcomes)
        .map(|(entry, outcome)| {
            let idempotency_key = entry.idempotency.key.as_str().to_owned();
            match outcome {
                BatchOutcome::Created(id) => RecordBatchResult {
                    idempotency_key,
                    outcome: Outcome::Created,
                    record_id: Some(id),
                    detail: None,
                },
                BatchOutcome::Replayed(id) => RecordBatchResult {
                    idempotency_key,
                    outcome: Outcome::Replayed,
                    record_id: Some(id),
                    detail: None,
                },
                BatchOutcome::Conflict(detail, record_id) => RecordBatchResult {
                    idempotency_key,
                    outcome: Outcome::Conflict,
                    record_id,
                    detail: Some(detail.to_string()),
                },
                BatchOutcome::Erased => RecordBatchResult {
                    idempotency_key,
                    outcome: Outcome::Erased,
                    record_id: None,
                    detail: Some("erased by a GDPR forget: nothing was stored".to_owned()),
                },
            }
        })
        .collect();
    let count = |wanted: fn(&Outcome) -> bool| results.iter().filter(|r| wanted(&r.outcome)).count();
    let span = tracing::Span::current();
    span.record("created", count(|o| matches!(o, Outcome::Created)));
    span.record("replayed", count(|o| matches!(o, Outcome::Replayed)));
    span.record("conflicts", count(|o| matches!(o, Outcome::Conflict)));
    span.record("erased", count(|o| matches!(o, Outcome::Erased)));
    tracing::info!("communication records stored");
    Ok(HttpResponse::Ok().json(RecordBatchResults { results }))
}
