//! The inbox's hottest PostgreSQL statements, each a query type of its own: diesel keeps such a
//! statement prepared on each connection, while a `sql_query` is parsed and planned by
//! PostgreSQL on every call (never cached by diesel, since its text could be built at run time).

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Untyped, Uuid as SqlUuid};
use diesel::{PgConnection, QueryResult, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// Pushes binds separated by commas; each bind adds its own placeholder (`$1`, `$2`, …) in the
/// order pushed.
macro_rules! push_binds {
    ($out:ident; $($sql_type:ty => $value:expr),+ $(,)?) => {{
        let mut first = true;
        $(
            if !std::mem::take(&mut first) {
                $out.push_sql(", ");
            }
            $out.push_bind_param::<$sql_type, _>($value)?;
        )+
    }};
}

/// A webhook batch as one statement, from arrays: the suppression check (a forgotten subject's
/// hashes from before the forget; a result a purge erased, by its fingerprint) and the insert of the
/// rows it lets through (see `NewEvents::store_in_one_statement`). A typed query diesel can keep
/// prepared: planned anew for every batch, as a `sql_query`, it cost more than the insert itself.
pub(super) struct AcceptBatchStatement<'a> {
    /// Each suppression hash of each delivery: the delivery's index, the hash, its event time.
    pub(super) hash_delivery: Vec<i32>,
    pub(super) hashes: Vec<&'a str>,
    pub(super) hash_event_times: Vec<OffsetDateTime>,
    /// Each delivery's erased marks (its identity, its conversation, its agent in it; keyed),
    /// each with the delivery's index.
    pub(super) fingerprint_delivery: Vec<i32>,
    pub(super) fingerprints: Vec<&'a str>,
    pub(super) now: OffsetDateTime,
    /// The rows to insert, each with its delivery's index.
    pub(super) row_delivery: Vec<i32>,
    pub(super) ids: Vec<Uuid>,
    pub(super) conversation_ids: Vec<Uuid>,
    pub(super) user_ids: Vec<Uuid>,
    pub(super) wrapup_codes: Vec<&'a str>,
    pub(super) event_times: Vec<OffsetDateTime>,
    pub(super) payloads: Vec<&'a str>,
    pub(super) handle_keys: Vec<&'a str>,
    pub(super) trace_contexts: Vec<Option<&'a str>>,
    pub(super) origins: Vec<&'a str>,
    /// The customer each row's participant data names, if any.
    pub(super) participant_customer_ids: Vec<Option<Uuid>>,
    /// Each row's channel (its record's): read by nothing here (the settlement queues content jobs
    /// by the worker's), written for a rollback to the version that queued by it (migration 000301).
    pub(super) channels: Vec<&'static str>,
}

impl QueryFragment<Pg> for AcceptBatchStatement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH suppressed AS (SELECT h.delivery FROM unnest(");
        push_binds!(out; Array<Integer> => &self.hash_delivery, Array<Text> => &self.hashes, Array<Timestamptz> => &self.hash_event_times);
        out.push_sql(
            ") AS h(delivery, key_hash, event_time) \
             JOIN suppressions s ON s.key_hash = h.key_hash AND s.forgotten_at > h.event_time \
             UNION SELECT f.delivery FROM unnest(",
        );
        push_binds!(out; Array<Integer> => &self.fingerprint_delivery, Array<Text> => &self.fingerprints);
        out.push_sql(
            ") AS f(delivery, key_hash) JOIN erased_results e ON e.key_hash = f.key_hash), \
             inserted AS (INSERT INTO inbox_events (id, conversation_id, user_id, wrapup_code, event_time, \
                 payload, customer_handle_key, trace_context, origin, participant_customer_id, channel, \
                 status, attempts, next_attempt_at, accepted_at, budget_started_at) \
             SELECT r.id, r.conversation_id, r.user_id, r.wrapup_code, r.event_time, r.payload, \
                 r.customer_handle_key, r.trace_context, r.origin, r.participant_customer_id, r.channel, \
                 'pending', 0, ",
        );
        push_binds!(out; Timestamptz => &self.now, Timestamptz => &self.now, Timestamptz => &self.now);
        out.push_sql(" FROM unnest(");
        push_binds!(out;
            Array<Integer> => &self.row_delivery,
            Array<SqlUuid> => &self.ids,
            Array<SqlUuid> => &self.conversation_ids,
            Array<SqlUuid> => &self.user_ids,
            Array<Text> => &self.wrapup_codes,
            Array<Timestamptz> => &self.event_times,
            Array<Text> => &self.payloads,
            Array<Text> => &self.handle_keys,
            Array<Nullable<Text>> => &self.trace_contexts,
            Array<Text> => &self.origins,
            Array<Nullable<SqlUuid>> => &self.participant_customer_ids,
            Array<Text> => &self.channels
        );
        out.push_sql(
            ") AS r(delivery, id, conversation_id, user_id, wrapup_code, event_time, payload, \
                 customer_handle_key, trace_context, origin, participant_customer_id, channel) \
             WHERE r.delivery NOT IN (SELECT delivery FROM suppressed) \
             ON CONFLICT (conversation_id, user_id, wrapup_code) DO NOTHING \
             RETURNING id) \
             SELECT id AS inserted, NULL::int4 AS suppressed FROM inserted \
             UNION ALL SELECT NULL::uuid, delivery FROM suppressed",
        );
        Ok(())
    }
}

