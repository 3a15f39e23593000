//! GDPR holds: which FORGET requests hold which rows. Two FORGETs can cover the same row (one by
//! phone number, one by customer id); a row is hidden while any hold is on it, undoing one request
//! lifts only its own holds, and purging deletes the rows a request holds whoever else holds them.
//!
//! Every participant's database has the table `gdpr_holds (request_id, kind, row_id)`; `kind`
//! names what is held (a participant's table, or an agent's name on a row). Each participant keeps
//! a flag on its own rows (`forgotten_by`: one of the requests holding it, or null) in step with
//! the holds, so read paths and indexes stay as they are. What a purge keeps for a legal hold
//! stays held ([`crate::retention`]).

use crate::retention::{self, Kept, Purge};
use crate::Reach;
use diesel::prelude::*;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::HashMap;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_holds (request_id, kind, row_id) {
        request_id -> Uuid,
        kind -> Text,
        row_id -> Uuid,
    }
}

/// Rows are held and looked up this many at a statement (bound parameters stay far below every
/// backend's limit).
pub const CHUNK: usize = 500;

/// Inserts `rows` (a slice of diesel value tuples) into `table` a [`CHUNK`] at a time, leaving
/// those already there as they are; a `QueryResult` of how many were new.
///
/// ```ignore
/// gdpr_participant::insert_new!(connection, gdpr_suppressed_pairings::table, &rows)?;
/// ```
#[macro_export]
macro_rules! insert_new {
    ($connection:expr, $table:expr, $rows:expr) => {{
        use ::diesel::prelude::*;
        let mut inserted: ::diesel::QueryResult<usize> = Ok(0);
        for chunk in $rows.chunks($crate::holds::CHUNK) {
            match ::service_kit::per_backend!(&mut *$connection, |c| ::diesel::insert_into($table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c))
            {
                Ok(n) => inserted = inserted.map(|total| total + n),
                Err(e) => {
                    inserted = Err(e);
                    break;
                }
            }
        }
        inserted
    }};
}

/// `request_id` holds `rows` of `kind` (again: nothing changes).
pub fn hold(connection: &mut AnyConnection, request_id: Uuid, kind: &str, rows: &[Uuid]) -> QueryResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|&row| {
            (
                gdpr_holds::request_id.eq(DbUuid(request_id)),
                gdpr_holds::kind.eq(kind),
                gdpr_holds::row_id.eq(DbUuid(row)),
            )
        })
        .collect();
    crate::insert_new!(connection, gdpr_holds::table, values)?;
    Ok(())
}

/// Stored ids as ids.
pub fn plain(ids: Vec<DbUuid>) -> Vec<Uuid> {
    ids.into_iter().map(|id| id.0).collect()
}

/// The rows of `kind` that `request_id` holds (rows deleted since may still be listed).
pub fn held_rows(connection: &mut AnyConnection, request_id: Uuid, kind: &str) -> QueryResult<Vec<Uuid>> {
    let rows = gdpr_holds::table
        .filter(gdpr_holds::request_id.eq(DbUuid(request_id)))
        .filter(gdpr_holds::kind.eq(kind))
        .select(gdpr_holds::row_id);
    Ok(plain(rows.load(connection)?))
}

/// Lifts `request_id`'s holds on `kind`; returns, for each row it held, the request still
/// holding it (`None`: the row is free again).
pub fn release(connection: &mut AnyConnection, request_id: Uuid, kind: &str) -> QueryResult<Vec<(Uuid, Option<Uuid>)>> {
    let rows = held_rows(connection, request_id, kind)?;
    diesel::delete(
        gdpr_holds::table
            .filter(gdpr_holds::request_id.eq(DbUuid(request_id)))
            .filter(gdpr_holds::kind.eq(kind)),
    )
    .execute(connection)?;
    let still = holders(connection, kind, &rows)?;
    Ok(rows.into_iter().map(|row| (row, still.get(&row).copied())).collect())
}

