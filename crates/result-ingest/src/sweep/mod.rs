//! The sweep: reads ended conversations from Genesys' analytics (through genesys-gateway) and
//! ingests each agent's result the webhook never delivered, through the same inbox, so nothing
//! is recorded twice. A sweep is a window of conversation start times, read a page at a time from
//! a cursor kept in the database; one replica sweeps at a time (the `sweeper` lease), the
//! schedule every `ingest.sweep_interval_seconds` from its watermark, operators on demand.
//!
//! A conversation counts once it ended `ingest.sweep_settle_seconds` ago; one read before that
//! holds the watermark at its start, so the next window reads it again.

mod page;
mod store;
mod sweeper;

pub use page::{support_result, ConversationPage, EndedConversation, PAGE_SIZE};
pub use store::{create, create_bounded, get, list, watermark, NewSweep};
pub use sweeper::Sweeper;

use diesel::QueryResult;
use domain::Timestamp;
use serde::Serialize;
use uuid::Uuid;

/// Who asked for a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepOrigin {
    /// The schedule, every `ingest.sweep_interval_seconds`.
    Schedule,
    /// An operator, `POST /ingest/sweeps`.
    Operator,
}

/// Where a sweep stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

fn unknown(what: &str, value: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("unknown sweep {what} {value:?}").into())
}

impl SweepOrigin {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Operator => "operator",
        }
    }

    pub fn parse(value: &str) -> QueryResult<Self> {
        [Self::Schedule, Self::Operator]
            .into_iter()
            .find(|origin| origin.as_str() == value)
            .ok_or_else(|| unknown("origin", value))
    }
}

impl SweepStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
        }
    }

    pub fn parse(value: &str) -> QueryResult<Self> {
        [Self::Pending, Self::Running, Self::Done]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| unknown("status", value))
    }
}

/// What a sweep counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    #[serde(skip)]
    pub cursor_page: i32,
    /// The start of the earliest conversation read that had not ended long enough ago; it is
    /// read again later.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub held_at: Option<Timestamp>,
    /// How far through its window, 0 to 100.
    pub progress_percent: u8,
    pub counts: SweepCounts,
    /// Why the last page could not be read (Genesys or the gateway down, rate limiting).
    pub last_error: Option<String>,
    #[serde(skip)]
    pub attempts: i32,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

impl Sweep {
    /// How far `read_up_to` is through the window.
    fn progress(from: Timestamp, to: Timestamp, read_up_to: Timestamp, status: SweepStatus) -> u8 {
        if status == SweepStatus::Done {
            return 100;
        }
        let whole = (to.as_offset_date_time() - from.as_offset_date_time()).as_seconds_f64();
        let read = (read_up_to.as_offset_date_time() - from.as_offset_date_time()).as_seconds_f64();
        if whole <= 0.0 {
            return 0;
        }
        // Below 100 until done: the last page may still be unread.
        (read / whole * 100.0).clamp(0.0, 99.0) as u8
    }
}
