//! Calls to the services an event is enriched from and written to, and the gateway's ended
//! conversations the sweep reads. Every failure is classified:
//! `Transient` (down, slow, busy, misconfigured: retry later) or `Permanent` (the request itself is
//! wrong: retrying cannot help). Reasons name the service and status, never personal data.

use crate::settings::IngestSettings;
use contracts::gateway::{
    AgentName, ConversationPage, ConversationParticipantData, ConversationResultsQuery, ParticipantDataQuery,
    WrapupName,
};
use contracts::history::{
    Assignment, CommunicationRecord, RecordBatch, RecordBatchEntry, RecordBatchResults, RecordOutcome, Updated,
    WrittenCustomerSource,
};
use contracts::pairing::{PairingsLookup, PairingsOf};
use contracts::{Client, ClientError};
use domain::{CustomerId, GenesysUserId, InteractionId, NewCommunicationRecord};
use reqwest::StatusCode;
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
    /// Agent and wrap-up code names for `name_cache_seconds`: a batch shares a few agents and
    /// codes, and a gateway call per event and name would cost more than the event's own write.
    names: moka::future::Cache<NameKey, String>,
    gateway: Client,
    pairing: Client,
    history: Client,
    /// A sibling's `Retry-After` is honoured up to this, so no answer can park an event longer.
    max_retry_after: Duration,
    /// The participant attributes the sweep asks the gateway for (comma-separated), if any are
    /// configured (`ingest.participant_data`): no other leaves the gateway.
    participant_attributes: Option<String>,
}

/// What interaction-pairing knows of some interactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairings {
    /// The customers each paired interaction belongs to, first paired first.
    pub customers: HashMap<InteractionId, Vec<CustomerId>>,
    /// Interactions whose pairing a GDPR forget holds: paired, to whom is not told.
    pub held: HashSet<InteractionId>,
}

/// How a customer came to an interaction whose record is written: paired before (`Pairing`), or
/// after the record's customers were looked up (`LatePairing`): the assignment's own `source`.
pub use contracts::history::AssignedBy;

/// An answer that settles a call without its body: 404, 409 or 410.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    NotFound,
    Conflict,
    /// What was asked for was erased by a purged GDPR forget; settled, never retried.
    Gone,
}

