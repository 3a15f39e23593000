//! `POST /internal/customerAssignments`: a pairing that arrived after its interaction's records
//! were written fills in their missing customer (interaction-pairing's outbox calls this).

use crate::scopes::RecordsAssign;
use crate::store;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use domain::{CustomerId, InteractionId};
use serde::{Deserialize, Serialize};
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::ApiError;

/// How many records changed.
#[derive(Serialize, utoipa::ToSchema)]
struct Updated {
    updated: u64,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/customerAssignments")
            .route(web::post().to(assign).wrap(from_fn(require::<RecordsAssign>))),
    );
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Assignment {
    interaction_id: InteractionId,
    customer_id: CustomerId,
}

/// 200 `{ "updated": n }`: records of the interaction without a customer now have this one.
#[utoipa::path(
    post,
    path = "/internal/customerAssignments",
    tag = "records",
    request_body = Assignment,
    responses((status = 200, description = "How many records got the customer", body = Updated))
)]
#[tracing::instrument(name = "assign customer", skip_all, fields(interaction_id = %assignment.interaction_id, updated))]
pub(crate) async fn assign(
    pool: web::Data<DbPool>,
    JsonBody(assignment): JsonBody<Assignment>,
) -> Result<HttpResponse, ApiError> {
    let updated = pool
        .run(move |c| {
            store::assign_customer(c, assignment.interaction_id, assignment.customer_id).map_err(ApiError::from)
        })
        .await?;
    tracing::Span::current().record("updated", updated);
    Ok(HttpResponse::Ok().json(Updated {
        updated: updated as u64,
    }))
}
