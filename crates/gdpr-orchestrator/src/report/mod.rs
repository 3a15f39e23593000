//! The monthly accountability report (issue #31): per calendar month of receipt in the bank's
//! time zone (`gdpr.time_zone`) and request type, how the requests were answered
//! ([`contracts::report::MonthlyRow`]).
//!
//! Computed by a bounded scan, not by SQL aggregation: months are the bank's calendar months
//! (SQLite knows no time zones, and one code path serves both backends), and the median and 95th
//! percentile are exact (nearest rank; SQLite has no percentile function). The scan reads the
//! requests received within the asked months only (at most
//! [`contracts::report::MAX_MONTHS`]), a page of [`scan::PAGE`] narrow rows at a time along the
//! `(received_at, id)` index, and keeps per month and type its counts and the answered requests'
//! durations (8 bytes each). GDPR requests are thousands a year, not the records' millions.

pub mod scan;
mod zone;

pub use zone::{time_zone, BankMonths};

use contracts::gdpr::{RequestStatus, RequestType};
use contracts::report::{Month, MonthlyRow};
use domain::Timestamp;
use std::collections::HashMap;

/// One request as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    /// When the subject had the answer (or the request was closed: only answers are timed);
    /// `None` while open.
    pub answered_at: Option<Timestamp>,
    pub extension_months: i32,
    /// Extensions granted (the audit trail's `deadline_extended`).
    pub extensions: u64,
    /// A purge kept some of the subject's data under a legal hold or a statutory rule.
    pub retained: bool,
}

/// A report's rows, accumulated request by request.
#[derive(Debug, Default)]
pub struct Tally {
    groups: HashMap<(Month, RequestType), Group>,
}

#[derive(Debug, Default)]
struct Group {
    row: Counts,
    /// Seconds from receipt to answer of each answered request.
    durations: Vec<u64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    received: u64,
    completed_in_time: u64,
    completed_late: u64,
    expired: u64,
    withdrawn: u64,
    overdue: u64,
    pending: u64,
    extended: u64,
    extension_reasons: u64,
    retained: u64,
}

/// What became of a request, as the report counts it (see [`MonthlyRow`]'s outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The subject has the answer (a lifted RESTRICT: since it was restricted).
    Answered,
    /// Nobody confirmed it in time: closed unanswered.
    Expired,
    /// Withdrawn by an UNDO_FORGET (cancelled before confirmation, or undone in grace).
    Withdrawn,
    /// Still under way: overdue or pending.
    Open,
}

impl Outcome {
    /// Every status named, so a new one must be placed here before the report compiles.
    pub const fn of(status: RequestStatus) -> Self {
        match status {
            RequestStatus::Completed
            | RequestStatus::CompletedWithRetention
            | RequestStatus::Restricted
            | RequestStatus::Lifted => Self::Answered,
            RequestStatus::Expired => Self::Expired,
            RequestStatus::Cancelled | RequestStatus::Undone => Self::Withdrawn,
            RequestStatus::Received
            | RequestStatus::Blocked
            | RequestStatus::Counting
            | RequestStatus::AwaitingConfirmation
            | RequestStatus::Exporting
            | RequestStatus::Forgetting
            | RequestStatus::InGrace
            | RequestStatus::Purging
            | RequestStatus::Undoing
            // Being restored: `undone` (withdrawn) once the participants have.
            | RequestStatus::UndoRequested
            | RequestStatus::Restricting
            | RequestStatus::Rectifying => Self::Open,
        }
    }
}

/// A stored request that cannot be as it is: the report is refused rather than wrong.
#[derive(Debug, thiserror::Error)]
#[error("request {id}: {reason}")]
pub struct Impossible {
    pub id: uuid::Uuid,
    pub reason: &'static str,
}

impl Tally {
    /// Counts `request`, received in `month`, as of `now`.
    pub fn add(&mut self, id: uuid::Uuid, month: Month, request: &Reported, now: Timestamp) -> Result<(), Impossible> {
        let group = self.groups.entry((month, request.request_type)).or_default();
        let counts = &mut group.row;
        counts.received += 1;
        match (Outcome::of(request.status), request.answered_at) {
            (Outcome::Answered, Some(answered)) => {
                let seconds = answered.as_offset_date_time() - request.received_at.as_offset_date_time();
                let seconds = u64::try_from(seconds.whole_seconds()).map_err(|_| Impossible {
                    id,
                    reason: "answered before it was received",
                })?;
                group.durations.push(seconds);
                if answered <= request.due_at {
                    counts.completed_in_time += 1;
                } else {
                    counts.completed_late += 1;
                }
            }
            (Outcome::Answered, None) => {
                return Err(Impossible {
                    id,
                    reason: "answered, with no time it was answered",
                })
            }
            (Outcome::Expired, _) => counts.expired += 1,
            (Outcome::Withdrawn, _) => counts.withdrawn += 1,
            (Outcome::Open, _) if request.due_at < now => counts.overdue += 1,
            (Outcome::Open, _) => counts.pending += 1,
        }
        if request.extension_months > 0 {
            counts.extended += 1;
        }
        counts.extension_reasons += request.extensions;
        if request.retained {
            counts.retained += 1;
        }
        Ok(())
    }

