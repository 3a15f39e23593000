//! Records nobody attributed, newest first, each with the customers its handle suggests; and the
//! one inference `records.auto_assign_by_handle` may draw from a handle. A suggestion comes from
//! visible records only: a customer a GDPR forget hides is never suggested.

use super::*;
use diesel::dsl::{count_star, max};

/// The most customers suggested for one record.
pub const MAX_SUGGESTIONS: usize = 5;

/// Which unassigned records a listing covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnassignedFilter {
    /// Communicated at or after this.
    pub from: Option<Timestamp>,
    /// … and before this.
    pub to: Option<Timestamp>,
    pub channel: Option<Channel>,
}

/// The wire types of an unassigned record (contracts::history).
pub use contracts::history::{Suggestion, Suggestions, UnassignedRecord};

pub struct UnassignedPage {
    pub records: Vec<UnassignedRecord>,
    pub next: Option<Cursor>,
}

/// Records without a customer, newest first by `(communicated_at, id)` (the partial index
/// `communication_records_unassigned` holds exactly these), `limit` after `cursor`, each with its
/// handle's suggestions (one grouped query for the page).
pub fn list_unassigned(
    connection: &mut AnyConnection,
    filter: UnassignedFilter,
    cursor: Option<Cursor>,
    limit: usize,
) -> QueryResult<UnassignedPage> {
    use communication_records::dsl;
    let mut query = dsl::communication_records
        .select(RecordRow::as_select())
        .filter(dsl::customer_id.is_null())
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(dsl::communicated_at.ge(DbTimestamp::from(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(dsl::communicated_at.lt(DbTimestamp::from(to)));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(dsl::channel.eq(channel.as_str()));
    }
    let (rows, next) = newest_first(connection, query, cursor, limit)?;
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        let key = row.customer_handle_key.clone();
        keyed.push((key, row.into_record()?));
    }
    let keys: Vec<&str> = keyed.iter().map(|(key, _)| key.as_str()).collect();
    let by_handle = customers_of_handles(connection, &keys)?;
    let records = keyed
        .into_iter()
        .map(|(key, record)| {
            let customers = by_handle.get(&key).cloned().unwrap_or_default();
            UnassignedRecord {
                record,
                suggestions: Suggestions {
                    shared: customers.len() > 1,
                    customers_of_handle: customers.len(),
                    customers: customers.into_iter().take(MAX_SUGGESTIONS).collect(),
                },
            }
        })
        .collect();
    Ok(UnassignedPage { records, next })
}

/// For each handle key, the customers whose visible records carry it, most likely first.
fn customers_of_handles(
    connection: &mut AnyConnection,
    keys: &[&str],
) -> QueryResult<HashMap<String, Vec<Suggestion>>> {
    use communication_records::dsl;
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<DbUuid>, i64, Option<DbTimestamp>)> = dsl::communication_records
        .filter(dsl::customer_handle_key.eq_any(keys))
        .filter(dsl::customer_id.is_not_null())
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .group_by((dsl::customer_handle_key, dsl::customer_id))
        .select((
            dsl::customer_handle_key,
            dsl::customer_id,
            count_star(),
            max(dsl::communicated_at),
        ))
        .load(connection)?;
    let mut by_handle: HashMap<String, Vec<Suggestion>> = HashMap::new();
    for (key, customer, records, last) in rows {
        let (Some(customer), Some(last)) = (customer, last) else {
            return Err(diesel::result::Error::DeserializationError(
                "a handle's customer group without a customer or a time".into(),
            ));
        };
        by_handle.entry(key).or_default().push(Suggestion {
            customer_id: CustomerId::from(customer),
            records,
            last_communicated_at: last.into_domain()?,
        });
    }
    for customers in by_handle.values_mut() {
        customers.sort_by(|a, b| {
            (b.records, b.last_communicated_at, b.customer_id.to_string()).cmp(&(
                a.records,
                a.last_communicated_at,
                a.customer_id.to_string(),
            ))
        });
    }
    Ok(by_handle)
}

/// The one customer `handle_key` belongs to, if exactly one customer's visible records carry it
/// since `since` and no other customer's ever did (a shared handle is never a match).
pub fn sole_customer_of_handle(
    connection: &mut AnyConnection,
    handle_key: &str,
    since: Timestamp,
) -> QueryResult<Option<CustomerId>> {
    use communication_records::dsl;
    let ever: Vec<Option<DbUuid>> = dsl::communication_records
        .filter(dsl::customer_handle_key.eq(handle_key))
        .filter(dsl::customer_id.is_not_null())
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .select(dsl::customer_id)
        .distinct()
        .limit(2)
        .load(connection)?;
    let [Some(only)] = ever.as_slice() else {
        return Ok(None);
    };
    let recent: i64 = dsl::communication_records
        .filter(dsl::customer_handle_key.eq(handle_key))
        .filter(dsl::customer_id.eq(*only))
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .filter(dsl::communicated_at.ge(DbTimestamp::from(since)))
        .count()
        .get_result(connection)?;
    Ok((recent > 0).then(|| CustomerId::from(*only)))
}

/// How many records have no customer (a GDPR forget's aside), and when the oldest happened.
pub fn unassigned_depth(connection: &mut AnyConnection) -> QueryResult<(i64, Option<Timestamp>)> {
    use communication_records::dsl;
    let unassigned = dsl::communication_records
        .filter(dsl::customer_id.is_null())
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null());
    let count: i64 = unassigned.count().get_result(connection)?;
    let oldest: Option<DbTimestamp> = unassigned
        .order(dsl::communicated_at)
        .select(dsl::communicated_at)
        .first(connection)
        .optional()?;
    Ok((count, oldest.map(DbTimestamp::into_domain).transpose()?))
}
