//! Reading the requests a report covers: the requests received within its months (counts left
//! out), a page at a time along `(received_at, id)`, and for those that may have them their
//! extensions, the answer of a RESTRICT since lifted, and whether a purge kept anything, from
//! the audit trail (which keeps them after a request's identifiers and reasons are erased).

use super::{BankMonths, Impossible, Reported, Tally};
use crate::schema::{gdpr_audit_log, gdpr_requests};
use contracts::gdpr::{RequestStatus, RequestType};
use contracts::report::{Month, MonthlyRow};
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Requests read a statement.
pub const PAGE: i64 = 1000;

/// The audit events the report reads.
const EXTENDED: &str = "deadline_extended";
const RETAINED: &str = "completed_with_retention";
/// A RESTRICT's answer: its `completed_at` moves to the lift's time once lifted.
const RESTRICTED: &str = "restricted";

/// What a report could not be computed for.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Impossible(#[from] Impossible),
    #[error("the months asked for lie outside what the time zone can name")]
    OutOfRange,
}

type RequestColumns = (
    DbUuid,
    String,
    String,
    DbTimestamp,
    DbTimestamp,
    Option<DbTimestamp>,
    i32,
);

/// The report's rows for the months `from` to `to` in `months`' zone, as of `now`.
pub fn monthly(
    connection: &mut AnyConnection,
    months: &BankMonths,
    from: Month,
    to: Month,
    now: Timestamp,
) -> Result<Vec<MonthlyRow>, ScanError> {
    use gdpr_requests::dsl;
    let start = months.start_of(from).ok_or(ScanError::OutOfRange)?;
    let end = match to.next() {
        Some(next) => Some(months.start_of(next).ok_or(ScanError::OutOfRange)?),
        None => None,
    };
    let mut tally = Tally::default();
    let mut after: Option<(DbTimestamp, DbUuid)> = None;
    loop {
        let mut query = dsl::gdpr_requests
            .filter(dsl::count_only.eq(false))
            .filter(dsl::received_at.ge(DbTimestamp::from(start)))
            .select((
                dsl::id,
                dsl::request_type,
                dsl::status,
                dsl::received_at,
                dsl::due_at,
                dsl::completed_at,
                dsl::extension_months,
            ))
            .into_boxed();
        if let Some(end) = end {
            query = query.filter(dsl::received_at.lt(DbTimestamp::from(end)));
        }
        if let Some((at, id)) = after {
            query = query.filter(dsl::received_at.gt(at).or(dsl::received_at.eq(at).and(dsl::id.gt(id))));
        }
        let rows: Vec<RequestColumns> = query.order((dsl::received_at, dsl::id)).limit(PAGE).load(connection)?;
        let Some(last) = rows.last() else { break };
        after = Some((last.3, last.0));
        let full = i64::try_from(rows.len()).is_ok_and(|n| n == PAGE);
        let requests = rows.into_iter().map(reported).collect::<Result<Vec<_>, _>>()?;
        let mut audited = audited(connection, &requests)?;
        for (id, mut request) in requests {
            let events = audited.remove(&id).unwrap_or_default();
            request.extensions = events.extensions;
            request.retained = events.retained;
            if request.status == RequestStatus::Lifted {
                request.answered_at = Some(events.restricted_at.ok_or(Impossible {
                    id,
                    reason: "a lifted RESTRICT with no restriction in its audit trail",
                })?);
            }
            let month = months.month_of(request.received_at).ok_or(ScanError::OutOfRange)?;
            tally.add(id, month, &request, now)?;
        }
        if !full {
            break;
        }
    }
    Ok(tally.rows(from, to))
}

fn reported(row: RequestColumns) -> Result<(Uuid, Reported), diesel::result::Error> {
    let (id, request_type, status, received_at, due_at, completed_at, extension_months) = row;
    let corrupt = |what: String| diesel::result::Error::DeserializationError(what.into());
    Ok((
        id.0,
        Reported {
            request_type: RequestType::parse(&request_type)
                .ok_or_else(|| corrupt(format!("unknown request type {request_type:?}")))?,
            status: RequestStatus::parse(&status)
                .ok_or_else(|| corrupt(format!("unknown request status {status:?}")))?,
            received_at: received_at.into_domain()?,
            due_at: due_at.into_domain()?,
            answered_at: completed_at.map(DbTimestamp::into_domain).transpose()?,
            extension_months,
            extensions: 0,
            retained: false,
        },
    ))
}

/// What the audit trail says of a request.
#[derive(Debug, Default)]
struct Audited {
    extensions: u64,
    retained: bool,
    restricted_at: Option<Timestamp>,
}

/// The audit events of the requests of a page that may have them: extended ones, answered
/// FORGETs (a purge that kept something) and lifted RESTRICTs (when they were restricted).
fn audited(connection: &mut AnyConnection, requests: &[(Uuid, Reported)]) -> QueryResult<HashMap<Uuid, Audited>> {
    use gdpr_audit_log::dsl;
    let ids: Vec<DbUuid> = requests
        .iter()
        .filter(|(_, r)| {
            r.extension_months > 0
                || (r.request_type == RequestType::Forget && r.answered_at.is_some())
                || r.status == RequestStatus::Lifted
        })
        .map(|(id, _)| DbUuid(*id))
        .collect();
    let mut by_request: HashMap<Uuid, Audited> = HashMap::new();
    for chunk in ids.chunks(500) {
        let events: Vec<(DbUuid, String, DbTimestamp)> = dsl::gdpr_audit_log
            .filter(dsl::request_id.eq_any(chunk.to_vec()))
            .filter(dsl::event.eq_any([EXTENDED, RETAINED, RESTRICTED]))
            .select((dsl::request_id, dsl::event, dsl::at))
            .load(connection)?;
        for (id, event, at) in events {
            let audited = by_request.entry(id.0).or_default();
            match event.as_str() {
                EXTENDED => audited.extensions += 1,
                RETAINED => audited.retained = true,
                _ => {
                    let at = at.into_domain()?;
                    audited.restricted_at = Some(audited.restricted_at.map_or(at, |first| first.min(at)));
                }
            }
        }
    }
    Ok(by_request)
}
