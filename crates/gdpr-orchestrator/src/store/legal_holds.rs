//! Legal holds as stored (`legal_holds`): the typed hold and its row, and the queries the routes
//! and the worker read them with. A stored status, basis or subject that does not parse is an
//! error, never a default.
//!
//! `ended` is never stored: a hold whose `ends_at` has passed reads as ended
//! ([`crate::legal_hold::status_at`]), and every query here that asks what is in force compares
//! `ends_at` with the `now` it is given, so no housekeeping has to run for a hold to end on time.

use super::{corrupt, timestamp, to_json, StoreError, StoreResult, Vouching};
use crate::schema::legal_holds;
use contracts::legal_hold::{LegalBasis, LegalHoldStatus, TimeWindow};
use contracts::participant::Retention;
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

/// One person's act on a hold: who (their subject at the identity provider, or the client acting
/// as itself), the client they came through, what vouched for them, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub by: String,
    pub via: String,
    pub vouched_by: Vouching,
    pub at: Timestamp,
}

/// A release's step: the act and its reason (`None` once the hold's particulars are erased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAct {
    pub act: Act,
    pub reason: Option<String>,
}

/// Whose data a hold keeps and why: personal data (the subject) and free text (the reason, and
/// the release reasons in [`ReleaseAct`]), kept while the hold keeps data and
/// `gdpr.identifier_retention_days` after it stopped, then erased by the worker's housekeeping.
#[derive(Debug, Clone, PartialEq)]
pub enum Particulars {
    Kept {
        /// The matter in the bank's case management: free text too (it may name a party).
        reference: String,
        reason: String,
        /// Never logged, never served.
        subject: DataSubject,
    },
    /// Erased at this time; what stays is the hold's id, basis, window, dates and the staff who
    /// acted.
    Erased { at: Timestamp },
}

/// What an erased hold's `subject` column holds (the column is never null).
const ERASED_SUBJECT: &str = "{}";

/// A hold, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub id: Uuid,
    /// As stored: `active`, `release_requested` or `released`; what it is at a time is
    /// [`crate::legal_hold::status_at`].
    pub status: LegalHoldStatus,
    pub basis: LegalBasis,
    pub particulars: Particulars,
    pub window: Option<TimeWindow>,
    pub ends_at: Option<Timestamp>,
    pub placed: Act,
    /// The first of the two persons releasing it (gone again when they withdraw).
    pub release_requested: Option<ReleaseAct>,
    /// The second.
    pub released: Option<ReleaseAct>,
    pub updated_at: Timestamp,
    /// What this copy was read at; a save succeeds only over the same version.
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_holds)]
struct HoldRow {
    id: DbUuid,
    status: String,
    reference: String,
    reason: String,
    basis: String,
    subject: String,
    window_from: Option<DbTimestamp>,
    window_to: Option<DbTimestamp>,
    ends_at: Option<DbTimestamp>,
    placed_by: String,
    placed_via: String,
    placed_vouched_by: String,
    placed_at: DbTimestamp,
    release_requested_by: Option<String>,
    release_requested_via: Option<String>,
    release_requested_vouched_by: Option<String>,
    release_requested_at: Option<DbTimestamp>,
    release_reason: Option<String>,
    released_by: Option<String>,
    released_via: Option<String>,
    released_vouched_by: Option<String>,
    released_at: Option<DbTimestamp>,
    released_reason: Option<String>,
    updated_at: DbTimestamp,
    version: i32,
    identifiers_erased_at: Option<DbTimestamp>,
}

fn vouching(value: &str, column: &str) -> QueryResult<Vouching> {
    Vouching::parse(value).ok_or_else(|| corrupt(format!("legal_holds.{column}: unknown value {value:?}")))
}

/// A release step's columns: by, via, vouched_by, at, reason.
type ReleaseColumns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<DbTimestamp>,
    Option<String>,
);

