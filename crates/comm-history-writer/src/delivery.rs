//! Delivery to the bank's communication-history-manager: the worker of the delivery outbox
//! (`store::deliveries`). Each entry is sent with its own `Idempotency-Key`, the same on every
//! attempt; the record goes in the integration spec's body, as it is when sent.
//!
//! - a create: `POST [delivery] url`;
//! - an update (its customer changed: a late pairing fills it in, a withdrawal takes it away),
//!   by `update_mode`: `PATCH`/`PUT update_url_template` with the record, or `POST url` with the
//!   record and `supersedes`, the create's `Idempotency-Key`.
//!
//! Over https outside development (`delivery.url` is checked at start), trusting the public roots
//! and the bank's CA bundle (`delivery.ca_bundle`); redirects are not followed.
//!
//! 2xx: delivered (a create's answer may name the manager's id, kept for the updates' URL).
//! 408, 425, 429, 5xx, a timeout or no connection: retried with backoff (at least the manager's
//! `Retry-After`), dead after `max_attempts`. Any other answer (a 3xx too) is a refusal: dead at once, with
//! the status as its reason; an operator retries it once the manager is fixed.

use crate::metrics::DeliveryMetrics;
use crate::settings::{DeliverySettings, UpdateMode};
use crate::store::deliveries::{self, Claimed, DeliveryKind, ToSend};
use domain::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use service_kit::database::DbPool;
use service_kit::problem::ApiError;
use service_kit::queue::{QueueSettings, QueueWorker};
use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered {
        external_id: Option<String>,
    },
    /// Worth another attempt, not before `after` (the manager's `Retry-After`); `unanswered`
    /// when the manager may have stored it.
    Retry {
        reason: String,
        after: Option<Duration>,
        unanswered: bool,
    },
    /// The manager refused it: another attempt would be refused too.
    Refused {
        reason: String,
    },
}

pub struct DeliveryWorker {
    pool: DbPool,
    http: reqwest::Client,
    settings: DeliverySettings,
    queue: QueueSettings,
    metrics: DeliveryMetrics,
}

