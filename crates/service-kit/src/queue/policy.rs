//! How a queue is worked: a [`Policy`] per queue, read from the queue's own section by
//! [`Policy::read`] (the same keys in every section that holds a queue).

use domain::Timestamp;
use serde::Deserialize;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

/// How long an entry is tried before it becomes a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many attempts.
    Attempts(NonZeroU32),
    /// Tried while less than this has passed since it was queued (or an operator retried it).
    Time(Duration),
}

impl Budget {
    /// Whether an entry that has had `attempts` attempts since `since` may have another at `now`.
    pub fn allows_another(&self, attempts: u32, since: Timestamp, now: Timestamp) -> bool {
        match *self {
            Self::Attempts(max) => attempts < max.get(),
            Self::Time(limit) => {
                let spent = now.as_offset_date_time() - since.as_offset_date_time();
                spent < limit
            }
        }
    }

    /// A fixed-words account of the budget, for a dead letter's reason.
    pub fn spent(&self, attempts: u32) -> String {
        match *self {
            Self::Attempts(_) => format!("gave up after {attempts} attempts"),
            Self::Time(limit) => format!("gave up after {}s ({attempts} attempts)", limit.as_secs()),
        }
    }

    /// Parses `"<n> attempts"`, or a time: `"<n> seconds|minutes|hours|days"` (singular too).
    pub fn parse(value: &str) -> Result<Self, String> {
        const EXPECTED: &str = "must be \"<n> attempts\" or \"<n> seconds|minutes|hours|days\", n at least 1";
        let (number, unit) = value.trim().split_once(' ').ok_or(EXPECTED)?;
        let number: u64 = number.parse().map_err(|_| EXPECTED)?;
        let number = NonZeroU64::new(number).ok_or(EXPECTED)?;
        let seconds = match unit.trim() {
            "attempt" | "attempts" => {
                let attempts = u32::try_from(number.get()).map_err(|_| EXPECTED)?;
                return NonZeroU32::new(attempts)
                    .map(Self::Attempts)
                    .ok_or_else(|| EXPECTED.to_owned());
            }
            "second" | "seconds" => 1,
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3_600,
            "day" | "days" => 86_400,
            _ => return Err(EXPECTED.to_owned()),
        };
        let seconds = number.get().checked_mul(seconds).ok_or(EXPECTED)?;
        Ok(Self::Time(Duration::from_secs(seconds)))
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The delay before a failed entry's next attempt: exponential from `min` (doubling), with
/// jitter computed by `backon` (a random part of the delay added to it), never below `min` nor
/// above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// `min` at most `max`.
    pub fn new(min: Duration, max: Duration) -> Result<Self, String> {
        if min > max {
            return Err("the backoff's minimum is above its maximum".to_owned());
        }
        Ok(Self { min, max })
    }

    pub const fn min(&self) -> Duration {
        self.min
    }

    pub const fn max(&self) -> Duration {
        self.max
    }

    /// The delay after the `attempts`th failed attempt (1: the first): with the jitter, between
    /// the undelayed value `min · 2^(attempts-1)` (capped at half of `max`, but at least `min`)
    /// and twice it, then at most `max`.
    pub fn delay(&self, attempts: NonZeroU32) -> Duration {
        use backon::BackoffBuilder;
        let ceiling = (self.max / 2).max(self.min);
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(self.min)
            .with_max_delay(ceiling)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        // Past 64 doublings the undelayed value is long at its ceiling.
        let nth = usize::try_from(attempts.get().min(64) - 1).unwrap_or(0);
        delays.nth(nth).unwrap_or(self.max).clamp(self.min, self.max)
    }
}

/// How a queue is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Entries claimed at a time.
    pub batch: NonZeroU32,
    /// The sleep between passes while nothing is due.
    pub poll_interval: Duration,
    /// How long a claim is held: a worker that dies lets its entries fall due again after it.
    pub lease: Duration,
    pub backoff: Backoff,
    pub budget: Budget,
    /// How long a dead letter is kept before housekeeping deletes it; `None`: until an
    /// operator retries it.
    pub dead_retention: Option<Duration>,
}

/// The keys of a queue in its service's section (docs/configuration.md): `batch_size`,
/// `poll_interval_ms`, `lease_seconds`, `backoff_min_ms`, `backoff_max_ms`, `retry_budget`
/// (`"50 attempts"`, `"24 hours"`) and, optionally, `dead_retention_days`.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyKeys {
    pub batch_size: NonZeroU32,
    pub poll_interval_ms: NonZeroU64,
    pub lease_seconds: NonZeroU64,
    pub backoff_min_ms: NonZeroU64,
    pub backoff_max_ms: NonZeroU64,
    pub retry_budget: Budget,
    #[serde(default)]
    pub dead_retention_days: Option<NonZeroU32>,
}

impl Policy {
    /// The queue keys of `section` (see [`PolicyKeys`]); every wrong one is named.
    pub fn read(settings: &crate::configuration::Settings, section: &str) -> anyhow::Result<Self> {
        let keys: PolicyKeys = settings.section(section)?;
        Self::from_keys(section, &keys).map_err(crate::configuration::invalid_all)
    }

