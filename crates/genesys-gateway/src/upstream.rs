//! Calls to the Genesys Cloud API: a client-side rate limit so normal load never meets a 429,
//! the shared OAuth token (renewed once on a 401), `Retry-After` honoured on 429, bounded
//! exponential backoff with jitter on 5xx and connection errors, per-request timeouts, and one
//! deadline over it all so a caller never hangs. Every answer is read into its documented model
//! (`crate::models`) by `crate::body`: one that does not fit is an error, counted, logged by field
//! path and not retried.

use crate::body::{self, BodyKind};
use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use crate::models::ErrorBody;
use crate::oauth::{Bearer, TokenSource};
use crate::settings::GenesysSettings;
use backon::BackoffBuilder;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The longest `Retry-After` read from Genesys; a longer one is taken as this.
const LONGEST_RETRY_AFTER_SECONDS: u64 = 86_400;

/// What one attempt came to.
enum Attempt {
    /// A success's body, read into its model by [`GenesysApi::call`].
    Done(Vec<u8>),
    NotFound,
    Unauthorized(Bearer),
    RateLimited(Duration),
    Transient(String),
    Refused(String),
}

/// What one call may spend: attempts, and time until its deadline.
#[derive(Debug, Clone, Copy)]
struct Budget {
    deadline: Instant,
    max_attempts: u32,
}

pub struct GenesysApi {
    http: reqwest_middleware::ClientWithMiddleware,
    api_base_url: String,
    tokens: TokenSource,
    limiter: DefaultDirectRateLimiter,
    request_timeout: Duration,
    deadline: Duration,
    max_attempts: u32,
    max_retry_after: Duration,
    metrics: Arc<GatewayMetrics>,
}

impl GenesysApi {
    pub fn new(settings: &GenesysSettings, metrics: Arc<GatewayMetrics>) -> anyhow::Result<Self> {
        let endpoints = settings.endpoints().map_err(|e| anyhow::anyhow!(e))?;
        let roots =
            service_kit::tls::ca_bundle("genesys.ca_bundle", &settings.ca_bundle).map_err(anyhow::Error::msg)?;
        let plain = service_kit::tls::client_builder(&roots)
            .timeout(settings.request_timeout())
            .connect_timeout(settings.request_timeout())
            .build()?;
        Ok(Self {
            http: service_kit::telemetry::http_client_trusting(settings.request_timeout(), &roots)?,
            api_base_url: endpoints.api.as_str().to_owned(),
            tokens: TokenSource::new(
                plain,
                endpoints.login.as_str(),
                settings.client_id.clone(),
                settings.client_secret.clone(),
                Duration::from_secs(settings.token_renew_margin_seconds),
                Duration::from_secs(settings.max_token_lifetime_seconds.get()),
                metrics.clone(),
            ),
            limiter: RateLimiter::direct(
                Quota::per_minute(settings.rate_limit_per_minute).allow_burst(settings.rate_limit_burst),
            ),
            request_timeout: settings.request_timeout(),
            deadline: settings.deadline(),
            max_attempts: settings.max_attempts.get(),
            max_retry_after: Duration::from_secs(settings.max_retry_after_seconds),
            metrics,
        })
    }

