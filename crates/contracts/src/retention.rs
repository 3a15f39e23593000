//! The retention schedule as the data protection officers read it (the console's Retention page,
//! issue #30): counts and configuration only, never a subject or a record's identifier.
//!
//! - gdpr-orchestrator `GET /gdpr/retention` (scope `dpo`) → [`RetentionSchedule`]: the
//!   statutory rules in force and how many legal holds are in force;
//! - comm-history-writer `GET /communicationRecords/retention` (scope `records:operate`) →
//!   [`RecordsRetention`]: each channel's retention, how many records' channel retention ends
//!   soon (before legal holds, statutory rules and GDPR requests are considered), and what the
//!   last expiry round did.

use crate::participant::StatutoryRule;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// gdpr-orchestrator's `GET /gdpr/retention`.
pub const SCHEDULE_ROUTE: &str = "/gdpr/retention";
/// comm-history-writer's `GET /communicationRecords/retention`.
pub const RECORDS_ROUTE: &str = "/communicationRecords/retention";

/// What keeps data past an erasure or its retention, as gdpr-orchestrator knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSchedule {
    /// Every `gdpr.statutory_retention` rule, in the configuration's order.
    pub rules: Vec<StatutoryRule>,
    /// Legal holds in force now (active or asked to be released, not past their end).
    pub legal_holds_in_force: u64,
}

/// comm-history-writer's records by their retention, at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordsRetention {
    /// When the counts were taken.
    pub at: Timestamp,
    /// `records.retention_days`: every channel without a retention of its own.
    pub default_days: u32,
    /// Every channel, in `domain::Channel::ALL`'s order.
    pub channels: Vec<ChannelRetention>,
    /// The last expiry round any replica ran; `None` before the first.
    pub last_round: Option<ExpiryRound>,
}

/// One channel's retention and how many records' retention under it ends soon. The counts are
/// by the channel's retention alone, before legal holds, statutory rules and GDPR requests are
/// considered: the expiry may keep some of the records counted, and a GDPR request may already
/// hold some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelRetention {
    #[schema(value_type = String)]
    pub channel: domain::Channel,
    /// Days a record is kept after its communication.
    pub days: u32,
    /// `true` when `records.retention_days_by_channel` sets it, `false` for the default.
    pub own: bool,
    /// Records whose channel retention ends within the next 24 hours, before holds, rules and
    /// GDPR requests are considered (they may keep some of them).
    pub due_within_day: u64,
    /// Records whose channel retention ends within the next 7 days (those of the next 24 hours
    /// included), before holds, rules and GDPR requests are considered.
    pub due_within_week: u64,
}

/// What an expiry round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryRound {
    pub ran_at: Timestamp,
    pub outcome: RoundOutcome,
    /// Records erased (zero when skipped).
    pub expired: u64,
    /// Records past their retention that a legal hold or a statutory rule kept.
    pub kept: u64,
}

/// How an expiry round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundOutcome {
    /// It asked gdpr-orchestrator for the holds in force and erased what none keeps.
    Ran,
    /// gdpr-orchestrator could not be asked (or no token is set): nothing was erased.
    Skipped,
}

impl RoundOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ran => "ran",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Ran, Self::Skipped].into_iter().find(|o| o.as_str() == text)
    }
}
