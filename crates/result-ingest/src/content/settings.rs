//! `[ingest.content]`: which channels' records get what was said or written, how long a
//! transcript that has not appeared is waited for, the size a body is cut to, and the content
//! queue's policy (the keys every queue has).

use domain::Channel;
use serde::Deserialize;
use service_kit::queue::{Budget, Policy, PolicyKeys};
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

/// The most characters a record's body holds (`NewCommunicationRecord::body`'s bound).
pub const RECORD_BODY_MAX: u32 = 100_000;

/// The channels Genesys holds content of: a Speech and Text Analytics transcript (voice, chat,
/// messaging), or the e-mail's text.
pub const WITH_CONTENT: [Channel; 4] = [Channel::Voice, Channel::Chat, Channel::Sms, Channel::Email];

#[derive(Debug, Clone, Deserialize)]
pub struct ContentSettings {
    /// The channels whose records get their content (`VOICE`, `CHAT`, `SMS`, `EMAIL`); none by
    /// default. A list, or one string of names separated by commas (an environment variable).
    #[serde(deserialize_with = "channels")]
    pub channels: Vec<Channel>,
    /// A job's first ask, this long after its record: Speech and Text Analytics transcribes a
    /// conversation after it ended, so asking at once mostly spends a Genesys request on a 404.
    pub first_ask_after: WaitFor,
    /// How long after the record a transcript that has not appeared is asked for again (with the
    /// queue's backoff); then the job ends without a body, counted as `none`.
    pub wait_for: WaitFor,
    /// A body longer than this many characters is cut to it (at a character's boundary).
    pub max_body_chars: NonZeroU32,
    // The queue keys every queue has (service_kit::queue::PolicyKeys).
    pub batch_size: NonZeroU32,
    pub poll_interval_ms: NonZeroU64,
    pub lease_seconds: NonZeroU64,
    pub backoff_min_ms: NonZeroU64,
    pub backoff_max_ms: NonZeroU64,
    /// Failures (the gateway or the writer down, refusing) are retried this long or this many
    /// times, then the job is a dead letter; a transcript not there yet is waited for within it.
    pub retry_budget: Budget,
    pub dead_retention_days: NonZeroU32,
}

/// A time to wait: `"<n> seconds|minutes|hours|days"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitFor(pub Duration);

impl<'de> Deserialize<'de> for WaitFor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const EXPECTED: &str = "must be \"<n> seconds|minutes|hours|days\", n at least 1";
        match Budget::deserialize(deserializer) {
            Ok(Budget::Time(duration)) => Ok(Self(duration)),
            Ok(Budget::Attempts(_)) | Err(_) => Err(serde::de::Error::custom(EXPECTED)),
        }
    }
}

/// A list of channel names, or one string of them separated by commas; each kept once. The error
/// names the key: serde's own message does not say which list held the name.
fn channels<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Channel>, D::Error> {
    Channel::parse_list(service_kit::configuration::list_or_comma_separated(deserializer)?)
        .map_err(|unknown| serde::de::Error::custom(format!("ingest.content.channels: {unknown}")))
}

impl ContentSettings {
    /// Whether records of `channel` get their content.
    pub fn is_on(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    /// `request_timeout_ms` is `ingest.request_timeout_ms`: a job's two calls must fit its lease.
    pub fn validate(&self, request_timeout_ms: u64) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(channel) = self.channels.iter().find(|c| !WITH_CONTENT.contains(c)) {
            problems.push(format!(
                "ingest.content.channels: {channel} has no content in Genesys (VOICE, CHAT, SMS, EMAIL do)"
            ));
        }
        if self.first_ask_after.0 >= self.wait_for.0 {
            problems.push("ingest.content.first_ask_after: must be shorter than ingest.content.wait_for".to_owned());
        }
        if self.max_body_chars.get() > RECORD_BODY_MAX {
            problems.push(format!(
                "ingest.content.max_body_chars: at most {RECORD_BODY_MAX} (a record's body)"
            ));
        }
        if let Budget::Time(budget) = self.retry_budget {
            if budget <= self.wait_for.0 {
                problems.push(
                    "ingest.content.retry_budget: must be longer than ingest.content.wait_for (a transcript \
                     not there yet is waited for within the budget)"
                        .to_owned(),
                );
            }
        }
        // The content, then the body: two calls, and one more as margin.
        let worst_ms = 3u64.saturating_mul(request_timeout_ms);
        if self.lease_seconds.get().saturating_mul(1000) < worst_ms {
            problems.push(format!(
                "ingest.content.lease_seconds: must cover a job's two calls and one more as margin ({} s at \
                 ingest.request_timeout_ms {request_timeout_ms})",
                worst_ms.div_ceil(1000)
            ));
        }
        if let Err(queue) = self.policy() {
            problems.extend(queue);
        }
        problems
    }

