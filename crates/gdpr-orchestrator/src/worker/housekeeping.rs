//! The worker's housekeeping, once a minute on the pass's time: identifiers past retention
//! erased (requests', and the particulars of legal holds that stopped; a RECTIFY's correction
//! once nothing keeps the rows it left unchanged), unconfirmed FORGETs expired, the request gauges
//! refreshed.

use super::*;
use crate::rectification::statement;
use contracts::participant::StatutoryRule;
use store::Correction;

impl Worker {
    pub(super) async fn housekeeping(&self, now: Timestamp) -> WorkResult<()> {
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
        let retained_since = earlier(now, self.orchestrator.settings.identifier_retention())?;
        let unconfirmed_since = earlier(now, self.orchestrator.settings.confirmation_timeout())?;
        let (expired, unconfirmed) = self
            .pool
            .run(move |c| {
                let expired = store::retention_passed(c, retained_since)?;
                let unconfirmed = store::unconfirmed_since(c, unconfirmed_since)?;
                Ok::<_, diesel::result::Error>((expired, unconfirmed)).map_err(DatabaseError::from)
            })
            .await?;
        let mut erased = 0;
        for id in expired {
            erased += usize::from(self.erase(id, None, now).await?);
        }
        for id in unconfirmed {
            self.erase(id, Some(RequestStatus::Expired), now).await?;
        }
        if erased > 0 {
            tracing::info!(
                requests = erased,
                "identifiers of finished GDPR requests erased after retention"
            );
        }
        let corrections = self.erase_kept_corrections(now).await?;
        if corrections > 0 {
            tracing::info!(
                requests = corrections,
                "corrections of RECTIFYs erased once nothing kept the rows they left unchanged"
            );
        }
        let holds = self.erase_hold_particulars(retained_since, now).await?;
        if holds > 0 {
            tracing::info!(holds, "particulars of legal holds erased after retention");
        }
        self.seal_legacy_exports().await?;
        self.review_retentions(now).await?;
        let (overdue, by_status) = self
            .pool
            .run(move |c| {
                let overdue = store::overdue_count(c, now)?;
                let by_status = store::status_counts(c)?;
                Ok::<_, diesel::result::Error>((overdue, by_status)).map_err(DatabaseError::from)
            })
            .await?;
        self.metrics.overdue.set(overdue);
        for status in RequestStatus::ALL {
            let n = by_status.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            self.metrics.requests.with_label_values(&[status.as_str()]).set(n);
        }
        Ok(())
    }

    /// Erases a request's identifiers (`becomes`: the status it takes, for an unconfirmed FORGET
    /// that expires). A request that changed meanwhile is left to the next round. Returns whether
    /// it was erased.
    async fn erase(&self, id: Uuid, becomes: Option<RequestStatus>, now: Timestamp) -> WorkResult<bool> {
        let key = self.orchestrator.keys.audit.clone();
        let rules = self.orchestrator.settings.statutory_rules().to_vec();
        let erased = self
            .pool
            .run(move |c| {
                write_transaction(c, |c| {
                    let Some(mut request) = store::lock_request(c, id)? else {
                        return Ok(false);
                    };
                    let event = match becomes {
                        Some(status) if request.status == RequestStatus::AwaitingConfirmation => {
                            request.status = status;
                            request.completed_at = Some(now);
                            request.updated_at = now;
                            (
                                "expired",
                                json!({ "from": RequestStatus::AwaitingConfirmation, "to": status }),
                            )
                        }
                        Some(_) => return Ok(false),
                        None if request.status.is_finished() && request.identifiers_erased_at.is_none() => {
                            ("identifiers_erased", json!({}))
                        }
                        None => return Ok(false),
                    };
                    let correction = correction_of(c, &request, &rules, now)?;
                    let detail = match correction {
                        Correction::Keep => json!({ "correctionKept": true }),
                        Correction::Erase => event.1,
                    };
                    store::erase_identifiers(c, &mut request, correction, now)?;
                    audit::audit(c, &key, id, ORCHESTRATOR, event.0, &detail, now)?;
                    Ok::<_, StoreError>(true)
                })
                .map_err(WorkError::from)
            })
            .await;
        match erased {
            Err(WorkError::Stale) => Ok(false),
            other => other,
        }
    }

