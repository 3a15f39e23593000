//! `just bench-expiry`: a day's expiry among BENCH_RECORDS records (default 10,000,000 on
//! PostgreSQL, 100,000 on SQLite) while webhooks arrive (issue #30: a day's expiry, about 27,000
//! records at 10,000,000, in under 60 s; the webhook's p99 accept latency within 2x of its value
//! without it).
//!
//! The whole stack as the tests start it (genesys-sim, the gateway, interaction-pairing,
//! comm-history-writer, result-ingest with two inbox workers like two replicas, gdpr-orchestrator),
//! each service on its own database of one cluster, as in production, with the shipped pool size.
//! comm-history-writer's records are loaded straight into its tables (writing 10,000,000 through
//! HTTP takes 14 minutes): spread evenly over the last 366 days, so that with a 365-day retention
//! the oldest day's are past it. Channels mixed, ten records a customer, one in twenty with no
//! customer, every other record delivered to the communication-history-manager (its copy is
//! noted when the record expires), idempotency keys for the last 30 days' (older ones are
//! forgotten), and, in the oldest day, one record in 45 under a legal hold in force at
//! gdpr-orchestrator: three customers' (a hold on their ids) and one number's (a hold on it).
//! On PostgreSQL the writer's own indexes are dropped for the load and built again from their
//! definitions after it, then every table is vacuumed and analysed, as a table long in service is.
//!
//! Then BENCH_RUNS runs (3), each a day later than the last: webhooks paced at BENCH_WEBHOOK_RATE
//! a second (open loop; default: half the accept rate measured first at concurrency 32) for
//! BENCH_SECONDS (20) without expiry; then at the same rate while comm-history-writer's expiry
//! (`Expiry::run_once`, as its background task runs it, asking the real gdpr-orchestrator for the
//! holds) runs rounds back to back until one erases nothing. Prints, each run: what was erased,
//! kept and noted, how long it took, and the accept latency's p50/p99 without and with it.
//! Asserts that every record past its retention went but the held ones, and nothing else.
//! BENCH_BY_CHANNEL=1 gives calls a retention of their own (the same 365 days), so the expiry asks
//! per channel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use comm_history_writer::expiry::{Expiry, Round};
use comm_history_writer::schema::{communication_records, delivery_outbox, idempotency_keys};
use comm_history_writer::settings::RecordsSettings;
use diesel::prelude::*;
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{write_transaction, AnyConnection, DatabaseError};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::stack::{callers, Service, StackBuilder, StackServices};
use test_support::TestApp;
use time::OffsetDateTime;
use uuid::Uuid;

/// comm-history-writer's caller on gdpr-orchestrator (scope `gdpr:retentions`).
const WRITER_TOKEN: &str = "comm-history-writer-retentions-token-0123";
const RETENTION_DAYS: i64 = 365;
/// Records a statement of the load, and a transaction.
const INSERT: usize = 1000;
const CHUNK: usize = 10_000;
/// One record in this many of the oldest day is a held customer's, and one a held number's.
const HELD_EVERY: usize = 90;
const HELD_CUSTOMERS: usize = 3;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[(((sorted.len() as f64) - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn timestamp(at: OffsetDateTime) -> DbTimestamp {
    DbTimestamp::from(domain::Timestamp::from_offset_date_time(at).unwrap())
}

/// A time-ordered id (UUIDv7) of `at`, as the writer makes them when it stores a record.
fn id_at(at: OffsetDateTime) -> Uuid {
    let nanos = at.unix_timestamp_nanos();
    let (seconds, nanos) = (nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000));
    Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(seconds).unwrap(),
        u32::try_from(nanos).unwrap(),
    ))
}

fn customer(c: usize) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | c as u128)
}

fn held_customer(h: usize) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_9000_0000_0000 | h as u128)
}

/// The held customers' own numbers, and the held number (nobody's).
fn held_phone(h: usize) -> String {
    format!("+420602{h:06}")
}
const HELD_NUMBER: &str = "+420603000001";