impl DeliveryWorker {
    pub fn new(pool: DbPool, settings: DeliverySettings, metrics: DeliveryMetrics) -> anyhow::Result<Self> {
        let queue = settings.queue().map_err(service_kit::configuration::invalid_all)?;
        let roots = settings
            .ca_certificates()
            .map_err(|problem| service_kit::configuration::invalid(&problem))?;
        let http = service_kit::tls::client_builder(&roots)
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(5_000)))
            // A 3xx is the manager's answer, a failed delivery: the record goes nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            pool,
            http,
            settings,
            queue,
            metrics,
        })
    }

    /// Claims the entries due at `now` and sends them; returns how many were claimed.
    pub async fn try_execute_task(&self, now: Timestamp) -> Result<usize, ApiError> {
        let limit = i64::from(self.queue.batch);
        let lease = self.queue.lease;
        let entries = self
            .pool
            .run(move |c| deliveries::claim_due(c, now, limit, lease).map_err(ApiError::from))
            .await?;
        let count = entries.len();
        for entry in entries {
            if entry.resend {
                self.metrics.resent_unanswered.inc();
            }
            match self.attempt(&entry).await? {
                Some(outcome) => self.settle(&entry, outcome).await?,
                None => {
                    self.metrics.attempts.with_label_values(&["held"]).inc();
                    tracing::info!(delivery_id = %entry.id, "delivery held back: a GDPR forget holds its record");
                }
            }
        }
        Ok(count)
    }

    async fn settle(&self, entry: &Claimed, outcome: Outcome) -> Result<(), ApiError> {
        let id = entry.id;
        match outcome {
            Outcome::Delivered { external_id } => {
                self.metrics.attempts.with_label_values(&["delivered"]).inc();
                let delivered_at = Timestamp::now();
                self.pool
                    .run(move |c| deliveries::mark_delivered(c, id, delivered_at, external_id).map_err(ApiError::from))
                    .await
            }
            Outcome::Refused { reason } => {
                self.metrics.attempts.with_label_values(&["dead"]).inc();
                tracing::warn!(delivery_id = %id, reason = %reason, "delivery refused: a dead letter");
                self.pool
                    .run(move |c| deliveries::mark_dead(c, id, &reason, false).map_err(ApiError::from))
                    .await
            }
            Outcome::Retry { reason, unanswered, .. }
                if entry.attempts >= i32::try_from(self.settings.max_attempts).unwrap_or(i32::MAX) =>
            {
                self.metrics.attempts.with_label_values(&["dead"]).inc();
                let reason = format!("gave up after {} attempts: {reason}", entry.attempts);
                tracing::warn!(delivery_id = %id, reason = %reason, "delivery out of attempts: a dead letter");
                self.pool
                    .run(move |c| deliveries::mark_dead(c, id, &reason, unanswered).map_err(ApiError::from))
                    .await
            }
            Outcome::Retry {
                reason,
                after,
                unanswered,
            } => {
                self.metrics.attempts.with_label_values(&["retry"]).inc();
                let attempts = u32::try_from(entry.attempts)
                    .map_err(|_| ApiError::Unexpected(anyhow::anyhow!("delivery {id}: negative attempts")))?;
                let delay = self.queue.backoff(attempts).max(after.unwrap_or_default());
                let next = Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + delay)
                    .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the retry would fall past year 9999")))?;
                tracing::info!(delivery_id = %id, reason = %reason, retry_in_ms = delay.as_millis(), "delivery not accepted yet");
                self.pool
                    .run(move |c| deliveries::reschedule(c, id, next, &reason, unanswered).map_err(ApiError::from))
                    .await
            }
        }
    }

    /// One attempt of `entry`. An error is this service's own (its database), not the manager's.
    /// The holds are checked as the attempt goes out, not only when its batch was claimed: a
    /// FORGET that came in between keeps the record here (`None`).
    async fn attempt(&self, entry: &Claimed) -> Result<Option<Outcome>, ApiError> {
        let (id, record_id, until) = (entry.id, entry.record_id, entry.lease_until);
        let found = self
            .pool
            .run(move |c| deliveries::begin_send(c, id, record_id, until).map_err(ApiError::from))
            .await?;
        let record = match found {
            ToSend::Record(record) => record,
            ToSend::Held => return Ok(None),
            ToSend::Gone => {
                return Ok(Some(Outcome::Refused {
                    reason: "its record is gone".to_owned(),
                }))
            }
        };
        self.send(entry, &record).await.map(Some)
    }

    /// Sends `record` as `entry` says.
    async fn send(&self, entry: &Claimed, record: &domain::CommunicationRecord) -> Result<Outcome, ApiError> {
        let mut body = serde_json::to_value(&record.attributes)
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("a record that does not serialise: {e}")))?;
        if let Some(fields) = body.as_object_mut() {
            // ccbridge's own field (GDPR for agents), not the integration spec's.
            fields.remove("genesysUserId");
        }
        let (method, url) = match (entry.kind, self.settings.update_mode) {
            (DeliveryKind::Create, _) => (reqwest::Method::POST, self.settings.url.clone()),
            (DeliveryKind::Update, UpdateMode::NewRecord) => {
                let Some(create_key) = &entry.create_key else {
                    return Ok(Outcome::Refused {
                        reason: "an update of a record whose create was never queued".to_owned(),
                    });
                };
                body["supersedes"] = create_key.clone().into();
                (reqwest::Method::POST, self.settings.url.clone())
            }
            (DeliveryKind::Update, mode) => {
                let template = &self.settings.update_url_template;
                let mut url = template.replace("{recordId}", &record.id.to_string());
                if template.contains("{externalId}") {
                    let Some(external_id) = &entry.external_id else {
                        return Ok(Outcome::Refused {
                            reason: format!(
                                "the manager answered the create without an id at {}",
                                self.settings.external_id_pointer
                            ),
                        });
                    };
                    let encoded = percent_encoding::utf8_percent_encode(external_id, PATH_SEGMENT);
                    url = url.replace("{externalId}", &encoded.to_string());
                }
                let method = if mode == UpdateMode::Put {
                    reqwest::Method::PUT
                } else {
                    reqwest::Method::PATCH
                };
                (method, url)
            }
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("a record that does not serialise: {e}")))?;
        let mut request = self
            .http
            .request(method, url)
            .header("Idempotency-Key", deliveries::idempotency_key(entry.id))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let token = self.settings.bearer_token.expose_secret();
        if !token.is_empty() {
            request = request.bearer_auth(token);
        } else if !self.settings.basic_username.is_empty() {
            request = request.basic_auth(
                &self.settings.basic_username,
                Some(self.settings.basic_password.expose_secret()),
            );
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                // A connection never made cannot have stored anything; anything later may have.
                let unanswered = !error.is_connect();
                let reason = if error.is_timeout() {
                    "communication-history-manager: no answer in time"
                } else if error.is_connect() {
                    "communication-history-manager: unreachable"
                } else {
                    "communication-history-manager: the connection failed"
                };
                return Ok(Outcome::Retry {
                    reason: reason.to_owned(),
                    after: None,
                    unanswered,
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            let external_id = match entry.kind {
                DeliveryKind::Create => self.external_id(response).await,
                DeliveryKind::Update => None,
            };
            return Ok(Outcome::Delivered { external_id });
        }
        let mut reason = format!("communication-history-manager answered {status}");
        if status.is_redirection() {
            reason.push_str(": redirects are not followed");
        }
        if retryable(status) {
            Ok(Outcome::Retry {
                reason,
                after: retry_after(response.headers()),
                unanswered: false,
            })
        } else {
            Ok(Outcome::Refused { reason })
        }
    }

    /// The manager's id for the record, where `external_id_pointer` says its answer holds one.
    async fn external_id(&self, response: reqwest::Response) -> Option<String> {
        if self.settings.external_id_pointer.is_empty() {
            return None;
        }
        // The manager took the record (2xx): failing the delivery now would send it twice. An
        // answer without its id is not silent, though: a forget then names the copy by its
        // Idempotency-Key only, and the operator is told the setting and the answer disagree.
        let id = match response.bytes().await {
            Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|answer| match answer.pointer(&self.settings.external_id_pointer)? {
                    serde_json::Value::String(id) if !id.is_empty() => Some(id.clone()),
                    serde_json::Value::Number(id) => Some(id.to_string()),
                    _ => None,
                }),
            Err(_) => None,
        };
        if id.is_none() {
            tracing::warn!(
                pointer = %self.settings.external_id_pointer,
                "the manager's answer holds no id at delivery.external_id_pointer"
            );
        }
        id
    }

    /// Refreshes the gauges.
    pub async fn housekeeping(&self, now: Timestamp) -> Result<(), ApiError> {
        let (pending, dead, oldest) = self.pool.run(|c| deliveries::depth(c).map_err(ApiError::from)).await?;
        self.metrics.pending.set(pending);
        self.metrics.dead.set(dead);
        let age = oldest.map_or(0, |at| {
            (now.as_offset_date_time() - at.as_offset_date_time()).whole_seconds()
        });
        self.metrics.oldest_pending_age_seconds.set(age.max(0));
        Ok(())
    }
}

