//! Drives requests through their phases, one participant at a time, in the configured order.
//!
//! Everything a step learns is written before the next step starts, so a worker that dies (or a
//! replica that takes over when its lease ends) resumes where it stopped: steps already done are
//! never repeated, and a step that was under way is repeated safely (participants are idempotent
//! per request id). A phase starts only when every participant answers its readiness check;
//! otherwise the request waits as `blocked` and tries again by itself.

use crate::metrics::GdprMetrics;
use crate::participants::Participants;
use crate::settings::{GdprSettings, Participant, PAIRING};
use crate::store::{self, status, step_state, RequestRow, RequestType, StepRow};
use domain::gdpr::{ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState};
use domain::Timestamp;
use serde_json::json;
use service_kit::background::Shutdown;
use service_kit::database::{DatabaseError, DbPool};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const ACTOR: &str = "orchestrator";

pub struct Worker {
    pool: DbPool,
    settings: GdprSettings,
    participants: Participants,
    metrics: Arc<GdprMetrics>,
    /// When housekeeping last ran, by the worker's clock.
    last_housekeeping: std::sync::Mutex<Option<Timestamp>>,
}

/// How often a worker erases expired identifiers and refreshes the request gauges.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);

/// What a request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Run(ParticipantAction),
    AwaitConfirmation,
    GraceUntil(Timestamp),
    Finish,
}

/// How a phase run ended.
enum PhaseOutcome {
    Done,
    /// Try again at this time (a failure's backoff, or the next poll of external work).
    Waiting(Timestamp),
}

type WorkResult<T> = Result<T, DatabaseError>;

fn later(now: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_offset_date_time(now.as_offset_date_time() + by).unwrap_or(now)
}

fn phase_status(phase: ParticipantAction) -> &'static str {
    match phase {
        ParticipantAction::Count => status::COUNTING,
        ParticipantAction::Export => status::EXPORTING,
        ParticipantAction::Forget => status::FORGETTING,
        ParticipantAction::Purge => status::PURGING,
        ParticipantAction::Undo => status::UNDOING,
    }
}

impl Worker {
    pub fn new(pool: DbPool, settings: GdprSettings, metrics: Arc<GdprMetrics>) -> anyhow::Result<Self> {
        Ok(Self {
            participants: Participants::new(&settings)?,
            pool,
            settings,
            metrics,
            last_housekeeping: std::sync::Mutex::new(None),
        })
    }