/// The writer's row, every column (as `store::RecordRow`).
#[derive(Insertable)]
#[diesel(table_name = communication_records)]
struct RecordRow {
    id: DbUuid,
    direction: &'static str,
    communicated_at: DbTimestamp,
    source: &'static str,
    channel: &'static str,
    domain: &'static str,
    customer_id: Option<DbUuid>,
    customer_handle: String,
    customer_handle_key: String,
    interaction_id: DbUuid,
    bank_user_id: Option<String>,
    bank_user_name: Option<String>,
    purpose: Option<&'static str>,
    title: &'static str,
    body: &'static str,
    created_at: DbTimestamp,
    genesys_user_id: Option<DbUuid>,
    agent_redacted: bool,
    customer_source: Option<&'static str>,
    copied_from: Option<DbUuid>,
    withdrawn_at: Option<DbTimestamp>,
    withdrawn_by: Option<String>,
}

/// A delivered create entry: the manager holds a copy.
#[derive(Insertable)]
#[diesel(table_name = delivery_outbox)]
struct DeliveryRow {
    id: DbUuid,
    record_id: DbUuid,
    kind: &'static str,
    status: &'static str,
    attempts: i32,
    next_attempt_at: DbTimestamp,
    created_at: DbTimestamp,
    delivered_at: Option<DbTimestamp>,
    external_id: Option<String>,
    sent_at: Option<DbTimestamp>,
}

#[derive(Insertable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    caller: &'static str,
    idempotency_key: String,
    request_hash: String,
    record_id: DbUuid,
    created_at: DbTimestamp,
}

/// The records to load: `records` of them, record `i` at `start + i * step`, oldest first.
#[derive(Clone, Copy)]
struct Seed {
    records: usize,
    start: OffsetDateTime,
    step: time::Duration,
    /// Records in the oldest day (past a 365-day retention when the runs begin).
    first_day: usize,
    /// Records from here on were written within the idempotency keys' 30 days.
    keyed_from: usize,
}

impl Seed {
    fn new(records: usize, now: OffsetDateTime) -> Self {
        let span = time::Duration::days(RETENTION_DAYS + 1);
        let step = span / records as f64;
        let start = now - span;
        let first_day = (time::Duration::days(1) / step).floor() as usize;
        let keyed_from = records - (time::Duration::days(30) / step).floor() as usize;
        Self {
            records,
            start,
            step,
            first_day,
            keyed_from,
        }
    }

    fn at(&self, i: usize) -> OffsetDateTime {
        self.start + self.step * i as f64
    }

    /// Held records: one in [`HELD_EVERY`] of the oldest day a held customer's, one its number's.
    fn held(&self, i: usize) -> Option<Held> {
        if i >= self.first_day {
            return None;
        }
        match i % HELD_EVERY {
            3 => Some(Held::Customer((i / HELD_EVERY) % HELD_CUSTOMERS)),
            48 => Some(Held::Number),
            _ => None,
        }
    }

    fn held_count(&self) -> usize {
        (0..self.first_day).filter(|&i| self.held(i).is_some()).count()
    }

