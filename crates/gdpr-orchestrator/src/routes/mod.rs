//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod requests;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    requests::config(cfg);
}
