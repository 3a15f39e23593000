//! Calls to the services an event is enriched from and written to, and the gateway's ended
//! conversations the sweep reads. Every failure is classified:
//! `Transient` (down, slow, busy, misconfigured: retry later) or `Permanent` (the request itself is
//! wrong: retrying cannot help). Reasons name the service and status, never personal data.

use crate::settings::IngestSettings;
use domain::{CustomerId, GenesysUserId, InteractionId, NewCommunicationRecord};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent {
        reason: String,
    },
}

/// A name the gateway answered, kept by this process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NameKey {
    Agent(GenesysUserId),
    WrapupCode(String),
}

/// Why a name is not in the cache after a lookup.
enum NameMiss {
    /// Genesys does not know it: not cached here (the gateway caches it briefly).
    Unknown,
    Failed(Failure),
}

pub struct Siblings {
    http: reqwest_middleware::ClientWithMiddleware,
    /// Agent and wrap-up code names for `name_cache_seconds`: a batch shares a few agents and
    /// codes, and a gateway call per event and name would cost more than the event's own write.
    names: moka::future::Cache<NameKey, String>,
    gateway_url: reqwest::Url,
    pairing_url: reqwest::Url,
    comm_history_url: reqwest::Url,
    token: SecretString,
    /// A sibling's `Retry-After` is honoured up to this, so no answer can park an event longer.
    max_retry_after: Duration,
}

