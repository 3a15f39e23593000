//! The `[gdpr]` section.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::configuration::Environment;
use std::num::NonZeroU64;
use std::time::Duration;
use url::Url;

/// The participants gdpr-orchestrator knows, by the name they appear under in requests.
pub const RESULT_INGEST: &str = "result-ingest";
pub const COMM_HISTORY: &str = "comm-history-writer";
pub const PAIRING: &str = "interaction-pairing";
pub const GENESYS_CLOUD: &str = "genesys-cloud";
const KNOWN: [&str; 4] = [RESULT_INGEST, COMM_HISTORY, PAIRING, GENESYS_CLOUD];

/// A participant the orchestrator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantName {
    ResultIngest,
    CommHistory,
    Pairing,
    GenesysCloud,
}

impl ParticipantName {
    const ALL: [Self; 4] = [Self::ResultIngest, Self::CommHistory, Self::Pairing, Self::GenesysCloud];

    /// The name it appears under in requests (and `gdpr.order`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResultIngest => RESULT_INGEST,
            Self::CommHistory => COMM_HISTORY,
            Self::Pairing => PAIRING,
            Self::GenesysCloud => GENESYS_CLOUD,
        }
    }
}

/// `gdpr.order`: each known participant named once, comma-separated, parsed into their names.
fn participant_order<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ParticipantName>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let mut order = Vec::new();
    for name in text.split(',').map(str::trim) {
        let known = ParticipantName::ALL
            .into_iter()
            .find(|known| known.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("names {name:?}, not one of {}", KNOWN.join(", "))))?;
        if order.contains(&known) {
            return Err(serde::de::Error::custom(format!("names {} twice", known.as_str())));
        }
        order.push(known);
    }
    if order.len() != KNOWN.len() {
        return Err(serde::de::Error::custom(format!(
            "must name each of {} exactly once",
            KNOWN.join(", ")
        )));
    }
    Ok(order)
}

/// `gdpr.request_timeout_ms`, named when it is 0 (a `NonZeroU64`'s own error names the section
/// only).
fn request_timeout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NonZeroU64, D::Error> {
    NonZeroU64::new(u64::deserialize(deserializer)?)
        .ok_or_else(|| serde::de::Error::custom("gdpr.request_timeout_ms: must be at least 1"))
}

#[derive(Debug, Clone, Deserialize)]
pub struct GdprSettings {
    pub result_ingest_url: Url,
    pub comm_history_url: Url,
    pub pairing_url: Url,
    /// genesys-gateway, the participant for Genesys Cloud.
    pub gateway_url: Url,
    /// Bearer token for the participants. Never logged.
    pub internal_token: SecretString,
    /// The participants' names, in the order they run (each known one once).
    #[serde(deserialize_with = "participant_order")]
    pub order: Vec<ParticipantName>,
    /// A participant call's timeout.
    #[serde(deserialize_with = "request_timeout")]
    pub request_timeout_ms: NonZeroU64,
    pub grace_hours: u64,
    pub identifier_retention_days: NonZeroU64,
    /// HMAC key for subject fingerprints. Never logged.
    pub identifier_key: SecretString,
    /// HMAC key of the audit chain. Never logged.
    pub audit_key: SecretString,
    /// AES-256 key export data is sealed with at rest (`aes256:<base64>`). Never logged.
    pub bundle_key: SecretString,
    /// Ed25519 key participant calls are signed with (`ed25519:<base64 seed>`). Never logged.
    pub signing_key: SecretString,
    /// A FORGET is confirmed by another person than the one who filed it. `false` (one person
    /// alone) is refused outside development.
    pub four_eyes: bool,
    /// A FORGET not confirmed within this many days expires, and its subject is erased.
    pub confirmation_timeout_days: NonZeroU64,
    pub worker_enabled: bool,
    /// The queue's lease (with `batch_size`, `poll_interval_ms`, `backoff_min_ms`,
    /// `backoff_max_ms` and `retry_budget`, read by `service_kit::queue::Policy::read`).
    pub lease_seconds: NonZeroU64,
    pub external_poll_seconds: NonZeroU64,
    /// Not a key of this queue, refused at start by name: a GDPR request that became a dead
    /// letter has a legal due date and is kept until an operator retries it (`/gdpr/queue`),
    /// never deleted by age (`service_kit::queue::Policy::read` would accept it for any queue).
    #[serde(default)]
    dead_retention_days: Option<serde::de::IgnoredAny>,
}

