//! Legal holds at a purge: of the rows a FORGET holds, those a retention covers are not erased.
//! They stay held, hidden from every read as in the grace period (restricted), and are noted here
//! as kept, with the basis they are kept on, so that an export still finds them (the subject's
//! right of access, GDPR Art. 15) and the purge reports what it kept. A later purge of the same
//! request without that retention (the hold ended) erases them. Each purge notes anew what it
//! keeps, so repeating one changes nothing.
//!
//! A retention covers what a request for its subject's customer ids, agents and (linked)
//! interactions would reach here (the same [`Reach`] rules, as a customer or as an agent), and,
//! whoever they belong to, every row of the interactions its hold names and every row that stores
//! one of its handles (phone numbers, e-mail addresses: a hold on a number keeps every
//! communication on it, where a request by that number reaches only rows attributed to nobody);
//! with a window, only rows whose communication time is in it. Named interactions and handles
//! are compared with each chunk of rows in memory, never bound as one list (a hold may name
//! thousands). A table that stores no handle (pairings) is kept by none. A row several retentions cover is kept once, under the first basis in [`LegalBasis`] order
//! (`legal_claims`, `legal_obligation`, `authority_request`).
//!
//! Every participant's database has the table `gdpr_retained (request_id, kind, row_id, basis)`
//! beside `gdpr_holds` (the same kinds). The orchestrator sends every retention in force with each
//! purge, so a purge of another request over the same rows keeps them too.
//!
//! A RESTRICT (GDPR Art. 18) notes the rows it holds here too, on the basis [`RESTRICTION`]
//! ([`restrict`]), so that they are exported the same way; no purge ever runs under it.
//!
//! A statutory retention rule ([`StatutoryRule`], e.g. MiFID II's records of client
//! communications) keeps rows the same way, on its basis, while their communication time plus its
//! `keep_days` is after the purge's time. Which rows a rule is about (channel, direction, domain)
//! only the table knows ([`split`]'s `ruled`); a table without such rows passes none. The purge
//! notes the earliest end of a rule over a kept row ([`Purge::retained_until`]): the orchestrator
//! purges again then.
//!
//! A RECTIFY (GDPR Art. 16) asks the same question of the rows its correction reaches
//! ([`unchanged`], with the purge's [`Keepers`]: the holds in force and the statutory rules the
//! orchestrator sends with its `count` and `rectify`): what a hold or a rule keeps is evidence and
//! stays exactly as it was, counted per category and basis (`keptUnchanged`); the correction is
//! kept with the request beside it, as the subject's supplementary statement.

use crate::holds::{changed, chunked, Filter, HeldTable, CHUNK};
use crate::Reach;
use contracts::legal_hold::{LegalBasis, Retained, TimeWindow};
use contracts::participant::StatutoryRule;
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::InteractionId;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
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

/// A retention as this participant applies it: the rows `reach` finds (its handles: whoever the
/// rows belong to), and those of `interactions`, within `window` (by the time of the
/// communication each row belongs to), are kept on `basis`.
#[derive(Clone, Copy)]
pub struct Retain<'a> {
    pub reach: Reach<'a>,
    /// Interactions the hold names: their rows are kept whoever they belong to.
    pub interactions: &'a BTreeSet<InteractionId>,
    pub window: Option<TimeWindow>,
    pub basis: LegalBasis,
}

/// What keeps rows as evidence at `now`: the legal holds' retentions in force (first basis first)
/// and the statutory rules. A purge keeps what they cover ([`split`]); a RECTIFY leaves it as it
/// was ([`unchanged`]).
pub struct Keepers<'a> {
    /// First basis first (see [`Keepers::retentions`]).
    retain: Vec<Retain<'a>>,
    rules: &'a [StatutoryRule],
    /// A rule keeps a row while its communication time plus `keep_days` is after it.
    now: Timestamp,
}