/// What interaction-pairing knows of some interactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairings {
    /// The customers each paired interaction belongs to, first paired first.
    pub customers: HashMap<InteractionId, Vec<CustomerId>>,
    /// Interactions whose pairing a GDPR forget holds: paired, to whom is not told.
    pub held: HashSet<InteractionId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LookupAnswer {
    pairings: Vec<PairingAnswer>,
    held_interaction_ids: Vec<InteractionId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PairingAnswer {
    interaction_id: InteractionId,
    customers: Vec<PairedCustomer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PairedCustomer {
    customer_id: CustomerId,
}

/// How a customer came to an interaction whose record is written: paired before (`Pairing`), or
/// after the record's customers were looked up (`LatePairing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedBy {
    Pairing,
    LatePairing,
}

/// What a call answered that the caller cares about.
enum Answer {
    Found(Value),
    NotFound,
    Conflict,
    /// 410: what was asked for was erased by a purged GDPR forget; settled, never retried.
    Gone,
}

impl Siblings {
    pub fn new(settings: &IngestSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?,
            names: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(settings.name_cache_seconds))
                .build(),
            gateway_url: reqwest::Url::parse(&settings.gateway_url)?,
            pairing_url: reqwest::Url::parse(&settings.pairing_url)?,
            comm_history_url: reqwest::Url::parse(&settings.comm_history_url)?,
            token: settings.internal_token.clone(),
            max_retry_after: Duration::from_secs(settings.max_retry_after_seconds),
        })
    }

    fn url(base: &reqwest::Url, segments: &[&str]) -> Result<reqwest::Url, Failure> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| Failure::Permanent {
                reason: "a sibling URL cannot take a path".to_owned(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// The agent's name; `None` when Genesys does not know the agent.
    pub async fn agent_name(&self, user_id: GenesysUserId) -> Result<Option<String>, Failure> {
        let url = Self::url(&self.gateway_url, &["users", &user_id.to_string()])?;
        self.name(NameKey::Agent(user_id), url).await
    }

    /// The wrap-up code's name; `None` when there is no such code.
    pub async fn wrapup_code_name(&self, code: &str) -> Result<Option<String>, Failure> {
        let url = Self::url(&self.gateway_url, &["wrapupcodes", code])?;
        self.name(NameKey::WrapupCode(code.to_owned()), url).await
    }

    /// From the cache, or from the gateway at `url`; concurrent lookups of one name share a call.
    async fn name(&self, key: NameKey, url: reqwest::Url) -> Result<Option<String>, Failure> {
        let lookup = async {
            match self.call("genesys-gateway", self.http.get(url)).await {
                Ok(answer) => name_of(answer).ok_or(NameMiss::Unknown),
                Err(failure) => Err(NameMiss::Failed(failure)),
            }
        };
        match self.names.try_get_with(key, lookup).await {
            Ok(name) => Ok(Some(name)),
            Err(miss) => match miss.as_ref() {
                NameMiss::Unknown => Ok(None),
                NameMiss::Failed(failure) => Err(failure.clone()),
            },
        }
    }

    /// The customers BOFE paired with these interactions, first paired first, in one call; an
    /// interaction without a pairing (yet) is not in the map.
    pub async fn customers_of(
        &self,
        interaction_ids: &[InteractionId],
    ) -> Result<HashMap<InteractionId, Vec<CustomerId>>, Failure> {
        self.pairings_of(interaction_ids)
            .await
            .map(|pairings| pairings.customers)
    }

    /// What interaction-pairing knows of these interactions (at most its lookup limit), in one call.
    pub async fn pairings_of(&self, interaction_ids: &[InteractionId]) -> Result<Pairings, Failure> {
        let unreadable = || Failure::Transient {
            reason: "interaction-pairing: unreadable answer to a lookup".to_owned(),
            retry_after: None,
        };
        let url = Self::url(&self.pairing_url, &["internal", "pairings", "lookup"])?;
        let request = self
            .http
            .post(url)
            .json(&serde_json::json!({ "interactionIds": interaction_ids }));
        let Answer::Found(body) = self.call("interaction-pairing", request).await? else {
            return Err(unreadable());
        };
        let answer: LookupAnswer = serde_json::from_value(body).map_err(|_| unreadable())?;
        Ok(Pairings {
            customers: answer
                .pairings
                .into_iter()
                .map(|pairing| {
                    let customers = pairing.customers.into_iter().map(|c| c.customer_id).collect();
                    (pairing.interaction_id, customers)
                })
                .collect(),
            held: answer.held_interaction_ids.into_iter().collect(),
        })
    }

    /// Writes the record once for `event_id`. `Some(record id)` when written now or before with the
    /// same content; `None` when the event's record exists with other content (e.g. written before
    /// a late pairing arrived): it exists, which is what counts; `None` too when the writer answers
    /// that a purged GDPR forget erased it (410): settled, neither retried nor a dead letter.
    pub async fn write_record(&self, record: &NewCommunicationRecord, event_id: Uuid) -> Result<Option<Uuid>, Failure> {
        let url = Self::url(&self.comm_history_url, &["communicationRecords"])?;
        let request = self
            .http
            .post(url)
            .header("Idempotency-Key", event_id.to_string())
            .json(record);
        match self.call("comm-history-writer", request).await? {
            Answer::Found(body) => Ok(body
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::try_parse(id).ok())),
            Answer::Conflict | Answer::Gone => Ok(None),
            Answer::NotFound => Err(Failure::Transient {
                reason: "comm-history-writer: 404 for its own route".to_owned(),
                retry_after: None,
            }),
        }
    }

    /// Writes the records of many events in one call (comm-history-writer's batch endpoint), each
    /// once for its event id; answers each as [`Self::write_record`] would. When the writer
    /// refuses the batch as a whole (too large, or an entry it finds invalid), each record is
    /// written alone, so that only the faulty one fails.
    pub async fn write_records(
        &self,
        records: &[(Uuid, &NewCommunicationRecord)],
    ) -> Result<Vec<Result<Option<Uuid>, Failure>>, Failure> {
        let url = Self::url(&self.comm_history_url, &["communicationRecords", "batch"])?;
        let entries: Vec<Value> = records
            .iter()
            .map(|(event_id, record)| serde_json::json!({ "idempotencyKey": event_id, "record": record }))
            .collect();
        let request = self.http.post(url).json(&serde_json::json!({ "records": entries }));
        let body = match self.call("comm-history-writer", request).await {
            Ok(Answer::Found(body)) => body,
            Ok(Answer::NotFound | Answer::Conflict | Answer::Gone) => {
                return Err(Failure::Transient {
                    reason: "comm-history-writer: unexpected answer to a batch".to_owned(),
                    retry_after: None,
                })
            }
            Err(Failure::Permanent { .. }) => {
                let written = records
                    .iter()
                    .map(|(event_id, record)| self.write_record(record, *event_id));
                return Ok(futures_util::future::join_all(written).await);
            }
            Err(transient) => return Err(transient),
        };
        let results = body
            .get("results")
            .and_then(Value::as_array)
            .filter(|results| results.len() == records.len())
            .ok_or_else(|| Failure::Transient {
                reason: "comm-history-writer: unreadable answer to a batch".to_owned(),
                retry_after: None,
            })?;
        Ok(results
            .iter()
            .map(|result| match result.get("outcome").and_then(Value::as_str) {
                Some("created" | "replayed") => Ok(result
                    .get("recordId")
                    .and_then(Value::as_str)
                    .and_then(|id| Uuid::try_parse(id).ok())),
                // The event's record exists with other content: it exists, which is what counts.
                Some("conflict") => Ok(None),
                // A purged GDPR forget erased it: settled, as a single write's 410.
                Some("erased") => Ok(None),
                _ => Err(Failure::Transient {
                    reason: "comm-history-writer: unreadable answer to a batch".to_owned(),
                    retry_after: None,
                }),
            })
            .collect())
    }

    /// Page `page` of the conversations that started in `[from, before)`, with their agents'
    /// results (one Genesys request; a 429 comes back at once as a transient failure with its
    /// `Retry-After`).
    pub async fn conversation_page(
        &self,
        from: domain::Timestamp,
        before: domain::Timestamp,
        page: u32,
    ) -> Result<crate::sweep::ConversationPage, Failure> {
        let unreadable = || Failure::Transient {
            reason: "genesys-gateway: unreadable page of conversations".to_owned(),
            retry_after: None,
        };
        let url = Self::url(&self.gateway_url, &["conversations", "results"])?;
        let request = self.http.get(url).query(&[
            ("startedFrom", from.to_rfc3339()),
            ("startedBefore", before.to_rfc3339()),
            ("page", page.to_string()),
        ]);
        let Answer::Found(body) = self.call("genesys-gateway", request).await? else {
            return Err(unreadable());
        };
        serde_json::from_value(body).map_err(|_| unreadable())
    }

    /// Gives the customer the interaction's communication: its records without a customer, or a
    /// copy of its record when another customer has it (idempotent).
    pub async fn assign_customer(
        &self,
        interaction_id: InteractionId,
        customer_id: CustomerId,
        by: AssignedBy,
    ) -> Result<(), Failure> {
        let url = Self::url(&self.comm_history_url, &["internal", "customerAssignments"])?;
        let source = match by {
            AssignedBy::Pairing => "pairing",
            AssignedBy::LatePairing => "late_pairing",
        };
        let body = serde_json::json!({ "interactionId": interaction_id, "customerId": customer_id, "source": source });
        self.call("comm-history-writer", self.http.post(url).json(&body))
            .await
            .map(drop)
    }

    async fn call(&self, service: &str, request: reqwest_middleware::RequestBuilder) -> Result<Answer, Failure> {
        let response = request
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .map_err(|error| {
                let what = if error.is_timeout() { "timed out" } else { "unreachable" };
                Failure::Transient {
                    reason: format!("{service}: {what}"),
                    retry_after: None,
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds).min(self.max_retry_after));
        match status {
            s if s.is_success() => response
                .json::<Value>()
                .await
                .map(Answer::Found)
                .map_err(|_| Failure::Transient {
                    reason: format!("{service}: unreadable answer"),
                    retry_after: None,
                }),
            StatusCode::NOT_FOUND => Ok(Answer::NotFound),
            StatusCode::CONFLICT => Ok(Answer::Conflict),
            StatusCode::GONE => Ok(Answer::Gone),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Failure::Permanent {
                    reason: format!("{service}: refused the request ({status})"),
                })
            }
            // 401/403 (a token or scope to fix), 429, 5xx: worth retrying once fixed or recovered.
            _ => Err(Failure::Transient {
                reason: format!("{service}: {status}"),
                retry_after,
            }),
        }
    }
}

fn name_of(answer: Answer) -> Option<String> {
    match answer {
        Answer::Found(body) => body.get("name").and_then(Value::as_str).map(str::to_owned),
        Answer::NotFound | Answer::Conflict | Answer::Gone => None,
    }
}
