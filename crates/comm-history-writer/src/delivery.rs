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
//! `Retry-After`) until `delivery.retry_budget`, then dead. Any other answer (a 3xx too) is a
//! refusal: dead at once, with the status as its reason; an operator retries it once the manager
//! is fixed. The entry is one of a [`service_kit::queue`] ([`DeliveryOutbox`]): its runner claims,
//! settles, dead-letters and counts; [`DeliveryJob`] sends.

use crate::metrics::DeliveryMetrics;
use crate::settings::{Credentials, DeliverySettings, UpdateMode};
use crate::store::deliveries::{self, DeliveryKind, DeliveryOutbox, ToDeliver, ToSend};
use domain::Timestamp;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::{Claimed, Job, Outcome, Policy, Reason, Runner};
use std::time::Duration;

/// The delivery outbox's runner.
pub type DeliveryRunner = Runner<DeliveryJob, DeliveryOutbox>;

/// Sends a claimed entry to the manager.
pub struct DeliveryJob {
    pool: DbPool,
    http: reqwest::Client,
    url: reqwest::Url,
    settings: DeliverySettings,
    metrics: DeliveryMetrics,
}

impl DeliveryJob {
    /// `settings` must name the manager (`delivery.url`).
    pub fn new(pool: DbPool, settings: DeliverySettings, metrics: DeliveryMetrics) -> anyhow::Result<Self> {
        let url = settings
            .url
            .clone()
            .ok_or_else(|| service_kit::configuration::invalid("delivery.url: not set, so nothing is delivered"))?;
        let roots = settings
            .ca_certificates()
            .map_err(|problem| service_kit::configuration::invalid(&problem))?;
        let timeout = Duration::from_millis(settings.timeout_ms.get());
        let http = service_kit::tls::client_builder(&roots)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A 3xx is the manager's answer, a failed delivery: the record goes nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            pool,
            http,
            url,
            settings,
            metrics,
        })
    }

    pub const fn metrics(&self) -> &DeliveryMetrics {
        &self.metrics
    }

    /// Sends `record` as `entry` says.
    async fn send(&self, entry: &Claimed<ToDeliver>, record: &domain::CommunicationRecord) -> anyhow::Result<Outcome> {
        let item = &entry.item;
        let mut body = serde_json::to_value(&record.attributes)
            .map_err(|e| anyhow::anyhow!("a record that does not serialise: {e}"))?;
        if let Some(fields) = body.as_object_mut() {
            // ccbridge's own field (GDPR for agents), not the integration spec's.
            fields.remove("genesysUserId");
        }
        let (method, url) = match (item.kind, self.settings.update_mode) {
            (DeliveryKind::Create, _) => (reqwest::Method::POST, self.url.to_string()),
            (DeliveryKind::Update, UpdateMode::NewRecord) => {
                let Some(create_key) = &item.create_key else {
                    return Ok(Outcome::Dead {
                        reason: Reason::new("an update of a record whose create was never queued"),
                    });
                };
                body["supersedes"] = create_key.clone().into();
                (reqwest::Method::POST, self.url.to_string())
            }
            (DeliveryKind::Update, mode) => {
                let template = self.settings.update_url_template.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("delivery.update_url_template is not set, which validation refuses for {mode:?}")
                })?;
                let mut url = template.replace("{recordId}", &record.id.to_string());
                if template.contains("{externalId}") {
                    let Some(external_id) = &item.external_id else {
                        return Ok(Outcome::Dead {
                            reason: Reason::new(
                                "the manager answered the create without an id at delivery.external_id_pointer",
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
        let body = serde_json::to_vec(&body).map_err(|e| anyhow::anyhow!("a record that does not serialise: {e}"))?;
        let mut request = self
            .http
            .request(method, url)
            .header("Idempotency-Key", deliveries::idempotency_key(entry.id))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        request = match &self.settings.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Credentials::Basic { username, password } => request.basic_auth(username, Some(password.expose_secret())),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                // A connection never made cannot have stored anything; anything later may have.
                if !error.is_connect() {
                    let (id, until) = (entry.id, entry.lease_until);
                    self.pool
                        .run(move |c| deliveries::note_unanswered(c, id, until).map_err(DatabaseError::from))
                        .await?;
                }
                let reason = if error.is_timeout() {
                    Reason::new("communication-history-manager: no answer in time")
                } else if error.is_connect() {
                    Reason::new("communication-history-manager: unreachable")
                } else {
                    Reason::new("communication-history-manager: the connection failed")
                };
                return Ok(Outcome::retry(reason));
            }
        };
        let status = response.status();
        if status.is_success() {
            if item.kind == DeliveryKind::Create {
                if let Some(external_id) = self.external_id(response).await {
                    let (id, until) = (entry.id, entry.lease_until);
                    self.pool
                        .run(move |c| {
                            deliveries::note_external_id(c, id, until, &external_id).map_err(DatabaseError::from)
                        })
                        .await?;
                }
            }
            return Ok(Outcome::Done);
        }
        if status.is_redirection() {
            return Ok(Outcome::Dead {
                reason: Reason::status(
                    "communication-history-manager redirected (not followed):",
                    status.as_u16(),
                ),
            });
        }
        let reason = Reason::status("communication-history-manager answered", status.as_u16());
        if retryable(status) {
            Ok(Outcome::Retry {
                reason,
                after: service_kit::queue::retry_after(response.headers()),
            })
        } else {
            Ok(Outcome::Dead { reason })
        }
    }

    /// The manager's id for the record, where `external_id_pointer` says its answer holds one.
    async fn external_id(&self, response: reqwest::Response) -> Option<String> {
        let pointer = self.settings.external_id_pointer.as_deref()?;
        // The manager took the record (2xx): failing the delivery now would send it twice. An
        // answer without its id is not silent, though: a forget then names the copy by its
        // Idempotency-Key only, and the operator is told the setting and the answer disagree.
        let id = match response.bytes().await {
            Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|answer| match answer.pointer(pointer)? {
                    serde_json::Value::String(id) if !id.is_empty() => Some(id.clone()),
                    serde_json::Value::Number(id) => Some(id.to_string()),
                    _ => None,
                }),
            Err(_) => None,
        };
        if id.is_none() {
            tracing::warn!(
                pointer = %pointer,
                "the manager's answer holds no id at delivery.external_id_pointer"
            );
        }
        id
    }
}

impl Job for DeliveryJob {
    type Item = ToDeliver;

    /// One after another, in the order claimed ([`DeliveryJob::run_batch`]).
    const CONCURRENT: bool = false;

    /// One attempt of `entry`. The holds are checked as the attempt goes out, not only when its
    /// batch was claimed: a FORGET that came in between keeps the record here (postponed to the
    /// lease's end, its attempt given back). An error is this service's own (its database).
    async fn run(&self, entry: &Claimed<ToDeliver>, now: Timestamp) -> anyhow::Result<Outcome> {
        if entry.item.resend {
            self.metrics.resent_unanswered.inc();
        }
        let (id, record_id, until) = (entry.id, entry.item.record_id, entry.lease_until);
        let found = self
            .pool
            .run(move |c| deliveries::begin_send(c, id, record_id, until).map_err(DatabaseError::from))
            .await?;
        match found {
            ToSend::Record(record) => self.send(entry, &record).await,
            ToSend::Held => {
                tracing::info!(delivery_id = %id, "delivery held back: a GDPR forget holds its record");
                // Looked at again when the lease ends (at once, if it has ended already).
                let left = until.as_offset_date_time() - now.as_offset_date_time();
                Ok(Outcome::Postpone {
                    after: Duration::try_from(left).unwrap_or_default(),
                })
            }
            ToSend::Gone => Ok(Outcome::Dead {
                reason: Reason::new("its record is gone"),
            }),
            // Its settlement is refused too (fenced by the lease) and counted as a lost lease.
            ToSend::NotOurs => Ok(Outcome::Postpone { after: Duration::ZERO }),
        }
    }

    /// One entry after another, each checking the holds as it goes out; an entry is sent only
    /// while enough of the claim's lease is left for its call to end (`delivery.timeout_ms` and
    /// a second) — the rest of the batch is postponed, its attempts given back, and goes out in
    /// the next pass. So nothing is sent once the lease could have run out.
    async fn run_batch(&self, entries: &[Claimed<ToDeliver>], now: Timestamp) -> Vec<anyhow::Result<Outcome>> {
        let started = std::time::Instant::now();
        let needed = Duration::from_millis(self.settings.timeout_ms.get()) + Duration::from_secs(1);
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            let lease = entry.lease_until.as_offset_date_time() - now.as_offset_date_time();
            let left = Duration::try_from(lease)
                .unwrap_or_default()
                .saturating_sub(started.elapsed());
            if left <= needed {
                outcomes.push(Ok(Outcome::Postpone { after: Duration::ZERO }));
                continue;
            }
            outcomes.push(self.run(entry, now).await);
        }
        outcomes
    }
}

/// The delivery outbox's runner as the service starts it (and tests build it, to `drain(now)`):
/// `[delivery]`'s settings and queue keys, metrics in `registry`.
pub fn runner(
    pool: DbPool,
    settings: &service_kit::configuration::Settings,
    registry: &prometheus::Registry,
) -> anyhow::Result<DeliveryRunner> {
    let delivery: DeliverySettings = settings.section("delivery")?;
    let policy = Policy::read(settings, "delivery")?;
    let metrics = DeliveryMetrics::register(registry)?;
    Runner::new(
        pool.clone(),
        DeliveryJob::new(pool, delivery, metrics)?,
        DeliveryOutbox,
        policy,
        registry,
    )
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
}
