//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod support_interaction;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    support_interaction::config(cfg);
    service_kit::gdpr_participant::config::<_, crate::scopes::GdprParticipant>(
        cfg,
        actix_web::web::Data::new(crate::gdpr::Pairings),
    );
}
