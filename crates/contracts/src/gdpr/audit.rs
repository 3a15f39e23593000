//! A request's audit trail as served (`GET /gdpr/requests/{id}/audit`).

use domain::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An audit entry as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub request_id: Uuid,
    pub at: Timestamp,
    /// The person's subject at the identity provider (or the client acting as itself, or
    /// `orchestrator` for its own work).
    pub actor: String,
    /// The person's display name, as the identity provider gives it (null for a client acting as
    /// itself, and before it was recorded).
    pub actor_name: Option<String>,
    /// The client the person came through (null before it was recorded).
    pub caller: Option<String>,
    pub event: String,
    /// What the event changed (states, counts, dates; never an identifier). Its fields differ by
    /// event and by when it was written: the audit log is append-only, so old entries keep their
    /// shape.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// `GET /gdpr/requests/{id}/audit`: a request's audit log, and whether its chain is intact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    /// Every entry's link matches its content and the entry before it.
    pub chain_verified: bool,
    /// The last entry's link: record it elsewhere to detect a truncated log later.
    pub head: Option<String>,
}
