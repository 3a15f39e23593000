//! interaction-pairing: BOFE tells us which customer a Genesys interaction belongs to while the
//! agent handles it; result-ingest later asks, to put the customer on the communication record.

pub mod gdpr;
pub mod metrics;
pub mod outbox;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod store;
pub mod suppression;
pub mod worker;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::database::Migrations;
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/interaction-pairing");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/interaction-pairing");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "interaction-pairing",
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

/// The `[pairing]` settings, validated.
pub fn outbox_settings(settings: &service_kit::configuration::Settings) -> anyhow::Result<settings::OutboxSettings> {
    let outbox: settings::OutboxSettings = settings.section("pairing")?;
    outbox.validate().map_err(service_kit::configuration::invalid_all)?;
    Ok(outbox)
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let outbox = outbox_settings(context.settings)?;
    let key = suppression::PairingKey::new(&outbox.suppression_key)
        .map_err(|problem| service_kit::configuration::invalid_all(vec![problem]))?;
    if let Some(pool) = context.pool {
        suppression::refuse_another_key(&mut *pool.get_blocking()?, &key)?;
    }
    // Background work only where something is served (`check-config` starts none).
    // The outbox's keys are checked whether or not its worker runs here.
    service_kit::queue::Policy::read(context.settings, "pairing")?;
    if let (Some(pool), true, Some(background)) = (context.pool, outbox.outbox_worker_enabled, context.background) {
        let runner = worker::runner(pool.clone(), context.settings, context.metrics)?;
        background.spawn(
            <outbox::PairingOutbox as service_kit::queue::Storage>::QUEUE,
            move |shutdown, health| runner.run(shutdown, health),
        );
    }
    let verifier = gdpr_participant::verifier(context.settings)?;
    let writers = routes::Writers::of(&context.settings.auth);
    Ok(Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| {
        routes::config(cfg, verifier.clone(), key.clone(), writers.clone());
    }))
}
