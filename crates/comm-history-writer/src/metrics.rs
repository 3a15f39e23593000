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
    /// Pairings that came after the record and found it named (by participant data) another
    /// customer: the paired one became the record's, the other kept a copy.
    pub customer_conflicts: IntCounter,
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
            customer_conflicts: IntCounter::new(
                "ccbridge_records_customer_conflicts_total",
                "Pairings after the record whose customer participant data named another one (the paired became the record's)",
            )?,
        };
        registry.register(Box::new(metrics.customer_conflicts.clone()))?;
        registry.register(Box::new(metrics.suppressed.clone()))?;
        registry.register(Box::new(metrics.unassigned.clone()))?;
        registry.register(Box::new(metrics.oldest_unassigned_age_seconds.clone()))?;
        registry.register(Box::new(metrics.auto_assigned.clone()))?;
        Ok(metrics)
    }
}

/// The delivery outbox's own metric (`[delivery]`); the rest are every queue's
/// (`ccbridge_queue_*{queue="delivery_outbox"}`, `service_kit::queue`).
#[derive(Clone)]
pub struct DeliveryMetrics {
    /// Entries sent again after an attempt got no answer: what a manager without idempotency
    /// may hold twice (at most one duplicate each).
    pub resent_unanswered: IntCounter,
}

impl DeliveryMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            resent_unanswered: IntCounter::new(
                "ccbridge_records_delivery_resent_unanswered_total",
                "Deliveries sent again after an attempt that got no answer",
            )?,
        };
        registry.register(Box::new(metrics.resent_unanswered.clone()))?;
        Ok(metrics)
    }
}

/// The records' expiry ([`crate::expiry`]). Counts only: no label names a record or a person.
pub struct ExpiryMetrics {
    /// Records erased past their retention.
    pub expired: IntCounter,
    /// Rounds in which nothing expired because gdpr-orchestrator could not be asked for the legal
    /// holds in force (or `records.orchestrator_token` is not set).
    pub skipped: IntCounter,
    /// Copies at the communication-history-manager of records erased past their retention.
    pub delivered: IntCounter,
}

impl ExpiryMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            expired: IntCounter::new(
                "ccbridge_records_expired_total",
                "Records erased past their retention (a legal hold or statutory rule keeps the rest)",
            )?,
            skipped: IntCounter::new(
                "ccbridge_records_expiry_skipped_total",
                "Expiry rounds in which nothing expired: gdpr-orchestrator could not be asked for the legal holds",
            )?,
            delivered: IntCounter::new(
                "ccbridge_records_expired_delivered_total",
                "Copies at the communication-history-manager of records erased past their retention",
            )?,
        };
        registry.register(Box::new(metrics.expired.clone()))?;
        registry.register(Box::new(metrics.skipped.clone()))?;
        registry.register(Box::new(metrics.delivered.clone()))?;
        Ok(metrics)
    }
}
