//! Running a phase: every participant ready first, then each participant's step, its report
//! written before the next starts.

use super::*;

impl Worker {
    /// Every participant of the phase must be ready before it starts: a phase never runs half.
    pub(super) async fn preflight(&self, phase: ParticipantAction) -> Result<(), String> {
        for participant in plan::order(phase, self.orchestrator.settings.participants()) {
            self.participants.ready(&participant).await?;
        }
        Ok(())
    }

    /// Runs the phase's participants that are not done; `Some` when the phase must wait.
    pub(super) async fn run_phase(
        &self,
        held: &mut Held,
        phase: ParticipantAction,
        now: Timestamp,
    ) -> WorkResult<Option<Wait>> {
        // Undo acts on what the FORGET (the RESTRICT, for a lift) hid, under its id.
        let acting_id = match held.request.request_type {
            RequestType::UndoForget | RequestType::LiftRestriction => held
                .request
                .target_request_id
                .ok_or_else(|| WorkError::Impossible("an undo or a lift without its request".to_owned()))?,
            RequestType::Export | RequestType::Forget | RequestType::Restrict | RequestType::Rectify => held.request.id,
        };
        let order = plan::order(phase, self.orchestrator.settings.participants());
        // A purge keeps what the legal holds in force and the statutory rules cover, and a
        // RECTIFY's count and rectify leave it as it was (asked once a run of the phase).
        let keeps_evidence = plan::keeps_evidence(held.request.request_type, phase);
        let mut retain: Option<Vec<contracts::participant::Retention>> = None;
        for (position, participant) in order.iter().enumerate() {
            let existing = held
                .steps
                .iter()
                .position(|s| s.phase == phase && s.participant == participant.name);
            let mut step = match existing {
                Some(i) => held.steps[i].clone(),
                None => Step::new(held.request.id, phase, participant.name, position, now),
            };
            if step.state == StepState::Done {
                continue;
            }
            if step.state == StepState::PendingExternal {
                let poll_at = later(step.updated_at, self.orchestrator.settings.external_poll())?;
                if poll_at > now {
                    return Ok(Some(Wait::Until(poll_at)));
                }
            }
            // A rectify that waits is asked again with its call (it is idempotent, and the call
            // carries its externalRef): the participant checks again what it waited for.
            let polls_status = step.state == StepState::PendingExternal && phase != ParticipantAction::Rectify;
            let answer = if polls_status {
                let external_ref = step.external_ref.clone().ok_or_else(|| {
                    WorkError::Impossible("a step waits on external work it has no reference to".to_owned())
                })?;
                self.renew_lease(held).await?;
                self.participants.status(participant, acting_id, &external_ref).await
            } else {
                let subject = held
                    .request
                    .subject
                    .clone()
                    .ok_or_else(|| WorkError::Impossible("an active request holds no subject".to_owned()))?;
                // Asked again when the holds in force changed since (a hold placed while the
                // phase runs reaches the participants called after it).
                let stale = match &retain {
                    None => true,
                    Some(held) => self.holds_in_force(now).await? != retention_ids(held),
                };
                if keeps_evidence && stale {
                    match self.retentions(now).await? {
                        Ok(found) => retain = Some(found),
                        Err(reason) => {
                            held.request.status_reason = Some(reason.to_string());
                            return Ok(Some(Wait::Failed(reason)));
                        }
                    }
                }
                if phase == ParticipantAction::Purge {
                    step.retention_holds = retain
                        .as_deref()
                        .map(retention_ids)
                        .unwrap_or_default()
                        .into_iter()
                        .collect();
                }
                let call = ParticipantCall {
                    subject,
                    forgotten_at: held.request.confirmed_at,
                    external_ref: step.external_ref.clone(),
                    // A purge keeps, a RECTIFY leaves unchanged, what these cover; the retentions
                    // were asked for just above.
                    retain: match (keeps_evidence, &retain) {
                        (true, Some(retain)) => retain.clone(),
                        (true, None) => {
                            return Err(WorkError::Impossible(
                                "a purge or a RECTIFY without its retentions".to_owned(),
                            ))
                        }
                        (false, _) => Vec::new(),
                    },
                    rules: if keeps_evidence {
                        self.orchestrator.settings.statutory_rules().to_vec()
                    } else {
                        Vec::new()
                    },
                    // A rectification's correction, as filed (erased with the subject); with
                    // its count too, which then counts what the correction changes.
                    rectification: match phase {
                        ParticipantAction::Count => held.request.rectification.clone(),
                        ParticipantAction::Rectify => Some(asked_again(
                            &step,
                            held.request
                                .rectification
                                .as_ref()
                                .ok_or_else(|| WorkError::Impossible("a RECTIFY holds no rectification".to_owned()))?,
                        )),
                        _ => None,
                    },
                    kept_elsewhere: kept_before(&held.steps, phase, position, keeps_evidence),
                };
                // Visible while the call is under way; not audited (its outcome is).
                step.state = StepState::Running;
                step.updated_at = now;
                let running = step.clone();
                self.write(held, move |c, request| {
                    store::save_request(c, request)?;
                    store::save_step(c, &running)?;
                    Ok(())
                })
                .await?;
                self.renew_lease(held).await?;
                self.participants.act(participant, acting_id, phase, &call).await
            };
            let wait = match answer {
                Ok(report) => self.apply_report(&mut held.request, &mut step, phase, report, now)?,
                Err(reason) => {
                    self.metrics.step_failures.with_label_values(&[participant.name]).inc();
                    step.state = StepState::Failed;
                    step.attempts += 1;
                    step.detail = Some(reason.clone());
                    held.request.status_reason = Some(reason);
                    Some(Wait::Failed(failed(participant.name)))
                }
            };
            step.updated_at = now;
            self.save_step(held, &step, now).await?;
            match existing {
                Some(i) => held.steps[i] = step,
                None => held.steps.push(step),
            }
            if wait.is_some() {
                return Ok(wait);
            }
        }
        Ok(None)
    }

