//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod communication_records;
mod customer_assignments;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    communication_records::config(cfg);
    customer_assignments::config(cfg);
}
