//! Legal holds at a purge: of the rows a FORGET holds, those a retention covers are not erased.
//! They stay held, hidden from every read as in the grace period (restricted), and are noted here
//! as kept, with the basis they are kept on, so that an export still finds them (the subject's
//! right of access, GDPR Art. 15) and the purge reports what it kept. A later purge of the same
//! request without that retention (the hold ended) erases them. Each purge notes anew what it
//! keeps, so repeating one changes nothing.
//!
//! A retention covers what a request for its subject would reach here (the same [`Reach`] rules,
//! as a customer or as an agent), and, with a window, only rows whose communication time is in
//! it. A row several retentions cover is kept once, under the first basis in [`LegalBasis`] order
//! (`legal_claims`, `legal_obligation`, `authority_request`).
//!
//! Every participant's database has the table `gdpr_retained (request_id, kind, row_id, basis)`
//! beside `gdpr_holds` (the same kinds). The orchestrator sends every retention in force with each
//! purge, so a purge of another request over the same rows keeps them too.
//!
//! A RESTRICT (GDPR Art. 18) notes the rows it holds here too, on the basis [`RESTRICTION`]
//! ([`restrict`]), so that they are exported the same way; no purge ever runs under it.

use crate::holds::{changed, chunked, Filter, HeldTable, CHUNK};
use crate::Reach;
use contracts::legal_hold::{LegalBasis, Retained, TimeWindow};
use diesel::prelude::*;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::BTreeMap;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_retained (request_id, kind, row_id) {
        request_id -> Uuid,
        kind -> Text,
        row_id -> Uuid,
        basis -> Text,
    }
}

/// A retention as this participant applies it: the rows `reach` finds, within `window` (by the
/// time of the communication each row belongs to), are kept on `basis`.
#[derive(Clone, Copy)]
pub struct Retain<'a> {
    pub reach: Reach<'a>,
    pub window: Option<TimeWindow>,
    pub basis: LegalBasis,
}

/// A purge to carry out: the request whose rows go, and the retentions in force.
pub struct Purge<'a> {
    pub request_id: Uuid,
    /// First basis first (see [`Purge::retentions`]).
    retain: Vec<Retain<'a>>,
}

impl<'a> Purge<'a> {
    pub fn new(request_id: Uuid, mut retain: Vec<Retain<'a>>) -> Self {
        retain.sort_by_key(|r| r.basis);
        Self { request_id, retain }
    }

    /// The retentions, first basis first: a row is kept on the first that covers it.
    pub fn retentions(&self) -> &[Retain<'a>] {
        &self.retain
    }
}

/// What a purge does with the rows of one kind a request holds.
#[derive(Debug, Default, PartialEq)]
pub struct Kept {
    /// Not covered by any retention: erase them, as a purge always did.
    pub erase: Vec<Uuid>,
    /// How many it kept, per basis (under the category the caller named).
    pub retained: Vec<Retained>,
}

/// Splits the rows `purge`'s request holds as `kind` (a hold kind of `T`'s) into those a
/// retention covers (`covers`: what a retention's reach finds), noted as kept, and the rest, to
/// erase; what was noted kept before and is no longer covered goes to the rest.
pub fn split<T: HeldTable>(
    connection: &mut AnyConnection,
    purge: &Purge<'_>,
    kind: &str,
    category: &str,
    covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
) -> QueryResult<Kept> {
    let held = crate::holds::held_rows(connection, purge.request_id, kind)?;
    let mut kept: BTreeMap<Uuid, LegalBasis> = BTreeMap::new();
    for retain in purge.retentions() {
        let open: Vec<Uuid> = held.iter().filter(|row| !kept.contains_key(row)).copied().collect();
        for chunk in open.chunks(CHUNK) {
            let ids = chunk.iter().map(|&row| DbUuid(row)).collect();
            let mut filter = T::both(T::among(ids), covers(&retain.reach));
            let window = retain.window.unwrap_or_default();
            if let Some(from) = window.from {
                filter = T::both(filter, T::communicated_from(DbTimestamp::from(from)));
            }
            if let Some(to) = window.to {
                filter = T::both(filter, T::communicated_before(DbTimestamp::from(to)));
            }
            for row in T::ids_where(connection, filter)? {
                kept.entry(row).or_insert(retain.basis);
            }
        }
    }
    note(connection, purge.request_id, kind, &kept)?;
    let erase = held.into_iter().filter(|row| !kept.contains_key(row)).collect();
    Ok(Kept {
        erase,
        retained: tally(category, kept.into_values()),
    })
}

/// `bases` (one a kept row) counted per basis, under `category`.
fn tally(category: &str, bases: impl Iterator<Item = LegalBasis>) -> Vec<Retained> {
    let mut per_basis: BTreeMap<LegalBasis, u64> = BTreeMap::new();
    for basis in bases {
        *per_basis.entry(basis).or_default() += 1;
    }
    per_basis
        .into_iter()
        .map(|(basis, count)| Retained {
            category: category.to_owned(),
            basis,
            count,
        })
        .collect()
}