/// The segment of a path, percent-encoded (a wrap-up code may hold any character).
fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Siblings {
    pub fn new(settings: &IngestSettings) -> anyhow::Result<Self> {
        let http = service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?;
        let client = |url: &url::Url| -> anyhow::Result<Client> {
            Ok(Client::new(http.clone(), url.clone()).with_token(settings.internal_token.clone()))
        };
        Ok(Self {
            names: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(settings.name_cache_seconds))
                .build(),
            gateway: client(&settings.gateway_url)?,
            pairing: client(&settings.pairing_url)?,
            history: client(&settings.comm_history_url)?,
            max_retry_after: Duration::from_secs(settings.max_retry_after_seconds),
            participant_attributes: settings.participant_data.is_enabled().then(|| {
                let names: Vec<&str> = settings.participant_data.names().map(|name| name.as_str()).collect();
                names.join(",")
            }),
        })
    }

    /// The agent's name; `None` when Genesys does not know the agent.
    pub async fn agent_name(&self, user_id: GenesysUserId) -> Result<Option<String>, Failure> {
        let call = self.gateway.get(&format!("/users/{user_id}"));
        let lookup = async {
            match call.send::<AgentName>().await {
                Ok(agent) => Ok(agent.name),
                Err(error) => Err(self.name_miss(&error)),
            }
        };
        self.name(NameKey::Agent(user_id), lookup).await
    }

    /// The wrap-up code's name; `None` when there is no such code.
    pub async fn wrapup_code_name(&self, code: &str) -> Result<Option<String>, Failure> {
        let call = self.gateway.get(&format!("/wrapupcodes/{}", segment(code)));
        let lookup = async {
            match call.send::<WrapupName>().await {
                Ok(code) => Ok(code.name),
                Err(error) => Err(self.name_miss(&error)),
            }
        };
        self.name(NameKey::WrapupCode(code.to_owned()), lookup).await
    }

    fn name_miss(&self, error: &ClientError) -> NameMiss {
        match settled(error) {
            Some(Settled::NotFound) => NameMiss::Unknown,
            _ => NameMiss::Failed(self.failure("genesys-gateway", error)),
        }
    }

    /// From the cache, or from the gateway; concurrent lookups of one name share a call.
    async fn name(
        &self,
        key: NameKey,
        lookup: impl std::future::Future<Output = Result<String, NameMiss>>,
    ) -> Result<Option<String>, Failure> {
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
        let lookup = PairingsLookup {
            interaction_ids: interaction_ids.to_vec(),
        };
        let answer: PairingsOf = self
            .pairing
            .post("/internal/pairings/lookup")
            .json(&lookup)
            .send()
            .await
            .map_err(|error| self.unsettled("interaction-pairing", &error))?;
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
        let written = self
            .history
            .post("/communicationRecords")
            .idempotency_key(&event_id.to_string())
            .json(record)
            .send::<CommunicationRecord>()
            .await;
        match written {
            Ok(record) => Ok(Some(*record.id.as_uuid())),
            Err(error) => match settled(&error) {
                Some(Settled::Conflict | Settled::Gone) => Ok(None),
                Some(Settled::NotFound) => Err(Failure::Transient {
                    reason: "comm-history-writer: 404 for its own route".to_owned(),
                    retry_after: None,
                }),
                None => Err(self.failure("comm-history-writer", &error)),
            },
        }
    }

    /// Writes the records of many events in one call (comm-history-writer's batch endpoint), each
    /// once for its event id, with how its customer was found; answers each as
    /// [`Self::write_record`] would. When the writer refuses the batch as a whole (too large, or an
    /// entry it finds invalid), each record is written alone (one whose customer came from
    /// participant data as a batch of its own, which says so), so that only the faulty one fails.
    pub async fn write_records(
        &self,
        records: &[(Uuid, &NewCommunicationRecord, Option<WrittenCustomerSource>)],
    ) -> Result<Vec<Result<Option<Uuid>, Failure>>, Failure> {
        let entries: Vec<RecordBatchEntry> = records
            .iter()
            .map(|(event_id, record, customer_source)| RecordBatchEntry {
                idempotency_key: event_id.to_string(),
                record: (*record).clone(),
                customer_source: *customer_source,
            })
            .collect();
        let answer = match self.post_batch(&entries).await {
            Ok(answer) => answer,
            Err(Failure::Permanent { .. }) => {
                let written = records
                    .iter()
                    .zip(&entries)
                    .map(|((event_id, record, _), entry)| async move {
                        // A single write says no source: its customer is the pairing's. One from
                        // participant data goes as a batch of its own, which says so.
                        if entry.customer_source != Some(WrittenCustomerSource::ParticipantData) {
                            return self.write_record(record, *event_id).await;
                        }
                        let answer = self.post_batch(std::slice::from_ref(entry)).await?;
                        answer.into_iter().next().unwrap_or_else(|| {
                            Err(off_contract(
                                "comm-history-writer",
                                "a batch's results are not one an entry",
                            ))
                        })
                    });
                return Ok(futures_util::future::join_all(written).await);
            }
            Err(failure) => return Err(failure),
        };
        Ok(answer)
    }

    /// One call of the batch endpoint: each entry's answer, in order.
    async fn post_batch(&self, entries: &[RecordBatchEntry]) -> Result<Vec<Result<Option<Uuid>, Failure>>, Failure> {
        let batch = RecordBatch {
            records: entries.to_vec(),
        };
        let answer = self
            .history
            .post("/communicationRecords/batch")
            .json(&batch)
            .send::<RecordBatchResults>()
            .await
            .map_err(|error| self.unsettled("comm-history-writer", &error))?;
        if answer.results.len() != entries.len() {
            return Err(off_contract(
                "comm-history-writer",
                "a batch's results are not one an entry",
            ));
        }
        Ok(answer
            .results
            .into_iter()
            .map(|result| match (result.outcome, result.record_id) {
                (RecordOutcome::Created | RecordOutcome::Replayed, Some(id)) => Ok(Some(*id.as_uuid())),
                (RecordOutcome::Created | RecordOutcome::Replayed, None) => Err(off_contract(
                    "comm-history-writer",
                    "a written record without its recordId",
                )),
                // The event's record exists with other content (an earlier attempt wrote it): it
                // exists, which is what counts; its id while it is there, for its content job.
                (RecordOutcome::Conflict, record_id) => Ok(record_id.map(|id| *id.as_uuid())),
                // A purged GDPR forget erased it: settled, as a single write's 410.
                (RecordOutcome::Erased, _) => Ok(None),
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
    ) -> Result<ConversationPage, Failure> {
        self.gateway
            .get("/conversations/results")
            .query(&ConversationResultsQuery::new(from, before, page))
            .send()
            .await
            .map_err(|error| self.unsettled("genesys-gateway", &error))
    }

    /// The customer participant's attributes of the configured names (`ingest.participant_data`)
    /// in the conversation, as Genesys holds them now (one Genesys request through the gateway);
    /// none asked when none is configured, and none when Genesys does not know the conversation.
    pub async fn participant_data_of(
        &self,
        conversation: InteractionId,
    ) -> Result<std::collections::BTreeMap<String, String>, Failure> {
        let Some(attributes) = self.participant_attributes.clone() else {
            return Ok(std::collections::BTreeMap::new());
        };
        let answer = self
            .gateway
            .get(&format!("/conversations/{conversation}/participantData"))
            .query(&ParticipantDataQuery {
                attributes: Some(attributes),
            })
            .send::<ConversationParticipantData>()
            .await;
        match answer {
            Ok(found) => Ok(found.participant_data),
            Err(error) if matches!(settled(&error), Some(Settled::NotFound)) => Ok(std::collections::BTreeMap::new()),
            Err(error) => Err(self.unsettled("genesys-gateway", &error)),
        }
    }

    /// Gives the customer the interaction's communication: its records without a customer, or a
    /// copy of its record when another customer has it (idempotent).
    pub async fn assign_customer(
        &self,
        interaction_id: InteractionId,
        customer_id: CustomerId,
        by: AssignedBy,
    ) -> Result<(), Failure> {
        let assignment = Assignment {
            interaction_id,
            customer_id,
            source: by,
        };
        self.history
            .post("/internal/customerAssignments")
            .json(&assignment)
            .send::<Updated>()
            .await
            .map(drop)
            .map_err(|error| self.unsettled("comm-history-writer", &error))
    }

    /// A failed call whose 404, 409 or 410 settles nothing either: an answer this caller does not
    /// expect, worth trying again.
    fn unsettled(&self, service: &str, error: &ClientError) -> Failure {
        match settled(error) {
            Some(_) => Failure::Transient {
                reason: format!("{service}: unexpected {}", error.status().map_or(0, |s| s.as_u16())),
                retry_after: None,
            },
            None => self.failure(service, error),
        }
    }

    /// Every failure classified: the request itself wrong (400, 413, 422, a path that makes no
    /// address) is permanent; anything else (down, slow, busy, a token or scope to fix, an answer
    /// off the contract) is transient. The reason names the service and what went wrong, never a
    /// value: an answer off the contract is named by the field's path, and logged here.
    fn failure(&self, service: &str, error: &ClientError) -> Failure {
        match error {
            ClientError::InvalidPath { .. } => Failure::Permanent {
                reason: format!("{service}: the URL cannot take the path"),
            },
            ClientError::InvalidHeader { name } => Failure::Permanent {
                reason: format!("{service}: the {name} header cannot be sent"),
            },
            ClientError::Transport { timeout, .. } => Failure::Transient {
                reason: format!("{service}: {}", if *timeout { "timed out" } else { "unreachable" }),
                retry_after: None,
            },
            ClientError::UnexpectedBody { status, path, category } => {
                off_contract(service, &format!("{status} at {path:?}: {category}"))
            }
            ClientError::Problem { status, .. } | ClientError::UnexpectedStatus { status, .. } => match *status {
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => {
                    Failure::Permanent {
                        reason: format!("{service}: refused the request ({status})"),
                    }
                }
                // 401/403 (a token or scope to fix), 429, 5xx: worth retrying once fixed or recovered.
                _ => Failure::Transient {
                    reason: format!("{service}: {status}"),
                    retry_after: self.retry_after(error),
                },
            },
        }
    }

    /// The answer's `Retry-After` in seconds, at most `max_retry_after`.
    fn retry_after(&self, error: &ClientError) -> Option<Duration> {
        error
            .headers()
            .and_then(|headers| headers.get(reqwest::header::RETRY_AFTER))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds).min(self.max_retry_after))
    }
}

/// A 404, 409 or 410 answer.
fn settled(error: &ClientError) -> Option<Settled> {
    if matches!(error, ClientError::UnexpectedBody { .. }) {
        return None;
    }
    match error.status()? {
        StatusCode::NOT_FOUND => Some(Settled::NotFound),
        StatusCode::CONFLICT => Some(Settled::Conflict),
        StatusCode::GONE => Some(Settled::Gone),
        _ => None,
    }
}

/// An answer that does not fit the contract: transient (the sibling may be mid-deployment), named
/// by what is off (a field's path, serde's category), never by a value; logged here.
fn off_contract(service: &str, what: &str) -> Failure {
    tracing::warn!(service, what, "a sibling's answer does not fit its contract");
    Failure::Transient {
        reason: format!("{service}: an answer off the contract ({what})"),
        retry_after: None,
    }
}