/// For each of `rows` that any request holds as `kind`, one of those requests.
pub fn holders(connection: &mut AnyConnection, kind: &str, rows: &[Uuid]) -> QueryResult<HashMap<Uuid, Uuid>> {
    let mut found = HashMap::new();
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<DbUuid> = chunk.iter().map(|&row| DbUuid(row)).collect();
        let pairs: Vec<(DbUuid, DbUuid)> = gdpr_holds::table
            .filter(gdpr_holds::kind.eq(kind))
            .filter(gdpr_holds::row_id.eq_any(ids))
            .select((gdpr_holds::row_id, gdpr_holds::request_id))
            .load(connection)?;
        for (row, request) in pairs {
            found.entry(row.0).or_insert(request.0);
        }
    }
    Ok(found)
}

/// Drops every hold (of any request) on `rows` of `kind`: the rows were deleted.
pub fn drop_rows(connection: &mut AnyConnection, kind: &str, rows: &[Uuid]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<DbUuid> = chunk.iter().map(|&row| DbUuid(row)).collect();
        diesel::delete(
            gdpr_holds::table
                .filter(gdpr_holds::kind.eq(kind))
                .filter(gdpr_holds::row_id.eq_any(ids)),
        )
        .execute(connection)?;
    }
    Ok(())
}

/// Runs `statement` on `rows` a chunk at a time; returns the sum of what each run returned (rows
/// changed, or counted).
pub fn chunked(rows: &[Uuid], mut statement: impl FnMut(Vec<DbUuid>) -> QueryResult<i64>) -> QueryResult<i64> {
    let mut total = 0;
    for chunk in rows.chunks(CHUNK) {
        total += statement(chunk.iter().map(|&row| DbUuid(row)).collect())?;
    }
    Ok(total)
}

/// `rows changed` as a count, for [`chunked`]; more than an `i64` holds is an error.
pub fn changed(rows: usize) -> QueryResult<i64> {
    i64::try_from(rows)
        .map_err(|_| diesel::result::Error::DeserializationError(format!("{rows} rows changed: too many").into()))
}

/// A row's id, its interaction, and the search key of the customer handle it stores, if the table
/// stores one ([`HeldTable::links_where`]).
pub type RowLinks = (Uuid, domain::InteractionId, Option<String>);

/// [`RowLinks`] as loaded (for [`held_table!`](crate::held_table)).
#[doc(hidden)]
pub fn row_links(id: DbUuid, interaction: DbUuid, handle: Option<String>) -> RowLinks {
    (id.0, interaction.into(), handle)
}

/// In SQL text (see [`kept_as!`](crate::kept_as)): no row of `gdpr_holds` or `gdpr_retained` of
/// one of `kinds` names the row of `table` (a row's hold kinds: [`HeldTable::HOLD`] and
/// [`HeldTable::AGENT_HOLD`]). Both are this crate's constants, never input.
#[doc(hidden)]
pub fn untouched(table: &str, kinds: &[&str]) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    let kinds = kinds
        .iter()
        .map(|kind| format!("'{kind}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let none_in = |notes: &str| {
        format!("NOT EXISTS (SELECT 1 FROM {notes} WHERE {notes}.row_id = {table}.id AND {notes}.kind IN ({kinds}))")
    };
    diesel::dsl::sql(&format!("{} AND {}", none_in("gdpr_holds"), none_in("gdpr_retained")))
}

/// The SQL backend of [`AnyConnection`].
pub type AnyBackend = <AnyConnection as Connection>::Backend;

/// A condition on the rows of `T`, built at run time (which of a subject's rows).
pub type Filter<T> = Box<dyn BoxableExpression<T, AnyBackend, SqlType = diesel::sql_types::Bool>>;

