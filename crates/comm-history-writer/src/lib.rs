//! comm-history-writer: the bank's communication history. Other services write records here
//! (exactly once per `Idempotency-Key`) and read them back by customer or interaction.

pub mod bodies;
pub mod delivery;
pub mod expiry;
pub mod gdpr;
pub mod housekeeping;
pub mod metrics;
pub mod retention;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod store;
pub mod suppression;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::database::Migrations;
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/comm-history-writer");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/comm-history-writer");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "comm-history-writer",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
        append_only: &[],
    }),
    openapi: routes::openapi,
    setup,
};

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let records: settings::RecordsSettings = context.settings.section("records")?;
    records.validate().map_err(service_kit::configuration::invalid_all)?;
    let handles = context
        .settings
        .handles
        .normaliser()
        .map_err(|reason| service_kit::configuration::invalid(&format!("handles.default_region: {reason}")))?;
    let delivery: settings::DeliverySettings = context.settings.section("delivery")?;
    let development = context.settings.application.environment == service_kit::configuration::Environment::Development;
    let delivery_queue = service_kit::queue::Policy::read(context.settings, "delivery")?;
    delivery
        .validate(development, delivery_queue.lease)
        .map_err(service_kit::configuration::invalid_all)?;
    let suppression = suppression::AssignmentKey::new(&records.suppression_key)
        .map_err(|problem| service_kit::configuration::invalid(&problem))?;
    if let Some(pool) = context.pool {
        suppression::refuse_another_key(&mut *pool.get_blocking()?, &suppression)?;
    }
    let metrics = Arc::new(metrics::RecordsMetrics::register(context.metrics)?);
    let policy = actix_web::web::Data::new(store::WritePolicy {
        handles,
        auto_assign_window: records.auto_assign_window(),
        auto_assigned: Some(metrics.auto_assigned.clone()),
        deliver: delivery.enabled(),
        suppression: suppression.clone(),
        suppressed: Some(metrics.suppressed.clone()),
        conflicts: Some(metrics.customer_conflicts.clone()),
    });
    let verifier = gdpr_participant::verifier(context.settings)?;
    // Background work only where something is served (`check-config` starts none).
    if let (Some(pool), Some(background)) = (context.pool, context.background) {
        let pool = pool.clone();
        let days = records.idempotency_retention_days;
        let gauged = pool.clone();
        let delivering = pool.clone();
        let expiring = pool.clone();
        background.spawn("idempotency key retention", move |shutdown, health| {
            housekeeping::forget_old_idempotency_keys(pool, days, shutdown, health)
        });
        background.spawn("unassigned gauges", move |shutdown, health| {
            housekeeping::gauge_unassigned(gauged, metrics, shutdown, health)
        });
        let expiry = expiry::Expiry::new(expiring, &records, context.metrics)?;
        if records.orchestrator_token().is_none() {
            tracing::warn!("records.orchestrator_token is not set: no record expires (ccbridge_records_expiry_skipped_total counts the rounds)");
        }
        background.spawn("records retention", move |shutdown, health| {
            expiry.run(shutdown, health)
        });
        if delivery.enabled() && delivery.worker_enabled {
            let runner = delivery::runner(delivering, context.settings, context.metrics)?;
            background.spawn(
                <store::deliveries::DeliveryOutbox as service_kit::queue::Storage>::QUEUE,
                move |shutdown, health| runner.run(shutdown, health),
            );
        }
    }
    let schedule = actix_web::web::Data::new(retention::Schedule::of(&records));
    Ok(Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| {
        cfg.app_data(policy.clone());
        cfg.app_data(schedule.clone());
        routes::config(cfg, verifier.clone(), suppression.clone());
    }))
}
