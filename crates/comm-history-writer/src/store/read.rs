//! Reading records: one by id, or a keyset-paged list by customer or interaction. A record a
//! GDPR forget holds, or one withdrawn with its customer's pairing, is served to nobody.

use super::*;

pub fn find(connection: &mut AnyConnection, id: CommunicationRecordId) -> QueryResult<Option<CommunicationRecord>> {
    // A record a GDPR forget hid is gone for every reader until UNDO_FORGET.
    communication_records::table
        .find(DbUuid::from(id))
        .filter(communication_records::forgotten_by.is_null())
        .filter(communication_records::withdrawn_at.is_null())
        .select(RecordRow::as_select())
        .first(connection)
        .optional()?
        .map(RecordRow::into_record)
        .transpose()
}

/// Where the next page starts: the last record served, by `(communicatedAt, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub(super) communicated_at: Timestamp,
    pub(super) id: CommunicationRecordId,
}

impl Cursor {
    /// Opaque to clients (`service_kit::pagination`).
    pub fn encode(&self) -> String {
        encode_cursor(self.communicated_at, *self.id.as_uuid())
    }

    /// A cursor `service_kit::pagination::page_parameters` decoded.
    pub fn from_parts((communicated_at, id): (Timestamp, uuid::Uuid)) -> Self {
        Self {
            communicated_at,
            id: CommunicationRecordId::from_uuid(id),
        }
    }

    pub fn decode(cursor: &str) -> Option<Self> {
        let (communicated_at, id) = decode_cursor(cursor)?;
        Some(Self {
            communicated_at,
            id: CommunicationRecordId::from_uuid(id),
        })
    }
}

/// Which records a listing covers; at least one filter is set (checked by the route).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub customer_id: Option<CustomerId>,
    pub interaction_id: Option<InteractionId>,
}

pub struct Page {
    pub records: Vec<CommunicationRecord>,
    pub next: Option<Cursor>,
}

/// Newest first by `(communicated_at, id)`, `limit` at a time, after `cursor`. The predicate is
/// written as `communicated_at <= c AND (communicated_at < c OR id < i)` so that the first half is
/// a range on the `(customer_id|interaction_id, communicated_at, id)` indexes: each page costs
/// the same however deep it is and however large the table.
pub fn list(
    connection: &mut AnyConnection,
    filter: ListFilter,
    cursor: Option<Cursor>,
    limit: usize,
) -> QueryResult<Page> {
    use communication_records::dsl;
    let mut query = dsl::communication_records
        .select(RecordRow::as_select())
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .into_boxed();
    if let Some(customer_id) = filter.customer_id {
        query = query.filter(dsl::customer_id.eq(DbUuid::from(customer_id)));
    }
    if let Some(interaction_id) = filter.interaction_id {
        query = query.filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)));
    }
    let (rows, next) = newest_first(connection, query, cursor, limit)?;
    let records = rows
        .into_iter()
        .map(RecordRow::into_record)
        .collect::<QueryResult<Vec<_>>>()?;
    Ok(Page { records, next })
}

/// The records a boxed query selects.
pub(super) type RecordQuery<'a> = communication_records::BoxedQuery<
    'a,
    <AnyConnection as diesel::Connection>::Backend,
    diesel::dsl::AsSelect<RecordRow, <AnyConnection as diesel::Connection>::Backend>,
>;

/// One page of `query`: at most `limit` rows, newest first by `(communicated_at, id)`, after
/// `cursor`, and where the next page starts when more follow.
pub(super) fn newest_first(
    connection: &mut AnyConnection,
    mut query: RecordQuery<'_>,
    cursor: Option<Cursor>,
    limit: usize,
) -> QueryResult<(Vec<RecordRow>, Option<Cursor>)> {
    use communication_records::dsl;
    if let Some(cursor) = cursor {
        let at = DbTimestamp::from(cursor.communicated_at);
        query = query.filter(
            dsl::communicated_at
                .le(at)
                .and(dsl::communicated_at.lt(at).or(dsl::id.lt(DbUuid::from(cursor.id)))),
        );
    }
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut rows: Vec<RecordRow> = query
        .order((dsl::communicated_at.desc(), dsl::id.desc()))
        .limit(fetch)
        .load(connection)?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = match rows.last().filter(|_| has_more) {
        Some(last) => Some(Cursor {
            communicated_at: last.communicated_at.into_domain()?,
            id: last.id.into(),
        }),
        None => None,
    };
    Ok((rows, next))
}

pub fn count(connection: &mut AnyConnection) -> QueryResult<i64> {
    communication_records::table.count().get_result(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            communicated_at: Timestamp::parse("2026-11-20T09:41:07.512Z").unwrap(),
            id: CommunicationRecordId::generate(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for garbage in ["", "not base64!", "bm8gc2VwYXJhdG9y", "eHx5"] {
            assert_eq!(Cursor::decode(garbage), None, "{garbage}");
        }
    }
}
