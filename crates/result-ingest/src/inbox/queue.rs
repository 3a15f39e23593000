//! The inbox as one of service-kit's queues ([`service_kit::queue::Storage`]), on its own SQL:
//! the status literals its partial indexes match, the batch claim, one statement to settle a
//! batch's processed events on PostgreSQL. The operator routes (`/ingest/events`) list and replay
//! through it.

use super::*;
use crate::content::ContentPlan;
use service_kit::queue::{self, Claim, Depth, Page, Settle, Status, Storage, Summary};
use std::num::NonZeroU32;

/// What the queue's runner hands a job of a claimed event.
#[derive(Debug, Clone)]
pub struct InboxEvent {
    pub result: SupportResult,
    pub accepted_at: Timestamp,
    /// The webhook request's `traceparent`: the worker continues that trace.
    pub trace_context: Option<String>,
    /// A GDPR forget of the agent holds the event: its record names no agent.
    pub agent_redacted: bool,
}

/// Settlements of one claim at one time: (the claim's lease end, when they were settled).
type SettledTogether = (Timestamp, Timestamp);

/// `inbox_events`, the ingest inbox. Its settlement queues the content jobs `content` asks for
/// (the default: none, as for the operator routes, which never settle).
#[derive(Debug, Clone, Default)]
pub struct InboxQueue {
    content: ContentPlan,
}

impl InboxQueue {
    pub const fn new(content: ContentPlan) -> Self {
        Self { content }
    }
}

/// What every queue entry of the inbox asks for (the operator listing's `kind`).
const KIND: &str = "record";

impl InboxQueue {
    fn status(status: Status) -> InboxStatus {
        match status {
            Status::Pending => InboxStatus::Pending,
            Status::Dead => InboxStatus::Dead,
            Status::Done => InboxStatus::Processed,
        }
    }
}

/// The record a done event made, as the inbox's job answers it ([`service_kit::queue::Made`]:
/// the record's id, its channel's name). Another kind is an error, never a record without a
/// channel: its content job would be lost.
fn record_made(made: queue::Made) -> QueryResult<super::lease::RecordMade> {
    let channel = domain::Channel::parse(made.kind).map_err(|_| {
        diesel::result::Error::SerializationError(
            format!("an inbox event made a record of kind {:?}", made.kind).into(),
        )
    })?;
    Ok(super::lease::RecordMade { id: made.id, channel })
}

fn queue_status(status: InboxStatus) -> Status {
    match status {
        InboxStatus::Pending => Status::Pending,
        InboxStatus::Dead => Status::Dead,
        InboxStatus::Processed => Status::Done,
    }
}

impl Storage for InboxQueue {
    const QUEUE: &'static str = "ingest_inbox";
    type Item = InboxEvent;

    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<queue::Claimed<InboxEvent>>> {
        let batch = super::lease::claim_until(connection, claim.now, claim.limit, claim.lease_until)?;
        batch
            .events
            .into_iter()
            .map(|event| {
                let attempts = u32::try_from(event.attempts)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .ok_or_else(|| {
                        diesel::result::Error::DeserializationError(
                            format!("a claimed inbox event counts {} attempts", event.attempts).into(),
                        )
                    })?;
                Ok(queue::Claimed {
                    id: event.id,
                    attempts,
                    since: event.budget_started_at,
                    lease_until: batch.lease_until,
                    item: InboxEvent {
                        result: event.result,
                        accepted_at: event.accepted_at,
                        trace_context: event.trace_context,
                        agent_redacted: event.agent_redacted,
                    },
                })
            })
            .collect()
    }

    fn settle(&self, connection: &mut AnyConnection, settlements: &[queue::Settlement]) -> QueryResult<usize> {
        // A runner's pass settles the entries of one claim at one time: one group. Group anyway.
        let mut groups: Vec<(SettledTogether, Vec<(Uuid, Settlement)>)> = Vec::new();
        for settlement in settlements {
            let settled = match &settlement.settle {
                // The record the event became and its channel, as the job answered them.
                Settle::Done => Settlement::Processed {
                    record: settlement.result.map(record_made).transpose()?,
                },
                Settle::Retry { at, reason } => Settlement::Retry {
                    reason: reason.as_str().to_owned(),
                    next_attempt_at: *at,
                },
                Settle::Dead { reason } => Settlement::Dead {
                    reason: reason.as_str().to_owned(),
                },
                Settle::Postpone { at } => Settlement::Postpone { next_attempt_at: *at },
            };
            let key = (settlement.lease_until, settlement.settled_at);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, group)) => group.push((settlement.id, settled)),
                None => groups.push((key, vec![(settlement.id, settled)])),
            }
        }
        groups.iter().try_fold(0, |count, ((lease_until, now), group)| {
            Ok(count + super::lease::settle(connection, group, *now, *lease_until, &self.content)?)
        })
    }

    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>> {
        super::operator::list(connection, Self::status(page.status), page.after, page.limit)?
            .into_iter()
            .map(|event| {
                let attempts = u32::try_from(event.attempts).map_err(|_| {
                    diesel::result::Error::DeserializationError(
                        format!("an inbox event counts {} attempts", event.attempts).into(),
                    )
                })?;
                Ok(Summary {
                    id: event.id,
                    kind: KIND,
                    status: queue_status(event.status),
                    attempts,
                    created_at: event.accepted_at,
                    next_attempt_at: (event.status == InboxStatus::Pending).then_some(event.next_attempt_at),
                    last_error: event.last_error,
                })
            })
            .collect()
    }

    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>> {
        Ok(super::operator::status_of(connection, id)?.map(queue_status))
    }

    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
        super::operator::retry_dead(connection, id, now)
    }

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth> {
        let depth = super::operator::depth(connection)?;
        Ok(Depth {
            pending: depth.pending,
            dead: depth.dead,
            oldest_pending: depth.oldest_pending,
            // Events a GDPR request holds (`forgotten_by`) are left out of the depth altogether.
            parked: 0,
        })
    }

    /// Dead events past `ingest.dead_retention_days`, for the job to keep those a legal hold or a
    /// statutory rule covers (by `(accepted_at, id)`, [`super::expired`]).
    fn expired_dead(
        &self,
        connection: &mut AnyConnection,
        before: Timestamp,
        after: Option<(Timestamp, Uuid)>,
        limit: i64,
    ) -> QueryResult<Option<Vec<(Timestamp, Uuid)>>> {
        let after = after.map(|(at, id)| (DbTimestamp::from(at), DbUuid(id)));
        super::expired(connection, InboxStatus::Dead, before, after, limit)?
            .into_iter()
            .map(|(at, id)| Ok((at.into_domain()?, id.0)))
            .collect::<QueryResult<_>>()
            .map(Some)
    }

    fn delete_dead(&self, connection: &mut AnyConnection, ids: &[Uuid], before: Timestamp) -> QueryResult<usize> {
        let ids = ids.iter().map(|&id| DbUuid(id)).collect();
        super::remove_expired(connection, InboxStatus::Dead, ids, before)
    }
}