    /// Runs until shutdown: takes up due requests, sleeps when there are none.
    pub async fn run(self, mut shutdown: Shutdown) {
        while !shutdown.is_requested() {
            match self.try_execute_task(Timestamp::now()).await {
                Ok(0) => {
                    shutdown
                        .sleep(Duration::from_millis(self.settings.poll_interval_ms))
                        .await;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "GDPR worker pass failed");
                    shutdown
                        .sleep(Duration::from_millis(self.settings.poll_interval_ms))
                        .await;
                }
            }
        }
    }

    /// One pass at `now`: claims due requests and advances each as far as it can go; at most once
    /// a minute also erases identifiers past retention and refreshes the gauges. Returns how many
    /// requests it took up.
    pub async fn try_execute_task(&self, now: Timestamp) -> WorkResult<usize> {
        let lease = self.settings.lease();
        let ids = self
            .pool
            .run(move |c| store::claim_due(c, now, 8, lease).map_err(DatabaseError::from))
            .await?;
        for &id in &ids {
            if let Err(error) = self.advance(id, now).await {
                tracing::warn!(gdpr_request_id = %id, error = %error, "GDPR request could not advance; retried after its lease");
            }
        }
        self.housekeeping(now).await?;
        Ok(ids.len())
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

    async fn housekeeping(&self, now: Timestamp) -> WorkResult<()> {
        {
            let mut last = self
                .last_housekeeping
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|last| {
                now < last || now.as_offset_date_time() - last.as_offset_date_time() >= HOUSEKEEPING_INTERVAL
            });
            if !due {
                return Ok(());
            }
            *last = Some(now);
        }
        let retention = self.settings.identifier_retention();
        let (erased, overdue, by_status) = self
            .pool
            .run(move |c| {
                let erased = store::erase_expired_identifiers(c, now, retention)?;
                let overdue = store::overdue_count(c, now)?;
                let by_status = store::status_counts(c)?;
                Ok::<_, diesel::result::Error>((erased, overdue, by_status)).map_err(DatabaseError::from)
            })
            .await?;
        if !erased.is_empty() {
            tracing::info!(
                requests = erased.len(),
                "identifiers of finished GDPR requests erased after retention"
            );
        }
        self.metrics.overdue.set(overdue);
        for name in status::ALL {
            let n = by_status.iter().find(|(s, _)| s == name).map_or(0, |(_, n)| *n);
            self.metrics.requests.with_label_values(&[name]).set(n);
        }
        Ok(())
    }

    /// The participants of a phase, in the order they run: the configured order, except that
    /// counting asks interaction-pairing first (it tells which interactions are the subject's, so
    /// the others can find what carries no customer id) and undo runs backwards.
    fn order(&self, phase: ParticipantAction) -> Vec<Participant> {
        let mut participants = self.settings.participants();
        match phase {
            ParticipantAction::Count => participants.sort_by_key(|p| p.name != PAIRING),
            ParticipantAction::Undo => participants.reverse(),
            _ => {}
        }
        participants
    }

    fn phase_done(&self, steps: &[StepRow], phase: ParticipantAction) -> bool {
        self.settings.participants().iter().all(|p| {
            steps
                .iter()
                .any(|s| s.phase == phase.as_str() && s.participant == p.name && s.state == step_state::DONE)
        })
    }

    fn next(&self, request: &RequestRow, steps: &[StepRow], now: Timestamp) -> Next {
        let done = |phase| self.phase_done(steps, phase);
        match request.request_type() {
            RequestType::UndoForget => {
                if done(ParticipantAction::Undo) {
                    Next::Finish
                } else {
                    Next::Run(ParticipantAction::Undo)
                }
            }
            RequestType::Export => match (done(ParticipantAction::Count), request.count_only) {
                (false, _) => Next::Run(ParticipantAction::Count),
                (true, true) => Next::Finish,
                (true, false) if done(ParticipantAction::Export) => Next::Finish,
                (true, false) => Next::Run(ParticipantAction::Export),
            },
            RequestType::Forget => {
                if request.confirmed_at.is_none() {
                    return match (done(ParticipantAction::Count), request.count_only) {
                        (false, _) => Next::Run(ParticipantAction::Count),
                        (true, true) => Next::Finish,
                        (true, false) => Next::AwaitConfirmation,
                    };
                }
                if !done(ParticipantAction::Forget) {
                    return Next::Run(ParticipantAction::Forget);
                }
                let purge_after = request.purge_after.map(|t| t.0).unwrap_or(now.as_offset_date_time());
                if now.as_offset_date_time() < purge_after {
                    return Next::GraceUntil(Timestamp::from_offset_date_time(purge_after).unwrap_or(now));
                }
                if done(ParticipantAction::Purge) {
                    Next::Finish
                } else {
                    Next::Run(ParticipantAction::Purge)
                }
            }
        }
    }

    async fn load(&self, id: Uuid) -> WorkResult<Option<(RequestRow, Vec<StepRow>)>> {
        self.pool
            .run(move |c| {
                let Some(request) = store::find_request(c, id)? else {
                    return Ok(None);
                };
                let steps = store::steps(c, id)?;
                Ok::<_, diesel::result::Error>(Some((request, steps))).map_err(DatabaseError::from)
            })
            .await
    }

    /// Saves the request and audits `event` with `detail`, in one transaction.
    async fn save(
        &self,
        request: &RequestRow,
        event: Option<(&'static str, serde_json::Value)>,
        now: Timestamp,
    ) -> WorkResult<()> {
        let request = request.clone();
        self.pool
            .run(move |c| {
                use diesel::Connection;
                c.transaction(|c| {
                    store::save_request(c, &request)?;
                    if let Some((event, detail)) = &event {
                        store::audit(c, request.id.0, ACTOR, event, detail, now)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .map_err(DatabaseError::from)
            })
            .await
    }

    fn set_status(request: &mut RequestRow, to: &str, now: Timestamp) -> Option<(&'static str, serde_json::Value)> {
        if request.status == to {
            return None;
        }
        let from = std::mem::replace(&mut request.status, to.to_owned());
        request.updated_at = now.into();
        Some(("status_changed", json!({ "from": from, "to": to })))
    }

    async fn advance(&self, id: Uuid, now: Timestamp) -> WorkResult<()> {
        let Some((mut request, mut steps)) = self.load(id).await? else {
            return Ok(());
        };
        if !status::ACTIVE.contains(&request.status.as_str()) {
            return Ok(());
        }
        loop {
            match self.next(&request, &steps, now) {
                Next::AwaitConfirmation => {
                    let event = Self::set_status(&mut request, status::AWAITING_CONFIRMATION, now);
                    request.status_reason = None;
                    return self.save(&request, event, now).await;
                }
                Next::GraceUntil(purge_after) => {
                    let event = Self::set_status(&mut request, status::IN_GRACE, now);
                    request.status_reason = None;
                    request.next_attempt_at = purge_after.into();
                    return self.save(&request, event, now).await;
                }
                Next::Finish => return self.finish(request, &steps, now).await,
                Next::Run(phase) => {
                    let started = steps.iter().any(|s| s.phase == phase.as_str());
                    if !started {
                        if let Err(reason) = self.preflight(phase).await {
                            let changed = request.status != status::BLOCKED
                                || request.status_reason.as_deref() != Some(reason.as_str());
                            Self::set_status(&mut request, status::BLOCKED, now);
                            request.status_reason = Some(reason.clone());
                            let attempts = u32::try_from(request.attempts).unwrap_or(u32::MAX);
                            request.next_attempt_at = later(now, self.settings.backoff(attempts)).into();
                            let event =
                                changed.then(|| ("blocked", json!({ "phase": phase.as_str(), "reason": reason })));
                            return self.save(&request, event, now).await;
                        }
                    }
                    if let Some(event) = Self::set_status(&mut request, phase_status(phase), now) {
                        request.status_reason = None;
                        self.save(&request, Some(event), now).await?;
                    }
                    match self.run_phase(&mut request, phase, &mut steps, now).await? {
                        PhaseOutcome::Done => continue,
                        PhaseOutcome::Waiting(at) => {
                            request.next_attempt_at = at.into();
                            return self.save(&request, None, now).await;
                        }
                    }
                }
            }
        }
    }

    /// Every participant of the phase must be ready before it starts: a phase never runs half.
    async fn preflight(&self, phase: ParticipantAction) -> Result<(), String> {
        for participant in self.order(phase) {
            self.participants.ready(&participant).await?;
        }
        Ok(())
    }

    async fn run_phase(
        &self,
        request: &mut RequestRow,
        phase: ParticipantAction,
        steps: &mut Vec<StepRow>,
        now: Timestamp,
    ) -> WorkResult<PhaseOutcome> {
        // Undo acts on what the FORGET hid, under the FORGET's id.
        let acting_id = match request.request_type() {
            RequestType::UndoForget => request.target_request_id.map_or(request.id.0, |t| t.0),
            _ => request.id.0,
        };
        for (position, participant) in self.order(phase).iter().enumerate() {
            let existing = steps
                .iter()
                .position(|s| s.phase == phase.as_str() && s.participant == participant.name);
            let mut step = match existing {
                Some(i) => steps[i].clone(),
                None => StepRow::new(request.id.0, phase, participant.name, position, now),
            };
            if step.state == step_state::DONE {
                continue;
            }
            let answer = if step.state == step_state::PENDING_EXTERNAL {
                let poll_at = later(step.updated_at.into_domain()?, self.settings.external_poll());
                if poll_at > now {
                    return Ok(PhaseOutcome::Waiting(poll_at));
                }
                let external_ref = step.external_ref.clone().unwrap_or_default();
                self.participants.status(participant, acting_id, &external_ref).await
            } else {
                let Some(subject) = request.subject()? else {
                    return Err(DatabaseError::from(diesel::result::Error::NotFound));
                };
                let call = ParticipantCall {
                    subject,
                    forgotten_at: request.confirmed_at.map(DbTimestampExt::domain).transpose()?,
                    external_ref: step.external_ref.clone(),
                };
                // Visible while the call is under way; not audited (its outcome is).
                step.state = step_state::RUNNING.to_owned();
                step.updated_at = now.into();
                let running = step.clone();
                self.pool
                    .run(move |c| store::save_step(c, &running).map_err(DatabaseError::from))
                    .await?;
                self.participants.act(participant, acting_id, phase, &call).await
            };
            let outcome = match answer {
                Ok(report) => self.apply_report(request, &mut step, phase, report, now)?,
                Err(reason) => {
                    self.metrics.step_failures.with_label_values(&[participant.name]).inc();
                    step.state = step_state::FAILED.to_owned();
                    step.attempts += 1;
                    step.detail = Some(reason.clone());
                    request.status_reason = Some(reason);
                    let attempts = u32::try_from(step.attempts).unwrap_or(u32::MAX);
                    Some(later(now, self.settings.backoff(attempts)))
                }
            };
            step.updated_at = now.into();
            self.save_step(request, &step, phase, now).await?;
            match existing {
                Some(i) => steps[i] = step,
                None => steps.push(step),
            }
            if let Some(at) = outcome {
                return Ok(PhaseOutcome::Waiting(at));
            }
        }
        Ok(PhaseOutcome::Done)
    }

    /// Folds a participant's answer into its step; `Some(time)` when the phase must wait.
    fn apply_report(
        &self,
        request: &mut RequestRow,
        step: &mut StepRow,
        phase: ParticipantAction,
        report: ParticipantReport,
        now: Timestamp,
    ) -> WorkResult<Option<Timestamp>> {
        step.counts = Some(to_json(&report.counts));
        if !report.results_urls.is_empty() {
            step.results_urls = Some(to_json(&report.results_urls));
        }
        if phase == ParticipantAction::Export {
            if let Some(data) = &report.data {
                step.export_data = Some(to_json(data));
            }
        }
        step.detail = report.detail.clone();
        if phase == ParticipantAction::Count && step.participant == PAIRING && !report.linked_interaction_ids.is_empty()
        {
            if let Some(mut subject) = request.subject()? {
                subject
                    .interaction_ids
                    .extend(report.linked_interaction_ids.iter().copied());
                request.subject = Some(to_json(&subject));
            }
        }
        match report.state.unwrap_or(ParticipantState::Done) {
            ParticipantState::Done => {
                // A poll that finds external work finished is not another attempt.
                if step.state != step_state::PENDING_EXTERNAL {
                    step.attempts += 1;
                }
                step.state = step_state::DONE.to_owned();
                request.status_reason = None;
                Ok(None)
            }
            ParticipantState::PendingExternal => {
                step.state = step_state::PENDING_EXTERNAL.to_owned();
                if step.external_ref.is_none() {
                    step.attempts += 1;
                }
                step.external_ref = report.external_ref;
                request.status_reason = None;
                Ok(Some(later(now, self.settings.external_poll())))
            }
            ParticipantState::Failed => {
                // Submitted again on the next attempt.
                self.metrics
                    .step_failures
                    .with_label_values(&[step.participant.as_str()])
                    .inc();
                step.state = step_state::FAILED.to_owned();
                step.external_ref = None;
                request.status_reason = Some(format!(
                    "{}: {}",
                    step.participant,
                    report.detail.unwrap_or_else(|| "failed".to_owned())
                ));
                let attempts = u32::try_from(step.attempts).unwrap_or(u32::MAX);
                Ok(Some(later(now, self.settings.backoff(attempts))))
            }
        }
    }

    async fn save_step(
        &self,
        request: &RequestRow,
        step: &StepRow,
        phase: ParticipantAction,
        now: Timestamp,
    ) -> WorkResult<()> {
        let request = request.clone();
        let step = step.clone();
        let detail = json!({
            "phase": phase.as_str(),
            "participant": step.participant,
            "state": step.state,
            "counts": step.counts(),
            "reason": if step.state == step_state::FAILED { step.detail.clone() } else { None },
        });
        self.pool
            .run(move |c| {
                use diesel::Connection;
                c.transaction(|c| {
                    store::save_step(c, &step)?;
                    store::save_request(c, &request)?;
                    store::audit(c, request.id.0, ACTOR, "step", &detail, now)
                })
                .map_err(DatabaseError::from)
            })
            .await
    }

    async fn finish(&self, mut request: RequestRow, steps: &[StepRow], now: Timestamp) -> WorkResult<()> {
        let event = Self::set_status(&mut request, status::COMPLETED, now);
        request.completed_at = Some(now.into());
        request.status_reason = None;
        let totals: std::collections::BTreeMap<String, u64> =
            steps
                .iter()
                .fold(std::collections::BTreeMap::new(), |mut totals, step| {
                    for (category, n) in step.counts() {
                        *totals.entry(format!("{}.{category}", step.phase)).or_default() += n;
                    }
                    totals
                });
        let target = request.target_request_id;
        let request_for_tx = request.clone();
        self.pool
            .run(move |c| {
                use diesel::Connection;
                c.transaction(|c| {
                    store::save_request(c, &request_for_tx)?;
                    if let Some((name, detail)) = &event {
                        store::audit(c, request_for_tx.id.0, ACTOR, name, detail, now)?;
                    }
                    store::audit(
                        c,
                        request_for_tx.id.0,
                        ACTOR,
                        "completed",
                        &json!({ "counts": totals }),
                        now,
                    )?;
                    // An UNDO_FORGET's FORGET is now undone: restored, and never purged.
                    if let Some(target) = target {
                        if let Some(mut forget) = store::find_request(c, target.0)? {
                            let from = std::mem::replace(&mut forget.status, status::UNDONE.to_owned());
                            forget.updated_at = now.into();
                            forget.completed_at = Some(now.into());
                            store::save_request(c, &forget)?;
                            store::audit(
                                c,
                                target.0,
                                ACTOR,
                                "status_changed",
                                &json!({ "from": from, "to": status::UNDONE, "by": request_for_tx.id.0 }),
                                now,
                            )?;
                        }
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .map_err(DatabaseError::from)
            })
            .await?;
        tracing::info!(gdpr_request_id = %request.id.0, request_type = %request.request_type, "GDPR request completed");
        Ok(())
    }
}

/// Reads a stored timestamp back as the domain type.
trait DbTimestampExt {
    fn domain(self) -> Result<Timestamp, DatabaseError>;
}

impl DbTimestampExt for service_kit::database::sql_types::DbTimestamp {
    fn domain(self) -> Result<Timestamp, DatabaseError> {
        self.into_domain().map_err(DatabaseError::from)
    }
}

/// JSON text of what a step stores (counts, URLs, data, the subject): plain maps and lists, whose
/// serialisation cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
