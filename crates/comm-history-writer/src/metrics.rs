//! The history's own metrics. Labels are fixed words, never ids or personal data.

use prometheus::{IntCounter, IntGauge, Registry};

pub struct RecordsMetrics {
    /// Records nobody attributed (no customer), refreshed every 30 s.
    pub unassigned: IntGauge,
    /// Age of the oldest of them, by when the communication happened.
    pub oldest_unassigned_age_seconds: IntGauge,
    /// Records that took their customer from their handle (`records.auto_assign_by_handle`).
    pub auto_assigned: IntCounter,
    /// Writes and assignments refused because a purged GDPR forget erased them.
    pub suppressed: IntCounter,
}

impl RecordsMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            unassigned: IntGauge::new("ccbridge_records_unassigned", "Records without a customer")?,
            oldest_unassigned_age_seconds: IntGauge::new(
                "ccbridge_records_oldest_unassigned_age_seconds",
                "Age of the oldest record without a customer",
            )?,
            auto_assigned: IntCounter::new(
                "ccbridge_records_auto_assigned_total",
                "Records given the one customer their handle belongs to",
            )?,
            suppressed: IntCounter::new(
                "ccbridge_records_suppressed_total",
                "Writes and assignments refused because a purged GDPR forget erased them",
            )?,
        };
        registry.register(Box::new(metrics.suppressed.clone()))?;
        registry.register(Box::new(metrics.unassigned.clone()))?;
        registry.register(Box::new(metrics.oldest_unassigned_age_seconds.clone()))?;
        registry.register(Box::new(metrics.auto_assigned.clone()))?;
        Ok(metrics)
    }
}

/// The delivery outbox's metrics (`[delivery]`).
#[derive(Clone)]
pub struct DeliveryMetrics {
    /// Attempts by `result`: `delivered`, `retry` (down, slow, 5xx, 429), `dead`, `held` (a GDPR
    /// forget came between the claim and the send: nothing sent).
    pub attempts: prometheus::IntCounterVec,
    /// Entries sent again after an attempt got no answer: what a manager without idempotency
    /// may hold twice (at most one duplicate each).
    pub resent_unanswered: IntCounter,
    /// Entries waiting, refreshed by the worker's housekeeping.
    pub pending: IntGauge,
    /// Dead letters waiting for an operator.
    pub dead: IntGauge,
    /// Age of the oldest waiting entry.
    pub oldest_pending_age_seconds: IntGauge,
}

impl DeliveryMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            attempts: prometheus::IntCounterVec::new(
                prometheus::Opts::new(
                    "ccbridge_records_delivery_attempts_total",
                    "Deliveries to the communication-history-manager by result",
                ),
                &["result"],
            )?,
            resent_unanswered: IntCounter::new(
                "ccbridge_records_delivery_resent_unanswered_total",
                "Deliveries sent again after an attempt that got no answer",
            )?,
            pending: IntGauge::new(
                "ccbridge_records_delivery_pending",
                "Deliveries waiting for the communication-history-manager",
            )?,
            dead: IntGauge::new("ccbridge_records_delivery_dead", "Dead-lettered deliveries")?,
            oldest_pending_age_seconds: IntGauge::new(
                "ccbridge_records_delivery_oldest_pending_age_seconds",
                "Age of the oldest waiting delivery",
            )?,
        };
        registry.register(Box::new(metrics.attempts.clone()))?;
        registry.register(Box::new(metrics.resent_unanswered.clone()))?;
        registry.register(Box::new(metrics.pending.clone()))?;
        registry.register(Box::new(metrics.dead.clone()))?;
        registry.register(Box::new(metrics.oldest_pending_age_seconds.clone()))?;
        Ok(metrics)
    }
}
