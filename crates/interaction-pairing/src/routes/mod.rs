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

/// The callers holding `pairing:write` (those that pair, and give the reasons): the free-text
/// reasons of pairings and removals are served to them alone, not to callers that only read.
#[derive(Debug, Clone, Default)]
pub struct Writers(std::collections::BTreeSet<String>);

impl Writers {
    pub fn of(auth: &service_kit::configuration::AuthSettings) -> Self {
        use service_kit::auth::Scope;
        Self(
            auth.callers
                .iter()
                .filter(|(_, caller)| {
                    caller
                        .scopes
                        .iter()
                        .any(|scope| scope == crate::scopes::PairingWrite::NAME)
                })
                .map(|(name, _)| name.clone())
                .collect(),
        )
    }

    pub fn includes(&self, caller: &service_kit::auth::Caller) -> bool {
        self.0.contains(&caller.name)
    }
}

/// Where operators work the outbox (`service_kit::queue::operator`).
const OUTBOX_PATH: &str = "/pairing-outbox";

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(gdpr_participant::ParticipantApi::openapi());
    api.merge(service_kit::queue::operator::openapi(
        OUTBOX_PATH,
        "pairing-outbox",
        "pairings and removals waiting for comm-history-writer",
        <crate::scopes::PairingOperate as service_kit::auth::Scope>::NAME,
    ));
    api
}

pub fn config(
    cfg: &mut actix_web::web::ServiceConfig,
    verifier: actix_web::web::Data<gdpr_participant::CallVerifier>,
    key: crate::suppression::PairingKey,
    writers: Writers,
) {
    cfg.app_data(actix_web::web::Data::new(key.clone()))
        .app_data(actix_web::web::Data::new(writers));
    support_interaction::config(cfg);
    pairing_lookups::config(cfg);
    service_kit::queue::operator::config::<crate::outbox::PairingOutbox, crate::scopes::PairingOperate>(
        cfg,
        OUTBOX_PATH,
        crate::outbox::PairingOutbox,
    );
    gdpr_participant::config(cfg, actix_web::web::Data::new(crate::gdpr::Pairings { key }), verifier);
}
