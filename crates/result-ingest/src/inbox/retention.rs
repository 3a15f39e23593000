//! What is erased: processed and dead events after their retention, an agent after a GDPR purge.

use super::*;

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

/// Removes up to `chunk` events processed before `before`, oldest first; returns how many. An
/// event is accepted before it is processed, so the bound on `accepted_at` changes nothing in
/// what goes: with the order and the limit it lets the listing index `(status, accepted_at, id)`
/// read just the chunk, where a plain `DELETE … WHERE processed_at < …` read every retained
/// event (a sequential scan of the table on PostgreSQL). Each chunk is two short statements. An
/// event a GDPR request holds, whole or its agent (a FORGET in grace, a RESTRICT, what a purge
/// kept for a legal hold or a rule), is not removed, whatever its age: it is the request's (its
/// purge erases it, an undo or a lift gives it back; [`crate::gdpr::expirable`]).
pub fn remove_processed_before(connection: &mut AnyConnection, before: Timestamp, chunk: i64) -> QueryResult<usize> {
    let before = DbTimestamp::from(before);
    let oldest_processed: Vec<DbUuid> = dsl::inbox_events
        .filter(status_is(InboxStatus::Processed))
        .filter(dsl::forgotten_by.is_null())
        .filter(crate::gdpr::expirable())
        .filter(dsl::accepted_at.lt(before))
        .filter(dsl::processed_at.lt(before))
        .order(dsl::accepted_at)
        .select(dsl::id)
        .limit(chunk)
        .load(connection)?;
    if oldest_processed.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        dsl::inbox_events
            .filter(dsl::id.eq_any(&oldest_processed))
            .filter(dsl::status.eq(InboxStatus::Processed.as_str()))
            .filter(dsl::forgotten_by.is_null())
            .filter(crate::gdpr::expirable()),
    )
    .execute(connection)
}

/// Erases up to `chunk` dead events that died before `before` (`ingest.dead_retention_days`):
/// their results are personal data kept no longer than the retention says. Returns how many. One
/// a GDPR request holds or kept is the request's, as in [`remove_processed_before`].
pub fn remove_dead_before(connection: &mut AnyConnection, before: Timestamp, chunk: i64) -> QueryResult<usize> {
    let expired: Vec<DbUuid> = dsl::inbox_events
        .filter(status_is(InboxStatus::Dead))
        .filter(dsl::forgotten_by.is_null())
        .filter(crate::gdpr::expirable())
        .filter(dsl::dead_at.lt(DbTimestamp::from(before)))
        .select(dsl::id)
        .limit(chunk)
        .load(connection)?;
    if expired.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        dsl::inbox_events
            .filter(dsl::id.eq_any(&expired))
            .filter(dsl::status.eq(InboxStatus::Dead.as_str()))
            .filter(dsl::forgotten_by.is_null())
            .filter(crate::gdpr::expirable()),
    )
    .execute(connection)
}
