//! The operator routes of every background queue, answered the same way by each (mounted per
//! queue by `service_kit::queue::operator`): `GET {base}?status=pending|dead&limit=&cursor=`,
//! `POST {base}/{id}/retry`, `POST {base}/retry-dead`. Nothing here holds personal data: ids,
//! fixed words, counts, times and reasons made of fixed words and status codes.

use domain::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The query of `GET {base}`. Kept as text: the service names a wrong parameter in its 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `pending` or `dead` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = QueueEntryStatus, required = true)]
    pub status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Where a queue's entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueueEntryStatus {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// Refused, or out of its budget: waits for an operator's retry.
    Dead,
}

/// An entry of a queue, without personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntry {
    pub id: Uuid,
    /// What the entry asks for, a fixed word of its queue (e.g. `assign`, `withdraw`, `create`).
    pub kind: String,
    pub status: QueueEntryStatus,
    /// Attempts since it was queued or last retried by an operator.
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When a pending entry is next due (while it is attempted, the end of its lease).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed: fixed words and a status code.
    pub last_error: Option<String>,
}

/// A page of a queue's entries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuePage {
    pub items: Vec<QueueEntry>,
    /// The next page's `cursor`; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A dead entry an operator retried: pending again, due at once, with a fresh budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueRetried {
    pub id: Uuid,
    pub status: QueueEntryStatus,
}

/// How many dead entries went back to pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueRetriedCount {
    pub retried: u64,
}
