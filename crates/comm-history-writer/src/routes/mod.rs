//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod communication_records;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    communication_records::config(cfg);
}
