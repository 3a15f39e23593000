//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod gdpr;
mod gdpr_participant;
mod lookups;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    lookups::config(cfg);
    gdpr::config(cfg);
    gdpr_participant::config(cfg);
}