    /// Record `i` and what goes with it: its delivery (every other record) and its idempotency
    /// key (the last 30 days').
    fn rows(&self, i: usize) -> (RecordRow, Option<DeliveryRow>, Option<KeyRow>) {
        let at = self.at(i);
        let created = at + time::Duration::seconds(90);
        let id = id_at(created);
        // Six in ten calls, then chats, e-mails, text messages, video.
        let channel = match i % 20 {
            0..=11 => "VOICE",
            12..=14 => "CHAT",
            15..=17 => "EMAIL",
            18 => "SMS",
            _ => "VIDEO",
        };
        // Ten records a customer, spread over the year; one in twenty nobody's, on the handle
        // its customer used.
        let customers = (self.records / 10).max(1);
        let c = i.wrapping_mul(2_654_435_761) % customers;
        let (customer_id, phone) = match self.held(i) {
            Some(Held::Customer(h)) => (Some(held_customer(h)), held_phone(h)),
            Some(Held::Number) => (None, HELD_NUMBER.to_owned()),
            None => (
                (i % 20 != 7).then(|| customer(c)),
                format!("+420601{:06}", c % 1_000_000),
            ),
        };
        let (handle, key) = if channel == "EMAIL" && self.held(i).is_none() {
            let address = format!("client.{c}@example.com");
            (format!("mailto:{address}"), address)
        } else {
            (format!("tel:{phone}"), phone)
        };
        let agent = i % 50;
        let record = RecordRow {
            id: DbUuid(id),
            direction: if i % 4 == 3 { "OUTBOUND" } else { "INBOUND" },
            communicated_at: timestamp(at),
            source: "Call center",
            channel,
            domain: "OTHER",
            customer_id: customer_id.map(DbUuid),
            customer_handle: handle,
            customer_handle_key: key,
            interaction_id: DbUuid(Uuid::new_v4()),
            bank_user_id: None,
            bank_user_name: Some(format!("Agent {agent}")),
            purpose: Some("Sale completed"),
            title: "Call center communication",
            body: "",
            created_at: timestamp(created),
            genesys_user_id: Some(DbUuid(Uuid::from_u128(
                0x6f1c_2d3e_4a5b_4c6d_8e9f_0000_0000_0000 | agent as u128,
            ))),
            agent_redacted: false,
            customer_source: customer_id.map(|_| "pairing"),
            copied_from: None,
            withdrawn_at: None,
            withdrawn_by: None,
        };
        let delivered = created + time::Duration::seconds(2);
        let delivery = i.is_multiple_of(2).then(|| DeliveryRow {
            id: DbUuid(id_at(created)),
            record_id: DbUuid(id),
            kind: "create",
            status: "delivered",
            attempts: 1,
            next_attempt_at: timestamp(created),
            created_at: timestamp(created),
            delivered_at: Some(timestamp(delivered)),
            external_id: Some(format!("chm-{i}")),
            sent_at: Some(timestamp(created)),
        });
        let key = (i >= self.keyed_from).then(|| KeyRow {
            caller: callers::INGEST,
            idempotency_key: Uuid::new_v4().to_string(),
            request_hash: format!("{:032x}{:032x}", Uuid::new_v4().as_u128(), Uuid::new_v4().as_u128()),
            record_id: DbUuid(id),
            created_at: timestamp(created),
        });
        (record, delivery, key)
    }
}

#[derive(Clone, Copy)]
enum Held {
    Customer(usize),
    Number,
}