impl<'a> Keepers<'a> {
    /// The retentions in force at `now` (the participant's clock, which decides when a rule's
    /// `keep_days` have passed).
    pub fn new(mut retain: Vec<Retain<'a>>, now: Timestamp) -> Self {
        retain.sort_by_key(|r| r.basis);
        Self {
            retain,
            rules: &[],
            now,
        }
    }

    /// With the statutory retention rules in force.
    pub fn with_rules(self, rules: &'a [StatutoryRule]) -> Self {
        Self { rules, ..self }
    }

    /// The retentions, first basis first: a row is kept on the first that covers it.
    pub fn retentions(&self) -> &[Retain<'a>] {
        &self.retain
    }

    /// Of `rows` (ids of `T`'s), those these keep, with their basis ([`covered`]).
    pub fn cover<T: HeldTable>(
        &self,
        connection: &mut AnyConnection,
        rows: &[Uuid],
        covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
        ruled: impl Fn(&StatutoryRule) -> Option<Vec<Filter<T::Table>>>,
    ) -> QueryResult<Covered> {
        covered::<T>(connection, &self.retain, self.rules, self.now, rows, covers, ruled)
    }
}

/// A purge to carry out: the request whose rows go, and the retentions and rules in force.
pub struct Purge<'a> {
    pub request_id: Uuid,
    keepers: Keepers<'a>,
    /// The earliest end of a rule over a row kept so far ([`Purge::retained_until`]).
    until: Cell<Option<Timestamp>>,
}

impl<'a> Purge<'a> {
    /// The purge of `request_id`'s rows at `now` (the participant's clock, which decides when a
    /// rule's `keep_days` have passed), with the retentions in force.
    pub fn new(request_id: Uuid, retain: Vec<Retain<'a>>, now: Timestamp) -> Self {
        Self {
            request_id,
            keepers: Keepers::new(retain, now),
            until: Cell::new(None),
        }
    }

    /// The purge with the statutory retention rules in force.
    pub fn with_rules(self, rules: &'a [StatutoryRule]) -> Self {
        Self {
            keepers: self.keepers.with_rules(rules),
            ..self
        }
    }

    /// The retentions, first basis first: a row is kept on the first that covers it.
    pub fn retentions(&self) -> &[Retain<'a>] {
        self.keepers.retentions()
    }

    /// What keeps rows at this purge: what a RECTIFY of the same time leaves unchanged.
    pub fn keepers(&self) -> &Keepers<'a> {
        &self.keepers
    }

    /// The earliest time a statutory rule stops keeping one of the rows this purge kept (each row
    /// is kept until the latest end of the rules over it); `None` when no rule kept any.
    pub fn retained_until(&self) -> Option<Timestamp> {
        self.until.get()
    }

    /// The keepers in the order a row takes its basis from: first basis first, a legal hold
    /// before a rule on the same basis (the same basis either way).
    #[cfg(test)]
    fn keepers_in_order(&self) -> Vec<Keeper<'_, 'a>> {
        keepers(&self.keepers.retain, self.keepers.rules)
    }

    fn kept_until(&self, at: Timestamp) {
        let earliest = self.until.get().map_or(at, |until| until.min(at));
        self.until.set(Some(earliest));
    }
}

/// `retain` and `rules` in the order a row takes its basis from: first basis first, a legal hold
/// before a rule on the same basis (`retain` first basis first, as [`Purge::new`] sorts it).
fn keepers<'p, 'a>(retain: &'p [Retain<'a>], rules: &'p [StatutoryRule]) -> Vec<Keeper<'p, 'a>> {
    let mut keepers: Vec<_> = retain.iter().map(Keeper::Hold).collect();
    keepers.extend(rules.iter().map(Keeper::Rule));
    keepers.sort_by_key(|keeper| keeper.basis());
    keepers
}

