//! interaction-pairing: BOFE tells us which customer a Genesys interaction belongs to while the
//! agent handles it; result-ingest later asks, to put the customer on the communication record.

pub mod routes;
pub mod schema;
pub mod scopes;
pub mod store;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::database::Migrations;
use service_kit::startup::{routes_only, ServiceDefinition};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/interaction-pairing");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/interaction-pairing");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "interaction-pairing",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
    }),
    setup: |_| routes_only(routes::config),
};