fn sql(connection: &mut AnyConnection, statement: &str) -> Result<usize, DatabaseError> {
    diesel::sql_query(statement)
        .execute(connection)
        .map_err(DatabaseError::from)
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

const TABLES: [&str; 3] = ["communication_records", "delivery_outbox", "idempotency_keys"];

/// Loads the records into the writer's tables: on PostgreSQL with its indexes (but the primary
/// keys) dropped and built again from their own definitions afterwards.
async fn load(writer: &TestApp, seed: Seed, postgres: bool) {
    let pool = writer.pool().clone();
    let indexes: Vec<Index> = if postgres {
        pool.run(|c| {
            let indexes: Vec<Index> = diesel::sql_query(format!(
                "SELECT indexname AS name, indexdef AS definition FROM pg_indexes i \
                 WHERE schemaname = 'public' AND tablename IN ('{}') \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)",
                TABLES.join("', '")
            ))
            .load(c)
            .map_err(DatabaseError::from)?;
            for index in &indexes {
                sql(c, &format!("DROP INDEX {}", index.name))?;
            }
            Ok::<_, DatabaseError>(indexes)
        })
        .await
        .unwrap()
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let chunks = seed.records.div_ceil(CHUNK);
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    futures_util::stream::iter(0..chunks)
        .map(|chunk| {
            let (pool, written) = (pool.clone(), written.clone());
            async move {
                pool.run(move |c| {
                    let (mut records, mut deliveries, mut keys) = (Vec::new(), Vec::new(), Vec::new());
                    for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(seed.records) {
                        let (record, delivery, key) = seed.rows(i);
                        records.push(record);
                        deliveries.extend(delivery);
                        keys.extend(key);
                    }
                    write_transaction(c, |c| {
                        for rows in records.chunks(INSERT) {
                            service_kit::per_backend!(&mut *c, |c| diesel::insert_into(communication_records::table)
                                .values(rows)
                                .execute(c))?;
                        }
                        for rows in deliveries.chunks(INSERT) {
                            service_kit::per_backend!(&mut *c, |c| diesel::insert_into(delivery_outbox::table)
                                .values(rows)
                                .execute(c))?;
                        }
                        for rows in keys.chunks(INSERT) {
                            service_kit::per_backend!(&mut *c, |c| diesel::insert_into(idempotency_keys::table)
                                .values(rows)
                                .execute(c))?;
                        }
                        Ok::<_, diesel::result::Error>(())
                    })
                    .map_err(DatabaseError::from)
                })
                .await
                .unwrap();
                let done = written.fetch_add(records_in(chunk, seed.records), Ordering::Relaxed)
                    + records_in(chunk, seed.records);
                if done % 1_000_000 < CHUNK {
                    println!("  {done} records loaded ({:.0} s)", started.elapsed().as_secs_f64());
                }
            }
        })
        .buffer_unordered(if postgres { 2 } else { 1 })
        .collect::<Vec<()>>()
        .await;
    println!(
        "  loaded in {:.0} s ({:.0} records a second)",
        started.elapsed().as_secs_f64(),
        seed.records as f64 / started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    pool.run(move |c| {
        if postgres {
            sql(c, "SET maintenance_work_mem = '1GB'")?;
            for index in &indexes {
                sql(c, &index.definition)?;
            }
            sql(c, "RESET maintenance_work_mem")?;
            for table in TABLES {
                sql(c, &format!("VACUUM (ANALYZE) {table}"))?;
            }
        } else {
            sql(c, "ANALYZE")?;
        }
        Ok::<_, DatabaseError>(())
    })
    .await
    .unwrap();
    println!(
        "  indexes built again, tables vacuumed and analysed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn records_in(chunk: usize, records: usize) -> usize {
    ((chunk + 1) * CHUNK).min(records) - chunk * CHUNK
}

/// The keys the load wrote are the writer's own: its normaliser makes the same of the handles.
fn check_handle_keys(writer: &TestApp, seed: &Seed) {
    let normaliser = writer.settings.handles.normaliser().unwrap();
    for i in (0..seed.records).step_by((seed.records / 1000).max(1)) {
        let (record, _, _) = seed.rows(i);
        assert_eq!(
            normaliser.key(&record.customer_handle).as_str(),
            record.customer_handle_key,
            "record {i}'s handle key"
        );
    }
}

/// Webhook `n`: a conversation that ended just now, a caller of its own.
fn webhook(template: &serde_json::Value, n: usize) -> Vec<u8> {
    let mut body = template.clone();
    body["conversationId"] = Uuid::new_v4().to_string().into();
    body["ani"] = format!("tel:+420601{:06}", n % 1_000_000).into();
    body["eventTime"] = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    serde_json::to_vec(&body).unwrap()
}

/// Runs `work` on a thread of its own, in a runtime of its own, so that what else the bench runs
/// does not delay the load generator's clock.
fn apart<T, F>(work: impl FnOnce() -> F + Send + 'static) -> std::thread::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
}

/// Where the load generator posts.
#[derive(Clone)]
struct Webhook {
    url: String,
    token: String,
    template: Arc<serde_json::Value>,
}

impl Webhook {
    /// Webhook `n`, to send.
    fn request(&self, client: &reqwest::Client, n: usize) -> reqwest::RequestBuilder {
        client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(webhook(&self.template, n))
    }

    /// Posts at `rate` a second until `stop` (open loop: a late tick sends at once, so queueing
    /// shows in the latency); answers each webhook's accept latency, sorted.
    fn paced(&self, rate: f64, stop: Arc<AtomicBool>, first: usize) -> std::thread::JoinHandle<Vec<Duration>> {
        let this = self.clone();
        apart(move || async move {
            let client = reqwest::Client::new();
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            let mut sent = Vec::new();
            let mut n = first;
            while !stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                let request = this.request(&client, n);
                n += 1;
                sent.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let status = request.send().await.unwrap().status();
                    assert_eq!(status.as_u16(), 202);
                    started.elapsed()
                }));
            }
            let mut latencies = Vec::with_capacity(sent.len());
            for request in sent {
                latencies.push(request.await.unwrap());
            }
            latencies.sort();
            latencies
        })
    }

    /// Accepted a second with `concurrency` clients posting back to back for `seconds`.
    fn peak(&self, concurrency: usize, seconds: u64) -> f64 {
        let this = self.clone();
        apart(move || async move {
            let client = reqwest::Client::new();
            let until = Instant::now() + Duration::from_secs(seconds);
            let clients: Vec<_> = (0..concurrency)
                .map(|k| {
                    let (client, this) = (client.clone(), this.clone());
                    tokio::spawn(async move {
                        let mut accepted = 0usize;
                        while Instant::now() < until {
                            let response = this.request(&client, 900_000 + k * 1000 + accepted).send().await;
                            assert_eq!(response.unwrap().status().as_u16(), 202);
                            accepted += 1;
                        }
                        accepted
                    })
                })
                .collect();
            let mut accepted = 0;
            for client in clients {
                accepted += client.await.unwrap();
            }
            accepted as f64 / seconds as f64
        })
        .join()
        .unwrap()
    }
}

