//! Why a call to Genesys Cloud gave no answer, and what the gateway answers its callers then.

use std::time::Duration;

/// Why an upstream call gave no answer worth passing on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("not found in Genesys Cloud")]
    NotFound,
    /// Down, slow or rate-limiting: worth retrying after `retry_after`.
    #[error("Genesys Cloud is unavailable: {reason}")]
    Unavailable { retry_after: Duration, reason: String },
    /// Genesys refused what we sent (credentials, permissions, a request it calls invalid).
    #[error("{0}")]
    Refused(String),
    /// Genesys answered a body that does not fit its documented model: `at` is the path of the
    /// failing field (never its value). Counted and logged where it was found (`crate::body`).
    #[error("Genesys Cloud answered {endpoint} with a body that does not match its documented model (at {at})")]
    Unparsed { endpoint: &'static str, at: String },
}

impl UpstreamError {
    pub fn transient(reason: String) -> Self {
        Self::Unavailable {
            retry_after: Duration::from_secs(5),
            reason,
        }
    }
}

impl From<UpstreamError> for service_kit::problem::ApiError {
    fn from(error: UpstreamError) -> Self {
        use service_kit::problem::ApiError;
        match error {
            UpstreamError::NotFound => ApiError::NotFound("Genesys Cloud does not know this id".to_owned()),
            UpstreamError::Unavailable { retry_after, reason } => ApiError::Unavailable {
                retry_after_seconds: u32::try_from(retry_after.as_secs().max(1)).unwrap_or(u32::MAX),
                cause: anyhow::anyhow!(reason),
            },
            UpstreamError::Refused(detail) => ApiError::BadGateway(detail),
            unparsed @ UpstreamError::Unparsed { .. } => ApiError::BadGateway(unparsed.to_string()),
        }
    }
}
