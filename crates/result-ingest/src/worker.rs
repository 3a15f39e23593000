//! The worker: claims due inbox events in batches and turns each into a communication record.
//! Any number of replicas run it (`service_kit::queue::run`); `try_execute_task(now)` lets tests
//! drain the inbox deterministically.

use crate::inbox::{self, Claimed, InboxStatus, Settlement as Outcome};
use crate::metrics::IngestMetrics;
use crate::settings::IngestSettings;
use crate::siblings::{AssignedBy, Failure, Siblings};
use domain::{AgentOnRecord, CustomerId, InteractionId, NewCommunicationRecord, Timestamp};
use service_kit::database::DbPool;
use service_kit::problem::ApiError;
use service_kit::queue::{Policy, QueueSettings, QueueWorker};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Processed events past retention are removed this many at a statement, at most
/// `REMOVAL_CHUNKS` statements a housekeeping round (every 15 seconds: up to about 3,300 a second,
/// far above any contact center's steady rate).
const REMOVAL_CHUNK: i64 = 1000;
const REMOVAL_CHUNKS: usize = 50;

pub struct Worker {
    pool: DbPool,
    siblings: Siblings,
    queue: QueueSettings,
    policy: Policy,
    settings: IngestSettings,
    metrics: Arc<IngestMetrics>,
}

enum Settled {
    Processed {
        record_id: Option<uuid::Uuid>,
    },
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Dead {
        reason: String,
    },
    /// The batch's lease ran short before this event's next call: let go, due again at once.
    Released,
}

/// The batch's lease: a call starts only while enough of it is left for the call to end (and
/// for its answer to be committed) before the lease does, so that the worker never writes what
/// it no longer holds, and a GDPR forget that waits for the lease to end waits for every write.
#[derive(Debug, Clone, Copy)]
struct Lease {
    until: Timestamp,
    margin: Duration,
}

impl Lease {
    fn allows_a_call(&self) -> bool {
        Timestamp::now().as_offset_date_time() + self.margin < self.until.as_offset_date_time()
    }
}

impl Worker {
    pub fn new(pool: DbPool, settings: IngestSettings, metrics: Arc<IngestMetrics>) -> anyhow::Result<Self> {
        Ok(Self {
            siblings: Siblings::new(&settings)?,
            queue: settings.queue().map_err(service_kit::configuration::invalid_all)?,
            policy: settings.policy().map_err(service_kit::configuration::invalid_all)?,
            pool,
            settings,
            metrics,
        })
    }

    /// Claims one batch of due events, handles them concurrently, and settles the whole batch in
    /// one transaction (processed, rescheduled or dead). A worker that dies before settling lets
    /// its lease run out; the next attempt's write is answered from the record's idempotency key.
    pub async fn try_execute_task(&self, now: Timestamp) -> Result<usize, ApiError> {
        let limit = i64::from(self.policy.batch.get());
        let lease = self.policy.lease;
        let batch = self
            .pool
            .run(move |c| inbox::claim_due(c, now, limit, lease).map_err(ApiError::from))
            .await?;
        if batch.events.is_empty() {
            return Ok(0);
        }
        let count = batch.events.len();
        let lease = Lease {
            until: batch.lease_until,
            margin: self.settings.call_margin(),
        };
        let handled = self.enrich_and_write(batch.events, lease).await;
        let now = Timestamp::now();
        let outcomes: Vec<(Claimed, tracing::Span, Outcome)> = handled
            .into_iter()
            .map(|(event, span, settled)| {
                let outcome = span.in_scope(|| self.outcome(&event, settled, now));
                (event, span, outcome)
            })
            .collect();
        let settlements: Vec<(uuid::Uuid, Outcome)> = outcomes
            .iter()
            .map(|(event, _, outcome)| (event.id, outcome.clone()))
            .collect();
        let settled = self
            .pool
            .run(move |c| inbox::settle(c, &settlements, now, lease.until).map_err(ApiError::from))
            .await?;
        if settled < count {
            // Another worker took over what this one held too long: its settlement stands.
            tracing::warn!(
                events = count,
                settled,
                "the batch's lease ended before it was settled; the rest is another worker's"
            );
        }
        let (mut processed, mut retried, mut dead, mut released) = (0usize, 0usize, 0usize, 0usize);
        for (event, span, outcome) in outcomes {
            let _entered = span.enter();
            self.record_settled(&event, &outcome, now);
            match outcome {
                Outcome::Processed { .. } => processed += 1,
                Outcome::Retry { .. } => retried += 1,
                Outcome::Dead { .. } => dead += 1,
                Outcome::Postpone { .. } => released += 1,
            }
        }
        // One line a batch at `info`, not one an event: at thousands of events a second, a line
        // each would be most of the service's log volume (and about 7% of the process's CPU).
        tracing::info!(
            events = count,
            processed,
            retried,
            dead,
            released,
            "inbox batch settled"
        );
        Ok(count)
    }

