//! HTTP tests of the whole pipeline: genesys-sim, genesys-gateway, interaction-pairing,
//! comm-history-writer and result-ingest, each a real server on its own port with its own database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod association;
mod clean_up;
mod content;
mod crash;
mod delivery;
mod erasure;
mod expiry;
mod forget_race;
mod genesys_setup;
mod helpers;
mod legal_holds;
mod mapping;
mod migrations;
mod operations;
mod participant_data;
mod rectification;
mod rectify_evidence;
mod restriction;
mod sweep;
mod sweep_bound;
mod webhook;
