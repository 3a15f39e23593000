//! `/customers/supportInteraction`: BOFE pairs an interaction with a customer (each pairing adds
//! one to the interaction's set), reads the set, and removes a mistaken pairing.

use crate::scopes::{PairingRead, PairingWrite};
use crate::store::{self, Change, Paired, PairingRefused, StoredPairing};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::pairing::{PairInteraction, Pairing, PairingMode};
use domain::{InteractionId, SupportInteraction, Timestamp};
use service_kit::auth::{require, Caller};
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
    )
    .service(
        web::resource("/customers/supportInteraction/{interactionId}/customers/{customerId}")
            .route(web::delete().to(unpair).wrap(from_fn(require::<PairingWrite>))),
    );
}

/// An interaction's pairing as served.
pub(crate) fn served(stored: StoredPairing) -> Pairing {
    Pairing {
        customer_id: stored.pairing.customer_id,
        interaction_id: stored.pairing.interaction_id,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        customers: stored.customers,
        removed_customers: stored.removed,
    }
}

/// The most characters a reason may have.
const MAX_REASON: usize = 1000;

/// The reason, checked: not blank, not too long, and given when re-assigning.
fn reason(request: &PairInteraction) -> Result<Option<&str>, ApiError> {
    match request.reason.as_deref().map(str::trim) {
        Some("") => Err(ApiError::validation("/reason", "must not be blank")),
        Some(reason) if reason.chars().count() > MAX_REASON => Err(ApiError::validation(
            "/reason",
            format!("must be at most {MAX_REASON} characters"),
        )),
        None if request.mode == PairingMode::Reassign => {
            Err(ApiError::validation("/reason", "a re-assignment needs a reason"))
        }
        reason => Ok(reason),
    }
}

fn refused(refused: PairingRefused) -> ApiError {
    match refused {
        PairingRefused::HeldByForget => ApiError::Conflict(
            "this pairing is held by a GDPR forget; it can be changed once that is undone or purged".to_owned(),
        ),
        PairingRefused::Erased => {
            ApiError::Conflict("this customer's data for this interaction was erased on request".to_owned())
        }
        PairingRefused::NotPaired => ApiError::NotFound("the customer is not paired with the interaction".to_owned()),
        PairingRefused::AlreadyAssigned => ApiError::Conflict(
            "the interaction is paired with another customer already; re-assign it with a reason".to_owned(),
        ),
        PairingRefused::Database(error) => error.into(),
    }
}

/// `POST /customers/supportInteraction`: 201 when the customer joined the interaction's set,
/// 200 when it was paired already (nothing changes).
#[utoipa::path(
    post,
    path = "/customers/supportInteraction",
    tag = "pairing",
    request_body = PairInteraction,
    responses(
        (status = 201, description = "The customer was added to the interaction's customers, in the name of the caller and its person", body = Pairing),
        (status = 200, description = "The customer was paired with the interaction already", body = Pairing),
        (status = 409, description = "This pairing (or, re-assigning, another customer's) is held by a GDPR forget; or a purged GDPR forget erased this customer's data for this interaction; or, `unassigned`, the interaction has another customer already", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or wrong (`reason` blank, too long, or missing to re-assign)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "pair interaction", skip_all, fields(interaction_id = %request.interaction_id, mode = ?request.mode))]
