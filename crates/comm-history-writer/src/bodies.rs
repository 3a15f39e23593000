//! A record's body set after it was written: what was said or written in the communication (a
//! transcript, an e-mail's text), which result-ingest's content queue fetches from Genesys once it
//! exists. The record was written first with an empty body; a missing transcript never held it.
//!
//! The body goes to the record and to its copies for the interaction's other customers (the
//! same communication), but never to a record a GDPR request holds (a FORGET in grace or kept by
//! a purge, a RESTRICT): for the record named, that is a refusal; a held copy is left as it is.
//! A legal hold alone holds nothing here (it keeps what a purge would erase), so a body is added
//! under it. A record whose body changed and that was queued for the communication-history-manager
//! is delivered again, an update after its create (as a RECTIFY's correction is).

use crate::schema::communication_records::{self, dsl};
use crate::store::deliveries;
use diesel::prelude::*;
use domain::{CommunicationRecordId, Timestamp};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;

/// What setting a record's body came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySet {
    /// Set on this many records (the one named and its copies); 0 when each had it already.
    Set { updated: usize },
    /// A FORGET holds the record (in grace, or kept by its purge): nothing set, for good.
    Held,
    /// A RESTRICT holds the record: nothing set until it is lifted.
    Restricted,
    /// No such record (erased, expired, or never written): nothing set.
    Gone,
}

/// Sets `body` on record `id` and its copies, in one write transaction; the record's row is
/// locked first on PostgreSQL, so a GDPR forget's hold either came before (and is seen here) or
/// waits for this commit (and holds the record with its body, which its purge then erases).
pub fn set_body(connection: &mut AnyConnection, id: CommunicationRecordId, body: &str) -> QueryResult<BodySet> {
    let id = DbUuid::from(id);
    service_kit::database::write_transaction(connection, |c| {
        let holder = || communication_records::table.find(id).select(dsl::forgotten_by);
        let found: Option<Option<DbUuid>> = match c {
            AnyConnection::Postgresql(pg) => holder().for_update().first(pg).optional()?,
            AnyConnection::Sqlite(sqlite) => holder().first(sqlite).optional()?,
        };
        match found {
            None => return Ok(BodySet::Gone),
            Some(Some(request)) if gdpr_participant::retention::restricts(c, request.0)? => {
                return Ok(BodySet::Restricted)
            }
            Some(Some(_)) => return Ok(BodySet::Held),
            Some(None) => {}
        }
        let changing: Vec<DbUuid> = communication_records::table
            .filter(dsl::id.eq(id).or(dsl::copied_from.eq(id)))
            .filter(dsl::forgotten_by.is_null())
            .filter(dsl::body.ne(body))
            .select(dsl::id)
            .load(c)?;
        if changing.is_empty() {
            return Ok(BodySet::Set { updated: 0 });
        }
        diesel::update(communication_records::table.filter(dsl::id.eq_any(&changing)))
            .set(dsl::body.eq(body))
            .execute(c)?;
        let changed: Vec<uuid::Uuid> = changing.iter().map(|id| id.0).collect();
        deliveries::enqueue_updates_of_queued(c, &changed, Timestamp::now())?;
        Ok(BodySet::Set {
            updated: changing.len(),
        })
    })
}
