//! What is erased: processed and dead events after their retention, an agent after a GDPR purge.

use super::*;
use gdpr_participant::expiry::Position;
use gdpr_participant::holds::Filter;

/// Replaces an event's agent for good (a purged GDPR forget of the agent): a random user id takes
/// theirs, in the row and in the stored result, and the event stays redacted. Returns 1 when the
/// event was there.
pub fn replace_agent(connection: &mut AnyConnection, id: Uuid) -> QueryResult<usize> {
    let payload: Option<String> = dsl::inbox_events
        .find(DbUuid(id))
        .select(dsl::payload)
        .first(connection)
        .optional()?;
    let Some(payload) = payload else {
        return Ok(0);
    };
    let mut result: SupportResult =
        serde_json::from_str(&payload).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    result.user_id = GenesysUserId::from_uuid(Uuid::new_v4());
    let payload = serde_json::to_string(&result).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::update(dsl::inbox_events.find(DbUuid(id)))
        .set((
            dsl::user_id.eq(DbUuid::from(result.user_id)),
            dsl::payload.eq(payload),
            dsl::agent_redacted.eq(true),
        ))
        .execute(connection)
}

/// Up to `chunk` events in `status` (processed or dead) past their retention: processed, or
/// dead, before `before`, and no GDPR request holds them, whole or their agent (a FORGET in
/// grace, a RESTRICT, what a purge kept for a legal hold or a rule: the request's, whatever their
/// age; [`crate::gdpr::expirable`]). Oldest first by `(accepted_at, id)` after `after`, where
/// the walk stopped, along the index `(status, accepted_at, id)`. A processed event was accepted
/// before it was processed, so bounding `accepted_at` too changes nothing in what is found, and
/// lets the index read just the chunk (a plain `… WHERE processed_at < …` read every kept event:
/// a sequential scan of the table on PostgreSQL); dead events are few (an operator's to replay),
/// so they are not bounded so. Pending: none.
pub fn expired(
    connection: &mut AnyConnection,
    status: InboxStatus,
    before: Timestamp,
    after: Option<Position>,
    chunk: i64,
) -> QueryResult<Vec<Position>> {
    let before = DbTimestamp::from(before);
    let Some(ended) = ended_before(status, before) else {
        return Ok(Vec::new());
    };
    let mut query = dsl::inbox_events
        .filter(status_is(status))
        .filter(dsl::forgotten_by.is_null())
        .filter(crate::gdpr::expirable())
        .filter(ended)
        .into_boxed();
    if status == InboxStatus::Processed {
        query = query.filter(dsl::accepted_at.lt(before));
    }
    if let Some((at, id)) = after {
        query = query.filter(dsl::accepted_at.gt(at).or(dsl::accepted_at.eq(at).and(dsl::id.gt(id))));
    }
    query
        .order((dsl::accepted_at, dsl::id))
        .select((dsl::accepted_at, dsl::id))
        .limit(chunk)
        .load(connection)
}

/// Removes those of `ids` ([`expired`]'s) that are still in `status`, past their retention at
/// `before` and held by no GDPR request (checked again as they go); answers how many.
pub fn remove_expired(
    connection: &mut AnyConnection,
    status: InboxStatus,
    ids: Vec<DbUuid>,
    before: Timestamp,
) -> QueryResult<usize> {
    let Some(ended) = ended_before(status, DbTimestamp::from(before)) else {
        return Ok(0);
    };
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        dsl::inbox_events
            .filter(dsl::id.eq_any(ids))
            .filter(dsl::status.eq(status.as_str()))
            .filter(dsl::forgotten_by.is_null())
            .filter(crate::gdpr::expirable())
            .filter(ended),
    )
    .execute(connection)
}

/// Events in `status` that were processed, or died, before `before`; `None` for pending ones
/// (they have no retention).
fn ended_before(status: InboxStatus, before: DbTimestamp) -> Option<Filter<inbox_events::table>> {
    match status {
        InboxStatus::Pending => None,
        InboxStatus::Processed => Some(Box::new(dsl::processed_at.assume_not_null().lt(before))),
        InboxStatus::Dead => Some(Box::new(dsl::dead_at.assume_not_null().lt(before))),
    }
}
