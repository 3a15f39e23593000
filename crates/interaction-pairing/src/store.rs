//! Reading and writing pairings.

use crate::schema::support_interactions::{self, dsl};
use diesel::prelude::*;
use domain::{CustomerId, InteractionId, SupportInteraction, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;

/// A pairing as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPairing {
    pub pairing: SupportInteraction,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = support_interactions)]
struct PairingRow {
    interaction_id: DbUuid,
    customer_id: DbUuid,
    created_at: DbTimestamp,
    updated_at: DbTimestamp,
}

impl TryFrom<PairingRow> for StoredPairing {
    type Error = diesel::result::Error;
    fn try_from(row: PairingRow) -> Result<Self, Self::Error> {
        Ok(Self {
            pairing: SupportInteraction {
                customer_id: CustomerId::from(row.customer_id),
                interaction_id: InteractionId::from(row.interaction_id),
            },
            created_at: row.created_at.into_domain()?,
            updated_at: row.updated_at.into_domain()?,
        })
    }
}

/// Why a pairing was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PairingRefused {
    /// The interaction's pairing is hidden by a GDPR FORGET: pairing it again must not bring it
    /// back into view. It can be paired again once the FORGET is undone or purged.
    #[error("the interaction's pairing is held by a GDPR forget")]
    HeldByForget,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Whether a pairing was new or replaced an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Stores the pairing; the latest one for an interaction wins, keeping its first `created_at`.
/// Insert first, update when the interaction was paired before: on PostgreSQL a concurrent
/// insert of the same interaction makes the second wait for the first's commit and then update,
/// so exactly one request creates the pairing (comparing timestamps could not tell two requests
/// of the same instant apart).
pub fn upsert(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    now: Timestamp,
) -> Result<(StoredPairing, Upserted), PairingRefused> {
    let row = PairingRow {
        interaction_id: pairing.interaction_id.into(),
        customer_id: pairing.customer_id.into(),
        created_at: now.into(),
        updated_at: now.into(),
    };
    // The pairing and its outbox entry commit together (the pairing, a write, comes first).
    connection.transaction(|connection| {
        let inserted: Option<PairingRow> =
            per_backend!(connection, |c| diesel::insert_into(support_interactions::table)
                .values(&row)
                .on_conflict_do_nothing()
                .returning(PairingRow::as_returning())
                .get_result(c)
                .optional())?;
        let (stored, outcome) = match inserted {
            Some(stored) => (stored, Upserted::Created),
            None => {
                // Only a visible pairing is replaced; one a FORGET holds stays as it is.
                let update = diesel::update(
                    dsl::support_interactions
                        .find(row.interaction_id)
                        .filter(dsl::forgotten_by.is_null()),
                )
                .set((dsl::customer_id.eq(row.customer_id), dsl::updated_at.eq(row.updated_at)));
                let stored: Option<PairingRow> = per_backend!(connection, |c| update
                    .returning(PairingRow::as_returning())
                    .get_result(c)
                    .optional())?;
                (stored.ok_or(PairingRefused::HeldByForget)?, Upserted::Updated)
            }
        };
        crate::outbox::enqueue(connection, pairing, now)?;
        Ok::<_, PairingRefused>((stored.try_into()?, outcome))
    })
}

pub fn find(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<Option<StoredPairing>> {
    dsl::support_interactions
        .find(DbUuid::from(interaction_id))
        .filter(dsl::forgotten_by.is_null())
        .select(PairingRow::as_select())
        .first(connection)
        .optional()?
        .map(StoredPairing::try_from)
        .transpose()
}

/// The pairings of those of `interaction_ids` that have one (and are not forgotten).
pub fn find_many(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<StoredPairing>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    dsl::support_interactions
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_null())
        .select(PairingRow::as_select())
        .load(connection)?
        .into_iter()
        .map(StoredPairing::try_from)
        .collect()
}

/// Those of `interaction_ids` whose pairing a GDPR forget holds (their customer is not told).
pub fn find_held(connection: &mut AnyConnection, interaction_ids: &[InteractionId]) -> QueryResult<Vec<InteractionId>> {
    let ids: Vec<DbUuid> = interaction_ids.iter().map(|&id| DbUuid::from(id)).collect();
    Ok(dsl::support_interactions
        .filter(dsl::interaction_id.eq_any(ids))
        .filter(dsl::forgotten_by.is_not_null())
        .select(dsl::interaction_id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(InteractionId::from)
        .collect())
}

pub fn count(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::support_interactions.count().get_result(connection)
}