/// What a URL's path segment may not hold as it is (RFC 3986: `pchar` is unreserved, sub-delims,
/// `:` and `@`); an id from the manager goes into the update's URL through this.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A status worth another attempt: the manager is slow, busy or failing, not refusing.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        )
}

/// `Retry-After` in seconds (an HTTP date is not honoured: the backoff applies), at most an hour.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)
        .and_then(|v: &HeaderValue| v.to_str().ok())?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

impl QueueWorker for DeliveryWorker {
    type Error = ApiError;
    const NAME: &'static str = "delivery outbox";

    fn queue(&self) -> &QueueSettings {
        &self.queue
    }

    fn try_execute_task(&self, now: Timestamp) -> impl std::future::Future<Output = Result<usize, ApiError>> {
        DeliveryWorker::try_execute_task(self, now)
    }

    fn housekeeping(&self, now: Timestamp) -> impl std::future::Future<Output = Result<(), ApiError>> {
        DeliveryWorker::housekeeping(self, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_slow_busy_or_failing_manager_is_retried() {
        for status in [408, 425, 429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }

    #[test]
    fn a_managers_id_stays_one_path_segment() {
        let encoded = percent_encoding::utf8_percent_encode("chm-1/../x y?#", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "chm-1%2F..%2Fx%20y%3F%23");
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3600)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }
}
