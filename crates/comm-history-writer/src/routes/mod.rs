//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod communication_records;
mod customer_assignments;

pub fn config(cfg: &mut actix_web::web::ServiceConfig) {
    communication_records::config(cfg);
    customer_assignments::config(cfg);
    service_kit::gdpr_participant::config::<_, crate::scopes::GdprParticipant>(
        cfg,
        actix_web::web::Data::new(crate::gdpr::CommunicationRecords),
    );
}
