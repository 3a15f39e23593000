//! How content jobs ended, a fixed word each: `ccbridge_ingest_content_total{outcome}`. The
//! queue's own metrics are service-kit's: `ccbridge_queue_*{queue="ingest_content"}`.

use prometheus::{IntCounterVec, Opts, Registry};

/// How a job ended (the metric's `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The body was set on the record.
    Added,
    /// Genesys held no content of the record's kind within `ingest.content.wait_for`.
    None,
    /// The writer refused it: a GDPR request holds the record, or it is gone.
    Refused,
}

impl Ended {
    pub const ALL: [Self; 3] = [Self::Added, Self::None, Self::Refused];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::None => "none",
            Self::Refused => "refused",
        }
    }
}

#[derive(Clone)]
pub struct ContentMetrics {
    ended: IntCounterVec,
}

impl ContentMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let ended = IntCounterVec::new(
            Opts::new(
                "ccbridge_ingest_content_total",
                "Content jobs ended, by outcome: added, none (no content within wait_for), refused",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(ended.clone()))?;
        for outcome in Ended::ALL {
            ended.with_label_values(&[outcome.as_str()]);
        }
        Ok(Self { ended })
    }

    pub fn count(&self, outcome: Ended) {
        self.ended.with_label_values(&[outcome.as_str()]).inc();
    }

    /// How many jobs ended so.
    pub fn ended(&self, outcome: Ended) -> u64 {
        self.ended.with_label_values(&[outcome.as_str()]).get()
    }
}