    /// Updates the queue gauges, removes processed events past retention and erases dead ones
    /// past theirs.
    pub async fn housekeeping(&self, now: Timestamp) -> Result<(), ApiError> {
        let days_ago = |days: std::num::NonZeroU32| {
            Timestamp::from_offset_date_time(
                now.as_offset_date_time() - Duration::from_secs(u64::from(days.get()) * 86_400),
            )
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the retention reaches before year 1")))
        };
        let processed_before = days_ago(self.settings.retention_days)?;
        let dead_before = days_ago(self.settings.dead_retention_days)?;
        let (depth, removed, erased) = self
            .pool
            .run(move |c| {
                // In chunks (each a select and a delete by id); a round removes at most REMOVAL_CHUNKS of
                // them, so that it holds its connection briefly, and the next round goes on.
                let in_chunks = |c: &mut service_kit::database::AnyConnection,
                                 remove: fn(
                    &mut service_kit::database::AnyConnection,
                    Timestamp,
                    i64,
                ) -> diesel::QueryResult<usize>,
                                 before: Timestamp| {
                    let mut removed = 0;
                    for _ in 0..REMOVAL_CHUNKS {
                        let chunk = remove(c, before, REMOVAL_CHUNK)?;
                        removed += chunk;
                        if chunk < REMOVAL_CHUNK as usize {
                            break;
                        }
                    }
                    Ok::<_, ApiError>(removed)
                };
                let removed = in_chunks(c, inbox::remove_processed_before, processed_before)?;
                let erased = in_chunks(c, inbox::remove_dead_before, dead_before)?;
                Ok::<_, ApiError>((inbox::depth(c)?, removed, erased))
            })
            .await?;
        if erased > 0 {
            self.metrics.dead_erased.inc_by(erased as u64);
            tracing::info!(erased, "erased dead inbox events past ingest.dead_retention_days");
        }
        self.metrics
            .queue_depth
            .with_label_values(&[InboxStatus::Pending.as_str()])
            .set(depth.pending);
        self.metrics
            .queue_depth
            .with_label_values(&[InboxStatus::Dead.as_str()])
            .set(depth.dead);
        let age = depth.oldest_pending.map_or(0, |at| {
            (now.as_offset_date_time() - at.as_offset_date_time()).whole_seconds()
        });
        self.metrics.oldest_pending_age_seconds.set(age);
        if removed > 0 {
            tracing::info!(removed, "removed processed inbox events past retention");
        }
        Ok(())
    }

