//! result-ingest's API: the webhook Genesys' data action posts an interaction's result to
//! (`POST /customers/supportResult`), and the sweeps operators start and follow
//! (`/ingest/sweeps`).

use domain::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The webhook's body: domain's [`domain::SupportResult`] is the wire type itself (parsed at the
/// door, every field checked).
pub use domain::SupportResult;

/// What the webhook answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The inbox event (null when suppressed).
    pub id: Option<Uuid>,
    pub duplicate: bool,
    pub suppressed: bool,
}

/// Body of `POST /ingest/sweeps`: a window to sweep, the conversations that started in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// From (RFC 3339), within `ingest.retention_days`.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// To (RFC 3339), later than `from`, not in the future.
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
}

/// The query of `GET /ingest/sweeps`. Kept as text: the service names a wrong parameter in its
/// 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SweepsQuery {
    /// Page size, 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Who asked for a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepOrigin {
    /// The schedule, every `ingest.sweep_interval_seconds`.
    Schedule,
    /// An operator, `POST /ingest/sweeps`.
    Operator,
}

impl SweepOrigin {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Operator => "operator",
        }
    }

    /// The origin `as_str` writes; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Schedule, Self::Operator]
            .into_iter()
            .find(|origin| origin.as_str() == value)
    }
}

/// Where a sweep stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepStatus {
    /// Not begun.
    Pending,
    /// Some pages read.
    Running,
    /// Every conversation of its window read (the schedule's next window reads those not yet
    /// settled again).
    Done,
}

impl SweepStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
        }
    }

    /// The status `as_str` writes; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Done]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// What a sweep counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepCounts {
    /// Detail query pages read.
    pub pages: i32,
    /// Genesys requests spent (a page each, answered or not).
    pub genesys_requests: i32,
    /// Conversations read (again when read again).
    pub conversations: i32,
    /// Agent results of settled conversations.
    pub results: i32,
    /// Results the webhook never delivered, now in the inbox.
    pub recovered: i32,
    /// Results the webhook had delivered, found again (each counted once, by its first sweep).
    pub confirmed: i32,
    /// Results about a subject forgotten after the conversation: not brought back.
    pub suppressed: i32,
    /// Results Genesys holds that the webhook would have refused too (a field missing or wrong).
    pub unusable: i32,
}

/// A sweep as operators see it: a window and its progress, no personal data but the name of who
/// asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    pub id: Uuid,
    pub origin: SweepOrigin,
    /// The operator (or the person an operating client acted for); null for the schedule.
    pub requested_by: Option<String>,
    /// Conversations that started from here …
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// … to before here.
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub status: SweepStatus,
    /// Conversations that started before this are read.
    #[schema(value_type = String, format = DateTime)]
    pub read_up_to: Timestamp,
    /// The start of the earliest conversation read that had not ended long enough ago; it is
    /// read again later.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub held_at: Option<Timestamp>,
    /// How far through its window, 0 to 100.
    pub progress_percent: u8,
    pub counts: SweepCounts,
    /// Why the last page could not be read (Genesys or the gateway down, rate limiting).
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_statuses_read_back_as_written() {
        for origin in [SweepOrigin::Schedule, SweepOrigin::Operator] {
            assert_eq!(SweepOrigin::parse(origin.as_str()), Some(origin));
            assert_eq!(
                serde_json::to_value(origin).ok(),
                Some(serde_json::json!(origin.as_str()))
            );
        }
        for status in [SweepStatus::Pending, SweepStatus::Running, SweepStatus::Done] {
            assert_eq!(SweepStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).ok(),
                Some(serde_json::json!(status.as_str()))
            );
        }
        assert_eq!(SweepStatus::parse("Done"), None);
    }
}

/// A page of sweeps, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepPage {
    pub items: Vec<Sweep>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
