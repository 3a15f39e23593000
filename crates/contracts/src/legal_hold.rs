//! gdpr-orchestrator's legal holds: data the bank must keep (litigation, an investigation, an
//! authority's request), whatever an erasure or a retention would otherwise do (GDPR Art.
//! 17(3)(b) and (e)). A hold covers what a request for its subject would reach (customer ids,
//! phone numbers, e-mail addresses, Genesys user ids, interactions named by the hold, and the
//! interactions interaction-pairing links to the customers), optionally only communications
//! within a time window.
//!
//! - `POST /gdpr/legal-holds` ([`PlaceLegalHold`]) → [`LegalHold`] (201);
//! - `GET /gdpr/legal-holds` ([`ListLegalHolds`]) → [`LegalHoldPage`];
//! - `GET /gdpr/legal-holds/{id}` → [`LegalHold`];
//! - `POST /gdpr/legal-holds/{id}/release` ([`ReleaseLegalHold`]) → [`LegalHold`]: the first
//!   person asks (`release_requested`), a second person confirms (`released`), four eyes as for a
//!   FORGET; the first may withdraw the ask (`POST …/release/withdraw`).
//!
//! A hold as served never holds its subject: how many identifiers of each kind it names.

use crate::gdpr::SubjectInput;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why data is kept although an erasure or a retention period would remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The establishment, exercise or defence of legal claims (Art. 17(3)(e)).
    LegalClaims,
    /// A legal obligation of the bank (Art. 17(3)(b)), e.g. MiFID II Art. 16(7).
    LegalObligation,
    /// A competent authority asked for the data to be kept.
    AuthorityRequest,
}

impl LegalBasis {
    pub const ALL: [Self; 3] = [Self::LegalClaims, Self::LegalObligation, Self::AuthorityRequest];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LegalClaims => "legal_claims",
            Self::LegalObligation => "legal_obligation",
            Self::AuthorityRequest => "authority_request",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == value)
    }
}

/// Communications from `from` (inclusive) to `to` (exclusive); an open side reaches to the
/// beginning or to the end of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
}

impl TimeWindow {
    /// Whether `at` falls in the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

/// `POST /gdpr/legal-holds`: a new hold.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceLegalHold {
    /// Whose data: at least one identifier here or in `interactionIds`.
    pub subject: SubjectInput,
    /// Interactions held whoever they belong to (a conversation under investigation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction_ids: Vec<Uuid>,
    /// Only communications in this window (every one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
    /// The matter in the bank's case management (a case number, never personal data).
    pub reference: String,
    /// Why, in a few words for the next DPO.
    pub reason: String,
    pub basis: LegalBasis,
    /// When the hold ends by itself; open until released when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalHoldStatus {
    /// In force.
    Active,
    /// In force; one person asked to release it, a second must confirm.
    ReleaseRequested,
    /// Released by two persons: what it kept from an erasure is erased now.
    Released,
    /// Its `endsAt` passed: what it kept from an erasure is erased now.
    Ended,
}

impl LegalHoldStatus {
    pub const ALL: [Self; 4] = [Self::Active, Self::ReleaseRequested, Self::Released, Self::Ended];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ReleaseRequested => "release_requested",
            Self::Released => "released",
            Self::Ended => "ended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether the hold keeps data in this state.
    pub const fn in_force(self) -> bool {
        matches!(self, Self::Active | Self::ReleaseRequested)
    }
}

/// What the caller may do to a hold now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalHoldAction {
    /// `POST …/release` on an active hold: the first of two persons.
    RequestRelease,
    /// `POST …/release` on a hold whose release another person asked for.
    ConfirmRelease,
    /// `POST …/release/withdraw`: the person who asked takes the ask back.
    WithdrawRelease,
}

/// How many identifiers of each kind a hold names (never the identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierCounts {
    pub customer_ids: u64,
    pub phone_numbers: u64,
    pub email_addresses: u64,
    pub genesys_user_ids: u64,
    pub interaction_ids: u64,
}

/// A hold as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalHold {
    pub id: Uuid,
    pub status: LegalHoldStatus,
    /// The matter in the bank's case management; absent once its particulars are erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Why it was placed; absent once its particulars are erased (`identifiersErasedAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub basis: LegalBasis,
    /// How many identifiers it names; absent once its particulars are erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<IdentifierCounts>,
    /// When its subject, reference, reason and release reasons were erased: `gdpr.identifier_retention_days`
    /// after it was released or ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers_erased_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    pub placed_by: String,
    pub placed_via: String,
    pub placed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_requested_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    /// When it stopped keeping data (released, or ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<Timestamp>,
    pub allowed_actions: Vec<LegalHoldAction>,
}

/// `GET /gdpr/legal-holds`: which holds, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListLegalHolds {
    /// Only holds in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `next` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A page of holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalHoldPage {
    pub holds: Vec<LegalHold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `POST /gdpr/legal-holds/{id}/release`: which step the person takes, and why (audited).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseLegalHold {
    pub step: ReleaseStep,
    pub reason: String,
}

/// The two steps of a release, each named by the person taking it: two persons who both meant
/// to ask never release a hold between them (the second is refused, 409, and sees the ask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStep {
    /// The first person asks (the hold is `active`).
    Ask,
    /// A second person confirms the ask (the hold is `release_requested`).
    Confirm,
}

/// What a purge kept of a request's data, per category and basis (counts, never ids).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retained {
    pub category: String,
    pub basis: LegalBasis,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_and_states_round_trip_their_names() {
        for basis in LegalBasis::ALL {
            assert_eq!(LegalBasis::parse(basis.as_str()), Some(basis));
            assert_eq!(serde_json::to_value(basis).unwrap(), basis.as_str());
        }
        for status in LegalHoldStatus::ALL {
            assert_eq!(LegalHoldStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(LegalBasis::parse("consent"), None);
    }

    #[test]
    fn a_window_is_closed_at_its_start_and_open_at_its_end() {
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let window = TimeWindow {
            from: Some(at("2026-01-01T00:00:00Z")),
            to: Some(at("2026-02-01T00:00:00Z")),
        };
        assert!(window.contains(at("2026-01-01T00:00:00Z")));
        assert!(!window.contains(at("2026-02-01T00:00:00Z")));
        assert!(!window.contains(at("2025-12-31T23:59:59Z")));
        assert!(TimeWindow::default().contains(at("1990-01-01T00:00:00Z")));
    }
}
