//! Legal holds, statutory rules and a FORGET's purge: what each participant must keep (every
//! hold in force and every rule goes with every purge), and, when a hold stops being in force or
//! a rule's time is up, purging again what was kept.

use super::*;
use contracts::participant::Retention;

impl Worker {
    /// Every legal hold in force at `now`, as a participant's purge reads it
    /// ([`crate::retentions::in_force`], which the route serving them to an expiry shares). `Err`
    /// names the participant that could not answer: the purge must wait rather than erase what a
    /// hold may cover.
    pub(super) async fn retentions(&self, now: Timestamp) -> WorkResult<Result<Vec<Retention>, Reason>> {
        crate::retentions::in_force(&self.pool, &self.orchestrator.settings, &self.participants, now).await
    }

    /// The ids of the holds in force at `now` (one read; no participant asked).
    pub(super) async fn holds_in_force(&self, now: Timestamp) -> WorkResult<std::collections::BTreeSet<Uuid>> {
        Ok(self
            .pool
            .run(move |c| {
                store::legal_holds::in_force(c, now)
                    .map(|holds| holds.into_iter().map(|hold| hold.id).collect())
                    .map_err(DatabaseError::from)
            })
            .await?)
    }

    /// FORGETs a legal hold or a statutory rule kept data of are purged again once a hold that
    /// was in force at their purge no longer is (released, or ended), or a rule's end over what a
    /// step kept has come: the participants that kept something run their purge again, with the
    /// holds and rules still in force, and what none of them keeps any longer is erased. Decided
    /// on the holds' ids, never on whose clock a release was stamped by. Answers how many
    /// requests were taken up again.
    pub(super) async fn review_retentions(&self, now: Timestamp) -> WorkResult<usize> {
        let (retaining, in_force) = self
            .pool
            .run(move |c| {
                let requests = store::retaining_since(c, now)?;
                let ids: Vec<Uuid> = requests.iter().map(|request| request.id).collect();
                let mut steps = store::keeping_purge_steps(c, &ids)?;
                let retaining: Vec<(Vec<Step>, Request)> = requests
                    .into_iter()
                    .map(|request| (steps.remove(&request.id).unwrap_or_default(), request))
                    .collect();
                let in_force: std::collections::BTreeSet<Uuid> = store::legal_holds::in_force(c, now)?
                    .into_iter()
                    .map(|hold| hold.id)
                    .collect();
                Ok::<_, diesel::result::Error>((retaining, in_force)).map_err(DatabaseError::from)
            })
            .await?;
        let mut reopened = 0;
        for (steps, request) in retaining {
            let keeping = || steps.iter();
            // Which holds of those in force at the purge no longer are, and whether a rule's end
            // came: what the audit names as the reason for erasing now.
            let ended: std::collections::BTreeSet<Uuid> = keeping()
                .flat_map(|s| &s.retention_holds)
                .filter(|hold| !in_force.contains(hold))
                .copied()
                .collect();
            let rule_ended = keeping().any(|s| s.retained_until.is_some_and(|until| until <= now));
            if (!ended.is_empty() || rule_ended)
                && self
                    .purge_again(
                        request.id,
                        request.version,
                        Ended {
                            holds: ended,
                            rule: rule_ended,
                        },
                        now,
                    )
                    .await?
            {
                reopened += 1;
            }
        }
        if reopened > 0 {
            tracing::info!(requests = reopened, "FORGETs purged again after a legal hold ended");
        }
        Ok(reopened)
    }

    /// Takes `id` up again for its purge, if it is still the version read: its purge steps that
    /// kept something are due again. Whether it was taken up.
    async fn purge_again(&self, id: Uuid, version: i32, ended: Ended, now: Timestamp) -> WorkResult<bool> {
        let key = self.orchestrator.keys.audit.clone();
        let taken = self
            .pool
            .run(move |c| {
                write_transaction(c, |c| {
                    let Some(mut request) = store::lock_request(c, id)? else {
                        return Ok(false);
                    };
                    if request.version != version || request.status != RequestStatus::CompletedWithRetention {
                        return Ok(false);
                    }
                    let mut participants = Vec::new();
                    for mut step in store::steps(c, id)? {
                        if step.phase == ParticipantAction::Purge && !step.retained.is_empty() {
                            step.state = StepState::Pending;
                            step.updated_at = now;
                            store::save_step(c, &step)?;
                            participants.push(step.participant);
                        }
                    }
                    if participants.is_empty() {
                        return Err(WorkError::Impossible(format!(
                            "FORGET {id} is completed with retention, yet none of its purge steps kept anything"
                        )));
                    }
                    let from = std::mem::replace(&mut request.status, RequestStatus::Purging);
                    request.status_reason = None;
                    request.next_attempt_at = now;
                    request.updated_at = now;
                    store::save_request(c, &mut request)?;
                    audit::audit(
                        c,
                        &key,
                        id,
                        ORCHESTRATOR,
                        "retention_ended",
                        &json!({
                            "from": from,
                            "to": RequestStatus::Purging,
                            "participants": participants,
                            "endedHolds": ended.holds,
                            "ruleEnded": ended.rule,
                        }),
                        now,
                    )?;
                    Ok::<_, WorkError>(true)
                })
            })
            .await;
        match taken {
            Err(WorkError::Stale) => Ok(false),
            other => other,
        }
    }
}

/// Why kept data may go now: the holds in force at its purge that no longer are, and whether a
/// statutory rule's end over it came.
struct Ended {
    holds: std::collections::BTreeSet<Uuid>,
    rule: bool,
}
