//! `[records]`: how long the history keeps what it needs to answer a retry, and whether a record
//! nobody paired may take its customer from its handle.

use std::time::Duration;

/// The `[records]` section.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordsSettings {
    pub idempotency_retention_days: u64,
    /// A record written without a customer takes the one customer its handle belongs to (over the
    /// last `auto_assign_window_days`; never a shared handle). Off by default: an inference.
    pub auto_assign_by_handle: bool,
    pub auto_assign_window_days: u64,
}

impl RecordsSettings {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.idempotency_retention_days < 2 {
            problems.push("records.idempotency_retention_days: must be at least 2".to_owned());
        }
        if !(1..=3650).contains(&self.auto_assign_window_days) {
            problems.push("records.auto_assign_window_days: must be 1 to 3650".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// How far back a handle's customer counts, when auto-assignment is on.
    pub fn auto_assign_window(&self) -> Option<Duration> {
        self.auto_assign_by_handle
            .then(|| Duration::from_secs(self.auto_assign_window_days.saturating_mul(86_400)))
    }
}
