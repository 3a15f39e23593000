//! The inbox's job: turns each claimed event into a communication record, a batch at a time.
//! service-kit's queue runner ([`Runner`]) does the rest, the same for every queue: it claims due
//! events (leased; `SKIP LOCKED` on PostgreSQL, so any number of replicas cooperate), settles them
//! by their outcome under the queue policy (backoff with jitter, `ingest.retry_budget`, then a
//! dead letter with its reason), erases dead letters after `ingest.dead_retention_days`, keeps
//! the metrics (`ccbridge_queue_*{queue="ingest_inbox"}`) and the task's health. Processed events
//! past `ingest.retention_days` and dead ones past theirs are erased only once gdpr-orchestrator
//! has said which legal holds and statutory rules are in force, asked before each chunk: what
//! they cover is kept ([`gdpr_participant::expiry`]); when it cannot be asked nothing more goes
//! that round (`ccbridge_ingest_expiry_skipped_total`). Tests call
//! [`Worker::try_execute_task`] or [`Worker::drain`] at a time of their choosing.

use crate::content::ContentPlan;
use crate::gdpr::{reached, Events};
use crate::inbox::{self, InboxEvent, InboxQueue, InboxStatus};
use crate::metrics::IngestMetrics;
use crate::participant_data::Read;
use crate::settings::IngestSettings;
use crate::siblings::{Failure, Siblings};
use contracts::history::{AssignedBy, WrittenCustomerSource};
use domain::{AgentOnRecord, Channel, CustomerId, InteractionId, NewCommunicationRecord, RecordDomain, Timestamp};
use gdpr_participant::expiry::{RetentionSource, SweepError, Walk};
use service_kit::background::{Health, Shutdown};
use service_kit::database::DbPool;
use service_kit::queue::{Claimed, Drained, Job, Made, Outcome, Reason, Runner};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Processed events past retention are removed this many at a statement, at most
/// `REMOVAL_CHUNKS` statements a housekeeping round (every 15 seconds: up to about 3,300 a second,
/// far above any contact center's steady rate), the legal holds asked for before each.
const REMOVAL_CHUNK: i64 = 1000;
const REMOVAL_CHUNKS: usize = 50;

/// The inbox's runner: what `main` runs and tests drive.
pub struct Worker {
    runner: Runner<InboxJob, InboxQueue>,
}

impl Worker {
    /// The inbox's queue metrics go to `registry`.
    pub fn new(
        pool: DbPool,
        settings: IngestSettings,
        metrics: Arc<IngestMetrics>,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Self> {
        let policy = settings.policy().map_err(service_kit::configuration::invalid_all)?;
        // The settlement queues the content jobs of the records written (crate::content).
        let inbox = InboxQueue::new(ContentPlan::of(&settings.content));
        let job = InboxJob {
            siblings: Siblings::new(&settings)?,
            pool: pool.clone(),
            retentions: RetentionSource::new(
                &settings.orchestrator_url,
                &settings.orchestrator_token,
                "ingest.orchestrator_token",
            )?,
            processed: Walk::new(REMOVAL_CHUNK, REMOVAL_CHUNKS),
            settings,
            metrics,
        };
        Ok(Self {
            runner: Runner::new(pool, job, inbox, policy, registry)?,
        })
    }

    /// One pass at `now`: claims a batch of due events, runs it, settles it; answers how many
    /// events it claimed.
    pub async fn try_execute_task(&self, now: Timestamp) -> anyhow::Result<usize> {
        Ok(self.runner.pass(now).await?.claimed)
    }

    /// Passes at `now` until nothing more is due then, then the housekeeping at `now`.
    pub async fn drain(&self, now: Timestamp) -> anyhow::Result<Drained> {
        self.runner.drain(now).await
    }

    /// The queue's gauges, dead letters past their retention, processed events past theirs.
    pub async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        self.runner.housekeeping(now).await
    }

    /// Works the inbox until shutdown (the background task `main` spawns).
    pub async fn run(self, shutdown: Shutdown, health: Health) {
        self.runner.run(shutdown, health).await;
    }
}

