//! What every ccbridge service shares, so a service is its routes, its storage and little else:
//! configuration, the database (SQLite or PostgreSQL through one diesel code path), telemetry,
//! bearer-token auth, RFC 9457 errors, health, metrics, graceful shutdown and the command line.

pub mod auth;
pub mod background;
pub mod cli;
pub mod configuration;
pub mod database;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod pagination;
pub mod periodic;
pub mod persons;
pub mod problem;
pub mod queue;
pub mod shipped_keys;
pub mod startup;
pub mod telemetry;
pub mod tls;

pub use actix_web;
pub use diesel;
pub use diesel_migrations;