/// A participant's table whose rows FORGETs hold ([`held_table!`](crate::held_table) writes the
/// statements): by `id`, with `forgotten_by` (a request holding the row, or null) in step with
/// the holds of kind [`HeldTable::HOLD`], and, on a table whose rows name an agent,
/// `agent_redacted` in step with the holds of kind [`HeldTable::AGENT_HOLD`] (the row stays; the
/// agent is hidden on it). The provided functions keep the holds and the flags together, and the
/// notes of what a purge kept for a legal hold ([`crate::retention`]).
pub trait HeldTable {
    /// The diesel table.
    type Table;
    /// The kind of hold on a whole row.
    const HOLD: &'static str;
    /// The kind of hold on the agent a row names, on a table whose rows name one.
    const AGENT_HOLD: Option<&'static str>;

    /// Sets `forgotten_by` of `ids` to `holder` (only on those no request holds, if `only_free`).
    fn set_holder(
        connection: &mut AnyConnection,
        ids: Vec<DbUuid>,
        holder: Option<DbUuid>,
        only_free: bool,
    ) -> QueryResult<usize>;
    /// Sets `agent_redacted` of `ids`.
    fn set_agent_hidden(connection: &mut AnyConnection, ids: Vec<DbUuid>, hidden: bool) -> QueryResult<usize>;
    /// How many of `ids` are still there.
    fn count_of(connection: &mut AnyConnection, ids: Vec<DbUuid>) -> QueryResult<i64>;
    /// Deletes `ids`.
    fn delete_of(connection: &mut AnyConnection, ids: Vec<DbUuid>) -> QueryResult<usize>;
    /// The ids of the rows `filter` finds.
    fn ids_where(connection: &mut AnyConnection, filter: Filter<Self::Table>) -> QueryResult<Vec<Uuid>>;
    /// How many rows `filter` finds.
    fn count_where(connection: &mut AnyConnection, filter: Filter<Self::Table>) -> QueryResult<i64>;
    /// The ids of the rows `filter` finds, with the time of their communication.
    fn times_where(
        connection: &mut AnyConnection,
        filter: Filter<Self::Table>,
    ) -> QueryResult<Vec<(Uuid, DbTimestamp)>>;
    /// The rows no request holds.
    fn visible() -> Filter<Self::Table>;
    /// What an export shows: the rows no request holds, and those a purge kept for a legal hold
    /// or a RESTRICT holds (restricted, yet the subject's to see: both are noted in
    /// `gdpr_retained`), not those a FORGET in grace holds.
    fn exportable() -> Filter<Self::Table>;
    /// The rows an age-based clean-up (a retention period, dead letters, removed rows) may
    /// delete: no request holds the row or anything on it (a FORGET in grace, a RESTRICT, a row or
    /// an agent a purge kept for a legal hold or a statutory rule), and nothing of it is noted
    /// kept in `gdpr_retained`. Whatever `forgotten_by` says: a purge that keeps only the agent
    /// on a row leaves it null. (Holds in force that no FORGET brought here are not known here.)
    fn expirable() -> Filter<Self::Table>;
    /// The rows `ids` names.
    fn among(ids: Vec<DbUuid>) -> Filter<Self::Table>;
    /// The rows both `a` and `b` find.
    fn both(a: Filter<Self::Table>, b: Filter<Self::Table>) -> Filter<Self::Table>;
    /// For each row `filter` finds: its id, its interaction, and the search key of the customer
    /// handle it stores (`None` on a table that stores none, e.g. pairings). What a legal hold's
    /// named interactions and handles are matched against, a chunk of rows at a time
    /// ([`crate::retention`]): never bound as one list.
    fn links_where(connection: &mut AnyConnection, filter: Filter<Self::Table>) -> QueryResult<Vec<RowLinks>>;
    /// The rows of communications at `at` or later (the table's communication time).
    fn communicated_from(at: DbTimestamp) -> Filter<Self::Table>;
    /// The rows of communications before `at`.
    fn communicated_before(at: DbTimestamp) -> Filter<Self::Table>;

