//! Communication records as stored: their row (here), writing them exactly once with their
//! idempotency keys (`write`), reading them (`read`), giving them to or withdrawing them from
//! an interaction's customers (`customers`), and those nobody attributed with the customers
//! their handle suggests (`unassigned`); the outbox delivering them to the bank's
//! communication-history-manager (`deliveries`).

mod customers;
pub mod deliveries;
mod read;
mod unassigned;
mod write;

pub use customers::*;
pub use read::*;
pub use unassigned::*;
pub use write::*;

use crate::schema::{communication_records, idempotency_keys};
use deliveries::DeliveryKind;
use diesel::prelude::*;
use domain::{
    BoundedText, Channel, CommunicationRecord, CommunicationRecordId, CustomerHandle, CustomerId, CustomerSource,
    Direction, GenesysUserId, HandleNormaliser, InteractionId, NewCommunicationRecord, RecordDomain, Timestamp,
};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::pagination::{decode_cursor, encode_cursor};
use service_kit::per_backend;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = communication_records)]
pub(crate) struct RecordRow {
    pub(crate) id: DbUuid,
    direction: String,
    pub(crate) communicated_at: DbTimestamp,
    source: String,
    channel: String,
    domain: String,
    pub(crate) customer_id: Option<DbUuid>,
    customer_handle: String,
    pub(crate) customer_handle_key: String,
    interaction_id: DbUuid,
    bank_user_id: Option<String>,
    bank_user_name: Option<String>,
    purpose: Option<String>,
    title: String,
    body: String,
    created_at: DbTimestamp,
    genesys_user_id: Option<DbUuid>,
    /// A GDPR forget of the agent holds the record: served without the agent.
    agent_redacted: bool,
    /// How the customer was found (`CustomerSource`); null while there is none.
    customer_source: Option<String>,
    /// The record this one is a copy of, for another customer of the same interaction.
    pub(crate) copied_from: Option<DbUuid>,
    /// Withdrawn when its customer's pairing was removed (and by whom): served to nobody.
    withdrawn_at: Option<DbTimestamp>,
    withdrawn_by: Option<String>,
}

impl RecordRow {
    /// `source`: how its customer was found, when it names one.
    fn new(
        id: CommunicationRecordId,
        record: &NewCommunicationRecord,
        source: CustomerSource,
        created_at: Timestamp,
        handles: &HandleNormaliser,
    ) -> Self {
        Self {
            id: id.into(),
            direction: record.direction.as_str().to_owned(),
            communicated_at: record.communicated_at.into(),
            source: record.source.as_str().to_owned(),
            channel: record.channel.as_str().to_owned(),
            domain: record.domain.as_str().to_owned(),
            customer_id: record.customer_id.map(DbUuid::from),
            customer_handle: record.customer_handle.as_str().to_owned(),
            customer_handle_key: record.customer_handle.key(handles).as_str().to_owned(),
            interaction_id: record.interaction_id.into(),
            bank_user_id: record.bank_user_id.as_ref().map(|v| v.as_str().to_owned()),
            bank_user_name: record.bank_user_name.as_ref().map(|v| v.as_str().to_owned()),
            purpose: record.purpose.as_ref().map(|v| v.as_str().to_owned()),
            title: record.title.as_str().to_owned(),
            body: record.body.as_str().to_owned(),
            created_at: created_at.into(),
            genesys_user_id: record.genesys_user_id.map(DbUuid::from),
            agent_redacted: false,
            customer_source: record.customer_id.map(|_| source.as_str().to_owned()),
            copied_from: None,
            withdrawn_at: None,
            withdrawn_by: None,
        }
    }

