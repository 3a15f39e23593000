//! The OAuth client-credentials token: one token shared by every call, renewed shortly before
//! it expires, by one caller while the others wait for it.

use crate::body::{self, BodyKind};
use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use crate::models::AuthResponse;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A bearer token. Deliberately not `Debug`: it must never reach a log.
#[derive(Clone)]
pub struct Bearer(Arc<str>);

impl Bearer {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

struct Held {
    bearer: Bearer,
    renew_at: Instant,
}

pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    margin: Duration,
    max_lifetime: Duration,
    held: Mutex<Option<Held>>,
    metrics: Arc<GatewayMetrics>,
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        login_base_url: &str,
        client_id: String,
        client_secret: SecretString,
        margin: Duration,
        max_lifetime: Duration,
        metrics: Arc<GatewayMetrics>,
    ) -> Self {
        Self {
            http,
            token_url: format!("{login_base_url}/oauth/token"),
            client_id,
            client_secret,
            margin,
            max_lifetime,
            held: Mutex::new(None),
            metrics,
        }
    }

    /// The current token, renewed first when due. Concurrent callers queue on the lock, so a
    /// renewal happens once, not once per caller.
    pub async fn bearer(&self) -> Result<Bearer, UpstreamError> {
        let mut held = self.held.lock().await;
        if let Some(current) = held.as_ref().filter(|h| Instant::now() < h.renew_at) {
            return Ok(current.bearer.clone());
        }
        let renewed = self.request_token().await?;
        let bearer = renewed.bearer.clone();
        *held = Some(renewed);
        Ok(bearer)
    }

    /// Forgets `rejected` (Genesys answered 401 to it), unless another caller already replaced it.
    pub async fn invalidate(&self, rejected: &Bearer) {
        let mut held = self.held.lock().await;
        if held.as_ref().is_some_and(|h| Arc::ptr_eq(&h.bearer.0, &rejected.0)) {
            *held = None;
        }
    }

    async fn request_token(&self) -> Result<Held, UpstreamError> {
        let started = Instant::now();
        let response = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let status = if error.is_timeout() { "timeout" } else { "error" };
                self.metrics
                    .upstream_requests
                    .with_label_values(&["token", status])
                    .inc();
                return Err(UpstreamError::transient(format!(
                    "the Genesys login endpoint did not answer ({status})"
                )));
            }
        };
        let status = response.status();
        self.metrics
            .upstream_requests
            .with_label_values(&["token", status.as_str()])
            .inc();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(UpstreamError::transient(format!(
                "the Genesys login endpoint answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(UpstreamError::Refused(format!(
                "Genesys refused the client credentials ({status}); check genesys.client_id and genesys.client_secret"
            )));
        }
        let answer = response.bytes().await.map_err(|_| {
            UpstreamError::transient("the Genesys login endpoint's answer did not arrive whole".to_owned())
        })?;
        let grant: AuthResponse = body::parse(&self.metrics, "token", BodyKind::Answer, &answer)?;
        self.metrics.token_renewals.inc();
        let lifetime = Duration::from_secs(grant.expires_in).min(self.max_lifetime);
        // Renew `margin` before expiry, but never later than half-way for short-lived tokens.
        let renew_after = lifetime.saturating_sub(self.margin).max(lifetime / 2);
        tracing::info!(
            expires_in_seconds = grant.expires_in,
            took_ms = started.elapsed().as_millis() as u64,
            "obtained a Genesys OAuth token"
        );
        Ok(Held {
            bearer: Bearer(Arc::from(grant.access_token)),
            renew_at: Instant::now() + renew_after,
        })
    }
}
