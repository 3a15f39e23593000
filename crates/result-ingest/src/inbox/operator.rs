//! What operators read and do: queue depth, the listing (no personal data), replaying dead
//! letters.

use super::*;

/// Dead events (one, or all) back to pending, due now, with a fresh retry budget.
pub(super) fn retry_dead(connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
    let now = DbTimestamp::from(now);
    let mut query = diesel::update(dsl::inbox_events)
        .filter(dsl::status.eq(InboxStatus::Dead.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(dsl::id.eq(DbUuid(id)));
    }
    query
        .set((
            dsl::status.eq(InboxStatus::Pending.as_str()),
            dsl::next_attempt_at.eq(now),
            dsl::lease_until.eq(None::<DbTimestamp>),
            dsl::budget_started_at.eq(now),
            dsl::dead_at.eq(None::<DbTimestamp>),
        ))
        .execute(connection)
}

/// How full the inbox is: what waits (pending) and what needs an operator (dead). Processed
/// events are not counted: they are the bulk of the table (kept `ingest.retention_days`), and
/// counting them on every housekeeping round would read it all; `ccbridge_queue_settled_total`
/// counts them as they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueueDepth {
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending event was accepted.
    pub oldest_pending: Option<Timestamp>,
}

pub(super) fn depth(connection: &mut AnyConnection) -> QueryResult<QueueDepth> {
    // Pending: from the claim index `inbox_events_due`, whose predicate this is. Dead: from the
    // listing index. Neither reads more rows than it counts.
    let pending: i64 = dsl::inbox_events
        .filter(status_is(InboxStatus::Pending))
        .filter(dsl::forgotten_by.is_null())
        .count()
        .get_result(connection)?;
    let dead: i64 = dsl::inbox_events
        .filter(status_is(InboxStatus::Dead))
        .filter(dsl::forgotten_by.is_null())
        .count()
        .get_result(connection)?;
    let oldest: Option<DbTimestamp> = dsl::inbox_events
        .filter(dsl::status.eq(InboxStatus::Pending.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .order(dsl::accepted_at)
        .select(dsl::accepted_at)
        .first(connection)
        .optional()?;
    Ok(QueueDepth {
        pending,
        dead,
        oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
    })
}

/// One event as operators see it: no personal data.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventSummary {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub status: InboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub accepted_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub processed_at: Option<Timestamp>,
    pub record_id: Option<Uuid>,
}

type SummaryRow = (
    DbUuid,
    DbUuid,
    String,
    i32,
    Option<String>,
    DbTimestamp,
    DbTimestamp,
    Option<DbTimestamp>,
    Option<DbTimestamp>,
    Option<DbUuid>,
);

/// Events with `status`, oldest first, `limit` after the `(accepted_at, id)` cursor.
pub(super) fn list(
    connection: &mut AnyConnection,
    status: InboxStatus,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<EventSummary>> {
    let mut query = dsl::inbox_events
        .filter(dsl::status.eq(status.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .into_boxed();
    if let Some((at, id)) = after {
        let at = DbTimestamp::from(at);
        query = query.filter(
            dsl::accepted_at
                .ge(at)
                .and(dsl::accepted_at.gt(at).or(dsl::id.gt(DbUuid(id)))),
        );
    }
    let rows: Vec<SummaryRow> = query
        .order((dsl::accepted_at, dsl::id))
        .limit(limit)
        .select((
            dsl::id,
            dsl::conversation_id,
            dsl::status,
            dsl::attempts,
            dsl::last_error,
            dsl::accepted_at,
            dsl::next_attempt_at,
            dsl::lease_until,
            dsl::processed_at,
            dsl::record_id,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(
            |(
                id,
                conversation_id,
                status,
                attempts,
                last_error,
                accepted_at,
                next_attempt_at,
                lease_until,
                processed_at,
                record_id,
            )| {
                // While a worker holds the event, it is next due when the lease ends.
                let next_attempt_at = match lease_until {
                    Some(lease_until) if lease_until.0 > next_attempt_at.0 => lease_until,
                    _ => next_attempt_at,
                };
                Ok(EventSummary {
                    id: id.0,
                    conversation_id: conversation_id.0,
                    status: InboxStatus::parse(&status)?,
                    attempts,
                    last_error,
                    accepted_at: accepted_at.into_domain()?,
                    next_attempt_at: next_attempt_at.into_domain()?,
                    processed_at: processed_at.map(DbTimestamp::into_domain).transpose()?,
                    record_id: record_id.map(|r| r.0),
                })
            },
        )
        .collect()
}

pub(super) fn status_of(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<InboxStatus>> {
    dsl::inbox_events
        .find(DbUuid(id))
        .filter(dsl::forgotten_by.is_null())
        .select(dsl::status)
        .first::<String>(connection)
        .optional()?
        .map(|status| InboxStatus::parse(&status))
        .transpose()
}