/// What the runner runs: a batch of events enriched and written together.
pub struct InboxJob {
    pool: DbPool,
    siblings: Siblings,
    settings: IngestSettings,
    metrics: Arc<IngestMetrics>,
    /// Asked for the legal holds in force and the rules before events past retention go.
    retentions: RetentionSource,
    /// The walk of processed events past their retention.
    processed: Walk<Events>,
}

enum Settled {
    Processed {
        record_id: Option<uuid::Uuid>,
        /// The record's channel: the settlement queues its content job by it.
        channel: Channel,
        /// Participant data named a customer who has the record.
        named: bool,
        /// ... one the back office's pairing did not (counted only once processed, so a retry
        /// does not count it again).
        conflict: bool,
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

impl Job for InboxJob {
    type Item = InboxEvent;

    async fn run(&self, entry: &Claimed<InboxEvent>, now: Timestamp) -> anyhow::Result<Outcome> {
        self.run_batch(std::slice::from_ref(entry), now)
            .await
            .pop()
            .unwrap_or_else(|| Err(anyhow::anyhow!("a batch of one answered no outcome")))
    }

    /// The batch's pairings in one lookup, its names (each event's concurrently), every record in
    /// one batch write, one settlement for all. A worker that dies before settling lets its lease
    /// run out; the next attempt's write is answered from the record's idempotency key.
    async fn run_batch(&self, entries: &[Claimed<InboxEvent>], _now: Timestamp) -> Vec<anyhow::Result<Outcome>> {
        let Some(first) = entries.first() else {
            return Vec::new();
        };
        let lease = Lease {
            until: first.lease_until,
            margin: self.settings.call_margin(),
        };
        let handled = self.enrich_and_write(entries, lease).await;
        let settled_at = Timestamp::now();
        let (mut processed, mut retried, mut dead, mut released) = (0usize, 0usize, 0usize, 0usize);
        let outcomes = entries
            .iter()
            .zip(handled)
            .map(|(entry, (span, settled))| {
                let _entered = span.enter();
                match &settled {
                    Settled::Processed { named, conflict, .. } => {
                        processed += 1;
                        if *named {
                            self.metrics.participant_data_customers.inc();
                        }
                        if *conflict {
                            self.metrics.customer_conflicts.inc();
                        }
                    }
                    Settled::Retry { .. } => retried += 1,
                    Settled::Dead { .. } => dead += 1,
                    Settled::Released => released += 1,
                }
                Ok(self.outcome(&entry.item, settled, settled_at))
            })
            .collect();
        // One line a batch at `info`, not one an event: at thousands of events a second, a line
        // each would be most of the service's log volume (and about 7% of the process's CPU).
        tracing::info!(
            events = entries.len(),
            processed,
            retried,
            dead,
            released,
            "inbox batch run"
        );
        outcomes
    }

    /// Removes processed events past `ingest.retention_days` but those a legal hold or a
    /// statutory rule covers (the runner erases dead letters past theirs, asking
    /// [`Job::keep_dead`], and keeps the gauges).
    async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        let retention = Duration::from_secs(u64::from(self.settings.retention_days.get()) * 86_400);
        let before = Timestamp::from_offset_date_time(now.as_offset_date_time() - retention)
            .ok_or_else(|| anyhow::anyhow!("the retention reaches before year 1"))?;
        let processed = InboxStatus::Processed;
        let round = self
            .processed
            .round(
                &self.pool,
                &self.retentions,
                now,
                move |c, after, chunk| inbox::expired(c, processed, before, after, chunk),
                reached,
                move |c, ids| inbox::remove_expired(c, processed, ids, before),
            )
            .await;
        let swept = match round {
            Ok(swept) => swept,
            Err(SweepError::Unasked { done }) => {
                self.metrics.expiry_skipped.inc();
                done
            }
            Err(SweepError::Database(error)) => return Err(error.into()),
        };
        self.metrics.expired.inc_by(swept.expired);
        if swept.expired > 0 || swept.kept > 0 {
            tracing::info!(
                removed = swept.expired,
                kept = swept.kept,
                "removed processed inbox events past retention"
            );
        }
        Ok(())
    }

    /// Of dead events past `ingest.dead_retention_days`, those a legal hold in force covers
    /// (statutory rules keep records only); `None` (counted as a skipped round of this clean-up)
    /// when the orchestrator cannot be asked.
    async fn keep_dead(&self, ids: &[uuid::Uuid], now: Timestamp) -> anyhow::Result<Option<BTreeSet<uuid::Uuid>>> {
        let kept = self.retentions.keep::<Events>(&self.pool, ids, now, reached).await?;
        if kept.is_none() {
            self.metrics.expiry_skipped.inc();
        }
        Ok(kept)
    }
}

impl InboxJob {
    /// What the runner makes of an event after this attempt: its record (done), a transient
    /// failure to retry (the runner applies the backoff and the budget; at least a sibling's
    /// `Retry-After`), a dead letter, or the attempt given back.
    fn outcome(&self, event: &InboxEvent, settled: Settled, now: Timestamp) -> Outcome {
        match settled {
            Settled::Processed { record_id, channel, .. } => {
                let waited = now.as_offset_date_time() - event.accepted_at.as_offset_date_time();
                self.metrics
                    .end_to_end_seconds
                    .observe(waited.as_seconds_f64().max(0.0));
                tracing::debug!(record_id = ?record_id, "event processed");
                match record_id {
                    Some(id) => Outcome::DoneWith {
                        result: Made {
                            id,
                            kind: channel.as_str(),
                        },
                    },
                    None => Outcome::Done,
                }
            }
            // Reasons are built of fixed words and statuses (siblings.rs, the record's check).
            Settled::Retry { reason, retry_after } => Outcome::Retry {
                reason: Reason::fixed(reason),
                after: retry_after,
            },
            Settled::Dead { reason } => Outcome::Dead {
                reason: Reason::fixed(reason),
            },
            // Not attempted: the attempt is given back.
            Settled::Released => Outcome::Postpone { after: Duration::ZERO },
        }
    }

