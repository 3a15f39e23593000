//! result-ingest: Genesys reports each interaction's result to our webhook; we accept it durably
//! at once, then a worker enriches it (agent and wrap-up names through genesys-gateway, the
//! customer from interaction-pairing) and writes exactly one communication record.

pub mod accept_batcher;
pub mod content;
pub mod gdpr;
pub mod inbox;
pub mod metrics;
pub mod participant_data;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod siblings;
pub mod suppression;
pub mod sweep;
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
        append_only: &[],
    }),
    openapi: routes::openapi,
    setup,
};

/// The `[ingest]` settings, validated.
pub fn ingest_settings(settings: &Settings) -> anyhow::Result<settings::IngestSettings> {
    let ingest = settings::load(settings)?;
    ingest
        .validate(settings.database.max_connections)
        .map_err(service_kit::configuration::invalid_all)?;
    Ok(ingest)
}

/// A worker on `pool` with these settings (tests build their own to drain the inbox by hand).
pub fn worker(settings: &Settings, pool: DbPool, registry: &prometheus::Registry) -> anyhow::Result<worker::Worker> {
    let metrics = Arc::new(metrics::IngestMetrics::register(registry)?);
    worker::Worker::new(pool, ingest_settings(settings)?, metrics, registry)
}

/// A sweeper on `pool` with these settings (tests build their own to sweep by hand).
pub fn sweeper(settings: &Settings, pool: DbPool, registry: &prometheus::Registry) -> anyhow::Result<sweep::Sweeper> {
    let ingest = ingest_settings(settings)?;
    let metrics = Arc::new(metrics::IngestMetrics::register(registry)?);
    let handles = settings
        .handles
        .normaliser()
        .map_err(|reason| service_kit::configuration::invalid(&format!("handles.default_region: {reason}")))?;
    let suppression = suppression::SuppressionKey::new(&ingest.suppression_key)
        .map_err(|reason| service_kit::configuration::invalid(&reason))?;
    let siblings = Arc::new(siblings::Siblings::new(&ingest)?);
    sweep::Sweeper::new(pool, ingest, siblings, suppression, handles, metrics)
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let ingest = ingest_settings(context.settings)?;
    let sweep_limits = web::Data::new(routes::SweepLimits::from(&ingest));
    let participant_data = ingest.participant_data.clone();
    let metrics = Arc::new(metrics::IngestMetrics::register(context.metrics)?);
    // Background work only where something is served (`check-config` starts none).
    let serving = context.pool.zip(context.background);
    let handles = context
        .settings
        .handles
        .normaliser()
        .map_err(|reason| service_kit::configuration::invalid(&format!("handles.default_region: {reason}")))?;
    let suppression = suppression::SuppressionKey::new(&ingest.suppression_key)
        .map_err(|reason| service_kit::configuration::invalid(&reason))?;
    let siblings = Arc::new(siblings::Siblings::new(&ingest)?);
    if let Some(pool) = context.pool {
        suppression::refuse_another_key(&mut *pool.get_blocking()?, &suppression)?;
    }
    let participant = web::Data::new(gdpr::WebhookResults::new(suppression.clone(), siblings.clone()));
    let verifier = gdpr_participant::verifier(context.settings)?;
    let batcher = serving
        .map(|(pool, _)| {
            accept_batcher::AcceptBatcher::start(
                pool.clone(),
                suppression.clone(),
                handles,
                ingest.accept_transactions,
                ingest.accept_batch_max,
            )
            .map(web::Data::new)
        })
        .transpose()?;
    if let (Some(batcher), Some((_, background))) = (&batcher, serving) {
        let batcher = batcher.clone();
        background.spawn("ingest_accept", |shutdown, health| async move {
            batcher.watch(shutdown, health).await;
        });
    }
    if let (true, Some((pool, background))) = (ingest.sweep_enabled, serving) {
        let sweeper = sweep::Sweeper::new(
            pool.clone(),
            ingest.clone(),
            siblings,
            suppression,
            handles,
            metrics.clone(),
        )?;
        background.spawn("ingest sweeper", |shutdown, health| {
            service_kit::periodic::run(sweeper, shutdown, health)
        });
    }
    if let (true, Some((pool, background))) = (ingest.worker_enabled, serving) {
        // Jobs queued before a channel was taken off still run: the runner runs whatever is queued.
        let content = content::runner(pool.clone(), &ingest, context.metrics)?;
        background.spawn(
            <content::ContentQueue as service_kit::queue::Storage>::QUEUE,
            |shutdown, health| content.run(shutdown, health),
        );
        let worker = worker::Worker::new(pool.clone(), ingest, metrics.clone(), context.metrics)?;
        background.spawn(
            <inbox::InboxQueue as service_kit::queue::Storage>::QUEUE,
            |shutdown, health| worker.run(shutdown, health),
        );
    }
    let metrics = web::Data::from(metrics);
    let participant_data = web::Data::new(participant_data);
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(metrics.clone())
            .app_data(sweep_limits.clone())
            .app_data(participant_data.clone());
        if let Some(batcher) = &batcher {
            cfg.app_data(batcher.clone());
        }
        routes::config(cfg);
        gdpr_participant::config(cfg, participant.clone(), verifier.clone());
    }))
}