/// A participant and where it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub name: &'static str,
    /// Its base address (`gdpr.<participant>_url`, parsed at start).
    pub url: String,
}

impl GdprSettings {
    /// What is wrong with these settings in `environment`.
    pub fn validate(&self, environment: Environment) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        // One person alone must not erase a customer outside a development machine.
        if !self.four_eyes && environment != Environment::Development {
            problems.push(
                "gdpr.four_eyes: must be true outside development (a FORGET is filed and confirmed by two persons the identity provider signed in)"
                    .to_owned(),
            );
        }
        for (key, url) in [
            ("gdpr.result_ingest_url", &self.result_ingest_url),
            ("gdpr.comm_history_url", &self.comm_history_url),
            ("gdpr.pairing_url", &self.pairing_url),
            ("gdpr.gateway_url", &self.gateway_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
                problems.push(format!("{key}: must be an http(s) URL without a query"));
            }
        }
        if self.internal_token.expose_secret().len() < 16 {
            problems.push("gdpr.internal_token: must be set (at least 16 characters)".to_owned());
        }
        for (key, secret) in [
            ("gdpr.identifier_key", &self.identifier_key),
            ("gdpr.audit_key", &self.audit_key),
        ] {
            if secret.expose_secret().len() < 32 {
                problems.push(format!("{key}: must be set (at least 32 characters)"));
            }
        }
        if let Err(reason) = crate::bundle::BundleKey::new(&self.bundle_key) {
            problems.push(reason);
        }
        if let Err(reason) = gdpr_participant::CallSigner::from_setting(&self.signing_key) {
            problems.push(format!("gdpr.signing_key: {reason}"));
        }
        // The worker renews its lease before each participant call: the lease must outlast one.
        if self.lease_seconds.get().saturating_mul(1000) < self.request_timeout_ms.get().saturating_mul(2) {
            problems.push(format!(
                "gdpr.lease_seconds: must be at least twice gdpr.request_timeout_ms ({} s), so no call outlives the lease",
                self.request_timeout_ms.get().saturating_mul(2).div_ceil(1000)
            ));
        }
        // result-ingest's forget waits until no worker can still write the subject's records;
        // comm-history-writer's, after it, then catches every one.
        let position = |name: &str| self.order.iter().position(|n| n.as_str() == name);
        if let (Some(ingest), Some(writer)) = (position("result-ingest"), position("comm-history-writer")) {
            if writer < ingest {
                problems.push("gdpr.order: result-ingest must come before comm-history-writer".to_owned());
            }
        }
        if self.dead_retention_days.is_some() {
            problems.push(
                "gdpr.dead_retention_days: not accepted: a GDPR request's dead letter has a legal due date and is kept until an operator retries it (/gdpr/queue), never deleted by age"
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The participants in the configured order.
    pub fn participants(&self) -> Vec<Participant> {
        self.order
            .iter()
            .map(|&name| {
                let url = match name {
                    ParticipantName::ResultIngest => &self.result_ingest_url,
                    ParticipantName::CommHistory => &self.comm_history_url,
                    ParticipantName::Pairing => &self.pairing_url,
                    ParticipantName::GenesysCloud => &self.gateway_url,
                };
                Participant {
                    name: name.as_str(),
                    url: url.as_str().trim_end_matches('/').to_owned(),
                }
            })
            .collect()
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_hours.saturating_mul(3600))
    }

    pub fn identifier_retention(&self) -> Duration {
        Duration::from_secs(self.identifier_retention_days.get().saturating_mul(86_400))
    }

    pub fn confirmation_timeout(&self) -> Duration {
        Duration::from_secs(self.confirmation_timeout_days.get().saturating_mul(86_400))
    }

    pub fn external_poll(&self) -> Duration {
        Duration::from_secs(self.external_poll_seconds.get())
    }
}