    /// The same communication for `customer` (none: unassigned again), copied from this row's
    /// root record.
    pub(crate) fn copy_for(
        &self,
        customer: Option<CustomerId>,
        source: Option<CustomerSource>,
        now: Timestamp,
    ) -> Self {
        Self {
            id: CommunicationRecordId::generate().into(),
            direction: self.direction.clone(),
            communicated_at: self.communicated_at,
            source: self.source.clone(),
            channel: self.channel.clone(),
            domain: self.domain.clone(),
            customer_id: customer.map(DbUuid::from),
            customer_handle: self.customer_handle.clone(),
            customer_handle_key: self.customer_handle_key.clone(),
            interaction_id: self.interaction_id,
            bank_user_id: self.bank_user_id.clone(),
            bank_user_name: self.bank_user_name.clone(),
            purpose: self.purpose.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            created_at: now.into(),
            genesys_user_id: self.genesys_user_id,
            agent_redacted: self.agent_redacted,
            customer_source: source.map(|s| s.as_str().to_owned()),
            copied_from: Some(self.root()),
            withdrawn_at: None,
            withdrawn_by: None,
        }
    }

    /// When the record was withdrawn with its customer's pairing, if it was.
    pub(crate) fn withdrawn_at(&self) -> QueryResult<Option<Timestamp>> {
        self.withdrawn_at.map(DbTimestamp::into_domain).transpose()
    }

    /// The record this one was copied from, or itself.
    pub(crate) fn root(&self) -> DbUuid {
        self.copied_from.unwrap_or(self.id)
    }

    /// A row that no longer parses was written around our validation: report it as corrupt. A
    /// record whose agent a GDPR forget holds is served without the agent.
    pub(crate) fn into_record(self) -> QueryResult<CommunicationRecord> {
        fn corrupt<E: std::fmt::Display>(column: &'static str) -> impl FnOnce(E) -> diesel::result::Error {
            move |e| diesel::result::Error::DeserializationError(format!("communication_records.{column}: {e}").into())
        }
        fn text<const MIN: usize, const MAX: usize>(
            value: &str,
            column: &'static str,
        ) -> QueryResult<BoundedText<MIN, MAX>> {
            BoundedText::parse(value).map_err(corrupt(column))
        }
        // A customer and how it was found come together, or not at all.
        let customer_source = match (&self.customer_id, self.customer_source.as_deref()) {
            (Some(_), Some(source)) => Some(CustomerSource::parse(source).ok_or_else(|| {
                diesel::result::Error::DeserializationError(
                    format!("communication_records.customer_source: unknown {source:?}").into(),
                )
            })?),
            (None, None) => None,
            _ => {
                return Err(diesel::result::Error::DeserializationError(
                    "communication_records.customer_source: set without a customer, or missing with one".into(),
                ))
            }
        };
        Ok(CommunicationRecord {
            id: self.id.into(),
            customer_source,
            attributes: NewCommunicationRecord {
                direction: Direction::parse(&self.direction).map_err(corrupt("direction"))?,
                communicated_at: self.communicated_at.into_domain()?,
                source: text(&self.source, "source")?,
                channel: Channel::parse(&self.channel).map_err(corrupt("channel"))?,
                domain: RecordDomain::parse(&self.domain).map_err(corrupt("domain"))?,
                customer_id: self.customer_id.map(CustomerId::from),
                customer_handle: CustomerHandle::parse(&self.customer_handle).map_err(corrupt("customer_handle"))?,
                interaction_id: self.interaction_id.into(),
                bank_user_id: self
                    .bank_user_id
                    .as_deref()
                    .map(|v| text(v, "bank_user_id"))
                    .transpose()?,
                bank_user_name: self
                    .bank_user_name
                    .as_deref()
                    .filter(|_| !self.agent_redacted)
                    .map(|v| text(v, "bank_user_name"))
                    .transpose()?,
                genesys_user_id: self
                    .genesys_user_id
                    .filter(|_| !self.agent_redacted)
                    .map(GenesysUserId::from),
                purpose: self.purpose.as_deref().map(|v| text(v, "purpose")).transpose()?,
                title: text(&self.title, "title")?,
                body: text(&self.body, "body")?,
            },
            created_at: self.created_at.into_domain()?,
        })
    }
}