    /// Folds a participant's answer into its step; `Some` when the phase must wait.
    fn apply_report(
        &self,
        request: &mut Request,
        step: &mut Step,
        phase: ParticipantAction,
        report: ParticipantReport,
        now: Timestamp,
    ) -> WorkResult<Option<Wait>> {
        if phase == ParticipantAction::Rectify {
            // Asked again after work in flight, the call carried only what the first applied:
            // what that one left out stands (the participant checked it then, as it wrote). One
            // that follows external work it submitted (Genesys Cloud's) checks nothing again and
            // says none: what it said when it submitted stands.
            if let Some(conflicts) = report.conflicts.filter(|_| !is_asked_again(step)) {
                step.conflicts = Some(conflicts);
            }
            // The participant answers the request's totals there (gdpr_participant::rectified):
            // a call asked again (after work in flight, a lost answer or a failure) says them again.
            step.counts = report.counts;
        } else {
            step.counts = report.counts;
            // Only a RECTIFY's count reports any: who else holds a value the correction touches.
            step.conflicts = report.conflicts;
        }
        step.left_out = report.left_out;
        if !report.results_urls.is_empty() {
            step.results_urls = report.results_urls;
        }
        if phase == ParticipantAction::Purge {
            // Each purge lists the copies of what its request's purges erased so far; one after
            // a hold ended may no longer list the first's (the participant's notes of them expire
            // after records.idempotency_retention_days): keep every copy a purge ever listed.
            for copy in report.to_erase_elsewhere {
                let known = step.to_erase_elsewhere.iter().any(|c| {
                    c.system == copy.system
                        && c.record_id == copy.record_id
                        && c.idempotency_key == copy.idempotency_key
                });
                if !known {
                    step.to_erase_elsewhere.push(copy);
                }
            }
        } else if !report.to_erase_elsewhere.is_empty() {
            step.to_erase_elsewhere = report.to_erase_elsewhere;
        }
        if !report.to_restrict_elsewhere.is_empty() {
            step.to_restrict_elsewhere = report.to_restrict_elsewhere;
        }
        if phase == ParticipantAction::Purge {
            // What this purge kept; a purge after a hold ended says what is kept still.
            step.retained = report.retained;
            step.retained_until = report.retained_until;
        }
        if plan::keeps_evidence(request.request_type, phase) && phase != ParticipantAction::Purge {
            // What the correction leaves (the count) or left (the rectify) as evidence.
            step.kept_unchanged = report.kept_unchanged;
        }
        if phase == ParticipantAction::Export {
            if let Some(data) = &report.data {
                let plain = serde_json::to_vec(data).map_err(|e| WorkError::Impossible(format!("export data: {e}")))?;
                let sealed = self
                    .orchestrator
                    .keys
                    .bundle
                    .seal(request.id, &step.participant, &plain)
                    .map_err(|e| WorkError::Impossible(e.to_string()))?;
                step.export_data = Some(sealed);
            }
        }
        step.detail = report.detail.clone();
        if phase == ParticipantAction::Count && step.participant == PAIRING && !report.linked_interaction_ids.is_empty()
        {
            let subject = request
                .subject
                .as_mut()
                .ok_or_else(|| WorkError::Impossible("an active request holds no subject".to_owned()))?;
            subject
                .interaction_ids
                .extend(report.linked_interaction_ids.iter().copied());
        }
        match report.state {
            ParticipantState::Done => {
                // A poll that finds external work finished is not another attempt.
                if step.state != StepState::PendingExternal {
                    step.attempts += 1;
                }
                step.state = StepState::Done;
                request.status_reason = None;
                Ok(None)
            }
            ParticipantState::PendingExternal => {
                step.state = StepState::PendingExternal;
                if step.external_ref.is_none() {
                    step.attempts += 1;
                }
                step.external_ref = report.external_ref;
                request.status_reason = None;
                Ok(Some(Wait::Until(later(
                    now,
                    self.orchestrator.settings.external_poll(),
                )?)))
            }
            ParticipantState::Failed => {
                // Submitted again on the next attempt.
                self.metrics
                    .step_failures
                    .with_label_values(&[step.participant.as_str()])
                    .inc();
                step.state = StepState::Failed;
                step.external_ref = None;
                request.status_reason = Some(format!(
                    "{}: {}",
                    step.participant,
                    report.detail.as_deref().unwrap_or("failed")
                ));
                Ok(Some(Wait::Failed(failed(&step.participant))))
            }
        }
    }