pub(crate) async fn pair(
    pool: web::Data<DbPool>,
    key: web::Data<crate::suppression::PairingKey>,
    caller: web::ReqData<Caller>,
    JsonBody(request): JsonBody<PairInteraction>,
) -> Result<HttpResponse, ApiError> {
    let reason = reason(&request)?.map(str::to_owned);
    let actor = store::actor_of(&caller);
    let pairing = SupportInteraction {
        customer_id: request.customer_id,
        interaction_id: request.interaction_id,
    };
    let mode = request.mode;
    let (stored, outcome) = pool
        .run(move |c| {
            let change = Change {
                actor: &actor,
                reason: reason.as_deref(),
                now: Timestamp::now(),
            };
            store::pair(c, &key, &pairing, mode, &change).map_err(refused)
        })
        .await?;
    tracing::info!(outcome = ?outcome, customers = stored.customers.len(), "pairing stored");
    let mut response = match outcome {
        Paired::Added => HttpResponse::Created(),
        Paired::AlreadyPaired => HttpResponse::Ok(),
    };
    Ok(response
        .insert_header((
            "Location",
            format!("/customers/supportInteraction/{}", stored.pairing.interaction_id),
        ))
        .json(served(stored)))
}

/// `GET /customers/supportInteraction/{interactionId}`.
#[utoipa::path(
    get,
    path = "/customers/supportInteraction/{interactionId}",
    tag = "pairing",
    params(("interactionId" = uuid::Uuid, Path, description = "The Genesys interaction (conversation) id")),
    responses(
        (status = 200, description = "The interaction's pairing; the reasons of its pairings and removals only to a caller with `pairing:write`", body = Pairing),
        (status = 404, description = "No pairing for the interaction", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_pairing(
    pool: web::Data<DbPool>,
    writers: web::Data<super::Writers>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let interaction_id = InteractionId::parse(&path)
        .map_err(|e| ApiError::Validation(vec![FieldProblem::parameter("interactionId", e.to_string())]))?;
    let stored = pool
        .run(move |c| store::find(c, interaction_id).map_err(ApiError::from))
        .await?;
    match stored {
        Some(stored) if writers.includes(&caller) => Ok(HttpResponse::Ok().json(served(stored))),
        Some(stored) => Ok(HttpResponse::Ok().json(served(stored).without_reasons())),
        None => Err(ApiError::NotFound(format!(
            "no pairing for interaction {interaction_id}"
        ))),
    }
}

/// `DELETE /customers/supportInteraction/{interactionId}/customers/{customerId}`: a mistaken
/// pairing removed (kept as removed, with who removed it and when, listed in the interaction's
/// `removedCustomers`); that customer's records of the interaction are withdrawn (kept, with who
/// and when, for GDPR export only).
#[utoipa::path(
    delete,
    path = "/customers/supportInteraction/{interactionId}/customers/{customerId}",
    tag = "pairing",
    params(
        ("interactionId" = uuid::Uuid, Path, description = "The Genesys interaction (conversation) id"),
        ("customerId" = uuid::Uuid, Path, description = "The customer to remove from it")
    ),
    responses(
        (status = 204, description = "Removed; the customer's records are withdrawn"),
        (status = 404, description = "The customer is not paired with the interaction", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This pairing is held by a GDPR forget", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "unpair interaction", skip_all, fields(interaction_id))]
pub(crate) async fn unpair(
    pool: web::Data<DbPool>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (interaction, customer) = path.into_inner();
    let mut problems = Vec::new();
    let interaction_id = InteractionId::parse(&interaction)
        .map_err(|e| problems.push(FieldProblem::parameter("interactionId", e.to_string())))
        .ok();
    let customer_id = domain::CustomerId::parse(&customer)
        .map_err(|e| problems.push(FieldProblem::parameter("customerId", e.to_string())))
        .ok();
    let (Some(interaction_id), Some(customer_id)) = (interaction_id, customer_id) else {
        return Err(ApiError::Validation(problems));
    };
    tracing::Span::current().record("interaction_id", tracing::field::display(interaction_id));
    let pairing = SupportInteraction {
        customer_id,
        interaction_id,
    };
    let actor = store::actor_of(&caller);
    pool.run(move |c| {
        let change = Change {
            actor: &actor,
            reason: None,
            now: Timestamp::now(),
        };
        store::unpair(c, &pairing, &change).map_err(refused)
    })
    .await?;
    tracing::info!(caller = %caller.name, "pairing removed");
    Ok(HttpResponse::NoContent().finish())
}
