//! One operator router, mounted per queue under its own path and scope: what operators see of a
//! queue (ids, kinds, states, reasons; no personal data) and how they retry its dead letters.
//!
//! - `GET {base}?status=pending|dead&limit=&cursor=`: a page of entries, oldest first
//!   ([`contracts::queue::QueuePage`]);
//! - `POST {base}/{id}/retry`: a dead letter back to pending with a fresh budget (202,
//!   [`contracts::queue::QueueRetried`]; 404 none, 409 not dead);
//! - `POST {base}/retry-dead`: every dead letter back (202, [`contracts::queue::QueueRetriedCount`]).
//!
//! A wrong parameter is a 422 problem naming it. [`openapi`] describes the three for a service's
//! document, from the same contract types.

use super::{Page, Status, Storage, Summary};
use crate::auth::{require, Scope};
use crate::database::DbPool;
use crate::pagination::{keyset_page, page_parameters};
use crate::problem::{ApiError, FieldProblem, Problem, PROBLEM_JSON};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::queue::{QueueEntry, QueueEntryStatus, QueuePage, QueueQuery, QueueRetried, QueueRetriedCount};
use domain::Timestamp;
use std::sync::Arc;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// The queue a mounted router serves.
struct Operated<S> {
    storage: Arc<S>,
}

/// Mounts the operator routes of `storage`'s queue at `base` (e.g. `/deliveries`), each
/// requiring scope `Sc`. Needs the service's [`DbPool`] as app data (every service has it).
pub fn config<S: Storage, Sc: Scope + 'static>(cfg: &mut web::ServiceConfig, base: &str, storage: S) {
    cfg.app_data(web::Data::new(Operated {
        storage: Arc::new(storage),
    }))
    .service(web::resource(base).route(web::get().to(list::<S>).wrap(from_fn(require::<Sc>))))
    .service(
        web::resource(format!("{base}/retry-dead"))
            .route(web::post().to(retry_all_dead::<S>).wrap(from_fn(require::<Sc>))),
    )
    .service(
        web::resource(format!("{base}/{{id}}/retry"))
            .route(web::post().to(retry_one::<S>).wrap(from_fn(require::<Sc>))),
    );
}

fn entry(summary: Summary) -> Result<QueueEntry, ApiError> {
    let status = match summary.status {
        Status::Pending => QueueEntryStatus::Pending,
        Status::Dead => QueueEntryStatus::Dead,
        Status::Done => {
            return Err(ApiError::Unexpected(anyhow::anyhow!(
                "a queue listed a done entry among pending or dead ones"
            )))
        }
    };
    Ok(QueueEntry {
        id: summary.id,
        kind: summary.kind.to_owned(),
        status,
        attempts: summary.attempts,
        created_at: summary.created_at,
        next_attempt_at: summary.next_attempt_at,
        last_error: summary.last_error,
    })
}

async fn list<S: Storage>(
    pool: web::Data<DbPool>,
    operated: web::Data<Operated<S>>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let status = match query.status.as_deref() {
        Some("pending") => Some(Status::Pending),
        Some("dead") => Some(Status::Dead),
        _ => {
            problems.push(FieldProblem::parameter("status", "must be pending or dead"));
            None
        }
    };
    let (limit, after) = page_parameters(
        query.limit.as_deref(),
        query.cursor.as_deref(),
        DEFAULT_LIMIT,
        MAX_LIMIT,
        &mut problems,
    );
    let (Some(status), true) = (status, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let storage = operated.storage.clone();
    let items = pool
        .run(move |c| {
            let page = Page {
                status,
                after,
                limit: limit + 1,
            };
            storage.list(c, page).map_err(ApiError::from)
        })
        .await?;
    let (items, next_cursor) = keyset_page(items, limit, |entry: &Summary| (entry.created_at, entry.id));
    let items = items.into_iter().map(entry).collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(QueuePage { items, next_cursor }))
}

