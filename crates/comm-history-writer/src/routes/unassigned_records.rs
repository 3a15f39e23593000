//! `GET /communicationRecords/unassigned`: communications nobody attributed to a customer (no
//! pairing: a general question, an e-mail), newest first, each with the customers its handle
//! suggests. Assigning one is pairing its interaction (BOFE or the console): the record then
//! moves to that customer's history as `late_pairing`.

use crate::scopes::RecordsRead;
use crate::store::{self, Cursor, UnassignedFilter};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::history::{UnassignedQuery, UnassignedRecordPage};
use domain::{Channel, Timestamp};
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::pagination::page_parameters;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/communicationRecords/unassigned")
            .route(web::get().to(list_unassigned).wrap(from_fn(require::<RecordsRead>))),
    );
}

fn time(name: &str, value: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<Timestamp> {
    value.and_then(|text| {
        Timestamp::parse(text)
            .map_err(|e| problems.push(FieldProblem::parameter(name, e.to_string())))
            .ok()
    })
}

/// `GET /communicationRecords/unassigned?from=&to=&channel=&cursor=&limit=`.
#[utoipa::path(
    get,
    path = "/communicationRecords/unassigned",
    tag = "records",
    params(UnassignedQuery),
    responses(
        (status = 200, description = "Records without a customer, newest first, with suggestions", body = UnassignedRecordPage),
        (status = 422, description = "A wrong parameter (named)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn list_unassigned(
    pool: web::Data<DbPool>,
    query: web::Query<UnassignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let filter = UnassignedFilter {
        from: time("from", query.from.as_deref(), &mut problems),
        to: time("to", query.to.as_deref(), &mut problems),
        channel: query.channel.as_deref().and_then(|text| {
            Channel::parse(text)
                .map_err(|e| problems.push(FieldProblem::parameter("channel", e.to_string())))
                .ok()
        }),
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            problems.push(FieldProblem::parameter("to", "must be later than from"));
        }
    }
    let (limit, after) = page_parameters(query.limit.as_deref(), query.cursor.as_deref(), 50, 200, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    // page_parameters answers 1 to 200: anything else is a fault here, not a page size.
    let limit = usize::try_from(limit)
        .map_err(|_| ApiError::Unexpected(anyhow::anyhow!("page_parameters answered the limit {limit}")))?;
    let cursor = after.map(Cursor::from_parts);
    let page = pool
        .run(move |c| store::list_unassigned(c, filter, cursor, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(UnassignedRecordPage {
        items: page.records,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}
