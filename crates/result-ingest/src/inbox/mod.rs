//! The durable inbox: accept once, claim with a lease, settle as processed, retried or dead.
//!
//! A claim sets `lease_until` to the end of a lease and counts the attempt, in one short
//! transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never claim the same row; SQLite:
//! an immediate transaction, since it has one writer anyway). The work itself runs outside any
//! transaction; a worker that dies simply lets its lease run out and the event becomes due again.
//! The record is written with `Idempotency-Key` = event id, so a second attempt never writes twice.

use crate::schema::inbox_events::{self, dsl};
use diesel::prelude::*;
use domain::{GenesysUserId, HandleNormaliser, InteractionId, SupportResult, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

mod accept;
mod lease;
mod operator;
mod postgres;
mod queue;
mod retention;
mod swept;

pub use accept::{accept_batch, Acceptance, Accepted, Delivery};
use lease::Settlement;

pub use queue::{InboxEvent, InboxQueue};
pub use retention::{expired, remove_expired, replace_agent};
pub use swept::{confirm, known_results, KnownResult, ResultIdentity};

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboxStatus {
    /// Waiting for (or in) a worker's hands.
    Pending,
    /// Its record is written.
    Processed,
    /// Given up on, with its reason; an operator may replay it.
    Dead,
}

impl InboxStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Dead => "dead",
        }
    }

    /// A stored status; anything else is a corrupt row, an error.
    pub fn parse(value: &str) -> QueryResult<Self> {
        [Self::Pending, Self::Processed, Self::Dead]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| {
                diesel::result::Error::DeserializationError(format!("unknown inbox status {value:?}").into())
            })
    }
}

/// Who brought a result into the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Genesys' data action posted it to the webhook.
    Webhook,
    /// The sweep found it in Genesys' analytics: the webhook never delivered it.
    Sweep,
}

impl Origin {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Sweep => "sweep",
        }
    }

    /// A stored origin; anything else is a corrupt row, an error.
    pub fn parse(value: &str) -> QueryResult<Self> {
        [Self::Webhook, Self::Sweep]
            .into_iter()
            .find(|origin| origin.as_str() == value)
            .ok_or_else(|| {
                diesel::result::Error::DeserializationError(format!("unknown inbox origin {value:?}").into())
            })
    }
}

/// `status = '…'` with the status written into the statement rather than bound: the planner then
/// matches the partial index whose predicate names it, and knows how rare the status is (with a
/// bound parameter, PostgreSQL's generic plan must assume any status, and scans the table).
fn status_is(status: InboxStatus) -> diesel::dsl::Eq<dsl::status, StatusLiteral> {
    dsl::status.eq(StatusLiteral(status.as_str()))
}

/// A status as a literal in the statement's text. Not a `sql` fragment: diesel never keeps a
/// statement holding one prepared, and the claim would be parsed and planned on every call.
/// The statement cache keys such a statement by its text, which names the status.
#[derive(Debug, Clone, Copy)]
struct StatusLiteral(&'static str);

impl diesel::expression::Expression for StatusLiteral {
    type SqlType = diesel::sql_types::Text;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for StatusLiteral {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // One of this module's status constants, never outside input.
        out.push_sql("'");
        out.push_sql(self.0);
        out.push_sql("'");
        Ok(())
    }
}

impl diesel::query_builder::QueryId for StatusLiteral {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<GroupBy> diesel::expression::ValidGrouping<GroupBy> for StatusLiteral {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<QuerySource> diesel::expression::AppearsOnTable<QuerySource> for StatusLiteral {}

impl<QuerySource> diesel::expression::SelectableExpression<QuerySource> for StatusLiteral {}
