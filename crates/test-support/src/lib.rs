//! Helpers for HTTP tests against real servers and real databases.
//!
//! Every test gets its own database: a SQLite file in a temporary directory, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server (any database on it that we may connect to), a
//! fresh database created on that server and dropped afterwards. `.ci/run` runs the whole suite
//! once each way. Set `TEST_LOG=1` to see the services' logs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed set-up should panic loudly

mod app;
mod database;
mod fixtures;
mod history_manager;
mod logs;
pub mod oidc;
mod problems;
mod schema;
pub mod stack;
pub mod tls;

pub use app::*;
pub use database::*;
pub use fixtures::*;
pub use history_manager::*;
pub use logs::*;
pub use problems::*;
pub use schema::*;