/// What keeps rows at a purge.
enum Keeper<'p, 'a> {
    Hold(&'p Retain<'a>),
    Rule(&'p StatutoryRule),
}

impl Keeper<'_, '_> {
    fn basis(&self) -> LegalBasis {
        match self {
            Self::Hold(retain) => retain.basis,
            Self::Rule(rule) => rule.basis,
        }
    }
}

/// When `rule` stops keeping a row communicated `at`, at `now`: `keep_days` after the
/// communication, or after `now` if it is stamped later (a clock ahead, or bad data, must not
/// stretch the retention). An end past what a timestamp holds (year 9999) is an error naming the
/// rule: the purge fails, never keeps a row with no end.
pub fn rule_end(rule: &StatutoryRule, at: Timestamp, now: Timestamp) -> Result<Timestamp, EndOutOfRange> {
    let days = time::Duration::days(i64::from(rule.keep_days));
    at.min(now)
        .as_offset_date_time()
        .checked_add(days)
        .and_then(Timestamp::from_offset_date_time)
        .ok_or_else(|| EndOutOfRange {
            rule: rule.name.clone(),
            keep_days: rule.keep_days,
        })
}

/// A statutory rule whose end falls past what a timestamp holds ([`rule_end`]). Names the rule
/// (configuration, no personal data).
#[derive(Debug, PartialEq, thiserror::Error)]
#[error(
    "statutory retention rule {rule}: keep_days {keep_days} after a communication is past the last time a timestamp holds"
)]
pub struct EndOutOfRange {
    pub rule: String,
    pub keep_days: u32,
}