/// A release step from its five columns: all present, or all absent; the reason absent exactly
/// when the hold's particulars are `erased` (anything else is corrupt).
fn release_act(columns: ReleaseColumns, step: &str, erased: bool) -> QueryResult<Option<ReleaseAct>> {
    match columns {
        (None, None, None, None, None) => Ok(None),
        (Some(by), Some(via), Some(vouched_by), Some(at), reason) if reason.is_none() == erased => {
            Ok(Some(ReleaseAct {
                act: Act {
                    by,
                    via,
                    vouched_by: vouching(&vouched_by, step)?,
                    at: at.into_domain()?,
                },
                reason,
            }))
        }
        _ => Err(corrupt(format!(
            "legal_holds.{step}: some of its columns are missing, or its reason does not match identifiers_erased_at"
        ))),
    }
}

/// The particulars from their columns: erased ones hold nothing but the marker.
fn particulars(
    reference: String,
    reason: String,
    subject: String,
    erased_at: Option<DbTimestamp>,
) -> QueryResult<Particulars> {
    match erased_at {
        None => Ok(Particulars::Kept {
            reference,
            reason,
            subject: serde_json::from_str(&subject).map_err(|e| corrupt(format!("legal_holds.subject: {e}")))?,
        }),
        Some(at) if reference.is_empty() && reason.is_empty() && subject == ERASED_SUBJECT => {
            Ok(Particulars::Erased { at: at.into_domain()? })
        }
        Some(_) => Err(corrupt(
            "legal_holds: identifiers_erased_at is set, and its subject or reason is not erased".to_owned(),
        )),
    }
}

fn release_columns(act: Option<&ReleaseAct>) -> ReleaseColumns {
    match act {
        None => (None, None, None, None, None),
        Some(ReleaseAct { act, reason }) => (
            Some(act.by.clone()),
            Some(act.via.clone()),
            Some(act.vouched_by.as_str().to_owned()),
            Some(act.at.into()),
            reason.clone(),
        ),
    }
}

impl TryFrom<HoldRow> for Hold {
    type Error = diesel::result::Error;
    fn try_from(row: HoldRow) -> QueryResult<Self> {
        let window_from = timestamp(row.window_from)?;
        let window_to = timestamp(row.window_to)?;
        let erased = row.identifiers_erased_at.is_some();
        Ok(Self {
            id: row.id.0,
            status: LegalHoldStatus::parse(&row.status)
                .filter(|status| *status != LegalHoldStatus::Ended)
                .ok_or_else(|| corrupt(format!("legal_holds.status: unknown value {:?}", row.status)))?,
            basis: LegalBasis::parse(&row.basis)
                .ok_or_else(|| corrupt(format!("legal_holds.basis: unknown value {:?}", row.basis)))?,
            particulars: particulars(row.reference, row.reason, row.subject, row.identifiers_erased_at)?,
            window: (window_from.is_some() || window_to.is_some()).then_some(TimeWindow {
                from: window_from,
                to: window_to,
            }),
            ends_at: timestamp(row.ends_at)?,
            placed: Act {
                by: row.placed_by,
                via: row.placed_via,
                vouched_by: vouching(&row.placed_vouched_by, "placed_vouched_by")?,
                at: row.placed_at.into_domain()?,
            },
            release_requested: release_act(
                (
                    row.release_requested_by,
                    row.release_requested_via,
                    row.release_requested_vouched_by,
                    row.release_requested_at,
                    row.release_reason,
                ),
                "release_requested",
                erased,
            )?,
            released: release_act(
                (
                    row.released_by,
                    row.released_via,
                    row.released_vouched_by,
                    row.released_at,
                    row.released_reason,
                ),
                "released",
                erased,
            )?,
            updated_at: row.updated_at.into_domain()?,
            version: row.version,
        })
    }
}

