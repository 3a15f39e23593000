//! One module a resource; each exposes `config` for `main`, `devstack` and tests alike.

mod communication_records;
mod customer_assignments;
mod deliveries;
mod expired_copies;
mod record_batches;
mod record_bodies;
mod retention;
mod unassigned_records;

pub use record_batches::MAX_BATCH;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        communication_records::create,
        communication_records::list,
        communication_records::get_record,
        record_batches::create_batch,
        record_bodies::set_body,
        customer_assignments::assign,
        customer_assignments::withdraw,
        unassigned_records::list_unassigned,
        retention::retention_of_records,
        expired_copies::list,
        expired_copies::erased
    ),
    tags(
        (name = "records", description = "The bank's communication history"),
        (name = "deliveries", description = "Delivery to the bank's communication-history-manager")
    )
)]
struct Api;

/// This service's operations, for `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut api = Api::openapi();
    api.merge(gdpr_participant::ParticipantApi::openapi());
    api.merge(deliveries::openapi());
    api
}

pub fn config(
    cfg: &mut actix_web::web::ServiceConfig,
    verifier: actix_web::web::Data<gdpr_participant::CallVerifier>,
    suppression: crate::suppression::AssignmentKey,
) {
    cfg.app_data(actix_web::web::Data::new(suppression.clone()));
    // Before `communicationRecords::config`, whose `/communicationRecords/{id}` would match them too.
    record_batches::config(cfg);
    unassigned_records::config(cfg);
    retention::config(cfg);
    record_bodies::config(cfg);
    communication_records::config(cfg);
    customer_assignments::config(cfg);
    deliveries::config(cfg);
    expired_copies::config(cfg);
    gdpr_participant::config(
        cfg,
        actix_web::web::Data::new(crate::gdpr::CommunicationRecords { suppression }),
        verifier,
    );
}
