//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod pairing_lookups;
mod support_interaction;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        support_interaction::pair,
        support_interaction::get_pairing,
        support_interaction::unpair,
        pairing_lookups::lookup
    ),
    tags((name = "pairing", description = "Which customers a Genesys interaction belongs to"))
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(gdpr_participant::ParticipantApi::openapi());
    api
}

pub fn config(cfg: &mut actix_web::web::ServiceConfig, verifier: actix_web::web::Data<gdpr_participant::CallVerifier>) {
    support_interaction::config(cfg);
    pairing_lookups::config(cfg);
    gdpr_participant::config(cfg, actix_web::web::Data::new(crate::gdpr::Pairings), verifier);
}