/// The statement's text never changes, so its type identifies it in diesel's statement cache.
pub(super) struct AcceptBatchStatementId;

impl QueryId for AcceptBatchStatement<'_> {
    type QueryId = AcceptBatchStatementId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for AcceptBatchStatement<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for AcceptBatchStatement<'_> {}

/// Settles processed events in one statement: `ids[i]` became the record `record_ids[i]`, each
/// only while the batch's lease on it holds.
pub(super) struct SettleProcessedStatement {
    pub(super) now: OffsetDateTime,
    /// The batch's lease: only events it still holds are settled.
    pub(super) lease_until: OffsetDateTime,
    pub(super) ids: Vec<Uuid>,
    pub(super) record_ids: Vec<Option<Uuid>>,
}

impl SettleProcessedStatement {
    /// The update; with `channels` (each record's, as the worker wrote it) beside the ids, for
    /// the content jobs' statement to read from what it returns.
    fn walk_update<'b>(
        &'b self,
        mut out: AstPass<'_, 'b, Pg>,
        channels: Option<&'b Vec<Option<&'static str>>>,
    ) -> QueryResult<()> {
        out.push_sql(
            "UPDATE inbox_events \
             SET status = 'processed', last_error = NULL, lease_until = NULL, \
                 record_id = settled.record_id, processed_at = ",
        );
        push_binds!(out; Timestamptz => &self.now);
        out.push_sql(" FROM unnest(");
        push_binds!(out; Array<SqlUuid> => &self.ids, Array<Nullable<SqlUuid>> => &self.record_ids);
        match channels {
            Some(channels) => {
                out.push_sql(", ");
                push_binds!(out; Array<Nullable<Text>> => channels);
                out.push_sql(") AS settled(id, record_id, channel)");
            }
            None => out.push_sql(") AS settled(id, record_id)"),
        }
        out.push_sql(
            " WHERE inbox_events.id = settled.id \
             AND inbox_events.status = 'pending' AND inbox_events.lease_until = ",
        );
        push_binds!(out; Timestamptz => &self.lease_until);
        Ok(())
    }
}

impl QueryFragment<Pg> for SettleProcessedStatement {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk_update(out, None)
    }
}

/// The statement's text never changes, so its type identifies it in diesel's statement cache.
pub(super) struct SettleProcessedStatementId;

impl QueryId for SettleProcessedStatement {
    type QueryId = SettleProcessedStatementId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<PgConnection> for SettleProcessedStatement {}

/// [`SettleProcessedStatement`] with the content jobs of the records it settles (crate::content),
/// as one statement: a job for each event the update marks processed into a record of a channel
/// whose content is on, keyed by the record (one queued before stays as it is). Each record's
/// channel is the worker's, bound beside its id: `inbox_events.channel` is not read (a pod of the
/// previous version, during a roll, stores none). Answers how many events it settled. Used only
/// while content is on, so that turning it on costs no statement.
pub(super) struct SettleQueueingContentStatement {
    pub(super) settle: SettleProcessedStatement,
    /// Each settled event's record's channel (`None`: no record), as `settle.ids` orders them.
    pub(super) record_channels: Vec<Option<&'static str>>,
    /// The jobs' first ask.
    pub(super) first_ask: OffsetDateTime,
    /// The channels whose content is on.
    pub(super) channels_on: Vec<&'static str>,
}

impl QueryFragment<Pg> for SettleQueueingContentStatement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH processed AS (");
        self.settle.walk_update(out.reborrow(), Some(&self.record_channels))?;
        out.push_sql(
            " RETURNING inbox_events.record_id, inbox_events.conversation_id, settled.channel), \
             queued AS (INSERT INTO content_jobs (record_id, interaction_id, channel, status, attempts, \
                 next_attempt_at, created_at) \
             SELECT record_id, conversation_id, channel, 'pending', 0, ",
        );
        push_binds!(out; Timestamptz => &self.first_ask, Timestamptz => &self.settle.now);
        out.push_sql(" FROM processed WHERE record_id IS NOT NULL AND channel = ANY(");
        push_binds!(out; Array<Text> => &self.channels_on);
        out.push_sql(") ON CONFLICT (record_id) DO NOTHING) SELECT count(*) FROM processed");
        Ok(())
    }
}

/// The statement's text never changes, so its type identifies it in diesel's statement cache.
pub(super) struct SettleQueueingContentStatementId;

impl QueryId for SettleQueueingContentStatement {
    type QueryId = SettleQueueingContentStatementId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for SettleQueueingContentStatement {
    type SqlType = BigInt;
}

impl RunQueryDsl<PgConnection> for SettleQueueingContentStatement {}
