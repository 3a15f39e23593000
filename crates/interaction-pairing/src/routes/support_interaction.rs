//! `/customers/supportInteraction`: BOFE pairs an interaction with a customer.

use crate::scopes::{PairingRead, PairingWrite};
use crate::store::{self, StoredPairing, Upserted};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use domain::{InteractionId, SupportInteraction, Timestamp};
use serde::Serialize;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/supportInteraction")
            .route(web::post().to(pair).wrap(from_fn(require::<PairingWrite>))),
    )
    .service(
        web::resource("/customers/supportInteraction/{interactionId}")
            .route(web::get().to(get_pairing).wrap(from_fn(require::<PairingRead>))),
    );
}

/// The stored pair as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PairingResponse {
    #[schema(format = Uuid)]
    customer_id: String,
    #[schema(format = Uuid)]
    interaction_id: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<StoredPairing> for PairingResponse {
    fn from(stored: StoredPairing) -> Self {
        Self {
            customer_id: stored.pairing.customer_id.to_string(),
            interaction_id: stored.pairing.interaction_id.to_string(),
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        }
    }
}

/// `POST /customers/supportInteraction`: 201 for a new pairing, 200 when it replaced one.
#[utoipa::path(
    post,
    path = "/customers/supportInteraction",
    tag = "pairing",
    request_body = SupportInteraction,
    responses(
        (status = 201, description = "A new pairing", body = PairingResponse),
        (status = 200, description = "The pairing replaced an earlier one for the interaction", body = PairingResponse),
        (status = 409, description = "The interaction's pairing is held by a GDPR forget; it can be paired again once that is undone or purged", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "pair interaction", skip_all, fields(interaction_id = %pairing.interaction_id))]
pub(crate) async fn pair(
    pool: web::Data<DbPool>,
    JsonBody(pairing): JsonBody<SupportInteraction>,
) -> Result<HttpResponse, ApiError> {
    let (stored, outcome) = pool
        .run(move |c| {
            store::upsert(c, &pairing, Timestamp::now()).map_err(|refused| match refused {
                store::PairingRefused::HeldByForget => ApiError::Conflict(
                    "the interaction's pairing is held by a GDPR forget; pair it again once that is undone or purged"
                        .to_owned(),
                ),
                store::PairingRefused::Database(error) => error.into(),
            })
        })
        .await?;
    tracing::info!(outcome = ?outcome, "pairing stored");
    let mut response = match outcome {
        Upserted::Created => HttpResponse::Created(),
        Upserted::Updated => HttpResponse::Ok(),
    };
    Ok(response
        .insert_header((
            "Location",
            format!("/customers/supportInteraction/{}", stored.pairing.interaction_id),
        ))
        .json(PairingResponse::from(stored)))
}

/// `GET /customers/supportInteraction/{interactionId}`.
#[utoipa::path(
    get,
    path = "/customers/supportInteraction/{interactionId}",
    tag = "pairing",
    params(("interactionId" = uuid::Uuid, Path, description = "The Genesys interaction (conversation) id")),
    responses(
        (status = 200, description = "The interaction's pairing", body = PairingResponse),
        (status = 404, description = "No pairing for the interaction", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_pairing(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let interaction_id = InteractionId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("interactionId", e.to_string())]))?;
    let stored = pool
        .run(move |c| store::find(c, interaction_id).map_err(ApiError::from))
        .await?;
    match stored {
        Some(stored) => Ok(HttpResponse::Ok().json(PairingResponse::from(stored))),
        None => Err(ApiError::NotFound(format!(
            "no pairing for interaction {interaction_id}"
        ))),
    }
}