    pub fn from_keys(section: &str, keys: &PolicyKeys) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let backoff = Backoff::new(
            Duration::from_millis(keys.backoff_min_ms.get()),
            Duration::from_millis(keys.backoff_max_ms.get()),
        )
        .map_err(|_| {
            problems.push(format!(
                "{section}.backoff_max_ms: must not be below {section}.backoff_min_ms"
            ))
        });
        if let Some(days) = keys.dead_retention_days {
            if days.get() > 3650 {
                problems.push(format!("{section}.dead_retention_days: must be 1 to 3650"));
            }
        }
        match backoff {
            Ok(backoff) if problems.is_empty() => Ok(Self {
                batch: keys.batch_size,
                poll_interval: Duration::from_millis(keys.poll_interval_ms.get()),
                lease: Duration::from_secs(keys.lease_seconds.get()),
                backoff,
                budget: keys.retry_budget,
                dead_retention: keys
                    .dead_retention_days
                    .map(|days| Duration::from_secs(u64::from(days.get()) * 86_400)),
            }),
            _ => Err(problems),
        }
    }

    /// `now` moved on by `by`, or an error past year 9999.
    pub(crate) fn later(now: Timestamp, by: Duration) -> anyhow::Result<Timestamp> {
        Timestamp::from_offset_date_time(now.as_offset_date_time() + by)
            .ok_or_else(|| anyhow::anyhow!("a queue's time would fall past year 9999"))
    }

    /// `now` moved back by `by`, or an error before year 1.
    pub(crate) fn earlier(now: Timestamp, by: Duration) -> anyhow::Result<Timestamp> {
        Timestamp::from_offset_date_time(now.as_offset_date_time() - by)
            .ok_or_else(|| anyhow::anyhow!("a queue's time would fall before year 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    #[test]
    fn the_backoff_doubles_within_its_jitter_and_stays_between_min_and_max() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(10_000)).unwrap();
        for _ in 0..200 {
            for (attempt, undelayed) in [(1, 100), (2, 200), (3, 400), (4, 800), (6, 3_200)] {
                let delay = backoff.delay(n(attempt)).as_millis();
                assert!(
                    (undelayed..2 * undelayed).contains(&delay),
                    "attempt {attempt}: {delay} ms not in [{undelayed}, {})",
                    2 * undelayed
                );
            }
            // The undelayed value stops at half the maximum; with the jitter, below the maximum.
            for attempt in [8, 30, 64, 1_000, u32::MAX] {
                let delay = backoff.delay(n(attempt)).as_millis();
                assert!((5_000..=10_000).contains(&delay), "attempt {attempt}: {delay} ms");
            }
        }
    }

    #[test]
    fn the_jitter_spreads_the_delays() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60)).unwrap();
        let delays: std::collections::BTreeSet<Duration> = (0..50).map(|_| backoff.delay(n(3))).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn a_backoff_with_equal_min_and_max_is_that_delay() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(2)).unwrap();
        assert_eq!(backoff.delay(n(1)), Duration::from_secs(2));
        assert_eq!(backoff.delay(n(9)), Duration::from_secs(2));
        assert!(Backoff::new(Duration::from_secs(3), Duration::from_secs(2)).is_err());
    }

    #[test]
    fn a_budget_of_attempts_allows_that_many() {
        let budget = Budget::Attempts(n(3));
        let now = Timestamp::now();
        assert!(budget.allows_another(1, now, now));
        assert!(budget.allows_another(2, now, now));
        assert!(!budget.allows_another(3, now, now));
        assert_eq!(budget.spent(3), "gave up after 3 attempts");
    }

    #[test]
    fn a_budget_of_time_allows_attempts_until_it_has_passed() {
        let budget = Budget::Time(Duration::from_secs(3_600));
        let since = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        let at = |text: &str| Timestamp::parse(text).unwrap();
        assert!(budget.allows_another(1_000, since, at("2026-12-01T10:59:59Z")));
        assert!(!budget.allows_another(1, since, at("2026-12-01T11:00:00Z")));
        assert_eq!(budget.spent(7), "gave up after 3600s (7 attempts)");
    }

    #[test]
    fn budgets_parse_from_words() {
        assert_eq!(Budget::parse("50 attempts"), Ok(Budget::Attempts(n(50))));
        assert_eq!(Budget::parse("1 attempt"), Ok(Budget::Attempts(n(1))));
        assert_eq!(Budget::parse("24 hours"), Ok(Budget::Time(Duration::from_secs(86_400))));
        assert_eq!(
            Budget::parse(" 2 days "),
            Ok(Budget::Time(Duration::from_secs(172_800)))
        );
        assert_eq!(
            Budget::parse("90 minutes"),
            Ok(Budget::Time(Duration::from_secs(5_400)))
        );
        for wrong in [
            "",
            "50",
            "0 attempts",
            "-1 hours",
            "5 fortnights",
            "ten attempts",
            "99999999999 attempts",
        ] {
            assert!(Budget::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn every_wrong_key_is_named() {
        let keys = PolicyKeys {
            batch_size: n(10),
            poll_interval_ms: NonZeroU64::new(100).unwrap(),
            lease_seconds: NonZeroU64::new(30).unwrap(),
            backoff_min_ms: NonZeroU64::new(10).unwrap(),
            backoff_max_ms: NonZeroU64::new(5).unwrap(),
            retry_budget: Budget::Attempts(n(5)),
            dead_retention_days: Some(n(4000)),
        };
        assert_eq!(
            Policy::from_keys("pairing", &keys).unwrap_err(),
            [
                "pairing.backoff_max_ms: must not be below pairing.backoff_min_ms",
                "pairing.dead_retention_days: must be 1 to 3650",
            ]
        );
        let keys = PolicyKeys {
            backoff_max_ms: NonZeroU64::new(50).unwrap(),
            dead_retention_days: Some(n(30)),
            ..keys
        };
        let policy = Policy::from_keys("pairing", &keys).unwrap();
        assert_eq!(policy.dead_retention, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(policy.lease, Duration::from_secs(30));
    }
}

#[cfg(test)]
mod retry_after_tests {
    use crate::queue::retry_after;
    use http::{header::RETRY_AFTER, HeaderMap, HeaderValue};
    use std::time::Duration;

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3600)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }
}