    /// The content queue's policy: service-kit's, from the same keys as every queue's.
    pub fn policy(&self) -> Result<Policy, Vec<String>> {
        Policy::from_keys(
            "ingest.content",
            &PolicyKeys {
                batch_size: self.batch_size,
                poll_interval_ms: self.poll_interval_ms,
                lease_seconds: self.lease_seconds,
                backoff_min_ms: self.backoff_min_ms,
                backoff_max_ms: self.backoff_max_ms,
                retry_budget: self.retry_budget,
                dead_retention_days: Some(self.dead_retention_days),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings(changes: serde_json::Value) -> Result<ContentSettings, serde_json::Error> {
        let mut keys = serde_json::json!({
            "channels": [], "first_ask_after": "2 minutes", "wait_for": "24 hours", "max_body_chars": 20000, "batch_size": 5,
            "poll_interval_ms": 1000, "lease_seconds": 60, "backoff_min_ms": 60000,
            "backoff_max_ms": 1800000, "retry_budget": "48 hours", "dead_retention_days": 30,
        });
        for (key, value) in changes.as_object().unwrap() {
            keys[key] = value.clone();
        }
        serde_json::from_value(keys)
    }

    fn problems(changes: serde_json::Value) -> Vec<String> {
        settings(changes).unwrap().validate(5000)
    }

    #[test]
    fn channels_are_a_list_or_comma_separated_text_of_those_with_content() {
        let listed = settings(serde_json::json!({ "channels": ["VOICE", "email"] })).unwrap();
        assert_eq!(listed.channels, [Channel::Voice, Channel::Email]);
        let text = settings(serde_json::json!({ "channels": "CHAT, SMS,CHAT" })).unwrap();
        assert_eq!(text.channels, [Channel::Chat, Channel::Sms]);
        let fax = settings(serde_json::json!({ "channels": "FAX" }))
            .unwrap_err()
            .to_string();
        assert!(fax.starts_with("ingest.content.channels: unknown channel"), "{fax}");
        let video = problems(serde_json::json!({ "channels": ["VIDEO"] }));
        assert!(video[0].starts_with("ingest.content.channels: VIDEO"), "{video:?}");
        assert!(problems(serde_json::json!({})).is_empty());
    }

    #[test]
    fn the_size_the_wait_and_the_budget_are_checked() {
        let size = problems(serde_json::json!({ "max_body_chars": 100_001 }));
        assert!(size[0].starts_with("ingest.content.max_body_chars"), "{size:?}");
        assert!(settings(serde_json::json!({ "max_body_chars": 0 })).is_err());
        assert!(settings(serde_json::json!({ "wait_for": "5 attempts" })).is_err());
        let budget = problems(serde_json::json!({ "retry_budget": "24 hours" }));
        assert!(budget[0].starts_with("ingest.content.retry_budget"), "{budget:?}");
        let first = problems(serde_json::json!({ "first_ask_after": "1 day" }));
        assert!(first[0].starts_with("ingest.content.first_ask_after"), "{first:?}");
        let lease = problems(serde_json::json!({ "lease_seconds": 10 }));
        assert!(lease[0].starts_with("ingest.content.lease_seconds"), "{lease:?}");
    }
}
