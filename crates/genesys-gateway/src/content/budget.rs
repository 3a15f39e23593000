//! Content's own share of the Genesys budget: every Genesys request the content route makes takes
//! a permit of `content.budget_percent` before the gateway's shared limiter, so however many
//! transcripts are asked for, the rest of `genesys.rate_limit_per_minute` stays for the record's
//! path (names), the sweep and GDPR. Without a permit the route answers 503 with `Retry-After`
//! at once: the content queue asks again later, nothing waits in line here.
//!
//! An e-mail's messages are reserved together once the listing names them ([`ContentBudget::reserve`]):
//! an attempt either has a permit for every message before it reads the first, or is answered 503
//! without reading any, so a long thread is never cut off half-way by its own share and asked
//! again from the start.

use crate::error::UpstreamError;
use crate::upstream::GenesysApi;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, NotUntil, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct ContentBudget {
    limiter: DefaultDirectRateLimiter,
}

impl ContentBudget {
    /// `per_minute` on average, up to `burst` at once (at least the most one reservation takes).
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
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
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        self.limiter.check().map_err(|not_until| spent(&not_until))?;
        api.get(endpoint, path, query).await
    }

    /// `n` permits at once, all or none: the requests an attempt is about to make together.
    pub fn reserve(&self, n: NonZeroU32) -> Result<(), UpstreamError> {
        match self.limiter.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(spent(&not_until)),
            // The burst is sized at start to hold the largest reservation (content.email_max_messages).
            Err(too_many) => Err(UpstreamError::Refused(format!(
                "content's share of the Genesys budget cannot hold {n} requests at once ({too_many})"
            ))),
        }
    }
}

fn spent(not_until: &NotUntil<<DefaultClock as Clock>::Instant>) -> UpstreamError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    UpstreamError::Unavailable {
        // Whole seconds, at least one: what `Retry-After` can say.
        retry_after: Duration::from_secs(wait.as_secs() + 1),
        reason: "content's share of the Genesys budget (content.budget_percent) is spent".to_owned(),
    }
}
