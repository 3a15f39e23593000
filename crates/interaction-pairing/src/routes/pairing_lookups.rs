//! `POST /internal/pairings/lookup`: the pairings of many interactions in one call, for
//! result-ingest's worker, which enriches a batch of results at once.

use crate::routes::support_interaction::served;
use crate::scopes::PairingRead;
use crate::store;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::pairing::{PairingsLookup, PairingsOf};
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::extract::JsonBody;
use service_kit::problem::ApiError;

pub use contracts::pairing::MAX_LOOKUP;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/pairings/lookup").route(web::post().to(lookup).wrap(from_fn(require::<PairingRead>))),
    );
}

/// 200 with the pairings of those interactions that have one.
#[utoipa::path(
    post,
    path = "/internal/pairings/lookup",
    tag = "pairing",
    request_body = PairingsLookup,
    responses((status = 200, description = "The pairings found", body = PairingsOf))
)]
#[tracing::instrument(name = "look up pairings", skip_all, fields(interactions = request.interaction_ids.len(), found))]
pub(crate) async fn lookup(
    pool: web::Data<DbPool>,
    JsonBody(request): JsonBody<PairingsLookup>,
) -> Result<HttpResponse, ApiError> {
    if request.interaction_ids.is_empty() || request.interaction_ids.len() > MAX_LOOKUP {
        return Err(ApiError::validation(
            "/interactionIds",
            format!("must hold 1 to {MAX_LOOKUP} ids"),
        ));
    }
    let (found, held) = pool
        .run(move |c| {
            let found = store::find_many(c, &request.interaction_ids)?;
            let held = store::find_held(c, &request.interaction_ids)?;
            Ok::<_, diesel::result::Error>((found, held)).map_err(ApiError::from)
        })
        .await?;
    tracing::Span::current().record("found", found.len());
    let pairings = found
        .into_iter()
        .map(|stored| served(stored).without_actors())
        .collect();
    Ok(HttpResponse::Ok().json(PairingsOf {
        pairings,
        held_interaction_ids: held,
    }))
}
