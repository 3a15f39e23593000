//! Drives requests through their phases, one participant at a time, in the configured order: the
//! `Job` of the GDPR requests' queue ([`crate::queue`]) on service-kit's one runner, which claims
//! due requests (leased, `SKIP LOCKED`), retries with backoff and jitter within
//! `gdpr.retry_budget`, keeps dead letters and the `ccbridge_queue_*{queue="gdpr_requests"}`
//! metrics.
//!
//! The worker renews its lease before every participant call, so no call outlives the lease. Every write is made over the version the worker read: a worker that
//! lost the request (its lease ran out and another claimed it) or that a route overtook (an
//! UNDO_FORGET in the last seconds of a grace window) writes nothing, reads again, and carries on
//! only while the request is still its own. Everything a step learns is written before the next
//! step starts, so a worker that dies resumes where it stopped: steps already done are never
//! repeated, and a step that was under way is repeated safely (participants are idempotent per
//! request id). A phase starts only when every participant answers its readiness check;
//! otherwise the request waits as `blocked` and tries again by itself.

mod housekeeping;
mod phase;
mod retention;

use crate::audit::{self, ORCHESTRATOR};
use crate::bundle::SEALED_PREFIX;
use crate::metrics::GdprMetrics;
use crate::participants::Participants;
use crate::plan::{self, Next, Unplannable};
use crate::settings::PAIRING;
use crate::store::{self, Request, Step, StoreError};
use crate::Orchestrator;
use contracts::gdpr::{RequestStatus, RequestType, StepState};
use contracts::participant::{ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState};
use domain::Timestamp;
use serde_json::json;
use service_kit::database::{write_transaction, AnyConnection, DatabaseError, DbPool};
use service_kit::queue::{Claimed, Job, Outcome, Reason};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct Worker {
    /// The queue's lease: renewed to a full one before each participant call.
    lease: Duration,
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
        ParticipantAction::Restrict => RequestStatus::Restricting,
        ParticipantAction::Rectify => RequestStatus::Rectifying,
    }
}

