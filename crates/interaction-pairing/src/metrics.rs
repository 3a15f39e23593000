//! The pairings' own metrics (the outbox's are every queue's: `ccbridge_queue_*{queue="pairing_outbox"}`).
//! Labels are fixed words, never ids or personal data.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// The pairings' expiry ([`crate::worker`]'s housekeeping).
pub struct PairingMetrics {
    /// Pairings deleted past their retention: `state` = `current` (`pairing.retention_days`) |
    /// `removed` (`pairing.removed_retention_days`).
    pub expired: IntCounterVec,
    /// Clean-up rounds (pairings, removed pairings, the outbox's dead letters) that deleted
    /// nothing more because gdpr-orchestrator could not be asked for the legal holds in force.
    pub expiry_skipped: IntCounter,
}

impl PairingMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            expired: IntCounterVec::new(
                Opts::new(
                    "ccbridge_pairing_expired_total",
                    "Pairings deleted past their retention (a legal hold keeps the rest), by state",
                ),
                &["state"],
            )?,
            expiry_skipped: IntCounter::new(
                "ccbridge_pairing_expiry_skipped_total",
                "Pairing clean-up rounds that deleted nothing more: the legal holds in force could not be asked for",
            )?,
        };
        registry.register(Box::new(metrics.expired.clone()))?;
        registry.register(Box::new(metrics.expiry_skipped.clone()))?;
        Ok(metrics)
    }
}