/// Waits until result-ingest's workers wrote every accepted webhook.
async fn drained(ingest: &TestApp) {
    use result_ingest::schema::inbox_events::dsl;
    let started = Instant::now();
    loop {
        let pending: i64 = ingest
            .pool()
            .run(|c| {
                dsl::inbox_events
                    .filter(dsl::status.eq("pending"))
                    .count()
                    .get_result(c)
                    .map_err(DatabaseError::from)
            })
            .await
            .unwrap();
        if pending == 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(900), "the inbox does not drain");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Lets the cluster settle before a measured phase, so that neither phase pays for the other's
/// leftovers: waits (up to a minute) until no autovacuum worker runs, then writes a checkpoint.
async fn quiesce(writer: &TestApp, postgres: bool) {
    if !postgres {
        return;
    }
    writer
        .pool()
        .run(|c| {
            let give_up = Instant::now() + Duration::from_secs(60);
            while Instant::now() < give_up {
                let workers: Count = diesel::sql_query(
                    "SELECT count(*) AS count FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
                )
                .get_result(c)
                .map_err(DatabaseError::from)?;
                if workers.count == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            sql(c, "CHECKPOINT")
        })
        .await
        .unwrap();
}

/// The writer's records communicated before `before`.
async fn records_before(writer: &TestApp, before: OffsetDateTime) -> i64 {
    use communication_records::dsl;
    let before = timestamp(before);
    writer
        .pool()
        .run(move |c| {
            dsl::communication_records
                .filter(dsl::communicated_at.lt(before))
                .count()
                .get_result(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap()
}

async fn expired_copies(writer: &TestApp) -> i64 {
    writer
        .pool()
        .run(|c| {
            diesel::sql_query("SELECT count(*) AS count FROM expired_copies")
                .get_result::<Count>(c)
                .map(|row| row.count)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap()
}

/// A legal hold placed by a DPO at gdpr-orchestrator on `subject`.
async fn hold(orchestrator: &TestApp, subject: serde_json::Value, reference: &str) {
    let hold = json!({
        "subject": subject,
        "reference": reference,
        "reason": "a claim against the bank",
        "basis": "legal_claims",
    });
    let response = orchestrator
        .client
        .post(orchestrator.url("/gdpr/legal-holds"))
        .bearer_auth(orchestrator.token(callers::DPO))
        .header("X-Acting-User", "alice")
        .json(&hold)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 201, "{}", response.text().await.unwrap_or_default());
}

/// What one run measured.
struct Measured {
    expired: u64,
    kept: u64,
    copies: u64,
    rounds: usize,
    took: Duration,
    without: Vec<Duration>,
    with: Vec<Duration>,
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let records = setting("BENCH_RECORDS", if postgres { 10_000_000 } else { 100_000 });
    let runs = setting("BENCH_RUNS", 3);
    let seconds = setting("BENCH_SECONDS", 20);
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };

    let pool_size = [("database.max_connections", "10")];
    let stack = StackBuilder::new(StackServices {
        gateway: &genesys_gateway::SERVICE,
        writer: &comm_history_writer::SERVICE,
        pairing: &interaction_pairing::SERVICE,
        ingest: &result_ingest::SERVICE,
        orchestrator: Some(&gdpr_orchestrator::SERVICE),
    })
    .set_all(Service::Gateway, pool_size)
    .set_all(Service::Writer, pool_size)
    .set_all(Service::Pairing, pool_size)
    .set_all(Service::Ingest, pool_size)
    .set_all(Service::Orchestrator, pool_size)
    .set_all(
        Service::Orchestrator,
        [
            ("auth.callers.comm_history_writer.token", WRITER_TOKEN),
            ("auth.callers.comm_history_writer.scopes", "gdpr:retentions"),
        ],
    )
    .start()
    .await;
    let (writer, ingest) = (&stack.writer, &stack.ingest);
    let orchestrator = stack.orchestrator();

    let seed = Seed::new(records, OffsetDateTime::now_utc());
    check_handle_keys(writer, &seed);
    println!(
        "loading {records} records into comm-history-writer on {backend} ({} a day over 366 days), {} CPUs",
        seed.first_day,
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get)
    );
    load(writer, seed, postgres).await;
    let held = seed.held_count();
    let customers: Vec<String> = (0..HELD_CUSTOMERS).map(|h| held_customer(h).to_string()).collect();
    hold(orchestrator, json!({ "customerIds": customers }), "LIT-BENCH-1").await;
    hold(orchestrator, json!({ "phoneNumbers": [HELD_NUMBER] }), "LIT-BENCH-2").await;

    let mut settings: RecordsSettings = writer.settings.section("records").unwrap();
    settings.retention_days = NonZeroU32::new(RETENTION_DAYS as u32).unwrap();
    // BENCH_BY_CHANNEL=1: calls keep a retention of their own (the same 365 days), so the expiry
    // asks per channel, as with `retention_days_by_channel = { VOICE = … }`.
    settings.retention_days_by_channel = if std::env::var("BENCH_BY_CHANNEL").is_ok_and(|v| v == "1") {
        [(domain::Channel::Voice, settings.retention_days)].into()
    } else {
        Default::default()
    };
    settings.orchestrator_url = orchestrator.url("").parse().unwrap();
    settings.orchestrator_token = SecretString::from(WRITER_TOKEN.to_owned());
    let expiry = Expiry::new(writer.pool().clone(), &settings, &prometheus::Registry::new()).unwrap();

    // result-ingest's inbox workers, two like two replicas, write the webhooks' records to the
    // writer meanwhile.
    let background = service_kit::background::Background::new(Arc::new(service_kit::background::TaskHealth::new(
        Duration::from_secs(300),
    )));
    for _ in 0..2 {
        let worker =
            result_ingest::worker(&ingest.settings, ingest.pool().clone(), &prometheus::Registry::new()).unwrap();
        background.spawn("ingest_inbox", |shutdown, health| worker.run(shutdown, health));
    }
    let webhook = Webhook {
        url: ingest.url("/customers/supportResult"),
        token: ingest.token(callers::GENESYS).to_owned(),
        template: Arc::new(test_support::fixture("support-result-voice-inbound.json")),
    };
    let rate = match std::env::var("BENCH_WEBHOOK_RATE")
        .ok()
        .and_then(|r| r.parse::<f64>().ok())
    {
        Some(rate) => {
            println!("webhooks at {rate:.0} a second (BENCH_WEBHOOK_RATE)");
            rate
        }
        None => {
            // Measured on a settled cluster: the load's dirty pages written out first.
            quiesce(writer, postgres).await;
            let measuring = webhook.clone();
            let peak = tokio::task::spawn_blocking(move || measuring.peak(32, 5))
                .await
                .unwrap();
            println!(
                "webhooks at {:.0} a second: half the {peak:.0} a second accepted at concurrency 32 (5 s, the workers writing)",
                peak / 2.0
            );
            peak / 2.0
        }
    };

    let mut measured = Vec::new();
    let mut sent = 0;
    for run in 0..runs {
        drained(ingest).await;
        quiesce(writer, postgres).await;
        let stop = Arc::new(AtomicBool::new(false));
        let load = webhook.paced(rate, stop.clone(), sent);
        tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
        stop.store(true, Ordering::Relaxed);
        let without = tokio::task::spawn_blocking(move || load.join().unwrap()).await.unwrap();
        sent += without.len();

        drained(ingest).await;
        quiesce(writer, postgres).await;
        // Each run a day later: the next day's records are past their retention.
        let now = OffsetDateTime::now_utc() + time::Duration::days(run as i64);
        let cutoff = now - time::Duration::days(RETENTION_DAYS);
        let past = records_before(writer, cutoff).await;
        let stop = Arc::new(AtomicBool::new(false));
        let load = webhook.paced(rate, stop.clone(), sent);
        let started = Instant::now();
        let (mut total, mut rounds) = (Round::default(), 0);
        let last = loop {
            let round = expiry
                .run_once(domain::Timestamp::from_offset_date_time(now).unwrap())
                .await
                .unwrap();
            rounds += 1;
            total.expired += round.expired;
            total.kept += round.kept;
            total.delivered_copies += round.delivered_copies;
            if round.expired == 0 {
                break round;
            }
        };
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let with = tokio::task::spawn_blocking(move || load.join().unwrap()).await.unwrap();
        sent += with.len();

        // Every record past its retention went, but the held ones; nothing else did.
        let left = records_before(writer, cutoff).await;
        assert_eq!(left, held as i64, "run {}: records left past their retention", run + 1);
        assert_eq!(total.expired as i64, past - held as i64, "run {}: erased", run + 1);
        // The last round walked them all from the oldest again: just the held ones are left.
        assert_eq!(last.kept, held as u64, "run {}: kept by the last round", run + 1);
        let m = Measured {
            expired: total.expired,
            kept: total.kept,
            copies: total.delivered_copies,
            rounds,
            took,
            without,
            with,
        };
        print_run(run + 1, &m);
        measured.push(m);
    }
    background.stop(Duration::from_secs(10)).await;

    let expired: u64 = measured.iter().map(|m| m.expired).sum();
    let copies: u64 = measured.iter().map(|m| m.copies).sum();
    let loaded_before = seed.at(records - 1) + time::Duration::seconds(1);
    assert_eq!(
        records_before(writer, loaded_before).await,
        (records - expired as usize) as i64,
        "records left of those loaded"
    );
    assert_eq!(
        expired_copies(writer).await,
        copies as i64,
        "the manager's copies noted"
    );
    assert!(copies > 0, "expired records had copies at the manager");

    let fastest = measured.iter().map(|m| m.took).min().unwrap();
    let slowest = measured.iter().map(|m| m.took).max().unwrap();
    let ratios: Vec<f64> = measured.iter().map(Measured::ratio).collect();
    let worst = ratios.iter().copied().fold(0.0, f64::max);
    let best = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "at {records} records on {backend}, webhooks at {rate:.0}/s, {runs} runs (held records kept every run: {held}):"
    );
    println!(
        "  a day's expiry: {:.2}–{:.2} s (target < 60 s: {})",
        fastest.as_secs_f64(),
        slowest.as_secs_f64(),
        if slowest < Duration::from_secs(60) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  webhook p99 with ÷ without: {best:.2}–{worst:.2} (target ≤ 2: {})",
        if worst <= 2.0 { "met" } else { "NOT met" }
    );
}

impl Measured {
    fn ratio(&self) -> f64 {
        ms(percentile(&self.with, 0.99)) / ms(percentile(&self.without, 0.99))
    }
}

fn print_run(run: usize, m: &Measured) {
    println!(
        "run {run}: expired {}, kept {} (the held ones, each round that passed them), copies noted {}, in {} rounds: {:.2} s",
        m.expired,
        m.kept,
        m.copies,
        m.rounds,
        m.took.as_secs_f64()
    );
    println!(
        "  webhook accept without expiry: p50 {:.1} ms, p99 {:.1} ms ({} webhooks); during it: p50 {:.1} ms, p99 {:.1} ms ({}); p99 ratio {:.2}",
        ms(percentile(&m.without, 0.5)),
        ms(percentile(&m.without, 0.99)),
        m.without.len(),
        ms(percentile(&m.with, 0.5)),
        ms(percentile(&m.with, 0.99)),
        m.with.len(),
        m.ratio()
    );
}
