//! gdpr-orchestrator: Export Me, Forget Me and Undo Forget for a data subject, across every
//! ccbridge service that holds personal data and Genesys Cloud. Counts first, acts only on
//! confirmation, hides at once, purges after a grace window, keeps deadlines and an audit trail
//! without identifiers. docs/architecture.md has the flow.

pub mod metrics;
pub mod participants;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod store;
pub mod worker;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use domain::gdpr::DataSubject;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use service_kit::configuration::Settings;
use service_kit::database::{DbPool, Migrations};
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use sha2::Sha256;
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/gdpr-orchestrator");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/gdpr-orchestrator");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "gdpr-orchestrator",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
    }),
    openapi: routes::openapi,
    setup,
};

/// What the routes share.
pub struct Orchestrator {
    pub settings: settings::GdprSettings,
}

impl Orchestrator {
    /// A keyed hash of the subject as filed: recognises the same subject again (an open duplicate,
    /// the FORGET an UNDO_FORGET undoes) without storing anything that names them.
    pub fn fingerprint(&self, subject: &DataSubject) -> String {
        let canonical = serde_json::to_vec(subject).unwrap_or_default();
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.settings.identifier_key.expose_secret().as_bytes())
        else {
            return String::new();
        };
        mac.update(&canonical);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The `[gdpr]` settings, validated.
pub fn gdpr_settings(settings: &Settings) -> anyhow::Result<settings::GdprSettings> {
    let gdpr: settings::GdprSettings = settings.section("gdpr")?;
    gdpr.validate()
        .map_err(|problems| anyhow::anyhow!("configuration is invalid:\n  - {}", problems.join("\n  - ")))?;
    Ok(gdpr)
}

/// A worker on `pool` with these settings (tests build their own and drive it with their clock).
pub fn worker(settings: &Settings, pool: DbPool, registry: &prometheus::Registry) -> anyhow::Result<worker::Worker> {
    let metrics = Arc::new(metrics::GdprMetrics::register(registry)?);
    worker::Worker::new(pool, gdpr_settings(settings)?, metrics)
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let gdpr = gdpr_settings(context.settings)?;
    if gdpr.identifier_key.expose_secret().starts_with("development-only-") {
        tracing::warn!(
            setting = "gdpr.identifier_key",
            "the development HMAC key is in use: set your own outside development"
        );
    }
    if let (true, Some(pool), Some(background)) = (gdpr.worker_enabled, context.pool, context.background) {
        let metrics = Arc::new(metrics::GdprMetrics::register(context.metrics)?);
        let worker = worker::Worker::new(pool.clone(), gdpr.clone(), metrics)?;
        background.spawn(|shutdown| worker.run(shutdown));
    }
    let orchestrator = web::Data::new(Orchestrator { settings: gdpr });
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(orchestrator.clone());
        routes::config(cfg);
    }))
}
