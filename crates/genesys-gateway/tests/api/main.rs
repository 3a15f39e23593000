//! HTTP tests of genesys-gateway against genesys-sim, both on real ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conversations;
mod gdpr;
mod helpers;
mod lookups;
mod resilience;
mod tls;