    /// The kind of hold on agents; asking it of a table whose rows name none is an error.
    fn agent_hold() -> QueryResult<&'static str> {
        Self::AGENT_HOLD.ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(format!("the rows of {} name no agent", Self::HOLD).into())
        })
    }

    /// `request_id` holds `rows`; those no other request holds are flagged as held by it.
    fn hold(connection: &mut AnyConnection, request_id: Uuid, rows: &[Uuid]) -> QueryResult<()> {
        hold(connection, request_id, Self::HOLD, rows)?;
        chunked(rows, |ids| {
            Self::set_holder(connection, ids, Some(DbUuid(request_id)), true).and_then(changed)
        })?;
        Ok(())
    }

    /// `request_id` holds the rows `filter` finds (see [`HeldTable::hold`]); returns them.
    fn hold_where(
        connection: &mut AnyConnection,
        request_id: Uuid,
        filter: Filter<Self::Table>,
    ) -> QueryResult<Vec<Uuid>> {
        let rows = Self::ids_where(connection, filter)?;
        Self::hold(connection, request_id, &rows)?;
        Ok(rows)
    }

    /// `request_id` holds the agent on the rows `filter` finds (see [`HeldTable::hold_agents`]).
    fn hold_agents_where(
        connection: &mut AnyConnection,
        request_id: Uuid,
        filter: Filter<Self::Table>,
    ) -> QueryResult<()> {
        let rows = Self::ids_where(connection, filter)?;
        Self::hold_agents(connection, request_id, &rows)
    }

    /// `request_id` holds the agent on `rows`, which is hidden there.
    fn hold_agents(connection: &mut AnyConnection, request_id: Uuid, rows: &[Uuid]) -> QueryResult<()> {
        hold(connection, request_id, Self::agent_hold()?, rows)?;
        chunked(rows, |ids| {
            Self::set_agent_hidden(connection, ids, true).and_then(changed)
        })?;
        Ok(())
    }

    /// Lifts `request_id`'s holds (on rows and agents): each row it held is flagged with a
    /// request still holding it, or free; an agent no request holds any more shows again.
    fn release(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
        // What the request kept or restricted goes free with it (a RESTRICT's lift, an undo).
        retention::release(connection, request_id, Self::HOLD)?;
        for (holder, rows) in by_holder(release(connection, request_id, Self::HOLD)?) {
            chunked(&rows, |ids| {
                Self::set_holder(connection, ids, holder.map(DbUuid), false).and_then(changed)
            })?;
        }
        if let Some(kind) = Self::AGENT_HOLD {
            retention::release(connection, request_id, kind)?;
            let free: Vec<Uuid> = release(connection, request_id, kind)?
                .into_iter()
                .filter_map(|(row, holder)| holder.is_none().then_some(row))
                .collect();
            chunked(&free, |ids| {
                Self::set_agent_hidden(connection, ids, false).and_then(changed)
            })?;
        }
        Ok(())
    }

    /// The rows `request_id` holds (rows deleted since may still be listed).
    fn held_rows(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<Uuid>> {
        held_rows(connection, request_id, Self::HOLD)
    }

    /// The rows whose agent `request_id` holds.
    fn held_agents(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<Uuid>> {
        held_rows(connection, request_id, Self::agent_hold()?)
    }

    /// How many of the rows `request_id` holds are still there.
    fn count_held(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<i64> {
        let rows = Self::held_rows(connection, request_id)?;
        chunked(&rows, |ids| Self::count_of(connection, ids))
    }

    /// How many of the rows whose agent `request_id` holds are still there.
    fn count_held_agents(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<i64> {
        let rows = Self::held_agents(connection, request_id)?;
        chunked(&rows, |ids| Self::count_of(connection, ids))
    }

    /// Of the rows `purge`'s request holds as `kind` ([`HeldTable::HOLD`], or the agent hold),
    /// those a retention covers (`covers`: what a retention's reach finds) stay held and are noted
    /// kept, counted under `category`; the rest are to erase ([`retention::split`], no statutory
    /// rule being about these rows).
    fn keep_retained(
        connection: &mut AnyConnection,
        purge: &Purge<'_>,
        kind: &str,
        category: &str,
        covers: impl Fn(&Reach<'_>) -> Filter<Self::Table>,
    ) -> QueryResult<Kept>
    where
        Self: Sized,
    {
        retention::split::<Self>(connection, purge, kind, category, covers, |_| None)
    }

    /// Blanks for good the agent on `rows` (`blank` rewrites a chunk of rows, and answers how
    /// many it changed), and drops every hold on the agent there; returns how many rows changed.
    fn blank_agents(
        connection: &mut AnyConnection,
        rows: &[Uuid],
        mut blank: impl FnMut(&mut AnyConnection, Vec<DbUuid>) -> QueryResult<usize>,
    ) -> QueryResult<i64> {
        let blanked = chunked(rows, |ids| blank(connection, ids).and_then(changed))?;
        drop_rows(connection, Self::agent_hold()?, rows)?;
        retention::drop_rows(connection, Self::agent_hold()?, rows)?;
        Ok(blanked)
    }

    /// Deletes `rows` and every hold (of any request) on them; returns how many went.
    fn delete(connection: &mut AnyConnection, rows: &[Uuid]) -> QueryResult<i64> {
        let deleted = chunked(rows, |ids| Self::delete_of(connection, ids).and_then(changed))?;
        for kind in std::iter::once(Self::HOLD).chain(Self::AGENT_HOLD) {
            drop_rows(connection, kind, rows)?;
            retention::drop_rows(connection, kind, rows)?;
        }
        Ok(deleted)
    }
}

/// `None` without an argument, `Some(it)` with one (for [`held_table!`](crate::held_table)).
#[doc(hidden)]
#[macro_export]
macro_rules! __some_or_none {
    () => {
        None
    };
    ($value:expr) => {
        Some($value)
    };
}

/// Declares a participant's table as a [`HeldTable`](crate::holds::HeldTable): the table module
/// (from the service's schema, in scope) has `id` and `forgotten_by`, the column named by `time`
/// (when the communication a row belongs to took place: what a legal hold's window is about), the
/// column named by `interaction` (the row's interaction), the column named by `handle` when the
/// rows store the search key of a customer handle (what a legal hold on a phone number or an
/// e-mail address keeps, whoever the row belongs to), and `agent_redacted` when an `agent_hold`
/// kind is given.
///
/// ```ignore
/// gdpr_participant::held_table!(pub(crate) Records = communication_records {
///     hold: "record", time: communicated_at, interaction: interaction_id,
///     handle: customer_handle_key, agent_hold: "agent"
/// });
/// ```
#[macro_export]
macro_rules! held_table {
    ($vis:vis $name:ident = $table:ident {
        hold: $hold:literal, time: $time:ident, interaction: $interaction:ident
        $(, handle: $handle:ident)? $(, agent_hold: $agent:literal)? $(,)?
    }) => {
        $vis struct $name;

        impl $crate::holds::HeldTable for $name {
            type Table = $table::table;
            const HOLD: &'static str = $hold;
            const AGENT_HOLD: Option<&'static str> = $crate::__some_or_none!($($agent)?);

            fn set_holder(
                connection: &mut ::service_kit::database::AnyConnection,
                ids: Vec<::service_kit::database::sql_types::DbUuid>,
                holder: Option<::service_kit::database::sql_types::DbUuid>,
                only_free: bool,
            ) -> ::diesel::QueryResult<usize> {
                use ::diesel::prelude::*;
                let rows = $table::table.filter($table::id.eq_any(ids));
                if only_free {
                    ::diesel::update(rows.filter($table::forgotten_by.is_null()))
                        .set($table::forgotten_by.eq(holder))
                        .execute(connection)
                } else {
                    ::diesel::update(rows).set($table::forgotten_by.eq(holder)).execute(connection)
                }
            }

            fn set_agent_hidden(
                connection: &mut ::service_kit::database::AnyConnection,
                ids: Vec<::service_kit::database::sql_types::DbUuid>,
                hidden: bool,
            ) -> ::diesel::QueryResult<usize> {
                $crate::held_table!(@agent $table, connection, ids, hidden $(, $agent)?)
            }

            fn count_of(
                connection: &mut ::service_kit::database::AnyConnection,
                ids: Vec<::service_kit::database::sql_types::DbUuid>,
            ) -> ::diesel::QueryResult<i64> {
                use ::diesel::prelude::*;
                $table::table.filter($table::id.eq_any(ids)).count().get_result(connection)
            }

            fn delete_of(
                connection: &mut ::service_kit::database::AnyConnection,
                ids: Vec<::service_kit::database::sql_types::DbUuid>,
            ) -> ::diesel::QueryResult<usize> {
                use ::diesel::prelude::*;
                ::diesel::delete($table::table.filter($table::id.eq_any(ids))).execute(connection)
            }

            fn ids_where(
                connection: &mut ::service_kit::database::AnyConnection,
                filter: $crate::holds::Filter<$table::table>,
            ) -> ::diesel::QueryResult<Vec<::uuid::Uuid>> {
                use ::diesel::prelude::*;
                Ok($table::table
                    .filter(filter)
                    .select($table::id)
                    .load::<::service_kit::database::sql_types::DbUuid>(connection)?
                    .into_iter()
                    .map(|id| id.0)
                    .collect())
            }

            fn count_where(
                connection: &mut ::service_kit::database::AnyConnection,
                filter: $crate::holds::Filter<$table::table>,
            ) -> ::diesel::QueryResult<i64> {
                use ::diesel::prelude::*;
                $table::table.filter(filter).count().get_result(connection)
            }

            fn times_where(
                connection: &mut ::service_kit::database::AnyConnection,
                filter: $crate::holds::Filter<$table::table>,
            ) -> ::diesel::QueryResult<Vec<(::uuid::Uuid, ::service_kit::database::sql_types::DbTimestamp)>> {
                use ::diesel::prelude::*;
                use ::service_kit::database::sql_types::{DbTimestamp, DbUuid};
                Ok($table::table
                    .filter(filter)
                    .select(($table::id, $table::$time))
                    .load::<(DbUuid, DbTimestamp)>(connection)?
                    .into_iter()
                    .map(|(id, at)| (id.0, at))
                    .collect())
            }

            fn visible() -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new($table::forgotten_by.is_null())
            }

            fn exportable() -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new($table::forgotten_by.is_null().or($crate::kept_as!($table, $hold)))
            }

            fn expirable() -> $crate::holds::Filter<$table::table> {
                let kinds: Vec<&str> = ::std::iter::once($hold).chain(Self::AGENT_HOLD).collect();
                Box::new($crate::holds::untouched(stringify!($table), &kinds))
            }

            fn among(
                ids: Vec<::service_kit::database::sql_types::DbUuid>,
            ) -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new($table::id.eq_any(ids))
            }

            fn both(
                a: $crate::holds::Filter<$table::table>,
                b: $crate::holds::Filter<$table::table>,
            ) -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new(a.and(b))
            }

            fn links_where(
                connection: &mut ::service_kit::database::AnyConnection,
                filter: $crate::holds::Filter<$table::table>,
            ) -> ::diesel::QueryResult<Vec<$crate::holds::RowLinks>> {
                $crate::held_table!(@links $table, connection, filter, $interaction $(, $handle)?)
            }

            fn communicated_from(
                at: ::service_kit::database::sql_types::DbTimestamp,
            ) -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new($table::$time.ge(at))
            }

            fn communicated_before(
                at: ::service_kit::database::sql_types::DbTimestamp,
            ) -> $crate::holds::Filter<$table::table> {
                use ::diesel::prelude::*;
                Box::new($table::$time.lt(at))
            }
        }

        $(
            impl $name {
                /// The rows no request holds whose agent is shown (no request holds the agent).
                #[allow(dead_code)]
                fn agent_shown() -> $crate::holds::Filter<$table::table> {
                    use ::diesel::prelude::*;
                    let _hold: &str = $agent; // (what makes this impl one for agent tables only)
                    Box::new($table::forgotten_by.is_null().and($table::agent_redacted.eq(false)))
                }

                /// What an agent's export shows of the agent on the rows: where it is shown, or
                /// kept for a legal hold by a purge ([`HeldTable::exportable`] for the agent).
                #[allow(dead_code)]
                fn agent_exportable() -> $crate::holds::Filter<$table::table> {
                    use $crate::holds::HeldTable as _;
                    use ::diesel::prelude::*;
                    let agent = $table::agent_redacted.eq(false).or($crate::kept_as!($table, $agent));
                    Box::new(Self::exportable().and(agent))
                }

                /// How many visible rows `of_customer` finds, and how many of the rows `of_agent`
                /// finds show their agent.
                fn count_customers_and_agents(
                    connection: &mut ::service_kit::database::AnyConnection,
                    of_customer: $crate::holds::Filter<$table::table>,
                    of_agent: $crate::holds::Filter<$table::table>,
                ) -> ::diesel::QueryResult<(i64, i64)> {
                    use $crate::holds::HeldTable as _;
                    use ::diesel::prelude::*;
                    let customers = Self::count_where(connection, Box::new(Self::visible().and(of_customer)))?;
                    let agents = Self::count_where(connection, Box::new(Self::agent_shown().and(of_agent)))?;
                    Ok((customers, agents))
                }
            }
        )?
    };
    (@links $table:ident, $connection:ident, $filter:ident, $interaction:ident) => {{
        use ::diesel::prelude::*;
        use ::service_kit::database::sql_types::DbUuid;
        Ok($table::table
            .filter($filter)
            .select(($table::id, $table::$interaction))
            .load::<(DbUuid, DbUuid)>($connection)?
            .into_iter()
            .map(|(id, interaction)| $crate::holds::row_links(id, interaction, None))
            .collect())
    }};
    (@links $table:ident, $connection:ident, $filter:ident, $interaction:ident, $handle:ident) => {{
        use ::diesel::prelude::*;
        use ::service_kit::database::sql_types::DbUuid;
        Ok($table::table
            .filter($filter)
            .select(($table::id, $table::$interaction, $table::$handle.nullable()))
            .load::<(DbUuid, DbUuid, Option<String>)>($connection)?
            .into_iter()
            .map(|(id, interaction, handle)| $crate::holds::row_links(id, interaction, handle))
            .collect())
    }};
    (@agent $table:ident, $connection:ident, $ids:ident, $hidden:ident) => {{
        let _ = ($connection, $ids, $hidden);
        Err(::diesel::result::Error::QueryBuilderError(
            concat!("the rows of ", stringify!($table), " name no agent").into(),
        ))
    }};
    (@agent $table:ident, $connection:ident, $ids:ident, $hidden:ident, $agent:literal) => {{
        use ::diesel::prelude::*;
        ::diesel::update($table::table.filter($table::id.eq_any($ids)))
            .set($table::agent_redacted.eq($hidden))
            .execute($connection)
    }};
}

/// Whether a row of `$table` is one a purge kept as `$kind` ([`crate::retention`]). In SQL text:
/// diesel checks a subselect's table against the outer one (`allow_tables_to_appear_in_same_query!`),
/// which a service cannot declare for this crate's `gdpr_retained` (the orphan rule). Both parts
/// are literals.
#[doc(hidden)]
#[macro_export]
macro_rules! kept_as {
    ($table:ident, $kind:literal) => {
        ::diesel::dsl::sql::<::diesel::sql_types::Bool>(concat!(
            stringify!($table),
            ".id IN (SELECT row_id FROM gdpr_retained WHERE kind = '",
            $kind,
            "')"
        ))
    };
}

/// Groups rows by the request that still holds them (`None`: free), so each group's flag is set
/// in one statement.
pub fn by_holder(released: Vec<(Uuid, Option<Uuid>)>) -> HashMap<Option<Uuid>, Vec<Uuid>> {
    let mut groups: HashMap<Option<Uuid>, Vec<Uuid>> = HashMap::new();
    for (row, holder) in released {
        groups.entry(holder).or_default().push(row);
    }
    groups
}
