//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod support_interaction;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    support_interaction::config(cfg);
}