    /// Erases the corrections finished RECTIFYs kept past their identifiers ([`Correction::Keep`])
    /// once nothing may keep the rows they left unchanged any more, each audited. How many.
    async fn erase_kept_corrections(&self, now: Timestamp) -> WorkResult<usize> {
        let key = self.orchestrator.keys.audit.clone();
        let rules = self.orchestrator.settings.statutory_rules().to_vec();
        self.pool
            .run(move |c| erase_kept_corrections(c, &key, &rules, now).map_err(WorkError::from))
            .await
    }

    /// Erases the particulars (subject, reason, release reasons) of legal holds that stopped
    /// keeping data before `stopped_before`. Returns how many were erased.
    async fn erase_hold_particulars(&self, stopped_before: Timestamp, now: Timestamp) -> WorkResult<usize> {
        let key = self.orchestrator.keys.audit.clone();
        self.pool
            .run(move |c| erase_hold_particulars(c, &key, stopped_before, now).map_err(WorkError::from))
            .await
    }

    /// Export data stored before bundles were sealed is sealed now, so none stays in the clear.
    async fn seal_legacy_exports(&self) -> WorkResult<()> {
        let key = self.orchestrator.keys.bundle.clone();
        self.pool
            .run(move |c| {
                write_transaction(c, |c| {
                    for mut step in store::unsealed_exports(c, SEALED_PREFIX)? {
                        let Some(plain) = step.export_data.take() else { continue };
                        let sealed = key
                            .seal(step.request_id, &step.participant, plain.as_bytes())
                            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                        step.export_data = Some(sealed);
                        store::save_step(c, &step)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .map_err(|e| WorkError::Database(e.into()))
            })
            .await
    }
}

/// Each kept correction is locked and checked again, erased and audited in its chain, in a
/// transaction of its own.
fn erase_kept_corrections(
    c: &mut AnyConnection,
    key: &audit::AuditKey,
    rules: &[StatutoryRule],
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut erased = 0;
    for kept in store::kept_corrections(c)? {
        erased += write_transaction(c, |c| {
            let Some(mut request) = store::lock_request(c, kept.id)? else {
                return Ok(0);
            };
            if request.rectification.is_none() || correction_of(c, &request, rules, now)? == Correction::Keep {
                return Ok(0);
            }
            store::erase_correction(c, &mut request)?;
            audit::audit(c, key, request.id, ORCHESTRATOR, "correction_erased", &json!({}), now)?;
            Ok::<_, StoreError>(1)
        })?;
    }
    Ok(erased)
}

/// Whether `request`'s correction outlives its other identifiers at `now`: a completed RECTIFY's,
/// while a hold in force or a statutory rule may still keep the rows its rectify left unchanged
/// ([`statement::kept`]); any other request's goes with them.
fn correction_of(
    c: &mut AnyConnection,
    request: &Request,
    rules: &[StatutoryRule],
    now: Timestamp,
) -> Result<Correction, StoreError> {
    if request.request_type != RequestType::Rectify
        || request.status != RequestStatus::Completed
        || request.rectification.is_none()
    {
        return Ok(Correction::Erase);
    }
    let completed_at = request.completed_at.ok_or_else(|| {
        diesel::result::Error::DeserializationError(
            format!("RECTIFY {} is completed without a time", request.id).into(),
        )
    })?;
    let steps = store::steps(c, request.id)?;
    let holds: Vec<_> = store::legal_holds::in_force(c, now)?
        .into_iter()
        .map(|hold| hold.basis)
        .collect();
    Ok(if statement::kept(&steps, completed_at, &holds, rules, now) {
        Correction::Keep
    } else {
        Correction::Erase
    })
}

/// Each hold due is locked and checked again (one changed meanwhile may no longer be), erased and
/// audited in its chain, in a transaction of its own.
fn erase_hold_particulars(
    c: &mut AnyConnection,
    key: &audit::AuditKey,
    stopped_before: Timestamp,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut erased = 0;
    for id in store::legal_holds::particulars_due(c, stopped_before)? {
        erased += write_transaction(c, |c| {
            let Some(mut hold) = store::legal_holds::lock(c, id)? else {
                return Ok(0);
            };
            let Some(detail) = crate::legal_hold::erase_particulars(&mut hold, stopped_before, now) else {
                return Ok(0);
            };
            store::legal_holds::save(c, &mut hold)?;
            audit::audit(c, key, id, ORCHESTRATOR, "hold_particulars_erased", &detail, now)?;
            Ok::<_, StoreError>(1)
        })?;
    }
    Ok(erased)
}