impl From<EndOutOfRange> for diesel::result::Error {
    fn from(error: EndOutOfRange) -> Self {
        diesel::result::Error::QueryBuilderError(Box::new(error))
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

/// Of `rows` (ids of `T`'s rows), those a retention in `retain` covers (`covers`: what a
/// retention's reach finds without its handles; or a row of an interaction it names or storing
/// one of its handles ([`HeldTable::links_where`]); within its window) or a
/// statutory rule in `rules` keeps at `now` (the rows `ruled` finds for it: the conditions it sets
/// on a row of `T`, all of them, `None` when it is about none of `T`'s rows; while their
/// communication time plus the rule's `keep_days` is after `now`). What a purge keeps ([`split`])
/// and what an expiry of rows past their retention must leave are the same rows: both ask this.
pub fn covered<T: HeldTable>(
    connection: &mut AnyConnection,
    retain: &[Retain<'_>],
    rules: &[StatutoryRule],
    now: Timestamp,
    rows: &[Uuid],
    covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
    ruled: impl Fn(&StatutoryRule) -> Option<Vec<Filter<T::Table>>>,
) -> QueryResult<Covered> {
    let mut covered = Covered::default();
    let (kept, ends) = (&mut covered.kept, &mut covered.ends);
    for keeper in keepers(retain, rules) {
        match keeper {
            Keeper::Hold(retain) => {
                // The hold's handles keep rows whoever they belong to (a hold on a number keeps
                // every communication on it): matched below, not by the reach, whose handles
                // reach only rows attributed to nobody (a request must not reach another's).
                let by_reach = DataSubject {
                    phone_numbers: BTreeSet::new(),
                    email_addresses: BTreeSet::new(),
                    ..retain.reach.subject.clone()
                };
                let reach = Reach {
                    subject: &by_reach,
                    ..retain.reach
                };
                let handles: BTreeSet<String> = retain.reach.subject.handle_keys().into_iter().collect();
                let open: Vec<Uuid> = rows.iter().filter(|row| !kept.contains_key(row)).copied().collect();
                for chunk in open.chunks(CHUNK) {
                    let within = || {
                        let ids = chunk.iter().map(|&row| DbUuid(row)).collect();
                        within_window::<T>(T::among(ids), retain.window)
                    };
                    let mut found = if by_reach.is_empty() {
                        Vec::new()
                    } else {
                        T::ids_where(connection, T::both(within(), covers(&reach)))?
                    };
                    // The named interactions and the handles: compared here with the chunk's
                    // rows, never bound as one list (a hold may name thousands).
                    if !retain.interactions.is_empty() || !handles.is_empty() {
                        let links = T::links_where(connection, within())?;
                        found.extend(links.into_iter().filter_map(|(row, interaction, handle)| {
                            let named = retain.interactions.contains(&interaction);
                            (named || handle.is_some_and(|key| handles.contains(&key))).then_some(row)
                        }));
                    }
                    for row in found {
                        kept.entry(row).or_insert(retain.basis);
                    }
                }
            }
            // Every row, those a hold keeps too: the row's end is the latest rule's.
            Keeper::Rule(rule) => {
                for chunk in rows.chunks(CHUNK) {
                    let Some(conditions) = ruled(rule) else { break };
                    let ids = chunk.iter().map(|&row| DbUuid(row)).collect();
                    let filter = conditions.into_iter().fold(T::among(ids), T::both);
                    for (row, at) in T::times_where(connection, filter)? {
                        let end = rule_end(rule, at.into_domain()?, now)?;
                        if end <= now {
                            continue;
                        }
                        kept.entry(row).or_insert(rule.basis);
                        let latest = ends.entry(row).or_insert(end);
                        *latest = (*latest).max(end);
                    }
                }
            }
        }
    }
    Ok(covered)
}

/// The rows `rows` finds whose communication time is in `window` (all of them without one).
fn within_window<T: HeldTable>(rows: Filter<T::Table>, window: Option<TimeWindow>) -> Filter<T::Table> {
    let window = window.unwrap_or_default();
    let mut filter = rows;
    if let Some(from) = window.from {
        filter = T::both(filter, T::communicated_from(DbTimestamp::from(from)));
    }
    if let Some(to) = window.to {
        filter = T::both(filter, T::communicated_before(DbTimestamp::from(to)));
    }
    filter
}

/// The rows [`covered`] found.
#[derive(Debug, Default, PartialEq)]
pub struct Covered {
    /// Each row kept, with the basis it is kept on (the first in [`LegalBasis`] order).
    pub kept: BTreeMap<Uuid, LegalBasis>,
    /// Each row a statutory rule keeps, with the latest end of the rules over it.
    pub ends: BTreeMap<Uuid, Timestamp>,
}

/// Splits the rows `purge`'s request holds as `kind` (a hold kind of `T`'s) into those a
/// retention covers or a statutory rule keeps ([`covered`]), noted as kept, and the rest, to
/// erase; what was noted kept before and is no longer covered goes to the rest. A row several
/// cover is kept once, on the first basis.
pub fn split<T: HeldTable>(
    connection: &mut AnyConnection,
    purge: &Purge<'_>,
    kind: &str,
    category: &str,
    covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
    ruled: impl Fn(&StatutoryRule) -> Option<Vec<Filter<T::Table>>>,
) -> QueryResult<Kept> {
    let held = crate::holds::held_rows(connection, purge.request_id, kind)?;
    let Covered { kept, ends } = purge.keepers.cover::<T>(connection, &held, covers, ruled)?;
    if let Some(&earliest) = ends.values().min() {
        purge.kept_until(earliest);
    }
    note(connection, purge.request_id, kind, &kept)?;
    let erase = held.into_iter().filter(|row| !kept.contains_key(row)).collect();
    Ok(Kept {
        erase,
        retained: tally(category, kept.into_values()),
    })
}

/// A RECTIFY's rows of one kind: those to correct, and those kept as evidence.
#[derive(Debug, Default, PartialEq)]
pub struct Unchanged {
    /// Kept by nothing: the correction rewrites them.
    pub change: Vec<Uuid>,
    /// How many a legal hold or a statutory rule keeps, per basis (under the category the
    /// caller named): left exactly as they were.
    pub kept: Vec<Retained>,
}

/// Splits `rows` (ids of `T`'s rows a RECTIFY's correction reaches) into those `keepers` keep
/// (what a purge at the same time would keep: [`covered`], the same `covers` and `ruled`), left as
/// they were and counted per basis under `category`, and the rest, to correct. Evidence kept for
/// litigation or under a statutory rule (MiFID II: a medium that prevents alteration) is never
/// rewritten; the correction stays with the request, the subject's supplementary statement beside
/// it (GDPR Art. 16). Changes nothing itself, so a count and the rectify answer alike.
pub fn unchanged<T: HeldTable>(
    connection: &mut AnyConnection,
    keepers: &Keepers<'_>,
    category: &str,
    rows: Vec<Uuid>,
    covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
    ruled: impl Fn(&StatutoryRule) -> Option<Vec<Filter<T::Table>>>,
) -> QueryResult<Unchanged> {
    let Covered { kept, .. } = keepers.cover::<T>(connection, &rows, covers, ruled)?;
    let change = rows.into_iter().filter(|row| !kept.contains_key(row)).collect();
    Ok(Unchanged {
        change,
        kept: tally(category, kept.into_values()),
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

/// Whether `request_id` is a restriction: it keeps rows here on [`RESTRICTION`] ([`restrict`]).
/// A status asked of it lists the copies elsewhere to restrict, as its answer did.
pub fn restricts(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        gdpr_retained::table
            .filter(gdpr_retained::request_id.eq(DbUuid(request_id)))
            .filter(gdpr_retained::basis.eq(RESTRICTION)),
    ))
    .get_result(connection)
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
            interactions: &none,
            window: None,
            basis,
        };
        let rules = [rule(1, LegalBasis::LegalObligation), rule(1, LegalBasis::LegalClaims)];
        let purge = Purge::new(
            Uuid::nil(),
            vec![
                on(LegalBasis::AuthorityRequest),
                on(LegalBasis::LegalClaims),
                on(LegalBasis::LegalObligation),
            ],
            Timestamp::now(),
        )
        .with_rules(&rules);
        let order: Vec<_> = purge.retentions().iter().map(|r| r.basis).collect();
        assert_eq!(order, LegalBasis::ALL);
        // Statutory rules take their place among them by basis, after a hold on the same one.
        let keepers: Vec<_> = purge
            .keepers_in_order()
            .iter()
            .map(|k| (k.basis(), matches!(k, Keeper::Rule(_))))
            .collect();
        use LegalBasis::{AuthorityRequest, LegalClaims, LegalObligation};
        assert_eq!(
            keepers,
            [
                (LegalClaims, false),
                (LegalClaims, true),
                (LegalObligation, false),
                (LegalObligation, true),
                (AuthorityRequest, false)
            ]
        );
    }

    fn rule(keep_days: u32, basis: LegalBasis) -> StatutoryRule {
        StatutoryRule {
            name: "rule".to_owned(),
            channels: Vec::new(),
            directions: Vec::new(),
            domains: Vec::new(),
            keep_days,
            basis,
        }
    }

    #[test]
    fn a_rule_ends_keep_days_after_the_communication_to_the_microsecond() {
        let at = Timestamp::parse("2026-01-31T10:00:00.000001Z").unwrap();
        let now = Timestamp::parse("2026-12-06T09:00:00Z").unwrap();
        let five_years = rule(1826, LegalBasis::LegalObligation);
        let end = Timestamp::parse("2031-01-31T10:00:00.000001Z").unwrap();
        assert_eq!(rule_end(&five_years, at, now), Ok(end));
        // A communication stamped after now (a clock ahead): counted from now.
        let ahead = Timestamp::parse("9999-12-31T00:00:00Z").unwrap();
        let from_now = Timestamp::parse("2031-12-06T09:00:00Z").unwrap();
        assert_eq!(rule_end(&five_years, ahead, now), Ok(from_now));
    }

    #[test]
    fn a_rule_ending_past_year_9999_is_an_error_naming_it_never_a_row_kept_for_ever() {
        let now = Timestamp::parse("2026-12-06T09:00:00Z").unwrap();
        let endless = rule(u32::MAX, LegalBasis::LegalObligation);
        let error = rule_end(&endless, now, now).unwrap_err();
        assert_eq!(
            error,
            EndOutOfRange {
                rule: "rule".to_owned(),
                keep_days: u32::MAX
            }
        );
        // What the purge fails with.
        let failed = diesel::result::Error::from(error).to_string();
        assert!(
            failed.contains("statutory retention rule rule: keep_days 4294967295"),
            "{failed}"
        );
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

    mod named_by_the_thousand {
        use super::*;
        use diesel::connection::SimpleConnection;
        use diesel::sqlite::SqliteConnection;

        diesel::table! {
            use diesel::sql_types::*;
            use service_kit::database::sql_types::{UtcTimestamp, Uuid};

            rows (id) {
                id -> Uuid,
                communicated_at -> UtcTimestamp,
                interaction_id -> Uuid,
                handle_key -> Nullable<Text>,
                forgotten_by -> Nullable<Uuid>,
            }
        }

        crate::held_table!(
            Rows = rows {
                hold: "row",
                time: communicated_at,
                interaction: interaction_id,
                handle: handle_key,
            }
        );

        /// A row of `interaction` on `handle`; answers its id.
        fn row(c: &mut AnyConnection, interaction: Uuid, handle: Option<&str>) -> Uuid {
            let id = Uuid::now_v7();
            diesel::insert_into(rows::table)
                .values((
                    rows::id.eq(DbUuid(id)),
                    rows::communicated_at.eq(DbTimestamp::from(Timestamp::now())),
                    rows::interaction_id.eq(DbUuid(interaction)),
                    rows::handle_key.eq(handle),
                ))
                .execute(c)
                .unwrap();
            id
        }

        /// More named interactions than SQLite binds in one statement (32,766 by default,
        /// 250,000 in builds that raise it; PostgreSQL: 65,535): compared with the rows in memory,
        /// never bound.
        #[test]
        fn a_hold_naming_260000_interactions_and_a_number_keeps_their_rows_whoever_they_belong_to() {
            let mut c = AnyConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
            c.batch_execute(
                "CREATE TABLE rows (id TEXT PRIMARY KEY, communicated_at TEXT NOT NULL, \
                 interaction_id TEXT NOT NULL, handle_key TEXT, forgotten_by TEXT)",
            )
            .unwrap();
            let named = Uuid::now_v7();
            let of_named = row(&mut c, named, None);
            let on_the_number = row(&mut c, Uuid::now_v7(), Some("+420601123456"));
            let other = row(&mut c, Uuid::now_v7(), Some("+420777000111"));
            let mut interactions: BTreeSet<InteractionId> = (0..260_000)
                .map(|_| InteractionId::from(DbUuid(Uuid::now_v7())))
                .collect();
            interactions.insert(InteractionId::from(DbUuid(named)));
            // Bound as one list, the backend refuses them: what this test is about.
            let bound: Vec<DbUuid> = interactions.iter().map(|&id| id.into()).collect();
            assert!(Rows::ids_where(&mut c, Box::new(rows::interaction_id.eq_any(bound))).is_err());
            let subject = DataSubject {
                phone_numbers: ["+420601123456".to_owned()].into(),
                ..DataSubject::default()
            };
            let nobody = BTreeSet::new();
            let retain = Retain {
                reach: Reach {
                    subject: &subject,
                    attributed_elsewhere: &nobody,
                },
                interactions: &interactions,
                window: None,
                basis: LegalBasis::AuthorityRequest,
            };
            // A request's reach by the number finds nothing here (rows as if attributed).
            let reach_finds_nothing = |_: &Reach<'_>| -> Filter<rows::table> {
                Box::new(rows::handle_key.is_null().and(rows::handle_key.is_not_null()))
            };
            let candidates = [of_named, on_the_number, other];
            let found = covered::<Rows>(
                &mut c,
                &[retain],
                &[],
                Timestamp::now(),
                &candidates,
                reach_finds_nothing,
                |_| None,
            )
            .unwrap();
            let basis = LegalBasis::AuthorityRequest;
            assert_eq!(found.kept, [(of_named, basis), (on_the_number, basis)].into());
        }
    }
}
