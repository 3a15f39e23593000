//! ccbridge's contracts: what crosses between its services, as types.
//!
//! One module a service's API (its request and answer bodies), plus [`problem`] (the RFC 9457
//! body every service answers a failure with) and [`client`] (the one small typed client). A
//! server's routes take and return these types and its OpenAPI document is generated from them;
//! every client deserialises the same types, so the three cannot drift apart. This crate never
//! links a service (no actix, no diesel): the rule "a server never links another server" holds.

pub mod client;
pub mod gateway;
pub mod gdpr;
pub mod history;
pub mod ingest;
pub mod legal_hold;
pub mod pairing;
pub mod participant;
pub mod problem;
pub mod queue;
pub mod report;
pub mod retention;

pub use client::{Client, ClientError, Response};
pub use problem::{FieldProblem, Problem};