    async fn save_step(&self, held: &mut Held, step: &Step, now: Timestamp) -> WorkResult<()> {
        let step = step.clone();
        let detail = json!({
            "phase": step.phase.as_str(),
            "participant": step.participant,
            "state": step.state,
            "counts": step.counts,
            "leftOut": step.left_out,
            "retained": step.retained,
            "keptUnchanged": step.kept_unchanged,
            "conflicts": step.conflicts,
            "reason": if step.state == StepState::Failed { step.detail.clone() } else { None },
        });
        let key = self.orchestrator.keys.audit.clone();
        self.write(held, move |c, request| {
            store::save_step(c, &step)?;
            store::save_request(c, request)?;
            audit::audit(c, &key, request.id, ORCHESTRATOR, "step", &detail, now)?;
            Ok(())
        })
        .await
    }
}

/// What the participants before `position` in the phase kept, as their latest purge said (a
/// purge after a hold ended has said again by now: they run first), or left unchanged, as a
/// RECTIFY's count or rectify said: Genesys Cloud, last, then corrects nothing (a GDPR_UPDATE
/// would rewrite the held calls too).
fn kept_before(
    steps: &[Step],
    phase: ParticipantAction,
    position: usize,
    keeps_evidence: bool,
) -> Vec<contracts::legal_hold::Retained> {
    let before = steps
        .iter()
        .filter(|s| s.phase == phase && usize::try_from(s.position).is_ok_and(|p| p < position));
    match phase {
        ParticipantAction::Purge => before.flat_map(|s| s.retained.iter().cloned()).collect(),
        ParticipantAction::Count | ParticipantAction::Rectify if keeps_evidence => {
            before.flat_map(|s| s.kept_unchanged.iter().cloned()).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether a rectify step is asked again after it waited for work in flight at its participant
/// ([`gdpr_participant::IN_FLIGHT_REF`]).
fn is_asked_again(step: &Step) -> bool {
    step.external_ref.as_deref() == Some(gdpr_participant::IN_FLIGHT_REF)
}

/// The correction a rectify step sends: as filed, or asked again after work in flight, without
/// the replacements the first call did not apply (its conflicts): the subject's rows that call
/// rewrote carry the new values now, so the participant cannot tell them from someone else's and
/// checks nothing again; what it left out stays left out.
fn asked_again(
    step: &Step,
    rectification: &contracts::participant::Rectification,
) -> contracts::participant::Rectification {
    match (&step.conflicts, is_asked_again(step)) {
        (Some(conflicts), true) => rectification.without(conflicts),
        _ => rectification.clone(),
    }
}

/// The ids of the holds `retain` carries.
fn retention_ids(retain: &[contracts::participant::Retention]) -> std::collections::BTreeSet<Uuid> {
    retain.iter().map(|r| r.hold_id).collect()
}