/// An audit event the orchestrator writes, and its detail.
type Event = (&'static str, serde_json::Value);

/// Why a phase stopped before its end.
pub(super) enum Wait {
    /// External work (Genesys Cloud's) is polled again at this time: nothing failed.
    Until(Timestamp),
    /// A participant failed: tried again after the queue's backoff.
    Failed(Reason),
}

/// Why a participant's step failed, in fixed words (a dead letter's reason: no personal data).
pub(super) fn failed(participant: &str) -> Reason {
    use crate::settings::{COMM_HISTORY, GENESYS_CLOUD, RESULT_INGEST};
    match participant {
        RESULT_INGEST => Reason::new("result-ingest's step failed"),
        COMM_HISTORY => Reason::new("comm-history-writer's step failed"),
        PAIRING => Reason::new("interaction-pairing's step failed"),
        GENESYS_CLOUD => Reason::new("genesys-cloud's step failed"),
        _ => Reason::new("a participant's step failed"),
    }
}

/// How long from `now` until `at` (nothing when it has come).
fn until(now: Timestamp, at: Timestamp) -> Duration {
    Duration::try_from(at.as_offset_date_time() - now.as_offset_date_time()).unwrap_or(Duration::ZERO)
}

/// A request in the worker's hands: the copy it read, and the end of its lease.
struct Held {
    request: Request,
    steps: Vec<Step>,
    lease_until: Timestamp,
}

impl Worker {
    /// The worker of `orchestrator`'s requests, leasing each for `lease` (the queue's policy).
    pub fn new(
        pool: DbPool,
        orchestrator: Arc<Orchestrator>,
        metrics: Arc<GdprMetrics>,
        lease: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            lease,
            participants: Participants::new(&orchestrator.settings)?,
            pool,
            orchestrator,
            metrics,
            last_housekeeping: std::sync::Mutex::new(None),
        })
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

    /// Advances the claimed request as far as it can go and says how the queue settles it; a
    /// lost race is retried from a fresh read while the request is still this worker's (its
    /// lease), never overwritten.
    async fn advance(&self, id: Uuid, claimed_until: Timestamp, now: Timestamp) -> WorkResult<Outcome> {
        let mut lease = claimed_until;
        for _ in 0..FRESH_READS {
            let Some((request, steps)) = self.load(id).await? else {
                return Ok(Outcome::Done);
            };
            // Still ours only while no one moved the lease (a route's change moves the version,
            // not the lease: read again and decide afresh).
            if request.next_attempt_at != lease || !request.status.is_active() {
                return Ok(Outcome::Done);
            }
            let mut held = Held {
                request,
                steps,
                lease_until: lease,
            };
            match self.advance_held(&mut held, now).await {
                Err(WorkError::Stale) => {
                    tracing::info!(gdpr_request_id = %id, "the request changed meanwhile; reading it again");
                    lease = held.lease_until;
                }
                outcome => return outcome,
            }
        }
        Ok(Outcome::retry(Reason::new(
            "the request kept changing under the worker",
        )))
    }

    async fn advance_held(&self, held: &mut Held, now: Timestamp) -> WorkResult<Outcome> {
        let participants = self.orchestrator.settings.participants();
        loop {
            match plan::next(&held.request, &held.steps, &participants, now)? {
                Next::AwaitConfirmation => {
                    let event = Self::set_status(&mut held.request, RequestStatus::AwaitingConfirmation, now);
                    held.request.status_reason = None;
                    self.save(held, event, now).await?;
                    return Ok(Outcome::Done);
                }
                Next::GraceUntil(purge_after) => {
                    let event = Self::set_status(&mut held.request, RequestStatus::InGrace, now);
                    held.request.status_reason = None;
                    self.save(held, event, now).await?;
                    return Ok(Outcome::Postpone {
                        after: until(now, purge_after),
                    });
                }
                Next::Finish => {
                    self.finish(held, now).await?;
                    return Ok(Outcome::Done);
                }
                Next::Run(phase) => {
                    let started = held.steps.iter().any(|s| s.phase == phase);
                    if !started {
                        if let Err(reason) = self.preflight(phase).await {
                            let changed = held.request.status != RequestStatus::Blocked
                                || held.request.status_reason.as_deref() != Some(reason.as_str());
                            Self::set_status(&mut held.request, RequestStatus::Blocked, now);
                            held.request.status_reason = Some(reason.clone());
                            let event =
                                changed.then(|| ("blocked", json!({ "phase": phase.as_str(), "reason": reason })));
                            self.save(held, event, now).await?;
                            return Ok(Outcome::retry(Reason::new("a participant was not ready for the phase")));
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
                        Some(Wait::Until(at)) => return Ok(Outcome::Postpone { after: until(now, at) }),
                        Some(Wait::Failed(reason)) => return Ok(Outcome::retry(reason)),
                    }
                }
            }
        }
    }

    /// Moves the lease to a full lease from now before a participant call, so the call (bounded
    /// by `gdpr.request_timeout_ms`, which the lease covers twice over) ends inside it.
    async fn renew_lease(&self, held: &mut Held) -> WorkResult<()> {
        let until = later(Timestamp::now(), self.lease)?;
        self.write(held, move |c, request| store::renew_lease(c, request, until))
            .await?;
        held.lease_until = until;
        Ok(())
    }

    async fn finish(&self, held: &mut Held, now: Timestamp) -> WorkResult<()> {
        // A FORGET whose purge kept something for a legal hold is answered, and erased by
        // itself when the hold ends (`review_retentions`).
        let retained: Vec<(&str, &contracts::legal_hold::Retained)> = held
            .steps
            .iter()
            .filter(|s| s.phase == ParticipantAction::Purge)
            .flat_map(|s| s.retained.iter().map(move |r| (s.participant.as_str(), r)))
            .collect();
        // A RESTRICT stands once restricted (answered) until a LIFT_RESTRICTION lifts it.
        let restricts = held.request.request_type == RequestType::Restrict && !held.request.count_only;
        let (status, event_name) = if restricts {
            (RequestStatus::Restricted, "restricted")
        } else if retained.is_empty() {
            (RequestStatus::Completed, "completed")
        } else {
            (RequestStatus::CompletedWithRetention, "completed_with_retention")
        };
        let retained = json!(retained
            .iter()
            .map(|&(participant, kept)| KeptAudit { participant, kept })
            .collect::<Vec<_>>());
        // A RECTIFY's rows kept as evidence and left as they were: counts, as the answer says.
        let kept_unchanged: Vec<KeptAudit<'_>> = held
            .steps
            .iter()
            .filter(|s| s.phase == ParticipantAction::Rectify)
            .flat_map(|s| {
                s.kept_unchanged.iter().map(move |kept| KeptAudit {
                    participant: &s.participant,
                    kept,
                })
            })
            .collect();
        let any_kept_unchanged = !kept_unchanged.is_empty();
        let kept_unchanged = json!(kept_unchanged);
        let event = Self::set_status(&mut held.request, status, now);
        // The first answer is when the subject was answered; a later erasure is in the audit.
        held.request.completed_at.get_or_insert(now);
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
                event_name,
                &if !any_kept_unchanged {
                    json!({ "counts": totals, "retained": retained })
                } else {
                    json!({ "counts": totals, "retained": retained, "keptUnchanged": kept_unchanged })
                },
                now,
            )?;
            // An UNDO_FORGET's FORGET is now undone: restored, and never purged; a
            // LIFT_RESTRICTION's RESTRICT is lifted.
            if let Some(target) = request.target_request_id {
                let becomes = match request.request_type {
                    RequestType::LiftRestriction => RequestStatus::Lifted,
                    _ => RequestStatus::Undone,
                };
                let mut forget =
                    store::lock_request(c, target)?.ok_or(StoreError::Database(diesel::result::Error::NotFound))?;
                let from = std::mem::replace(&mut forget.status, becomes);
                forget.updated_at = now;
                forget.completed_at = Some(now);
                store::save_request(c, &mut forget)?;
                audit::audit(
                    c,
                    &key,
                    target,
                    ORCHESTRATOR,
                    "status_changed",
                    &json!({ "from": from, "to": becomes, "by": request.id }),
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

impl Job for Worker {
    type Item = Uuid;

    async fn run(&self, entry: &Claimed<Uuid>, now: Timestamp) -> anyhow::Result<Outcome> {
        Ok(self.advance(entry.item, entry.lease_until, now).await?)
    }

    /// At most once a minute on the pass's time, so tests that move time see it.
    async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        Ok(Worker::housekeeping(self, now).await?)
    }
}

/// What a participant kept of a request's rows, as the audit records it: per participant,
/// category and basis, a count (never an id or a value).
#[derive(serde::Serialize)]
struct KeptAudit<'a> {
    participant: &'a str,
    #[serde(flatten)]
    kept: &'a contracts::legal_hold::Retained,
}