    /// What becomes of an event after this attempt, under the queue policy: a transient failure
    /// past the retry budget is dead; otherwise it is due again after the policy's backoff with
    /// jitter (or the sibling's `Retry-After`, when longer).
    fn outcome(&self, event: &Claimed, settled: Settled, now: Timestamp) -> Outcome {
        match settled {
            Settled::Processed { record_id } => Outcome::Processed { record_id },
            Settled::Retry { reason, retry_after } => {
                // A claim counts its attempt: a claimed event has had at least one.
                let Some(attempts) = u32::try_from(event.attempts).ok().and_then(std::num::NonZeroU32::new) else {
                    return Outcome::Dead {
                        reason: format!(
                            "a claimed event counted {} attempts; last failure: {reason}",
                            event.attempts
                        ),
                    };
                };
                let budget = self.policy.budget;
                if !budget.allows_another(attempts.get(), event.budget_started_at, now) {
                    return Outcome::Dead {
                        reason: format!("{}: {reason}", budget.spent(attempts.get())),
                    };
                }
                let delay = self.policy.backoff.delay(attempts);
                // Retry-After is capped where it is read (`ingest.max_retry_after_seconds`).
                let delay = retry_after.map_or(delay, |after| delay.max(after));
                let Some(next_attempt_at) = Timestamp::from_offset_date_time(now.as_offset_date_time() + delay) else {
                    return Outcome::Dead {
                        reason: format!("no time to retry at; last failure: {reason}"),
                    };
                };
                tracing::warn!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "event will be retried");
                Outcome::Retry {
                    reason,
                    next_attempt_at,
                }
            }
            Settled::Dead { reason } => Outcome::Dead { reason },
            // Not attempted: the attempt is given back.
            Settled::Released => Outcome::Postpone { next_attempt_at: now },
        }
    }

    /// Metrics and the log line of a settled event (inside its span).
    fn record_settled(&self, event: &Claimed, outcome: &Outcome, now: Timestamp) {
        match outcome {
            Outcome::Processed { record_id } => {
                self.metrics.processed.inc();
                let waited = now.as_offset_date_time() - event.accepted_at.as_offset_date_time();
                self.metrics
                    .end_to_end_seconds
                    .observe(waited.as_seconds_f64().max(0.0));
                tracing::debug!(record_id = ?record_id, "event processed");
            }
            Outcome::Retry { .. } => self.metrics.retried.inc(),
            Outcome::Dead { reason } => {
                tracing::error!(reason = %reason, "event moved to the dead letters");
                self.metrics.dead.inc();
            }
            Outcome::Postpone { .. } => {}
        }
    }

    /// The batch's pairings in one lookup, each event's names (concurrently, in the event's
    /// span), every record in one batch write, then one more lookup for the pairings of those
    /// written without a customer.
    async fn enrich_and_write(&self, claimed: Vec<Claimed>, lease: Lease) -> Vec<(Claimed, tracing::Span, Settled)> {
        let spans: Vec<tracing::Span> = claimed
            .iter()
            .map(|event| {
                let span = tracing::info_span!("ingest event", event_id = %event.id, attempt = event.attempts);
                if let Some(traceparent) = &event.trace_context {
                    service_kit::telemetry::continue_trace(&span, traceparent);
                }
                span
            })
            .collect();
        if !lease.allows_a_call() {
            return claimed
                .into_iter()
                .zip(spans)
                .map(|(event, span)| (event, span, Settled::Released))
                .collect();
        }
        let all: Vec<usize> = (0..claimed.len()).collect();
        let customers = self
            .customers_of(&claimed, &all)
            .instrument(batch_span("look up pairings", &spans, &all))
            .await;
        let enriched = futures_util::future::join_all(claimed.iter().zip(&spans).map(|(event, span)| {
            // The record names the first customer paired; the others get theirs after it is written.
            let customer = customers
                .as_ref()
                .map(|found| {
                    found
                        .get(&event.result.conversation_id)
                        .and_then(|customers| customers.first().copied())
                })
                .map_err(Clone::clone);
            self.enrich(event, customer).instrument(span.clone())
        }))
        .await;

        let ready: Vec<usize> = (0..claimed.len()).filter(|&index| enriched[index].is_ok()).collect();
        let mut written: Vec<Option<Result<Option<uuid::Uuid>, Failure>>> = vec![None; claimed.len()];
        let may_write = lease.allows_a_call();
        if may_write && !ready.is_empty() {
            let batch: Vec<(uuid::Uuid, &NewCommunicationRecord)> = ready
                .iter()
                .filter_map(|&index| {
                    enriched[index]
                        .as_ref()
                        .ok()
                        .map(|(record, _)| (claimed[index].id, record))
                })
                .collect();
            let results = self
                .siblings
                .write_records(&batch)
                .instrument(batch_span("write records", &spans, &ready))
                .await;
            for (position, &index) in ready.iter().enumerate() {
                written[index] = Some(match &results {
                    Ok(results) => results[position].clone(),
                    Err(failure) => Err(failure.clone()),
                });
            }
        }

        // The interaction's other customers get the record too; and a pairing that committed
        // while the records were written may have found none to fill in yet: look again now
        // that they exist (the outbox covers every later pairing).
        let recorded: Vec<usize> = (0..claimed.len())
            .filter(|&index| enriched[index].is_ok() && matches!(&written[index], Some(Ok(_))))
            .collect();
        let may_assign = lease.allows_a_call();
        let now_paired = if recorded.is_empty() || !may_assign {
            Ok(HashMap::new())
        } else {
            self.customers_of(&claimed, &recorded)
                .instrument(batch_span("look up pairings again", &spans, &recorded))
                .await
        };
        let paired_before = customers.unwrap_or_default();

        let settled = futures_util::future::join_all(enriched.into_iter().zip(written).enumerate().map(
            |(index, (enriched, written))| {
                let event = &claimed[index];
                let (now_paired, paired_before, recorded) = (&now_paired, &paired_before, &recorded);
                async move {
                    let on_record = match enriched {
                        Err(settled) => return settled,
                        Ok((_, customer)) => customer,
                    };
                    let record_id = match written {
                        Some(Ok(record_id)) => record_id,
                        Some(Err(failure)) => return settle_failure(failure),
                        None if !may_write => return Settled::Released,
                        None => {
                            return Settled::Retry {
                                reason: "the record was not written".to_owned(),
                                retry_after: None,
                            }
                        }
                    };
                    if recorded.contains(&index) {
                        let interaction = event.result.conversation_id;
                        let found = match now_paired {
                            Ok(found) => found.get(&interaction).cloned().unwrap_or_default(),
                            Err(failure) => return settle_failure(failure.clone()),
                        };
                        let before = paired_before.get(&interaction).cloned().unwrap_or_default();
                        for customer in found.into_iter().filter(|&c| Some(c) != on_record) {
                            if !lease.allows_a_call() {
                                return Settled::Released;
                            }
                            let by = if before.contains(&customer) {
                                AssignedBy::Pairing
                            } else {
                                AssignedBy::LatePairing
                            };
                            if let Err(failure) = self.siblings.assign_customer(interaction, customer, by).await {
                                return settle_failure(failure);
                            }
                        }
                    }
                    Settled::Processed { record_id }
                }
                .instrument(spans[index].clone())
            },
        ))
        .await;
        claimed
            .into_iter()
            .zip(spans)
            .zip(settled)
            .map(|((event, span), settled)| (event, span, settled))
            .collect()
    }

    /// The pairings of the events at `indices`.
    async fn customers_of(
        &self,
        claimed: &[Claimed],
        indices: &[usize],
    ) -> Result<HashMap<InteractionId, Vec<CustomerId>>, Failure> {
        let mut interactions: Vec<InteractionId> = indices
            .iter()
            .map(|&index| claimed[index].result.conversation_id)
            .collect();
        interactions.sort();
        interactions.dedup();
        self.siblings.customers_of(&interactions).await
    }

    /// The event's record as it will be written, and the customer it was paired with (if yet).
    async fn enrich(
        &self,
        event: &Claimed,
        customer: Result<Option<CustomerId>, Failure>,
    ) -> Result<(NewCommunicationRecord, Option<CustomerId>), Settled> {
        let result = &event.result;
        // An agent a GDPR forget holds is not looked up, and the record names no agent.
        let agent_lookup = async {
            if event.agent_redacted {
                Ok(None)
            } else {
                self.siblings.agent_name(result.user_id).await.map(Some)
            }
        };
        let (agent, purpose) = tokio::join!(
            agent_lookup,
            self.siblings.wrapup_code_name(result.wrapup_code.as_str()),
        );
        let (agent, purpose, customer) = match (agent, purpose, customer) {
            (Ok(agent), Ok(purpose), Ok(customer)) => (agent, purpose, customer),
            (Err(failure), _, _) | (_, Err(failure), _) | (_, _, Err(failure)) => return Err(settle_failure(failure)),
        };
        if agent.as_ref().is_some_and(Option::is_none) {
            self.metrics.missing.with_label_values(&["agent"]).inc();
        }
        if purpose.is_none() {
            self.metrics.missing.with_label_values(&["wrapup_code"]).inc();
        }
        let agent = agent.as_ref().map(|name| AgentOnRecord {
            user_id: result.user_id,
            name: name.as_deref(),
        });
        match result.to_record(customer, agent, purpose.as_deref()) {
            Ok(record) => Ok((record, customer)),
            Err(error) => Err(Settled::Dead {
                reason: format!("the record would be invalid: {error}"),
            }),
        }
    }
}

