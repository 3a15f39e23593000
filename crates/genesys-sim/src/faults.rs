//! Fault injection: latency, 429 every N API requests, a share of 5xx, an outage window,
//! answers that do not fit Genesys' documented models.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every response.
    pub latency_ms: u64,
    /// Every Nth API request (not token requests) answers 429.
    pub rate_limit_every: Option<u64>,
    /// `Retry-After` of those 429s, in seconds.
    pub retry_after_seconds: Option<u64>,
    /// Percentage (0–100) of API requests answering 500, spread evenly and deterministically.
    pub error_percent: u8,
    /// From now on, for this many seconds, everything (token requests too) answers 503.
    pub outage_seconds: Option<u64>,
    /// A conversation recorded from now on appears in the detail query only this many seconds
    /// later (analytics lags behind the conversation's end).
    pub analytics_delay_seconds: u64,
    /// Percentage (0–100) of webhook deliveries (Genesys' data action) dropped, evenly and
    /// deterministically: the result never reaches ccbridge, as when the one attempt fails.
    pub webhook_drop_percent: u8,
    /// This endpoint's successful answers carry a field that does not fit Genesys' documented
    /// model, as a broken upstream or proxy might send it (see [`Malformed`]).
    pub malformed: Option<Malformed>,
}

/// Which answers [`Faults::malformed`] breaks, named as in the call counts, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Malformed {
    /// Each conversation's `conversationEnd` holds its customer's address (no timestamp).
    #[serde(rename = "analytics.conversations.details.query")]
    DetailQuery,
    /// A user's `name` is a list of one name (no string).
    #[serde(rename = "users")]
    Users,
    /// A GDPR request's `status` is `ARCHIVED`, outside the documented set.
    #[serde(rename = "gdpr.requests.get")]
    GdprRequestsGet,
    /// The token's `expires_in` is text (`"86400"`), not a number.
    #[serde(rename = "token")]
    Token,
    /// Each phrase's `startTimeMs` in a transcript file is text (`"1764324000000"`), not a number.
    #[serde(rename = "speechandtextanalytics.transcript")]
    Transcript,
}

pub(crate) struct ActiveFaults {
    pub faults: Faults,
    pub outage_until: Option<Instant>,
}

impl From<Faults> for ActiveFaults {
    fn from(faults: Faults) -> Self {
        let outage_until = faults.outage_seconds.map(|s| Instant::now() + Duration::from_secs(s));
        Self { faults, outage_until }
    }
}

/// What the `n`th API request (counting from 1) meets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Injected {
    None,
    Outage,
    RateLimited { retry_after_seconds: u64 },
    ServerError,
}

impl ActiveFaults {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }

    pub fn in_outage(&self) -> bool {
        self.outage_until.is_some_and(|until| Instant::now() < until)
    }

    pub fn for_api_request(&self, n: u64) -> Injected {
        if self.in_outage() {
            return Injected::Outage;
        }
        if self
            .faults
            .rate_limit_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Injected::RateLimited {
                retry_after_seconds: self.faults.retry_after_seconds.unwrap_or(1),
            };
        }
        if share_hits(n, self.faults.error_percent) {
            return Injected::ServerError;
        }
        Injected::None
    }

    /// Whether the `n`th webhook delivery (counting from 1) is dropped.
    pub fn drops_webhook(&self, n: u64) -> bool {
        share_hits(n, self.faults.webhook_drop_percent)
    }
}

/// The `n`th event is hit when n × p / 100 crosses a whole number: exactly p% of events, evenly.
fn share_hits(n: u64, percent: u8) -> bool {
    let percent = u64::from(percent.min(100));
    percent > 0 && n > 0 && (n * percent) / 100 != ((n - 1) * percent) / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_percent_is_exact_and_even() {
        let active = ActiveFaults::from(Faults {
            error_percent: 25,
            ..Faults::default()
        });
        let failures: Vec<u64> = (1..=20)
            .filter(|n| active.for_api_request(*n) == Injected::ServerError)
            .collect();
        assert_eq!(failures, [4, 8, 12, 16, 20]);
    }

    #[test]
    fn webhook_drops_are_exact_and_even() {
        let active = ActiveFaults::from(Faults {
            webhook_drop_percent: 30,
            ..Faults::default()
        });
        let dropped: Vec<u64> = (1..=10).filter(|n| active.drops_webhook(*n)).collect();
        assert_eq!(dropped, [4, 7, 10]);
    }

    #[test]
    fn every_nth_request_is_rate_limited() {
        let active = ActiveFaults::from(Faults {
            rate_limit_every: Some(3),
            retry_after_seconds: Some(2),
            ..Faults::default()
        });
        assert_eq!(
            active.for_api_request(3),
            Injected::RateLimited { retry_after_seconds: 2 }
        );
        assert_eq!(active.for_api_request(4), Injected::None);
    }

    #[test]
    fn an_outage_refuses_everything_while_it_lasts() {
        let active = ActiveFaults::from(Faults {
            outage_seconds: Some(60),
            ..Faults::default()
        });
        assert_eq!(active.for_api_request(1), Injected::Outage);
        let over = ActiveFaults::from(Faults {
            outage_seconds: Some(0),
            ..Faults::default()
        });
        assert_eq!(over.for_api_request(1), Injected::None);
    }
}
