//! `[records]`: how long the history keeps what it needs to answer a retry.

/// The `[records]` section.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordsSettings {
    pub idempotency_retention_days: u64,
}

impl RecordsSettings {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        if self.idempotency_retention_days < 2 {
            return Err(vec!["records.idempotency_retention_days: must be at least 2".to_owned()]);
        }
        Ok(())
    }
}
