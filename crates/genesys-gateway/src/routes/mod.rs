//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod content;
mod conversations;
mod lookups;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        lookups::user,
        lookups::wrapup_code,
        conversations::results,
        conversations::participant_data,
        content::content
    ),
    tags(
        (name = "lookups", description = "Agent and wrap-up code names, cached"),
        (name = "conversations", description = "Ended conversations and their agents' results, for the sweep; a conversation's content")
    )
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
    lookups::config(cfg);
    conversations::config(cfg);
    content::config(cfg);
    crate::gdpr::config(cfg, verifier);
}
