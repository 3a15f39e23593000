//! Drives requests through their phases, one participant at a time, in the configured order.
//!
//! A worker claims one request at a time and renews its lease before every participant call, so
//! no call outlives the lease. Every write is made over the version the worker read: a worker that
//! lost the request (its lease ran out and another claimed it) or that a route overtook (an
//! UNDO_FORGET in the last seconds of a grace window) writes nothing, reads again, and carries on
//! only while the request is still its own. Everything a step learns is written before the next
//! step starts, so a worker that dies resumes where it stopped: steps already done are never
//! repeated, and a step that was under way is repeated safely (participants are idempotent per
//! request id). A phase starts only when every participant answers its readiness check;
//! otherwise the request waits as `blocked` and tries again by itself.

mod housekeeping;
mod phase;

use crate::audit::{self, ORCHESTRATOR};
use crate::bundle::SEALED_PREFIX;
use crate::metrics::GdprMetrics;
use crate::participants::Participants;
use crate::plan::{self, Next, Unplannable};
use crate::settings::PAIRING;
use crate::store::{self, Request, RequestStatus, RequestType, Step, StepState, StoreError};
use crate::Orchestrator;
use contracts::participant::{ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState};
use domain::Timestamp;
use serde_json::json;
use service_kit::database::{write_transaction, AnyConnection, DatabaseError, DbPool};
use service_kit::queue::{QueueSettings, QueueWorker};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct Worker {
    queue: QueueSettings,
    pool: DbPool,
    orchestrator: Arc<Orchestrator>,
    participants: Participants,
    metrics: Arc<GdprMetrics>,
    /// When housekeeping last ran, by the worker's clock.
    last_housekeeping: std::sync::Mutex<Option<Timestamp>>,
}

/// How often a worker erases expired identifiers and refreshes the request gauges.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);
/// A lost race is retried from a fresh read this many times before the request waits for its
/// next turn.
const FRESH_READS: usize = 3;

/// Why a worker could not go on with a request.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The request changed under the worker: read it again.
    #[error("the request changed meanwhile")]
    Stale,
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Unplannable(#[from] Unplannable),
    #[error("{0}")]
    Impossible(String),
}

impl From<StoreError> for WorkError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Stale => Self::Stale,
            StoreError::Database(error) => Self::Database(error.into()),
        }
    }
}

impl From<diesel::result::Error> for WorkError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error.into())
    }
}

type WorkResult<T> = Result<T, WorkError>;

fn later(now: Timestamp, by: Duration) -> WorkResult<Timestamp> {
    Timestamp::from_offset_date_time(now.as_offset_date_time() + by)
        .ok_or_else(|| WorkError::Impossible("a time past year 9999".to_owned()))
}

fn earlier(now: Timestamp, by: Duration) -> WorkResult<Timestamp> {
    Timestamp::from_offset_date_time(now.as_offset_date_time() - by)
        .ok_or_else(|| WorkError::Impossible("a time before year 1".to_owned()))
}

fn phase_status(phase: ParticipantAction) -> RequestStatus {
    match phase {
        ParticipantAction::Count => RequestStatus::Counting,
        ParticipantAction::Export => RequestStatus::Exporting,
        ParticipantAction::Forget => RequestStatus::Forgetting,
        ParticipantAction::Purge => RequestStatus::Purging,
        ParticipantAction::Undo => RequestStatus::Undoing,
    }
}

