//! comm-history-writer: the bank's communication history. Other services write records here
//! (exactly once per `Idempotency-Key`) and read them back by customer or interaction.

pub mod gdpr;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod store;

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

/// The `[records]` section.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordsSettings {
    pub idempotency_retention_days: u64,
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let records: RecordsSettings = context.settings.section("records")?;
    if records.idempotency_retention_days < 2 {
        return Err(service_kit::configuration::invalid(
            "records.idempotency_retention_days: must be at least 2",
        ));
    }
    let handles = actix_web::web::Data::new(
        context
            .settings
            .handles
            .normaliser()
            .map_err(|reason| service_kit::configuration::invalid(&format!("handles.default_region: {reason}")))?,
    );
    let verifier = service_kit::gdpr_participant::verifier(context.settings)?;
    // Background work only where something is served (`check-config` starts none).
    if let (Some(pool), Some(background)) = (context.pool, context.background) {
        let pool = pool.clone();
        let days = records.idempotency_retention_days;
        background.spawn("idempotency key retention", move |shutdown, health| {
            forget_old_idempotency_keys(pool, days, shutdown, health)
        });
    }
    Ok(Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| {
        cfg.app_data(handles.clone());
        routes::config(cfg, verifier.clone());
    }))
}

/// Hourly: forget idempotency keys older than the retention, so the table does not grow forever.
async fn forget_old_idempotency_keys(
    pool: service_kit::database::DbPool,
    retention_days: u64,
    mut shutdown: service_kit::background::Shutdown,
    health: service_kit::background::Health,
) {
    let retention = std::time::Duration::from_secs(retention_days * 86_400);
    while !shutdown.is_requested() {
        let now = domain::Timestamp::now();
        let before = domain::Timestamp::from_offset_date_time(now.as_offset_date_time() - retention).unwrap_or(now);
        match pool
            .run(move |c| {
                store::remove_idempotency_keys_before(c, before).map_err(service_kit::database::DatabaseError::from)
            })
            .await
        {
            Ok(removed) => {
                health.succeeded();
                if removed > 0 {
                    tracing::info!(removed, "forgot idempotency keys past retention");
                }
            }
            Err(error) => {
                health.failed("forgetting old idempotency keys failed");
                tracing::warn!(error = %error, "forgetting old idempotency keys failed");
            }
        }
        shutdown.sleep(std::time::Duration::from_secs(3600)).await;
    }
}
