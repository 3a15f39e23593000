//! Content's own share of the Genesys budget: every Genesys request the content route makes takes
//! a permit of `content.rate_limit_per_minute` before the gateway's shared limiter, so however many
//! transcripts are asked for, the rest of `genesys.rate_limit_per_minute` stays for the record's
//! path (names), the sweep and GDPR. Without a permit the route answers 503 with `Retry-After`
//! at once: the content queue asks again later, nothing waits in line here.

use crate::error::UpstreamError;
use crate::upstream::GenesysApi;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use std::time::Duration;

pub struct ContentBudget {
    limiter: DefaultDirectRateLimiter,
}

impl ContentBudget {
    pub fn new(per_minute: std::num::NonZeroU32, burst: std::num::NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// `GET` through the shared client, once content's share allows one more request.
    pub async fn get<T: DeserializeOwned>(
        &self,
        api: &GenesysApi,
        endpoint: &'static str,
        path: &str,
    ) -> Result<T, UpstreamError> {
        if let Err(not_until) = self.limiter.check() {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(UpstreamError::Unavailable {
                // Whole seconds, at least one: what `Retry-After` can say.
                retry_after: Duration::from_secs(wait.as_secs() + 1),
                reason: "content's share of the Genesys budget (content.rate_limit_per_minute) is spent".to_owned(),
            });
        }
        api.get(endpoint, path, &[]).await
    }
}
