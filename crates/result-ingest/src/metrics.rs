//! The pipeline's metrics. Labels are fixed words, never ids or personal data. The inbox's queue
//! metrics are service-kit's, named as every queue's: `ccbridge_queue_*{queue="ingest_inbox"}`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

pub struct IngestMetrics {
    pub accepted: IntCounter,
    pub duplicates: IntCounter,
    /// Late deliveries about a subject forgotten after the interaction (GDPR), dropped.
    pub suppressed: IntCounter,
    /// Records written without a name Genesys could not give: `field` = `agent` | `wrapup_code`.
    pub missing: IntCounterVec,
    pub end_to_end_seconds: Histogram,
    /// What the sweep made of the results it found: `outcome` = `recovered` (the webhook never
    /// delivered it), `confirmed` (it had), `suppressed` (a forgotten subject), `unusable`.
    pub sweep_results: IntCounterVec,
    /// Genesys requests (detail query pages) the sweep spent.
    pub sweep_requests: IntCounter,
    /// How far the schedule's watermark is behind now.
    pub sweep_watermark_lag_seconds: IntGauge,
    /// Sweeps pending or running.
    pub sweeps_open: IntGauge,
    /// Processed events erased past `ingest.retention_days` (dead ones:
    /// `ccbridge_queue_dead_deleted_total{queue="ingest_inbox"}`).
    pub expired: IntCounter,
    /// Clean-up rounds (processed or dead events) that erased nothing more because
    /// gdpr-orchestrator could not be asked for the legal holds in force.
    pub expiry_skipped: IntCounter,
    /// Configured participant attributes sent with a value not taken, ignored (the result is
    /// kept): `kind` = `customer_id` | `domain` (the value did not parse) | `channel` (a result of
    /// a channel whose participant data is not trusted, once a result). Never a name or a value.
    pub participant_data_ignored: IntCounterVec,
    /// Results recorded whose participant data named a customer (who has the record).
    pub participant_data_customers: IntCounter,
    /// Interactions the back office paired with customers and whose participant data names one
    /// not among them: both get the record, the pairing's first customer stays the record's.
    /// Counted once an event, when it is processed (a pairing that comes after the record is
    /// counted by comm-history-writer).
    pub customer_conflicts: IntCounter,
}

impl IngestMetrics {
    /// Participant attributes ignored, by why.
    pub fn count_ignored(&self, ignored: &[crate::participant_data::Ignored]) {
        for kind in ignored {
            self.participant_data_ignored.with_label_values(&[kind.as_str()]).inc();
        }
    }

    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let metrics = Self {
            accepted: counter("ccbridge_ingest_accepted_total", "Results accepted into the inbox")?,
            duplicates: counter(
                "ccbridge_ingest_duplicates_total",
                "Results delivered again and recognised",
            )?,
            suppressed: counter(
                "ccbridge_ingest_suppressed_total",
                "Results dropped because their subject was forgotten after the interaction",
            )?,
            missing: IntCounterVec::new(
                Opts::new(
                    "ccbridge_ingest_missing_names_total",
                    "Records written without a name Genesys did not know",
                ),
                &["field"],
            )?,
            end_to_end_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ccbridge_ingest_end_to_end_seconds",
                    "From acceptance to the record written",
                )
                .buckets(vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
                ]),
            )?,
            sweep_results: IntCounterVec::new(
                Opts::new(
                    "ccbridge_ingest_sweep_results_total",
                    "Results the sweep found in Genesys' analytics, by what it made of them",
                ),
                &["outcome"],
            )?,
            sweep_requests: counter(
                "ccbridge_ingest_sweep_genesys_requests_total",
                "Genesys requests (detail query pages) the sweep spent",
            )?,
            sweep_watermark_lag_seconds: IntGauge::new(
                "ccbridge_ingest_sweep_watermark_lag_seconds",
                "How far the sweep's watermark is behind now",
            )?,
            sweeps_open: IntGauge::new("ccbridge_ingest_sweeps_open", "Sweeps pending or running")?,
            expired: counter(
                "ccbridge_ingest_expired_total",
                "Processed inbox events erased past their retention (a legal hold or statutory rule keeps the rest)",
            )?,
            expiry_skipped: counter(
                "ccbridge_ingest_expiry_skipped_total",
                "Inbox clean-up rounds that erased nothing more: the legal holds in force could not be asked for",
            )?,
            participant_data_ignored: IntCounterVec::new(
                Opts::new(
                    "ccbridge_ingest_participant_data_ignored_total",
                    "Configured participant attributes sent with a value not taken (kind: customer_id or domain, which did not parse; channel, not trusted), ignored (the result kept)",
                ),
                &["kind"],
            )?,
            participant_data_customers: counter(
                "ccbridge_ingest_participant_data_customers_total",
                "Results recorded whose participant data named a customer (who has the record)",
            )?,
            customer_conflicts: counter(
                "ccbridge_ingest_customer_conflicts_total",
                "Results whose participant data named a customer the back office's pairing did not",
            )?,
        };
        registry.register(Box::new(metrics.participant_data_ignored.clone()))?;
        registry.register(Box::new(metrics.participant_data_customers.clone()))?;
        registry.register(Box::new(metrics.customer_conflicts.clone()))?;
        registry.register(Box::new(metrics.expired.clone()))?;
        registry.register(Box::new(metrics.expiry_skipped.clone()))?;
        registry.register(Box::new(metrics.sweep_results.clone()))?;
        registry.register(Box::new(metrics.sweep_requests.clone()))?;
        registry.register(Box::new(metrics.sweep_watermark_lag_seconds.clone()))?;
        registry.register(Box::new(metrics.sweeps_open.clone()))?;
        registry.register(Box::new(metrics.accepted.clone()))?;
        registry.register(Box::new(metrics.duplicates.clone()))?;
        registry.register(Box::new(metrics.suppressed.clone()))?;
        registry.register(Box::new(metrics.missing.clone()))?;
        registry.register(Box::new(metrics.end_to_end_seconds.clone()))?;
        Ok(metrics)
    }
}
