//! The history's own metrics. Labels are fixed words, never ids or personal data.

use prometheus::{IntCounter, IntGauge, Registry};

pub struct RecordsMetrics {
    /// Records nobody attributed (no customer), refreshed every 30 s.
    pub unassigned: IntGauge,
    /// Age of the oldest of them, by when the communication happened.
    pub oldest_unassigned_age_seconds: IntGauge,
    /// Records that took their customer from their handle (`records.auto_assign_by_handle`).
    pub auto_assigned: IntCounter,
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
        };
        registry.register(Box::new(metrics.unassigned.clone()))?;
        registry.register(Box::new(metrics.oldest_unassigned_age_seconds.clone()))?;
        registry.register(Box::new(metrics.auto_assigned.clone()))?;
        Ok(metrics)
    }
}