impl Hold {
    fn to_row(&self) -> QueryResult<HoldRow> {
        let (
            release_requested_by,
            release_requested_via,
            release_requested_vouched_by,
            release_requested_at,
            release_reason,
        ) = release_columns(self.release_requested.as_ref());
        let (released_by, released_via, released_vouched_by, released_at, released_reason) =
            release_columns(self.released.as_ref());
        let (reference, reason, subject, identifiers_erased_at) = match &self.particulars {
            Particulars::Kept {
                reference,
                reason,
                subject,
            } => (reference.clone(), reason.clone(), to_json(subject)?, None),
            Particulars::Erased { at } => (
                String::new(),
                String::new(),
                ERASED_SUBJECT.to_owned(),
                Some(DbTimestamp::from(*at)),
            ),
        };
        Ok(HoldRow {
            id: DbUuid(self.id),
            status: self.status.as_str().to_owned(),
            reference,
            reason,
            basis: self.basis.as_str().to_owned(),
            subject,
            window_from: self.window.and_then(|w| w.from).map(DbTimestamp::from),
            window_to: self.window.and_then(|w| w.to).map(DbTimestamp::from),
            ends_at: self.ends_at.map(DbTimestamp::from),
            placed_by: self.placed.by.clone(),
            placed_via: self.placed.via.clone(),
            placed_vouched_by: self.placed.vouched_by.as_str().to_owned(),
            placed_at: self.placed.at.into(),
            release_requested_by,
            release_requested_via,
            release_requested_vouched_by,
            release_requested_at,
            release_reason,
            released_by,
            released_via,
            released_vouched_by,
            released_at,
            released_reason,
            updated_at: self.updated_at.into(),
            version: self.version,
            identifiers_erased_at,
        })
    }
}

pub fn insert(connection: &mut AnyConnection, hold: &Hold) -> QueryResult<()> {
    diesel::insert_into(legal_holds::table)
        .values(hold.to_row()?)
        .execute(connection)
        .map(drop)
}

pub fn find(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Hold>> {
    legal_holds::table
        .find(DbUuid(id))
        .select(HoldRow::as_select())
        .first(connection)
        .optional()?
        .map(Hold::try_from)
        .transpose()
}

/// As [`find`], holding the row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
/// write transaction holds the whole database already).
pub fn lock(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Hold>> {
    let query = || legal_holds::table.find(DbUuid(id));
    let row: Option<HoldRow> = match connection {
        AnyConnection::Postgresql(pg) => query().select(HoldRow::as_select()).for_update().first(pg).optional()?,
        AnyConnection::Sqlite(sqlite) => query().select(HoldRow::as_select()).first(sqlite).optional()?,
    };
    row.map(Hold::try_from).transpose()
}

/// Saves every field of `hold` that can change over the version it was read at, and counts the
/// version on. Another writer in between makes this [`StoreError::Stale`]: nothing is overwritten.
pub fn save(connection: &mut AnyConnection, hold: &mut Hold) -> StoreResult<()> {
    use legal_holds::dsl;
    let row = hold.to_row()?;
    let updated = diesel::update(dsl::legal_holds.find(row.id).filter(dsl::version.eq(row.version)))
        .set((
            dsl::status.eq(&row.status),
            dsl::reference.eq(&row.reference),
            dsl::reason.eq(&row.reason),
            dsl::subject.eq(&row.subject),
            dsl::identifiers_erased_at.eq(row.identifiers_erased_at),
            dsl::release_requested_by.eq(&row.release_requested_by),
            dsl::release_requested_via.eq(&row.release_requested_via),
            dsl::release_requested_vouched_by.eq(&row.release_requested_vouched_by),
            dsl::release_requested_at.eq(row.release_requested_at),
            dsl::release_reason.eq(&row.release_reason),
            dsl::released_by.eq(&row.released_by),
            dsl::released_via.eq(&row.released_via),
            dsl::released_vouched_by.eq(&row.released_vouched_by),
            dsl::released_at.eq(row.released_at),
            dsl::released_reason.eq(&row.released_reason),
            dsl::updated_at.eq(row.updated_at),
            dsl::version.eq(row.version + 1),
        ))
        .execute(connection)?;
    if updated == 0 {
        return Err(StoreError::Stale);
    }
    hold.version += 1;
    Ok(())
}

/// The stored names of the states a hold keeps data in (until its `ends_at`).
fn in_force_statuses() -> Vec<&'static str> {
    LegalHoldStatus::ALL
        .into_iter()
        .filter(|s| s.in_force())
        .map(LegalHoldStatus::as_str)
        .collect()
}

/// Newest first by `(placed_at, id)`, at most `limit` after the cursor `after`; only holds in
/// `status` at `now` when given (`ended`: stored in force with `ends_at` at or before `now`;
/// `active` and `release_requested`: stored so, and not ended).
pub fn list(
    connection: &mut AnyConnection,
    status: Option<LegalHoldStatus>,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
    now: Timestamp,
) -> QueryResult<Vec<Hold>> {
    use legal_holds::dsl;
    let now = DbTimestamp::from(now);
    let mut query = dsl::legal_holds.select(HoldRow::as_select()).into_boxed();
    query = match status {
        None => query,
        Some(LegalHoldStatus::Released) => query.filter(dsl::status.eq(LegalHoldStatus::Released.as_str())),
        Some(LegalHoldStatus::Ended) => query
            .filter(dsl::status.eq_any(in_force_statuses()))
            .filter(dsl::ends_at.le(now)),
        Some(status @ (LegalHoldStatus::Active | LegalHoldStatus::ReleaseRequested)) => query
            .filter(dsl::status.eq(status.as_str()))
            .filter(dsl::ends_at.is_null().or(dsl::ends_at.gt(now))),
    };
    if let Some((at, id)) = after {
        let at = DbTimestamp::from(at);
        query = query.filter(
            dsl::placed_at
                .lt(at)
                .or(dsl::placed_at.eq(at).and(dsl::id.lt(DbUuid(id)))),
        );
    }
    query
        .order((dsl::placed_at.desc(), dsl::id.desc()))
        .limit(limit)
        .load(connection)?
        .into_iter()
        .map(Hold::try_from)
        .collect()
}

/// A hold in force, as the worker carries it to the participants.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldInForce {
    pub id: Uuid,
    /// As placed: the identifiers and interactions the hold names (not yet the interactions
    /// interaction-pairing links to its customers).
    pub subject: DataSubject,
    /// None: every communication.
    pub window: Option<TimeWindow>,
    pub basis: LegalBasis,
}

