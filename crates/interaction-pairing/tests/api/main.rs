//! HTTP tests of interaction-pairing against a real server and a real database (SQLite, or
//! PostgreSQL when TEST_DATABASE_URL is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actors;
mod bad_input;
mod erasure;
mod expiry;
mod helpers;
mod legal_holds;
mod lookups;
mod migrations;
mod outbox;
mod pairing;
mod platform;
mod rectification;
mod rectify_evidence;
mod restriction;
mod retention;