    /// The batch's pairings in one lookup, each event's names (concurrently, in the event's
    /// span), every record in one batch write, then one more lookup for the pairings of those
    /// written without a customer.
    async fn enrich_and_write(&self, claimed: &[Claimed<InboxEvent>], lease: Lease) -> Vec<(tracing::Span, Settled)> {
        let spans: Vec<tracing::Span> = claimed
            .iter()
            .map(|event| {
                let span = tracing::info_span!("ingest event", event_id = %event.id, attempt = event.attempts.get());
                if let Some(traceparent) = &event.item.trace_context {
                    service_kit::telemetry::continue_trace(&span, traceparent);
                }
                span
            })
            .collect();
        if !lease.allows_a_call() {
            return spans.into_iter().map(|span| (span, Settled::Released)).collect();
        }
        let all: Vec<usize> = (0..claimed.len()).collect();
        let customers = self
            .customers_of(claimed, &all)
            .instrument(batch_span("look up pairings", &spans, &all))
            .await;
        // What each result's participant data says (kept minimised at the door).
        let participant: Vec<Read> = claimed
            .iter()
            .map(|event| {
                let result = &event.item.result;
                self.settings
                    .participant_data
                    .read(result.channel(), &result.participant_data)
            })
            .collect();
        let enriched = futures_util::future::join_all(claimed.iter().zip(&spans).zip(&participant).map(
            |((event, span), participant)| {
                // The record names the first customer paired (a person on the call identified
                // them), else the one participant data names; the others get theirs after it is
                // written.
                let customer = customers
                    .as_ref()
                    .map(|found| {
                        let paired = found
                            .get(&event.item.result.conversation_id)
                            .and_then(|customers| customers.first().copied());
                        match (paired, participant.customer) {
                            (Some(paired), _) => Some((paired, WrittenCustomerSource::Pairing)),
                            (None, Some(named)) => Some((named, WrittenCustomerSource::ParticipantData)),
                            (None, None) => None,
                        }
                    })
                    .map_err(Clone::clone);
                self.enrich(&event.item, customer, participant.domain.clone())
                    .instrument(span.clone())
            },
        ))
        .await;

        let ready: Vec<usize> = (0..claimed.len()).filter(|&index| enriched[index].is_ok()).collect();
        let mut written: Vec<Option<Result<Option<uuid::Uuid>, Failure>>> = vec![None; claimed.len()];
        let may_write = lease.allows_a_call();
        if may_write && !ready.is_empty() {
            let batch: Vec<(uuid::Uuid, &NewCommunicationRecord, Option<WrittenCustomerSource>)> = ready
                .iter()
                .filter_map(|&index| {
                    enriched[index]
                        .as_ref()
                        .ok()
                        .map(|(record, customer)| (claimed[index].id, record, customer.map(|(_, source)| source)))
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
            self.customers_of(claimed, &recorded)
                .instrument(batch_span("look up pairings again", &spans, &recorded))
                .await
        };
        let paired_before = customers.unwrap_or_default();

        let settled = futures_util::future::join_all(enriched.into_iter().zip(written).enumerate().map(
            |(index, (enriched, written))| {
                let event = &claimed[index];
                let (now_paired, paired_before, recorded) = (&now_paired, &paired_before, &recorded);
                let named = participant[index].customer;
                async move {
                    let (channel, on_record) = match enriched {
                        Err(settled) => return settled,
                        Ok((record, customer)) => (record.channel, customer.map(|(customer, _)| customer)),
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
                    let mut conflict = false;
                    if recorded.contains(&index) {
                        let interaction = event.item.result.conversation_id;
                        let found = match now_paired {
                            Ok(found) => found.get(&interaction).cloned().unwrap_or_default(),
                            Err(failure) => return settle_failure(failure.clone()),
                        };
                        let before = paired_before.get(&interaction).cloned().unwrap_or_default();
                        for customer in found.iter().copied().filter(|&c| Some(c) != on_record) {
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
                        // The customer participant data names gets the record too, beside those
                        // paired (both belong to the interaction).
                        if let Some(named) = named {
                            let paired: BTreeSet<CustomerId> = before.iter().chain(&found).copied().collect();
                            conflict = !paired.is_empty() && !paired.contains(&named);
                            if on_record != Some(named) && !found.contains(&named) {
                                if !lease.allows_a_call() {
                                    return Settled::Released;
                                }
                                let by = AssignedBy::ParticipantData;
                                if let Err(failure) = self.siblings.assign_customer(interaction, named, by).await {
                                    return settle_failure(failure);
                                }
                            }
                        }
                    }
                    Settled::Processed {
                        record_id,
                        channel,
                        named: recorded.contains(&index) && named.is_some(),
                        conflict,
                    }
                }
                .instrument(spans[index].clone())
            },
        ))
        .await;
        spans.into_iter().zip(settled).collect()
    }

    /// The pairings of the events at `indices`.
    async fn customers_of(
        &self,
        claimed: &[Claimed<InboxEvent>],
        indices: &[usize],
    ) -> Result<HashMap<InteractionId, Vec<CustomerId>>, Failure> {
        let mut interactions: Vec<InteractionId> = indices
            .iter()
            .map(|&index| claimed[index].item.result.conversation_id)
            .collect();
        interactions.sort();
        interactions.dedup();
        self.siblings.customers_of(&interactions).await
    }

    /// The event's record as it will be written (in `domain`, if participant data named one), and
    /// the customer it names with how it was found (if yet).
    async fn enrich(
        &self,
        event: &InboxEvent,
        customer: Result<Option<(CustomerId, WrittenCustomerSource)>, Failure>,
        domain: Option<RecordDomain>,
    ) -> Result<(NewCommunicationRecord, Option<(CustomerId, WrittenCustomerSource)>), Settled> {
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
        match result.to_record(customer.map(|(customer, _)| customer), agent, purpose.as_deref()) {
            Ok(mut record) => {
                if let Some(domain) = domain {
                    record.domain = domain;
                }
                Ok((record, customer))
            }
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
