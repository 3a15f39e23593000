//! The `[gdpr]` section.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::configuration::Environment;
use service_kit::queue::QueueSettings;
use std::time::Duration;

/// The participants gdpr-orchestrator knows, by the name they appear under in requests.
pub const RESULT_INGEST: &str = "result-ingest";
pub const COMM_HISTORY: &str = "comm-history-writer";
pub const PAIRING: &str = "interaction-pairing";
pub const GENESYS_CLOUD: &str = "genesys-cloud";
/// Requests the worker takes up a pass, one claim at a time.
const REQUESTS_PER_PASS: u32 = 8;
const KNOWN: [&str; 4] = [RESULT_INGEST, COMM_HISTORY, PAIRING, GENESYS_CLOUD];

#[derive(Debug, Clone, Deserialize)]
pub struct GdprSettings {
    pub result_ingest_url: String,
    pub comm_history_url: String,
    pub pairing_url: String,
    /// genesys-gateway, the participant for Genesys Cloud.
    pub gateway_url: String,
    /// Bearer token for the participants. Never logged.
    pub internal_token: SecretString,
    /// Participant names, comma-separated, in the order they run.
    pub order: String,
    pub request_timeout_ms: u64,
    pub grace_hours: u64,
    pub identifier_retention_days: u64,
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
    pub confirmation_timeout_days: u64,
    pub worker_enabled: bool,
    pub poll_interval_ms: u64,
    pub lease_seconds: u64,
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    pub external_poll_seconds: u64,
}

/// A participant and where it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub name: &'static str,
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
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!("{key}: must be an http(s) URL"));
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
        if self.lease_seconds.saturating_mul(1000) < self.request_timeout_ms.saturating_mul(2) {
            problems.push(format!(
                "gdpr.lease_seconds: must be at least twice gdpr.request_timeout_ms ({} s), so no call outlives the lease",
                self.request_timeout_ms.saturating_mul(2).div_ceil(1000)
            ));
        }
        let names: Vec<&str> = self.order.split(',').map(str::trim).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        let mut known = KNOWN.to_vec();
        known.sort_unstable();
        if sorted != known {
            problems.push(format!(
                "gdpr.order: must name each of {} exactly once",
                KNOWN.join(", ")
            ));
        }
        // result-ingest's forget waits until no worker can still write the subject's records;
        // comm-history-writer's, after it, then catches every one.
        let position = |name: &str| names.iter().position(|n| *n == name);
        if let (Some(ingest), Some(writer)) = (position("result-ingest"), position("comm-history-writer")) {
            if writer < ingest {
                problems.push("gdpr.order: result-ingest must come before comm-history-writer".to_owned());
            }
        }
        if let Err(queue) = self.queue() {
            problems.extend(queue);
        }
        for (key, value) in [
            ("gdpr.request_timeout_ms", self.request_timeout_ms),
            ("gdpr.external_poll_seconds", self.external_poll_seconds),
            ("gdpr.identifier_retention_days", self.identifier_retention_days),
            ("gdpr.confirmation_timeout_days", self.confirmation_timeout_days),
        ] {
            if value == 0 {
                problems.push(format!("{key}: must be at least 1"));
            }
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
            .split(',')
            .map(str::trim)
            .filter_map(|name| {
                let (name, url) = match name {
                    RESULT_INGEST => (RESULT_INGEST, &self.result_ingest_url),
                    COMM_HISTORY => (COMM_HISTORY, &self.comm_history_url),
                    PAIRING => (PAIRING, &self.pairing_url),
                    GENESYS_CLOUD => (GENESYS_CLOUD, &self.gateway_url),
                    _ => return None,
                };
                Some(Participant { name, url: url.clone() })
            })
            .collect()
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_hours * 3600)
    }

    pub fn identifier_retention(&self) -> Duration {
        Duration::from_secs(self.identifier_retention_days * 86_400)
    }

    pub fn confirmation_timeout(&self) -> Duration {
        Duration::from_secs(self.confirmation_timeout_days * 86_400)
    }

    /// How the worker works the requests: one at a time, `REQUESTS_PER_PASS` a pass.
    pub fn queue(&self) -> Result<QueueSettings, Vec<String>> {
        QueueSettings::new(
            "gdpr",
            REQUESTS_PER_PASS,
            self.poll_interval_ms,
            self.lease_seconds,
            self.backoff_min_ms,
            self.backoff_max_ms,
        )
    }

    pub fn external_poll(&self) -> Duration {
        Duration::from_secs(self.external_poll_seconds)
    }
}
