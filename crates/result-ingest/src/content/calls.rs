//! The content queue's two calls: the conversation's content from genesys-gateway
//! (`GET /conversations/{id}/content`, scope `content:read`), the record's body to
//! comm-history-writer (`PUT /communicationRecords/{id}/body`, scope `records:body`). A failure
//! comes back as the job's [`Outcome`]: reasons name the service and a status, never the text.

use crate::settings::IngestSettings;
use contracts::gateway::{ConversationContent, CONTENT_NOT_AVAILABLE};
use contracts::history::{RecordBody, Updated, RECORD_RESTRICTED};
use contracts::{Client, ClientError};
use domain::{BoundedText, InteractionId};
use reqwest::StatusCode;
use service_kit::queue::{Outcome, Reason};
use std::time::Duration;
use uuid::Uuid;

/// What the gateway answered of a conversation's content.
pub enum Fetched {
    Content(ConversationContent),
    /// Genesys holds none yet (404 `content-not-available`): no transcript yet, no e-mail text.
    NotYet,
    /// The gateway has no Genesys request to spare for content now (503, 429: its share of the
    /// budget spent, or Genesys busy): ask again after `after` (its `Retry-After`), if it said.
    Busy {
        reason: Reason,
        after: Option<Duration>,
    },
}

/// What the writer made of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Set,
    /// The record is held by a FORGET (409) or gone (410): settled, never retried.
    Refused,
    /// A RESTRICT holds the record (409 `record-restricted`): asked again once it may be lifted.
    Restricted,
}

pub struct ContentCalls {
    gateway: Client,
    history: Client,
    /// A sibling's `Retry-After` is honoured up to this (`ingest.max_retry_after_seconds`).
    max_retry_after: Duration,
}

impl ContentCalls {
    pub fn new(settings: &IngestSettings) -> anyhow::Result<Self> {
        let http = service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?;
        let client =
            |url: &url::Url| Client::new(http.clone(), url.clone()).with_token(settings.internal_token.clone());
        Ok(Self {
            gateway: client(&settings.gateway_url),
            history: client(&settings.comm_history_url),
            max_retry_after: Duration::from_secs(settings.max_retry_after_seconds),
        })
    }

    pub async fn content_of(&self, interaction: InteractionId) -> Result<Fetched, Outcome> {
        let answer = self
            .gateway
            .get(&format!("/conversations/{interaction}/content"))
            .send::<ConversationContent>()
            .await;
        match answer {
            Ok(content) => Ok(Fetched::Content(content)),
            // Only the contract's kind means "not there yet": any other 404 (no such route, a
            // wrong path prefix, an ingress's) is a failure, retried and then a dead letter.
            Err(error) if error.problem().and_then(|p| p.kind()) == Some(CONTENT_NOT_AVAILABLE) => Ok(Fetched::NotYet),
            Err(error)
                if matches!(
                    error.status(),
                    Some(StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS)
                ) =>
            {
                Ok(Fetched::Busy {
                    reason: Reason::status("genesys-gateway:", error.status().map_or(503, |s| s.as_u16())),
                    after: self.retry_after(&error),
                })
            }
            Err(error) => Err(self.failed("genesys-gateway", &error)),
        }
    }

    pub async fn set_body(&self, record: Uuid, body: BoundedText<0, 100_000>) -> Result<Written, Outcome> {
        let answer = self
            .history
            .put(&format!("/communicationRecords/{record}/body"))
            .json(&RecordBody { body })
            .send::<Updated>()
            .await;
        match answer {
            Ok(_) => Ok(Written::Set),
            Err(error)
                if error.status() == Some(StatusCode::CONFLICT)
                    && error.problem().and_then(|p| p.kind()) == Some(RECORD_RESTRICTED) =>
            {
                Ok(Written::Restricted)
            }
            Err(error)
                if error.problem().is_some()
                    && matches!(error.status(), Some(StatusCode::CONFLICT | StatusCode::GONE)) =>
            {
                Ok(Written::Refused)
            }
            Err(error) => Err(self.failed("comm-history-writer", &error)),
        }
    }

    /// The request itself wrong (400, 413, 422, a path that makes no address): a dead letter;
    /// anything else (down, slow, busy, a token or scope to fix, an answer off the contract):
    /// retried, at least after the answer's `Retry-After`.
    fn failed(&self, service: &'static str, error: &ClientError) -> Outcome {
        match error {
            ClientError::InvalidPath { .. } | ClientError::InvalidHeader { .. } => Outcome::Dead {
                reason: Reason::fixed(format!("{service}: the request cannot be made")),
            },
            ClientError::Transport { timeout, .. } => Outcome::retry(Reason::fixed(format!(
                "{service}: {}",
                if *timeout { "timed out" } else { "unreachable" }
            ))),
            ClientError::UnexpectedBody { status, path, category } => {
                tracing::warn!(service, %status, path, category, "a sibling's answer does not fit its contract");
                Outcome::retry(Reason::fixed(format!(
                    "{service}: an answer off the contract ({status} at {path:?}: {category})"
                )))
            }
            ClientError::Problem { status, .. } | ClientError::UnexpectedStatus { status, .. } => match *status {
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => {
                    Outcome::Dead {
                        reason: Reason::fixed(format!("{service}: refused the request ({status})")),
                    }
                }
                _ => Outcome::Retry {
                    reason: Reason::fixed(match error.problem().and_then(|p| p.kind()) {
                        Some(kind) => format!("{service}: {status} {kind}"),
                        None => format!("{service}: {status}"),
                    }),
                    after: self.retry_after(error),
                },
            },
        }
    }

    /// The answer's `Retry-After`, at most `max_retry_after`.
    fn retry_after(&self, error: &ClientError) -> Option<Duration> {
        error
            .headers()
            .and_then(service_kit::queue::retry_after)
            .map(|after| after.min(self.max_retry_after))
    }
}
