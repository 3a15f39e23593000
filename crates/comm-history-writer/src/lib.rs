//! comm-history-writer: the bank's communication history. Other services write records here
//! (exactly once per `Idempotency-Key`) and read them back by customer or interaction.

pub mod routes;
pub mod schema;
pub mod scopes;
pub mod store;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::database::Migrations;
use service_kit::startup::{routes_only, ServiceDefinition};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/comm-history-writer");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/comm-history-writer");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "comm-history-writer",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
    }),
    setup: |_| routes_only(routes::config),
};