/// An audit event the orchestrator writes, and its detail.
type Event = (&'static str, serde_json::Value);

/// A request in the worker's hands: the copy it read, and the end of its lease.
struct Held {
    request: Request,
    steps: Vec<Step>,
    lease_until: Timestamp,
}

impl Worker {
    pub fn new(pool: DbPool, orchestrator: Arc<Orchestrator>, metrics: Arc<GdprMetrics>) -> anyhow::Result<Self> {
        Ok(Self {
            queue: orchestrator
                .settings
                .queue()
                .map_err(service_kit::configuration::invalid_all)?,
            participants: Participants::new(&orchestrator.settings)?,
            pool,
            orchestrator,
            metrics,
            last_housekeeping: std::sync::Mutex::new(None),
        })
    }

    /// One pass at `now`: claims due requests one at a time and advances each as far as it can
    /// go; at most once a minute also erases identifiers past retention, expires unconfirmed
    /// FORGETs and refreshes the gauges. Returns how many requests it took up.
    pub async fn try_execute_task(&self, now: Timestamp) -> WorkResult<usize> {
        let lease = self.queue.lease;
        let mut taken = 0;
        for _ in 0..self.queue.batch {
            let claimed = self
                .pool
                .run(move |c| store::claim_next(c, now, lease).map_err(DatabaseError::from))
                .await?;
            let Some(id) = claimed else { break };
            taken += 1;
            if let Err(error) = self.advance(id, now).await {
                tracing::warn!(gdpr_request_id = %id, error = %error, "GDPR request could not advance; retried after its lease");
            }
        }
        self.housekeeping(now).await?;
        Ok(taken)
    }

    /// Passes at `now` until nothing is due (tests and the command line drive time this way).
    pub async fn drain(&self, now: Timestamp) -> WorkResult<usize> {
        let mut total = 0;
        for _ in 0..100 {
            let taken = self.try_execute_task(now).await?;
            if taken == 0 {
                break;
            }
            total += taken;
        }
        Ok(total)
    }

    async fn load(&self, id: Uuid) -> WorkResult<Option<(Request, Vec<Step>)>> {
        Ok(self
            .pool
            .run(move |c| {
                let Some(request) = store::find_request(c, id)? else {
                    return Ok(None);
                };
                let steps = store::steps(c, id)?;
                Ok::<_, diesel::result::Error>(Some((request, steps))).map_err(DatabaseError::from)
            })
            .await?)
    }

    /// Writes `work` in one transaction over the held version; the new version is kept.
    async fn write<F>(&self, held: &mut Held, work: F) -> WorkResult<()>
    where
        F: FnOnce(&mut AnyConnection, &mut Request) -> Result<(), StoreError> + Send + 'static,
    {
        let mut request = held.request.clone();
        let request = self
            .pool
            .run(move |c| {
                write_transaction(c, |c| {
                    work(c, &mut request)?;
                    Ok::<_, StoreError>(request)
                })
                .map_err(|error| match error {
                    StoreError::Stale => WorkError::Stale,
                    StoreError::Database(error) => WorkError::Database(error.into()),
                })
            })
            .await?;
        held.request = request;
        Ok(())
    }

    /// Saves the request and audits `event`, in one transaction.
    async fn save(&self, held: &mut Held, event: Option<Event>, now: Timestamp) -> WorkResult<()> {
        let key = self.orchestrator.keys.audit.clone();
        self.write(held, move |c, request| {
            store::save_request(c, request)?;
            if let Some((name, detail)) = &event {
                audit::audit(c, &key, request.id, ORCHESTRATOR, name, detail, now)?;
            }
            Ok(())
        })
        .await
    }

    fn set_status(request: &mut Request, to: RequestStatus, now: Timestamp) -> Option<Event> {
        if request.status == to {
            return None;
        }
        let from = std::mem::replace(&mut request.status, to);
        request.updated_at = now;
        Some(("status_changed", json!({ "from": from, "to": to })))
    }

    /// Advances the claimed request; a lost race is retried from a fresh read while the request
    /// is still this worker's (its lease), never overwritten.
    async fn advance(&self, id: Uuid, now: Timestamp) -> WorkResult<()> {
        let mut lease_until = None;
        for _ in 0..FRESH_READS {
            let Some((request, steps)) = self.load(id).await? else {
                return Ok(());
            };
            // Claimed just now: the lease ends where the claim put it. Read again after a lost
            // race: still ours only while no one moved the lease.
            let lease = *lease_until.get_or_insert(request.next_attempt_at);
            if request.next_attempt_at != lease || !request.status.is_active() {
                return Ok(());
            }
            let mut held = Held {
                request,
                steps,
                lease_until: lease,
            };
            match self.advance_held(&mut held, now).await {
                Err(WorkError::Stale) => {
                    tracing::info!(gdpr_request_id = %id, "the request changed meanwhile; reading it again");
                    lease_until = Some(held.lease_until);
                }
                outcome => return outcome,
            }
        }
        Ok(())
    }

    async fn advance_held(&self, held: &mut Held, now: Timestamp) -> WorkResult<()> {
        let participants = self.orchestrator.settings.participants();
        loop {
            match plan::next(&held.request, &held.steps, &participants, now)? {
                Next::AwaitConfirmation => {
                    let event = Self::set_status(&mut held.request, RequestStatus::AwaitingConfirmation, now);
                    held.request.status_reason = None;
                    return self.save(held, event, now).await;
                }
                Next::GraceUntil(purge_after) => {
                    let event = Self::set_status(&mut held.request, RequestStatus::InGrace, now);
                    held.request.status_reason = None;
                    held.request.next_attempt_at = purge_after;
                    return self.save(held, event, now).await;
                }
                Next::Finish => return self.finish(held, now).await,
                Next::Run(phase) => {
                    let started = held.steps.iter().any(|s| s.phase == phase);
                    if !started {
                        if let Err(reason) = self.preflight(phase).await {
                            let changed = held.request.status != RequestStatus::Blocked
                                || held.request.status_reason.as_deref() != Some(reason.as_str());
                            Self::set_status(&mut held.request, RequestStatus::Blocked, now);
                            held.request.status_reason = Some(reason.clone());
                            let attempts = u32::try_from(held.request.attempts).unwrap_or(u32::MAX);
                            held.request.next_attempt_at = later(now, self.queue.backoff(attempts))?;
                            let event =
                                changed.then(|| ("blocked", json!({ "phase": phase.as_str(), "reason": reason })));
                            return self.save(held, event, now).await;
                        }
                    }
                    // Entering a phase is a write over the version read: a purge starts only
                    // from the `in_grace` this worker saw, so an undo that came first stops it.
                    if let Some(event) = Self::set_status(&mut held.request, phase_status(phase), now) {
                        held.request.status_reason = None;
                        self.save(held, Some(event), now).await?;
                    }
                    match self.run_phase(held, phase, now).await? {
                        None => continue,
                        Some(at) => {
                            held.request.next_attempt_at = at;
                            return self.save(held, None, now).await;
                        }
                    }
                }
            }
        }
    }

    /// Moves the lease to a full lease from now before a participant call, so the call (bounded
    /// by `gdpr.request_timeout_ms`, which the lease covers twice over) ends inside it.
    async fn renew_lease(&self, held: &mut Held) -> WorkResult<()> {
        let until = later(Timestamp::now(), self.queue.lease)?;
        self.write(held, move |c, request| store::renew_lease(c, request, until))
            .await?;
        held.lease_until = until;
        Ok(())
    }

    async fn finish(&self, held: &mut Held, now: Timestamp) -> WorkResult<()> {
        let event = Self::set_status(&mut held.request, RequestStatus::Completed, now);
        held.request.completed_at = Some(now);
        held.request.status_reason = None;
        let mut totals = std::collections::BTreeMap::<String, u64>::new();
        for step in &held.steps {
            for (category, n) in &step.counts {
                *totals.entry(format!("{}.{category}", step.phase.as_str())).or_default() += n;
            }
        }
        let key = self.orchestrator.keys.audit.clone();
        self.write(held, move |c, request| {
            store::save_request(c, request)?;
            if let Some((name, detail)) = &event {
                audit::audit(c, &key, request.id, ORCHESTRATOR, name, detail, now)?;
            }
            audit::audit(
                c,
                &key,
                request.id,
                ORCHESTRATOR,
                "completed",
                &json!({ "counts": totals }),
                now,
            )?;
            // An UNDO_FORGET's FORGET is now undone: restored, and never purged.
            if let Some(target) = request.target_request_id {
                let mut forget =
                    store::lock_request(c, target)?.ok_or(StoreError::Database(diesel::result::Error::NotFound))?;
                let from = std::mem::replace(&mut forget.status, RequestStatus::Undone);
                forget.updated_at = now;
                forget.completed_at = Some(now);
                store::save_request(c, &mut forget)?;
                audit::audit(
                    c,
                    &key,
                    target,
                    ORCHESTRATOR,
                    "status_changed",
                    &json!({ "from": from, "to": RequestStatus::Undone, "by": request.id }),
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
        tracing::info!(gdpr_request_id = %held.request.id, request_type = held.request.request_type.as_str(), "GDPR request completed");
        Ok(())
    }
}

impl QueueWorker for Worker {
    type Error = WorkError;
    const NAME: &'static str = "gdpr worker";

    fn queue(&self) -> &QueueSettings {
        &self.queue
    }

    /// Housekeeping runs inside the pass, on the pass's `now`, so tests that move time see it.
    fn try_execute_task(&self, now: Timestamp) -> impl std::future::Future<Output = WorkResult<usize>> {
        Worker::try_execute_task(self, now)
    }
}