    /// Every month from `from` to `to`, each with every request type (zeros included).
    pub fn rows(mut self, from: Month, to: Month) -> Vec<MonthlyRow> {
        from.through(to)
            .flat_map(|month| RequestType::ALL.into_iter().map(move |t| (month, t)))
            .map(|(month, request_type)| {
                let Group { row, mut durations } = self.groups.remove(&(month, request_type)).unwrap_or_default();
                durations.sort_unstable();
                MonthlyRow {
                    month,
                    request_type,
                    received: row.received,
                    completed_in_time: row.completed_in_time,
                    completed_late: row.completed_late,
                    expired: row.expired,
                    withdrawn: row.withdrawn,
                    overdue: row.overdue,
                    pending: row.pending,
                    extended: row.extended,
                    extension_reasons: row.extension_reasons,
                    retained: row.retained,
                    median_seconds_to_completion: nearest_rank(&durations, 50),
                    p95_seconds_to_completion: nearest_rank(&durations, 95),
                }
            })
            .collect()
    }
}

/// The `percent`th percentile of `sorted` by nearest rank: the smallest value at least
/// `percent` % of the values do not exceed (always one that occurred). `None` when empty.
pub fn nearest_rank(sorted: &[u64], percent: usize) -> Option<u64> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_values_that_occurred() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        // Even count: the lower middle (half are within it).
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 95), Some(95));
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(nearest_rank(&twenty, 95), Some(19));
        let twenty_one: Vec<u64> = (1..=21).collect();
        assert_eq!(nearest_rank(&twenty_one, 95), Some(20));
    }

    #[test]
    fn a_request_is_in_exactly_one_outcome_and_only_answers_are_timed() {
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let month = Month::new(2026, 3).unwrap();
        let now = at("2026-05-01T00:00:00Z");
        let request = |status, answered: Option<&str>, due: &str| Reported {
            request_type: RequestType::Export,
            status,
            received_at: at("2026-03-02T10:00:00Z"),
            due_at: at(due),
            answered_at: answered.map(at),
            extension_months: 0,
            extensions: 0,
            retained: false,
        };
        let mut tally = Tally::default();
        let id = uuid::Uuid::nil();
        for r in [
            request(
                RequestStatus::Completed,
                Some("2026-03-03T10:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
            request(
                RequestStatus::Completed,
                Some("2026-04-02T10:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
            request(
                RequestStatus::Completed,
                Some("2026-04-03T10:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
            request(RequestStatus::Exporting, None, "2026-04-02T10:00:00Z"),
            request(RequestStatus::Exporting, None, "2026-06-02T10:00:00Z"),
            // Closed 100 days on, unconfirmed; withdrawn at once, and undone in grace: counted
            // apart, never timed (else the p95 would be 100 days).
            request(
                RequestStatus::Expired,
                Some("2026-06-10T10:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
            request(
                RequestStatus::Cancelled,
                Some("2026-03-02T11:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
            request(
                RequestStatus::Undone,
                Some("2026-03-04T10:00:00Z"),
                "2026-04-02T10:00:00Z",
            ),
        ] {
            tally.add(id, month, &r, now).unwrap();
        }
        let rows = tally.rows(month, month);
        assert_eq!(rows.len(), RequestType::ALL.len());
        let export = &rows[0];
        assert_eq!(
            (
                export.received,
                export.completed_in_time,
                export.completed_late,
                export.expired,
                export.withdrawn,
                export.overdue,
                export.pending
            ),
            (8, 2, 1, 1, 2, 1, 1)
        );
        assert_eq!(export.outcomes(), export.received);
        // One day, 31 days (the due instant itself is in time), 32 days.
        assert_eq!(export.median_seconds_to_completion, Some(31 * 86_400));
        assert_eq!(export.p95_seconds_to_completion, Some(32 * 86_400));
        assert!(rows[1..]
            .iter()
            .all(|r| r.received == 0 && r.median_seconds_to_completion.is_none()));

        let mut broken = request(RequestStatus::Completed, None, "2026-04-02T10:00:00Z");
        assert!(Tally::default().add(id, month, &broken, now).is_err());
        // A closed request needs no answer time.
        broken.status = RequestStatus::Expired;
        assert!(Tally::default().add(id, month, &broken, now).is_ok());
        broken.status = RequestStatus::Completed;
        broken.answered_at = Some(at("2026-03-01T10:00:00Z"));
        assert!(Tally::default().add(id, month, &broken, now).is_err());
    }
}