    /// `GET`, its answer read as the documented model `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        self.call(endpoint, Method::GET, path, query, None::<&()>, self.max_attempts)
            .await
    }

    /// `POST` of `body`, its answer read as the documented model `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, UpstreamError> {
        self.call(endpoint, Method::POST, path, query, Some(body), self.max_attempts)
            .await
    }

    /// One request (a token renewal aside), its failure answered at once: for a caller that
    /// paces and retries by itself, and counts every request it spends.
    pub async fn post_once<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, UpstreamError> {
        self.call(endpoint, Method::POST, path, &[], Some(body), 1).await
    }

    /// Counts and logs an answer that parsed but breaks a rule its model documents (a field
    /// required in some cases), at field path `at`: see [`body::unparsed`].
    pub fn unparsed(&self, endpoint: &'static str, at: String, problem: &'static str) -> UpstreamError {
        body::unparsed(&self.metrics, endpoint, BodyKind::Answer, at, problem)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        max_attempts: u32,
    ) -> Result<T, UpstreamError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| UpstreamError::Refused(format!("{endpoint}: the request body cannot be written ({e})")))?;
        let deadline = Instant::now() + self.deadline;
        let budget = Budget { deadline, max_attempts };
        let attempts = self.attempts(endpoint, &method, path, query, body.as_deref(), budget);
        match tokio::time::timeout_at(deadline, attempts).await {
            // Not retried: a body that does not fit its model is no passing fault.
            Ok(Ok(answer)) => body::parse(&self.metrics, endpoint, BodyKind::Answer, &answer),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(UpstreamError::Unavailable {
                retry_after: Duration::from_secs(5),
                reason: format!("no answer from Genesys within {} ms", self.deadline.as_millis()),
            }),
        }
    }

    async fn attempts(
        &self,
        endpoint: &'static str,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
        Budget { deadline, max_attempts }: Budget,
    ) -> Result<Vec<u8>, UpstreamError> {
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_jitter()
            .with_max_times(max_attempts.saturating_sub(1) as usize)
            .build();
        let mut renewed_after_401 = false;
        loop {
            self.limiter.until_ready().await;
            let attempt = match self.tokens.bearer().await {
                Ok(bearer) => self.send(endpoint, method, path, query, body, bearer).await,
                Err(UpstreamError::Unavailable { reason, .. }) => Attempt::Transient(reason),
                Err(other) => return Err(other),
            };
            let wait = match attempt {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::NotFound => return Err(UpstreamError::NotFound),
                Attempt::Refused(reason) => return Err(UpstreamError::Refused(reason)),
                Attempt::Unauthorized(bearer) if !renewed_after_401 => {
                    // Expired or revoked: renew once and retry at once.
                    renewed_after_401 = true;
                    self.tokens.invalidate(&bearer).await;
                    continue;
                }
                Attempt::Unauthorized(_) => {
                    return Err(UpstreamError::Refused(
                        "Genesys rejected a freshly issued token (401)".to_owned(),
                    ))
                }
                Attempt::RateLimited(retry_after) => {
                    self.metrics.rate_limited.inc();
                    let gives_up = retry_after > self.max_retry_after
                        || Instant::now() + retry_after > deadline
                        || backoff.next().is_none();
                    if gives_up {
                        return Err(UpstreamError::Unavailable {
                            retry_after,
                            reason: "Genesys is rate limiting (429)".to_owned(),
                        });
                    }
                    retry_after
                }
                Attempt::Transient(reason) => match backoff.next() {
                    Some(delay) => delay,
                    None => return Err(UpstreamError::transient(reason)),
                },
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(
        &self,
        endpoint: &'static str,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
        bearer: Bearer,
    ) -> Attempt {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api_base_url))
            .query(query)
            .bearer_auth(bearer.expose())
            .timeout(self.request_timeout);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let timed_out =
                    error.is_timeout() || matches!(&error, reqwest_middleware::Error::Reqwest(e) if e.is_timeout());
                let label = if timed_out { "timeout" } else { "error" };
                self.metrics
                    .upstream_requests
                    .with_label_values(&[endpoint, label])
                    .inc();
                return Attempt::Transient(format!("{endpoint}: {label}"));
            }
        };
        let status = response.status();
        self.metrics
            .upstream_requests
            .with_label_values(&[endpoint, status.as_str()])
            .inc();
        match status {
            // A body cut off in transit is a transport failure, worth another attempt; one that
            // arrived whole is read (and judged) once, by `call`.
            s if s.is_success() => match response.bytes().await {
                Ok(answer) => Attempt::Done(answer.to_vec()),
                Err(_) => Attempt::Transient(format!("{endpoint}: the body did not arrive whole")),
            },
            StatusCode::NOT_FOUND => Attempt::NotFound,
            StatusCode::UNAUTHORIZED => Attempt::Unauthorized(bearer),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    // Bounded, so no answer can overflow a timer or the Retry-After passed on.
                    .map_or(Duration::from_secs(1), |seconds| {
                        Duration::from_secs(seconds.min(LONGEST_RETRY_AFTER_SECONDS))
                    });
                Attempt::RateLimited(retry_after)
            }
            StatusCode::NOT_IMPLEMENTED => Attempt::Refused(format!("{endpoint}: Genesys answered 501")),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Attempt::Transient(format!("{endpoint}: {s}"))
            }
            s => {
                // The error's code, for the operator; an `ErrorBody` that does not parse is counted
                // and logged like any other body, and the refusal is answered all the same.
                let code = match response.bytes().await {
                    Ok(bytes) => body::parse::<ErrorBody>(&self.metrics, endpoint, BodyKind::Error, &bytes)
                        .ok()
                        .and_then(|error| error.code),
                    Err(_) => None,
                };
                Attempt::Refused(format!(
                    "{endpoint}: Genesys answered {s} ({})",
                    code.as_deref().unwrap_or("no code")
                ))
            }
        }
    }
}
