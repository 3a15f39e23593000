//! The GDPR participant: a subject's communication records, found by customer id, by the search
//! key of the customer handle (every form of the phone number or e-mail address) and by the
//! interactions linked to the subject.

use crate::schema::{communication_records, idempotency_keys};
use crate::store::RecordRow;
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantCall, ParticipantReport};
use domain::Timestamp;
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use service_kit::gdpr_participant::{counts, GdprStore};
use uuid::Uuid;

pub struct CommunicationRecords;

const CATEGORY: &str = "communications";

type Filter = Box<dyn BoxableExpression<communication_records::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;
type AnyBackend = <AnyConnection as Connection>::Backend;

/// Visible records of the subject.
fn of_subject(subject: &DataSubject) -> Filter {
    use communication_records::dsl;
    let customers: Vec<DbUuid> = subject.customer_ids.iter().map(|&id| id.into()).collect();
    let interactions: Vec<DbUuid> = subject.interaction_ids.iter().map(|&id| id.into()).collect();
    Box::new(
        dsl::forgotten_by.is_null().and(
            dsl::customer_id
                .eq_any(customers)
                .assume_not_null()
                .or(dsl::customer_handle_key.eq_any(subject.handle_keys()))
                .or(dsl::interaction_id.eq_any(interactions)),
        ),
    )
}

fn held_by(request_id: Uuid) -> Filter {
    Box::new(
        communication_records::forgotten_by
            .eq(Some(DbUuid(request_id)))
            .assume_not_null(),
    )
}

impl GdprStore for CommunicationRecords {
    fn count(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let n: i64 = communication_records::table
            .filter(of_subject(subject))
            .count()
            .get_result(connection)?;
        Ok(ParticipantReport::done(counts([(CATEGORY, n)])))
    }

    fn export(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let rows: Vec<RecordRow> = communication_records::table
            .filter(of_subject(subject))
            .select(RecordRow::as_select())
            .order((communication_records::communicated_at, communication_records::id))
            .load(connection)?;
        let records = rows
            .into_iter()
            .map(|row| {
                let record = row.into_record()?;
                serde_json::to_value(record).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([(CATEGORY, records.len() as i64)]));
        report.data = Some([(CATEGORY.to_owned(), records)].into());
        Ok(report)
    }

    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        call: &ParticipantCall,
        _now: Timestamp,
    ) -> QueryResult<CategoryCounts> {
        use communication_records::dsl;
        diesel::update(dsl::communication_records.filter(of_subject(&call.subject)))
            .set(dsl::forgotten_by.eq(Some(DbUuid(request_id))))
            .execute(connection)?;
        self.held(connection, request_id)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        use communication_records::dsl;
        let restored = diesel::update(dsl::communication_records.filter(held_by(request_id)))
            .set(dsl::forgotten_by.eq(None::<DbUuid>))
            .execute(connection)?;
        Ok(counts([(CATEGORY, restored as i64)]))
    }

    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        // The idempotency keys of purged records go with them: a replay must not find a key
        // whose record no longer exists.
        let held: Vec<DbUuid> = communication_records::table
            .filter(held_by(request_id))
            .select(communication_records::id)
            .load(connection)?;
        for chunk in held.chunks(500) {
            diesel::delete(idempotency_keys::table.filter(idempotency_keys::record_id.eq_any(chunk.to_vec())))
                .execute(connection)?;
        }
        let deleted = diesel::delete(communication_records::table.filter(held_by(request_id))).execute(connection)?;
        Ok(counts([(CATEGORY, deleted as i64)]))
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let n: i64 = communication_records::table
            .filter(held_by(request_id))
            .count()
            .get_result(connection)?;
        Ok(counts([(CATEGORY, n)]))
    }
}
