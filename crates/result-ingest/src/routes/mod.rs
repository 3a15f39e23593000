//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod events;
mod webhook;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    webhook::config(cfg);
    events::config(cfg);
}