impl HoldInForce {
    /// The retention a participant call carries for this hold: the interactions it names are
    /// kept whoever they belong to, the rest of its subject as a request's reach finds it.
    pub fn retention(mut self) -> Retention {
        let interaction_ids = std::mem::take(&mut self.subject.interaction_ids);
        Retention {
            hold_id: self.id,
            subject: self.subject,
            interaction_ids,
            window: self.window,
            basis: self.basis,
        }
    }
}

/// Every hold in force at `now`: stored `active` or `release_requested` (a release takes effect
/// once the second person confirmed it) and `ends_at` absent or later than `now`. Oldest first.
/// `now` decides only the ends: a hold is in force from the moment it is stored.
pub fn in_force(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<Vec<HoldInForce>> {
    use legal_holds::dsl;
    let now = DbTimestamp::from(now);
    dsl::legal_holds
        .filter(dsl::status.eq_any(in_force_statuses()))
        .filter(dsl::ends_at.is_null().or(dsl::ends_at.gt(now)))
        .order((dsl::placed_at, dsl::id))
        .select(HoldRow::as_select())
        .load(connection)?
        .into_iter()
        .map(|row| {
            let hold = Hold::try_from(row)?;
            let Particulars::Kept { subject, .. } = hold.particulars else {
                return Err(corrupt(format!(
                    "legal hold {}: in force, and its particulars are erased",
                    hold.id
                )));
            };
            Ok(HoldInForce {
                id: hold.id,
                subject,
                window: hold.window,
                basis: hold.basis,
            })
        })
        .collect()
}

/// Holds whose particulars are due for erasure: kept, and stopped (released, or ended) before
/// `stopped_before`. Ids only; each is locked and checked again before it is erased.
pub fn particulars_due(connection: &mut AnyConnection, stopped_before: Timestamp) -> QueryResult<Vec<Uuid>> {
    use legal_holds::dsl;
    let before = DbTimestamp::from(stopped_before);
    let released = dsl::status
        .eq(LegalHoldStatus::Released.as_str())
        .and(dsl::released_at.lt(before));
    let ended = dsl::status.eq_any(in_force_statuses()).and(dsl::ends_at.lt(before));
    Ok(dsl::legal_holds
        .filter(dsl::identifiers_erased_at.is_null())
        .filter(released.or(ended))
        .order((dsl::placed_at, dsl::id))
        .select(dsl::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}