/// A purge's report of what it kept: one entry per category and basis (counts added), ordered.
pub fn merged(retained: Vec<Retained>) -> Vec<Retained> {
    let mut sums: BTreeMap<(String, LegalBasis), u64> = BTreeMap::new();
    for entry in retained {
        *sums.entry((entry.category, entry.basis)).or_default() += entry.count;
    }
    sums.into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|((category, basis), count)| Retained { category, basis, count })
        .collect()
}

/// `kept` (row → basis) is what `request_id` keeps of `kind` now, in place of what it kept before.
fn note(
    connection: &mut AnyConnection,
    request_id: Uuid,
    kind: &str,
    kept: &BTreeMap<Uuid, LegalBasis>,
) -> QueryResult<()> {
    release(connection, request_id, kind)?;
    let rows: Vec<_> = kept
        .iter()
        .map(|(&row, basis)| {
            (
                gdpr_retained::request_id.eq(DbUuid(request_id)),
                gdpr_retained::kind.eq(kind),
                gdpr_retained::row_id.eq(DbUuid(row)),
                gdpr_retained::basis.eq(basis.as_str()),
            )
        })
        .collect();
    crate::insert_new!(connection, gdpr_retained::table, rows)?;
    Ok(())
}

/// The basis a restriction's rows are noted on in `gdpr_retained`, beside the legal bases a purge
/// notes ([`restrict`]).
pub const RESTRICTION: &str = "restriction";

/// A restriction (GDPR Art. 18): every row `request_id` holds, of every kind, is noted kept under
/// it on [`RESTRICTION`], so that an export still finds it ([`HeldTable::exportable`]: the
/// subject's right of access stands) while the holds hide it from everything else. Undoing the
/// request ([`HeldTable::release`]) drops the notes with the holds. Repeating it changes nothing.
pub fn restrict(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
    use crate::holds::gdpr_holds;
    let held: Vec<(String, DbUuid)> = gdpr_holds::table
        .filter(gdpr_holds::request_id.eq(DbUuid(request_id)))
        .select((gdpr_holds::kind, gdpr_holds::row_id))
        .load(connection)?;
    let rows: Vec<_> = held
        .into_iter()
        .map(|(kind, row)| {
            (
                gdpr_retained::request_id.eq(DbUuid(request_id)),
                gdpr_retained::kind.eq(kind),
                gdpr_retained::row_id.eq(row),
                gdpr_retained::basis.eq(RESTRICTION),
            )
        })
        .collect();
    crate::insert_new!(connection, gdpr_retained::table, rows)?;
    Ok(())
}

/// `request_id` keeps nothing of `kind` any more.
pub fn release(connection: &mut AnyConnection, request_id: Uuid, kind: &str) -> QueryResult<()> {
    diesel::delete(
        gdpr_retained::table
            .filter(gdpr_retained::request_id.eq(DbUuid(request_id)))
            .filter(gdpr_retained::kind.eq(kind)),
    )
    .execute(connection)?;
    Ok(())
}

/// No request keeps `rows` of `kind` any more: they were erased.
pub fn drop_rows(connection: &mut AnyConnection, kind: &str, rows: &[Uuid]) -> QueryResult<()> {
    chunked(rows, |ids| {
        diesel::delete(
            gdpr_retained::table
                .filter(gdpr_retained::kind.eq(kind))
                .filter(gdpr_retained::row_id.eq_any(ids)),
        )
        .execute(connection)
        .and_then(changed)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::gdpr::DataSubject;
    use std::collections::BTreeSet;

    fn retained(category: &str, basis: LegalBasis, count: u64) -> Retained {
        Retained {
            category: category.to_owned(),
            basis,
            count,
        }
    }

    #[test]
    fn the_retentions_come_first_basis_first_so_a_row_is_kept_on_the_first() {
        let subject = DataSubject::default();
        let none = BTreeSet::new();
        let reach = Reach {
            subject: &subject,
            attributed_elsewhere: &none,
        };
        let on = |basis| Retain {
            reach,
            window: None,
            basis,
        };
        let purge = Purge::new(
            Uuid::nil(),
            vec![
                on(LegalBasis::AuthorityRequest),
                on(LegalBasis::LegalClaims),
                on(LegalBasis::LegalObligation),
            ],
        );
        let order: Vec<_> = purge.retentions().iter().map(|r| r.basis).collect();
        assert_eq!(order, LegalBasis::ALL);
    }

    #[test]
    fn kept_rows_are_counted_per_basis_and_a_report_adds_up_per_category_and_basis() {
        use LegalBasis::{LegalClaims, LegalObligation};
        let bases = [LegalObligation, LegalClaims, LegalObligation].into_iter();
        assert_eq!(
            tally("pairings", bases),
            vec![
                retained("pairings", LegalClaims, 1),
                retained("pairings", LegalObligation, 2)
            ]
        );
        let report = merged(vec![
            retained("records", LegalObligation, 2),
            retained("agents", LegalClaims, 1),
            retained("records", LegalObligation, 3),
            retained("records", LegalClaims, 0),
        ]);
        assert_eq!(
            report,
            vec![
                retained("agents", LegalClaims, 1),
                retained("records", LegalObligation, 5)
            ]
        );
        assert!(merged(Vec::new()).is_empty());
    }
}
