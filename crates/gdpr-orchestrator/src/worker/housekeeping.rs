//! The worker's housekeeping, once a minute on the pass's time: identifiers past retention
//! erased (requests', and the particulars of legal holds that stopped), unconfirmed FORGETs
//! expired, the request gauges refreshed.

use super::*;

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
                    store::erase_identifiers(c, &mut request, now)?;
                    audit::audit(c, &key, id, ORCHESTRATOR, event.0, &event.1, now)?;
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
