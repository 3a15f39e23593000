//! Every queue's metrics, named one way: `ccbridge_queue_*`, the queue in the `queue` label (a
//! fixed word, [`super::Storage::QUEUE`]), outcomes as fixed words.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct QueueMetrics {
    /// `ccbridge_queue_settled_total{queue, outcome}`: `done`, `retry`, `dead`, `postponed`.
    pub settled: IntCounterVec,
    /// `ccbridge_queue_depth{queue}`: pending entries, at the last housekeeping.
    pub depth: IntGauge,
    /// `ccbridge_queue_dead{queue}`: dead letters waiting for an operator.
    pub dead: IntGauge,
    /// `ccbridge_queue_parked{queue}`: entries parked until what holds them ends (a GDPR
    /// RESTRICT), not counted in the depth nor the oldest pending age.
    pub parked: IntGauge,
    /// `ccbridge_queue_oldest_pending_age_seconds{queue}`.
    pub oldest_pending_age_seconds: IntGauge,
    /// `ccbridge_queue_dead_deleted_total{queue}`: dead letters deleted past their retention.
    pub dead_deleted: prometheus::IntCounter,
    /// `ccbridge_queue_dead_kept_total{queue}`: dead letters past their retention kept because a
    /// legal hold or a statutory rule covers them (counted each round they are kept).
    pub dead_kept: prometheus::IntCounter,
    /// `ccbridge_queue_lost_leases_total{queue}`: settlements refused because the claim's lease
    /// had run out (another replica may hold the entry): a worker too slow for its lease.
    pub lost_leases: prometheus::IntCounter,
}

impl QueueMetrics {
    /// Registers `queue`'s metrics (several queues share one registry: the name is a label).
    pub fn register(registry: &Registry, queue: &'static str) -> prometheus::Result<Self> {
        let opts = |name: &str, help: &str| Opts::new(name, help).const_label("queue", queue);
        let metrics = Self {
            settled: IntCounterVec::new(
                opts("ccbridge_queue_settled_total", "Queue entries settled, by outcome"),
                &["outcome"],
            )?,
            depth: IntGauge::with_opts(opts("ccbridge_queue_depth", "Queue entries pending"))?,
            dead: IntGauge::with_opts(opts("ccbridge_queue_dead", "Dead letters waiting for an operator"))?,
            parked: IntGauge::with_opts(opts(
                "ccbridge_queue_parked",
                "Queue entries parked until what holds them back ends (a GDPR restriction)",
            ))?,
            oldest_pending_age_seconds: IntGauge::with_opts(opts(
                "ccbridge_queue_oldest_pending_age_seconds",
                "Age of the oldest pending queue entry",
            ))?,
            dead_deleted: prometheus::IntCounter::with_opts(opts(
                "ccbridge_queue_dead_deleted_total",
                "Dead letters deleted past their retention",
            ))?,
            dead_kept: prometheus::IntCounter::with_opts(opts(
                "ccbridge_queue_dead_kept_total",
                "Dead letters past their retention kept for a legal hold or a statutory rule",
            ))?,
            lost_leases: prometheus::IntCounter::with_opts(opts(
                "ccbridge_queue_lost_leases_total",
                "Settlements refused because the claim's lease had run out",
            ))?,
        };
        registry.register(Box::new(metrics.settled.clone()))?;
        registry.register(Box::new(metrics.depth.clone()))?;
        registry.register(Box::new(metrics.dead.clone()))?;
        registry.register(Box::new(metrics.parked.clone()))?;
        registry.register(Box::new(metrics.oldest_pending_age_seconds.clone()))?;
        registry.register(Box::new(metrics.dead_deleted.clone()))?;
        registry.register(Box::new(metrics.dead_kept.clone()))?;
        registry.register(Box::new(metrics.lost_leases.clone()))?;
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::QueueMetrics;

    #[test]
    fn two_queues_share_a_registry() {
        let registry = prometheus::Registry::new();
        let pairing = QueueMetrics::register(&registry, "pairing_outbox").unwrap();
        let delivery = QueueMetrics::register(&registry, "delivery_outbox").unwrap();
        pairing.settled.with_label_values(&["done"]).inc();
        delivery.dead.set(2);
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains(r#"ccbridge_queue_settled_total{outcome="done",queue="pairing_outbox"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ccbridge_queue_dead{queue="delivery_outbox"} 2"#),
            "{text}"
        );
    }
}
