//! result-ingest: Genesys reports each interaction's result to our webhook; we accept it durably
//! at once, then a worker enriches it (agent and wrap-up names through genesys-gateway, the
//! customer from interaction-pairing) and writes exactly one communication record.

pub mod accept_batcher;
pub mod gdpr;
pub mod inbox;
pub mod metrics;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod siblings;
pub mod worker;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::configuration::Settings;
use service_kit::database::{DbPool, Migrations};
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/result-ingest");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/result-ingest");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "result-ingest",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
    }),
    openapi: routes::openapi,
    setup,
};

/// The `[ingest]` settings, validated.
pub fn ingest_settings(settings: &Settings) -> anyhow::Result<settings::IngestSettings> {
    let ingest: settings::IngestSettings = settings.section("ingest")?;
    ingest
        .validate(settings.database.max_connections)
        .map_err(|problems| anyhow::anyhow!("configuration is invalid:\n  - {}", problems.join("\n  - ")))?;
    Ok(ingest)
}

/// A worker on `pool` with these settings (tests build their own to drain the inbox by hand).
pub fn worker(settings: &Settings, pool: DbPool, registry: &prometheus::Registry) -> anyhow::Result<worker::Worker> {
    let metrics = Arc::new(metrics::IngestMetrics::register(registry)?);
    worker::Worker::new(pool, ingest_settings(settings)?, metrics)
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let ingest = ingest_settings(context.settings)?;
    let metrics = Arc::new(metrics::IngestMetrics::register(context.metrics)?);
    // Background work only where something is served (`check-config` starts none).
    let serving = context.pool.zip(context.background);
    if secrecy::ExposeSecret::expose_secret(&ingest.suppression_key).starts_with("development-only-") {
        tracing::warn!(
            setting = "ingest.suppression_key",
            "the development HMAC key is in use: set your own outside development"
        );
    }
    let suppression = gdpr::SuppressionKey::new(ingest.suppression_key.clone());
    let participant = web::Data::new(gdpr::WebhookResults::new(suppression.clone()));
    let batcher = serving
        .map(|(pool, _)| {
            accept_batcher::AcceptBatcher::start(
                pool.clone(),
                suppression,
                ingest.accept_transactions,
                ingest.accept_batch_max,
            )
            .map(web::Data::new)
        })
        .transpose()?;
    if let (true, Some((pool, background))) = (ingest.worker_enabled, serving) {
        let worker = worker::Worker::new(pool.clone(), ingest, metrics.clone())?;
        background.spawn(|shutdown| worker.run(shutdown));
    }
    let metrics = web::Data::from(metrics);
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(metrics.clone());
        if let Some(batcher) = &batcher {
            cfg.app_data(batcher.clone());
        }
        routes::config(cfg);
        service_kit::gdpr_participant::config::<_, scopes::GdprParticipant>(cfg, participant.clone());
    }))
}