async fn retry_one<S: Storage>(
    pool: web::Data<DbPool>,
    operated: web::Data<Operated<S>>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::try_parse(&path)
        .map_err(|_| ApiError::Validation(vec![FieldProblem::parameter("id", "not an entry id: expected a UUID")]))?;
    let storage = operated.storage.clone();
    let (retried, status) = pool
        .run(move |c| {
            let retried = storage.retry_dead(c, Some(id), Timestamp::now())?;
            Ok::<_, ApiError>((retried, storage.status_of(c, id)?))
        })
        .await?;
    match (retried, status) {
        (1, _) => {
            tracing::info!(queue = S::QUEUE, entry_id = %id, "a dead letter returned to pending");
            Ok(HttpResponse::Accepted().json(QueueRetried {
                id,
                status: QueueEntryStatus::Pending,
            }))
        }
        (_, None) => Err(ApiError::NotFound(format!("no entry {id} in this queue"))),
        (_, Some(status)) => Err(ApiError::Conflict(format!(
            "entry {id} is {}, not dead",
            status.as_str()
        ))),
    }
}

async fn retry_all_dead<S: Storage>(
    pool: web::Data<DbPool>,
    operated: web::Data<Operated<S>>,
) -> Result<HttpResponse, ApiError> {
    let storage = operated.storage.clone();
    let retried = pool
        .run(move |c| storage.retry_dead(c, None, Timestamp::now()).map_err(ApiError::from))
        .await?;
    tracing::info!(queue = S::QUEUE, retried, "dead letters returned to pending");
    Ok(HttpResponse::Accepted().json(QueueRetriedCount {
        retried: u64::try_from(retried).unwrap_or(u64::MAX),
    }))
}

fn json(description: &str, schema: &str) -> utoipa::openapi::response::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name(schema))))
                .build(),
        )
        .build()
}

fn problem(description: &str) -> utoipa::openapi::response::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name(Problem::name()))))
                .build(),
        )
        .build()
}

/// The three routes at `base` for a service's OpenAPI document (merge it into the service's):
/// `tag` groups them, `what` names the queue's entries in the descriptions ("deliveries").
pub fn openapi(base: &str, tag: &str, what: &str, scope: &str) -> OpenApi {
    let operation = |id: &str, summary: String| {
        OperationBuilder::new()
            .tag(tag)
            .operation_id(Some(format!("{}_{id}", tag.replace('-', "_"))))
            .summary(Some(summary))
            .description(Some(format!("Needs scope `{scope}`.")))
    };
    let list = operation("list", format!("{what}, oldest first, without personal data"))
        .parameters(Some(QueueQuery::into_params(|| Some(ParameterIn::Query))))
        .response("200", json(&format!("A page of {what}"), QueuePage::name().as_ref()))
        .response("422", problem("A wrong parameter (`status`, `limit`, `cursor`), named"));
    let retry_one = operation(
        "retry",
        format!("A dead entry of {what} back to pending with a fresh budget"),
    )
    .parameter(
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The entry's id"))
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    ))),
            )),
    )
    .response("202", json("Pending again", QueueRetried::name().as_ref()))
    .response("404", problem("No such entry"))
    .response("409", problem("The entry is not dead"));
    let retry_all = operation("retry_dead", format!("Every dead entry of {what} back to pending")).response(
        "202",
        json("How many went back to pending", QueueRetriedCount::name().as_ref()),
    );
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path(base, PathItem::new(HttpMethod::Get, list))
                .path(
                    format!("{base}/{{id}}/retry"),
                    PathItem::new(HttpMethod::Post, retry_one),
                )
                .path(format!("{base}/retry-dead"), PathItem::new(HttpMethod::Post, retry_all)),
        )
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<QueuePage>()
                .schema_from::<QueueEntry>()
                .schema_from::<QueueEntryStatus>()
                .schema_from::<QueueRetried>()
                .schema_from::<QueueRetriedCount>()
                .build(),
        ))
        .build()
}
