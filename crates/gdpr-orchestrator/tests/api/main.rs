//! gdpr-orchestrator over the whole stack: real servers, real databases (SQLite, or PostgreSQL
//! with TEST_DATABASE_URL), genesys-sim for Genesys Cloud, and a clock the tests move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod answer_reach;
mod bad_input;
mod cli;
mod correction_kept;
mod deadlines;
mod export;
mod forget;
mod hardening;
mod helpers;
mod legal_holds;
mod migrations;
mod persons;
mod queue;
mod rectify;
mod rectify_evidence;
mod reports;
mod resilience;
mod restriction;
mod retention;
mod retention_schedule;
mod retentions;
mod roles;
mod verification;