/// The span of one call made for the events at `indices`: it joins the first event's trace and
/// links the others' (OpenTelemetry's model for a batch), so each event's trace shows the call.
fn batch_span(name: &'static str, spans: &[tracing::Span], indices: &[usize]) -> tracing::Span {
    let Some((&first, others)) = indices.split_first() else {
        return tracing::Span::none();
    };
    let span = tracing::info_span!(parent: &spans[first], "batch call", otel.name = name, events = indices.len());
    for &index in others {
        span.follows_from(&spans[index]);
    }
    span
}

fn settle_failure(failure: Failure) -> Settled {
    match failure {
        Failure::Transient { reason, retry_after } => Settled::Retry { reason, retry_after },
        Failure::Permanent { reason } => Settled::Dead { reason },
    }
}

impl QueueWorker for Worker {
    type Error = ApiError;
    const NAME: &'static str = "ingest worker";

    fn queue(&self) -> &QueueSettings {
        &self.queue
    }

    fn try_execute_task(&self, now: Timestamp) -> impl std::future::Future<Output = Result<usize, ApiError>> {
        Worker::try_execute_task(self, now)
    }

    fn housekeeping(&self, now: Timestamp) -> impl std::future::Future<Output = Result<(), ApiError>> {
        Worker::housekeeping(self, now)
    }
}
