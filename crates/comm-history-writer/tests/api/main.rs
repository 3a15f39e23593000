//! HTTP tests of comm-history-writer against a real server and a real database (SQLite, or
//! PostgreSQL when TEST_DATABASE_URL is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod batches;
mod bodies;
mod delivery;
mod delivery_transport;
mod erased_elsewhere;
mod expiry;
mod forgotten_deliveries;
mod helpers;
mod idempotency;
mod legal_holds;
mod migrations;
mod pagination;
mod purged_customers;
mod records;
mod rectification;
mod rectify_evidence;
mod restriction;
mod retention;
mod statutory_retention;
mod unassigned;
