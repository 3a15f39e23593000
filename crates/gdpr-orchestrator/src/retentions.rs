//! What must not be erased: every legal hold in force, as a participant applies it. The worker
//! sends it with each FORGET's purge; comm-history-writer's expiry of records past their
//! retention asks for it at `GET /internal/gdpr/retentions` ([`crate::routes`]), so that a hold
//! keeps a record from expiring exactly as it keeps it from a purge.

use crate::participants::Participants;
use crate::settings::{GdprSettings, PAIRING};
use crate::store;
use crate::worker::{failed, WorkError};
use contracts::participant::{ParticipantAction, ParticipantCall, Retention};
use domain::Timestamp;
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::Reason;

/// Every legal hold in force at `now`, as a participant's purge reads it. A hold that names
/// customers also covers the interactions interaction-pairing links to them now (a count under
/// the hold's id, which changes nothing), so that webhook results, which carry no customer, are
/// kept as the customer's records are. `Ok(Err(_))` names the participant that could not answer:
/// whoever asked must wait rather than erase what a hold may cover.
pub async fn in_force(
    pool: &DbPool,
    settings: &GdprSettings,
    participants: &Participants,
    now: Timestamp,
) -> Result<Result<Vec<Retention>, Reason>, WorkError> {
    let holds = pool
        .run(move |c| store::legal_holds::in_force(c, now).map_err(DatabaseError::from))
        .await?;
    let pairing = settings.participants().into_iter().find(|p| p.name == PAIRING);
    let mut retain = Vec::with_capacity(holds.len());
    for mut hold in holds {
        let mut subject = std::mem::take(&mut hold.subject);
        if !subject.customer_ids.is_empty() {
            let pairing = pairing.as_ref().ok_or_else(|| {
                WorkError::Impossible(
                    "a legal hold names customers, and interaction-pairing is not among gdpr.order's participants"
                        .to_owned(),
                )
            })?;
            let call = ParticipantCall {
                subject: subject.clone(),
                forgotten_at: None,
                external_ref: None,
                retain: Vec::new(),
                rules: Vec::new(),
                kept_elsewhere: Vec::new(),
                rectification: None,
            };
            match participants
                .act(pairing, hold.id, ParticipantAction::Count, &call)
                .await
            {
                Ok(report) => subject.interaction_ids.extend(report.linked_interaction_ids),
                Err(reason) => {
                    tracing::warn!(legal_hold_id = %hold.id, reason = %reason, "a legal hold's interactions could not be asked for; nothing it may cover is erased meanwhile");
                    return Ok(Err(failed(PAIRING)));
                }
            }
        }
        hold.subject = subject;
        retain.push(hold.retention());
    }
    Ok(Ok(retain))
}
