//! The orchestrator's metrics. Labels are fixed words (statuses, participant names), never ids or
//! personal data.

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

pub struct GdprMetrics {
    pub requests: IntGaugeVec,
    pub overdue: IntGauge,
    pub step_failures: IntCounterVec,
}

impl GdprMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            requests: IntGaugeVec::new(
                Opts::new("ccbridge_gdpr_requests", "GDPR requests by status"),
                &["status"],
            )?,
            overdue: IntGauge::new(
                "ccbridge_gdpr_overdue_requests",
                "Unfinished GDPR requests past their due date (GDPR Art. 12(3))",
            )?,
            step_failures: IntCounterVec::new(
                Opts::new(
                    "ccbridge_gdpr_step_failures_total",
                    "Participant calls that failed and will be retried",
                ),
                &["participant"],
            )?,
        };
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.overdue.clone()))?;
        registry.register(Box::new(metrics.step_failures.clone()))?;
        Ok(metrics)
    }
}
