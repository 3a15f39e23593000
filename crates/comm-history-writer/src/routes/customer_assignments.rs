//! `POST /internal/customerAssignments`: a customer of an interaction gets its communication
//! (interaction-pairing's outbox for a pairing after the record, result-ingest for an
//! interaction's further customers); `POST /internal/customerWithdrawals`: a removed pairing
//! withdraws that customer's records (the outbox).

use crate::scopes::RecordsAssign;
use crate::store;
use crate::suppression::AssignmentKey;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::history::{AssignedBy, Assignment, Updated, Withdrawal};
use domain::{CustomerSource, Timestamp};
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::ApiError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/customerAssignments")
            .route(web::post().to(assign).wrap(from_fn(require::<RecordsAssign>))),
    )
    .service(
        web::resource("/internal/customerWithdrawals")
            .route(web::post().to(withdraw).wrap(from_fn(require::<RecordsAssign>))),
    );
}

/// 200 `{ "updated": n }`: the records the customer gained: those of the interaction without a
/// customer now have this one, or (every record has another customer) a copy for this one; a
/// pairing takes over a record participant data gave another customer, who keeps a copy
/// (counted, `ccbridge_records_customer_conflicts_total`). None when a purged GDPR forget of the
/// customer reached this communication.
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
    policy: web::Data<store::WritePolicy>,
    suppression: web::Data<AssignmentKey>,
    JsonBody(assignment): JsonBody<Assignment>,
) -> Result<HttpResponse, ApiError> {
    let deliver = policy.deliver;
    let fingerprint = suppression.fingerprint(assignment.interaction_id, assignment.customer_id);
    let updated = pool
        .run(move |c| {
            let source = match assignment.source {
                AssignedBy::Pairing => CustomerSource::Pairing,
                AssignedBy::LatePairing => CustomerSource::LatePairing,
                AssignedBy::ParticipantData => CustomerSource::ParticipantData,
            };
            store::assign_customer(
                c,
                assignment.interaction_id,
                assignment.customer_id,
                source,
                deliver,
                &fingerprint,
            )
            .map_err(ApiError::from)
        })
        .await?;
    // A purged forget's suppression is counted, never logged: this span names the interaction.
    let updated = match updated {
        Some(assigned) => {
            policy.count_conflicts(assigned.conflicts);
            assigned.gained
        }
        None => {
            policy.count_suppressed(1);
            0
        }
    };
    tracing::Span::current().record("updated", updated);
    Ok(HttpResponse::Ok().json(Updated {
        updated: updated as u64,
    }))
}

/// 200 `{ "updated": n }`: how many of the customer's records of the interaction were withdrawn.
#[utoipa::path(
    post,
    path = "/internal/customerWithdrawals",
    tag = "records",
    request_body = Withdrawal,
    responses((status = 200, description = "How many records were withdrawn", body = Updated))
)]
#[tracing::instrument(name = "withdraw customer", skip_all, fields(interaction_id = %withdrawal.interaction_id, updated))]
pub(crate) async fn withdraw(
    pool: web::Data<DbPool>,
    policy: web::Data<store::WritePolicy>,
    JsonBody(withdrawal): JsonBody<Withdrawal>,
) -> Result<HttpResponse, ApiError> {
    let deliver = policy.deliver;
    let updated = pool
        .run(move |c| {
            store::withdraw_customer(
                c,
                withdrawal.interaction_id,
                withdrawal.customer_id,
                withdrawal.withdrawn_by.as_str(),
                Timestamp::now(),
                deliver,
            )
            .map_err(ApiError::from)
        })
        .await?;
    tracing::Span::current().record("updated", updated);
    Ok(HttpResponse::Ok().json(Updated {
        updated: updated as u64,
    }))
}
