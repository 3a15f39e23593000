//! `just bench-ingest`: the webhook under load on PostgreSQL, end to end, against PostgreSQL's
//! own ceiling for one durable single-row insert per request on the same machine (pgbench).
//!
//! Run it through `just bench-ingest` (a throwaway, durable PostgreSQL cluster). Knobs:
//! BENCH_EVENTS (default 20000), BENCH_CONCURRENCY (32), BENCH_PGBENCH_SECONDS (10), BENCH_WORKERS
//! (2 inbox workers, like two replicas), BENCH_ACCEPT_ONLY (1: the workers start only after every
//! webhook was accepted), BENCH_INGEST_SETTINGS (settings other than the defaults, e.g.
//! `ingest.batch_size=64`). Otherwise the services run with their shipped defaults.
//!
//! Besides the rates it prints the CPU each event cost PostgreSQL, the services and the load
//! generator, read from /proc, against what one pgbench transaction cost: on a machine where
//! everything shares a few cores, that says which side a rate is bound by. `just
//! bench-ingest-split` runs it in the production shape instead: PostgreSQL on CPUs of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use service_kit::database::DatabaseError;
use std::process::Command;
use std::time::{Duration, Instant};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// BENCH_INGEST_SETTINGS="ingest.batch_size=64,ingest.accept_batch_max=32": result-ingest settings
/// other than the shipped defaults, to measure what a setting changes.
fn ingest_overrides() -> Vec<(&'static str, &'static str)> {
    let list: &'static str = std::env::var("BENCH_INGEST_SETTINGS").unwrap_or_default().leak();
    list.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("BENCH_INGEST_SETTINGS: key=value,…");
            assert!(key.starts_with("ingest."), "BENCH_INGEST_SETTINGS: only ingest.* keys");
            (key, value)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[(((sorted.len() as f64) - 1.0) * p).round() as usize]
}

/// Callers are mostly different people: one number per conversation (Czech mobiles, as in the
/// example), not one caller for all of them, which would make every ANI index one long key.
fn caller(n: usize) -> String {
    format!("tel:+420601{:06}", n % 1_000_000)
}

/// `BENCH_CONTENT`: `1` turns the voice calls' transcripts on (`ingest.content.channels`) with
/// the Genesys budget as shipped (content's share of `genesys.rate_limit_per_minute`: the rest
/// waits for its turn, as in production); `unthrottled` also lifts the budget, so every
/// transcript is fetched while the records flow (what content costs our side at full speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentMode {
    Off,
    Budgeted,
    Unthrottled,
}

fn content_mode() -> ContentMode {
    match std::env::var("BENCH_CONTENT").as_deref() {
        Err(_) | Ok("" | "0") => ContentMode::Off,
        Ok("1") => ContentMode::Budgeted,
        Ok("unthrottled") => ContentMode::Unthrottled,
        Ok(other) => panic!("BENCH_CONTENT: 0, 1 or unthrottled, not {other:?}"),
    }
}

/// What the customer and the agent said in every benchmark call (about 1 KiB of transcript).
fn phrases() -> serde_json::Value {
    let customer = "I would like to ask about the mortgage offer I received last week, the rate and the fees. ";
    let agent = "Of course, let me look at the offer; the rate is fixed for five years and there are no fees. ";
    serde_json::json!([
        { "speaker": "customer", "text": customer.repeat(3) },
        { "speaker": "agent", "text": agent.repeat(3) },
        { "speaker": "customer", "text": customer },
        { "speaker": "agent", "text": agent },
    ])
}

/// Records each benchmark call in genesys-sim as an ended voice conversation (so the gateway
/// finds the customer's communication) with its transcript, before the clock starts.
async fn record_calls_in_sim(p: &helpers::Pipeline, conversations: &[uuid::Uuid]) {
    use futures_util::StreamExt;
    let client = reqwest::Client::new();
    let end = time::OffsetDateTime::now_utc();
    let start = end - time::Duration::minutes(5);
    let rfc3339 = |at: time::OffsetDateTime| at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let phrases = phrases();
    futures_util::stream::iter(conversations.iter().enumerate())
        .for_each_concurrent(16, |(n, id)| {
            let (client, phrases) = (client.clone(), phrases.clone());
            let sim = p.sim_url.clone();
            let conversation = serde_json::json!({
                "conversationId": id,
                "start": rfc3339(start),
                "end": rfc3339(end),
                "direction": "inbound",
                "mediaType": "voice",
                "ani": caller(n),
                "subject": "",
                "agents": [{ "userId": AGENTS[n % AGENTS.len()], "wrapupCode": CODES[n % CODES.len()] }],
            });
            async move {
                let recorded = client
                    .post(format!("{sim}/admin/conversations"))
                    .json(&conversation)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(recorded.status().as_u16(), 201);
                let transcribed = client
                    .post(format!("{sim}/admin/conversations/{id}/transcript"))
                    .json(&serde_json::json!({ "phrases": phrases }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(transcribed.status().as_u16(), 201);
            }
        })
        .await;
}

/// The content queue's jobs ended with `outcome` (`added`: a body set), from its metrics.
fn content_ended(registry: &prometheus::Registry, outcome: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == "ccbridge_ingest_content_total")
        .flat_map(|family| family.get_metric())
        .filter(|metric| {
            metric
                .get_label()
                .iter()
                .any(|label| label.name() == "outcome" && label.value() == outcome)
        })
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

const AGENTS: [&str; 2] = [
    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b",
];
const CODES: [&str; 3] = [
    "1ccb1c09-9495-4034-b377-b809f58d17da",
    "7fb334b0-0e9e-11e4-9191-0800200c9a66",
    "ININ-WRAP-UP-TIMEOUT",
];

fn webhook(n: usize, conversation_id: uuid::Uuid) -> serde_json::Value {
    // Read once: the load generator should not measure the file system.
    static TEMPLATE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let mut body = TEMPLATE
        .get_or_init(|| helpers::example("support-result-voice-inbound.json"))
        .clone();
    body["conversationId"] = conversation_id.to_string().into();
    body["ani"] = caller(n).into();
    body["userId"] = AGENTS[n % AGENTS.len()].into();
    body["wrapupCode"] = CODES[n % CODES.len()].into();
    body
}

/// The load generator, as lean as pgbench's client so the machine's CPU goes to what is measured:
/// `concurrency` keep-alive HTTP/1.1 connections (hyper's connection API: no client pool, URL
/// parsing or middleware per request), each posting the next prepared body as soon as its last
/// one was answered. Bodies are serialised before the clock starts, as pgbench parses its script
/// once. Answers each request's latency.
async fn post_all(address: &str, token: &str, bodies: Vec<bytes::Bytes>, concurrency: usize) -> Vec<Duration> {
    use http_body_util::BodyExt;
    let host = address.trim_start_matches("http://").to_owned();
    let authorization = format!("Bearer {token}");
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bodies = std::sync::Arc::new(bodies);
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (host, authorization, next, bodies) =
                (host.clone(), authorization.clone(), next.clone(), bodies.clone());
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(connection);
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else { return latencies };
                    let request = hyper::Request::post("/customers/supportResult")
                        .header(hyper::header::HOST, &host)
                        .header(hyper::header::AUTHORIZATION, &authorization)
                        .header(hyper::header::CONTENT_TYPE, "application/json")
                        .body(http_body_util::Full::new(body.clone()))
                        .unwrap();
                    let sent = Instant::now();
                    let response = sender.send_request(request).await.unwrap();
                    let status = response.status().as_u16();
                    // Read to the end, so the connection can carry the next request.
                    response.into_body().collect().await.unwrap();
                    assert_eq!(status, 202);
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    latencies
}

/// [`post_all`] on a thread of its own (one event loop, as pgbench runs its clients on `-j`
/// threads), so that the CPU it costs can be told apart from the services': answers the
/// latencies and the thread's CPU seconds.
async fn post_all_apart(
    address: &str,
    token: &str,
    bodies: Vec<bytes::Bytes>,
    concurrency: usize,
) -> (Vec<Duration>, f64) {
    let (address, token) = (address.to_owned(), token.to_owned());
    let generator = std::thread::Builder::new()
        .name("load-generator".to_owned())
        .spawn(move || {
            let latencies = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(post_all(&address, &token, bodies, concurrency));
            (latencies, this_thread_cpu_seconds())
        })
        .unwrap();
    tokio::task::spawn_blocking(move || generator.join().unwrap())
        .await
        .unwrap()
}

/// When the last record was written, as result-ingest knows it: its event's settlement as
/// processed (`processed_at`, in result-ingest's own database, right after comm-history-writer
/// answered). A bench reads no other service's schema.
async fn last_record_written_at(p: &helpers::Pipeline) -> time::OffsetDateTime {
    use diesel::dsl::max;
    use diesel::prelude::*;
    use result_ingest::schema::inbox_events::dsl;
    let latest: Option<service_kit::database::sql_types::DbTimestamp> = p
        .ingest
        .pool()
        .run(|c| {
            dsl::inbox_events
                .select(max(dsl::processed_at))
                .first(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    latest
        .expect("records were written")
        .into_domain()
        .unwrap()
        .as_offset_date_time()
}

/// The inbox's updates so far, and how many of them were heap-only (HOT: no index entry written).
async fn inbox_updates(p: &helpers::Pipeline) -> (i64, i64) {
    #[derive(diesel::QueryableByName)]
    struct Updates {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        updates: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        hot: i64,
    }
    use diesel::RunQueryDsl;
    p.ingest
        .pool()
        .run(|c| {
            // Statistics reach the view within a second (PostgreSQL 15 flushes them when idle).
            std::thread::sleep(Duration::from_millis(1100));
            diesel::sql_query(
                "SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables \
                 WHERE relname = 'inbox_events'",
            )
            .get_result::<Updates>(c)
            .map(|u| (u.updates, u.hot))
            .map_err(DatabaseError::from)
        })
        .await
        .unwrap()
}

/// CPU seconds spent so far, read from /proc (Linux): this process (the services, their workers
/// and the load generator, whose own share `post_all_apart` reads), its reaped children
/// (pgbench), and every `postgres` process (exited backends count through the postmaster's
/// reaped-children time).
#[derive(Clone, Copy, Default)]
struct CpuTime {
    ours: f64,
    children: f64,
    postgres: f64,
}

/// CPU seconds from a `/proc/…/stat` line: its own (user + system) and its reaped children's.
fn stat_times(stat: &str) -> Option<(f64, f64)> {
    static TICKS_PER_SECOND: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS_PER_SECOND.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    // Fields after the command name: utime, stime, cutime, cstime are the 12th to 15th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    Some(((field(11) + field(12)) / ticks, (field(13) + field(14)) / ticks))
}

/// The CPU seconds the calling thread has spent.
fn this_thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .as_deref()
        .and_then(stat_times)
        .map_or(0.0, |(own, _)| own)
}

impl CpuTime {
    fn now() -> Self {
        let mut cpu = Self::default();
        if let Some((own, children)) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(stat_times)
        {
            cpu.ours = own;
            cpu.children = children;
        }
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let dir = entry.path();
            let is_postgres = std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres");
            if let Some((own, children)) = is_postgres
                .then(|| std::fs::read_to_string(dir.join("stat")).ok())
                .flatten()
                .as_deref()
                .and_then(stat_times)
            {
                cpu.postgres += own + children;
            }
        }
        cpu
    }

    fn plus(self, other: Self) -> Self {
        Self {
            ours: self.ours + other.ours,
            children: self.children + other.children,
            postgres: self.postgres + other.postgres,
        }
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            ours: self.ours - earlier.ours,
            children: self.children - earlier.children,
            postgres: self.postgres - earlier.postgres,
        }
    }
}

/// The CPUs a process may run on (`Cpus_allowed_list` in `/proc/<pid>/status`), to print which
/// shape was measured: everything sharing every CPU, or PostgreSQL on CPUs of its own
/// (`scripts/bench-ingest-split.sh`).
fn cpus_allowed(process: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(process.join("status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|list| list.trim().to_owned())
}

/// How many CPUs a `Cpus_allowed_list` names ("0", "0-1", "0,2-3").
fn cpu_count(list: &str) -> Option<f64> {
    list.split(',').try_fold(0.0, |count, part| {
        let width = match part.trim().split_once('-') {
            Some((first, last)) => last.parse::<u32>().ok()?.checked_sub(first.parse().ok()?)? + 1,
            None => part.trim().parse::<u32>().map(|_| 1).ok()?,
        };
        Some(count + f64::from(width))
    })
}

fn postgres_cpus() -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|dir| std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .and_then(|dir| cpus_allowed(&dir))
}

/// A PostgreSQL client binary (`psql`, `pgbench`) of the benchmark's cluster, as `PG_BIN` names it.
fn pg_tool(name: &str) -> Command {
    let bin = std::env::var("PG_BIN").map(|b| format!("{b}/")).unwrap_or_default();
    Command::new(format!("{bin}{name}"))
}

/// Runs `sql` on the benchmark's cluster with psql; its output, or `None` when psql failed.
fn psql(sql: &str) -> Option<String> {
    let admin = std::env::var("TEST_DATABASE_URL").ok()?;
    let output = pg_tool("psql").args([admin.as_str(), "-tAqc", sql]).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Lets the cluster settle before a measured phase, so that neither phase pays for the other's
/// leftovers: waits (up to a minute) until no autovacuum worker runs, then writes a checkpoint.
fn quiesce() {
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up
        && psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
            .is_some_and(|workers| workers != "0")
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    psql("CHECKPOINT");
}

/// What a pgbench run did: transactions per second, how many, and the CPU they took.
struct Ceiling {
    tps: f64,
    transactions: f64,
    cpu: CpuTime,
}

/// pgbench: one durable single-row insert per transaction at `clients`.
fn pgbench_ceiling(clients: usize, seconds: usize) -> Option<Ceiling> {
    let admin = std::env::var("TEST_DATABASE_URL").ok()?;
    psql("CREATE TABLE IF NOT EXISTS pgbench_inbox (id uuid PRIMARY KEY, payload text NOT NULL)")?;
    let script = std::env::temp_dir().join("ccbridge-pgbench.sql");
    std::fs::write(
        &script,
        "INSERT INTO pgbench_inbox VALUES (gen_random_uuid(), repeat('x', 400));\n",
    )
    .ok()?;
    quiesce();
    let before = CpuTime::now();
    let output = pg_tool("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(&admin)
        .output()
        .ok()?;
    let cpu = CpuTime::now().since(before);
    psql("DROP TABLE pgbench_inbox");
    let text = String::from_utf8_lossy(&output.stdout);
    let number = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    Some(Ceiling {
        tps: number("tps = ")?,
        transactions: number("number of transactions actually processed:")?,
        cpu,
    })
}

/// Logs as production writes them (JSON at `info`), into `bench-ingest.log` in cargo's scratch
/// directory for benchmarks (`target/tmp`, wherever `CARGO_TARGET_DIR` puts the target) rather
/// than the tests' in-memory capture at `debug`, which would make the benchmark measure itself.
fn production_logs() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-ingest.log");
    let file = std::fs::File::create(&path).unwrap();
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(service_kit::telemetry::json_log_layer(std::sync::Mutex::new(
            std::io::LineWriter::new(file),
        )))
        .init();
}

#[tokio::main]
async fn main() {
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("bench-ingest measures PostgreSQL: run it with `just bench-ingest`");
        std::process::exit(2);
    }
    production_logs();
    let events = setting("BENCH_EVENTS", 20000);
    let concurrency = setting("BENCH_CONCURRENCY", 32);
    let pgbench_seconds = setting("BENCH_PGBENCH_SECONDS", 10);
    let mut overrides = ingest_overrides();
    let content = content_mode();
    let mut gateway_overrides = Vec::new();
    if content != ContentMode::Off {
        overrides.push(("ingest.content.channels", "VOICE"));
    }
    if content == ContentMode::Unthrottled {
        gateway_overrides.extend([
            ("genesys.rate_limit_per_minute", "60000000"),
            ("genesys.rate_limit_burst", "100000"),
        ]);
    }
    let p = helpers::pipeline_with_gateway(&overrides, &gateway_overrides).await;
    let conversations: Vec<uuid::Uuid> = (0..events + events / 2).map(|_| uuid::Uuid::new_v4()).collect();
    let content_registry = prometheus::Registry::new();
    if content != ContentMode::Off {
        record_calls_in_sim(&p, &conversations[..events]).await;
    }
    // Workers start after the accept phase when BENCH_ACCEPT_ONLY=1 (to see the webhook alone).
    let accept_only = std::env::var("BENCH_ACCEPT_ONLY").is_ok_and(|v| v == "1");
    let background = service_kit::background::Background::new(std::sync::Arc::new(
        service_kit::background::TaskHealth::new(std::time::Duration::from_secs(300)),
    ));
    let start_workers = || {
        for _ in 0..setting("BENCH_WORKERS", 2) {
            let worker = result_ingest::worker(
                &p.ingest.settings,
                p.ingest.pool().clone(),
                &prometheus::Registry::new(),
            )
            .unwrap();
            background.spawn("ingest_inbox", |shutdown, health| worker.run(shutdown, health));
        }
    };
    if !accept_only {
        start_workers();
    }
    if content != ContentMode::Off {
        let settings = result_ingest::ingest_settings(&p.ingest.settings).unwrap();
        let runner = result_ingest::content::runner(p.ingest.pool().clone(), &settings, &content_registry).unwrap();
        background.spawn("ingest_content", |shutdown, health| runner.run(shutdown, health));
    }

    // The ceiling is measured before and after the run, half the time each, and the ratios use
    // their mean: on a shared machine the ceiling drifts from minute to minute.
    let ceiling_seconds = pgbench_seconds.div_ceil(2).max(1);
    let ceiling_before = pgbench_ceiling(concurrency, ceiling_seconds);

    // Peak: as fast as `concurrency` clients can post.
    let bodies: Vec<bytes::Bytes> = (0..events)
        .map(|n| serde_json::to_vec(&webhook(n, conversations[n])).unwrap().into())
        .collect();
    let sim_calls_before = p.sim.calls();
    quiesce();
    let started = Instant::now();
    let started_wall = time::OffsetDateTime::now_utc();
    let cpu_before = CpuTime::now();
    let (mut latencies, load_generator_cpu) =
        post_all_apart(&p.ingest.address, p.ingest.token(helpers::GENESYS), bodies, concurrency).await;
    let accept_time = started.elapsed();
    let accept_cpu = CpuTime::now().since(cpu_before);
    latencies.sort();
    if accept_only {
        start_workers();
    }
    let accepted_per_second = events as f64 / accept_time.as_secs_f64();
    // Polled slowly (a count is a scan the pipeline would pay for); the time of the last record
    // is the writer's own timestamp, so the polling interval does not blur it.
    while p.record_count().await < events as i64 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "records stopped appearing"
        );
    }
    let peak_cpu = CpuTime::now().since(cpu_before);
    let last_record_at: Duration = (last_record_written_at(&p).await - started_wall).try_into().unwrap();
    let (inbox_updates, inbox_hot_updates) = inbox_updates(&p).await;
    let genesys_calls = p.sim.calls_to("users") + p.sim.calls_to("wrapupcodes") + p.sim.calls_to("token");
    let bodies_by_last_record = content_ended(&content_registry, "added");
    let content_calls = |calls: &std::collections::BTreeMap<&'static str, u64>| {
        [
            "analytics.conversations.details",
            "speechandtextanalytics.transcripturl",
        ]
        .iter()
        .map(|endpoint| calls.get(endpoint).copied().unwrap_or(0))
        .sum::<u64>()
    };
    // With the budget lifted, every transcript is waited for (its time is the content's own
    // end to end); with the shipped budget most wait for their turn long after the run.
    let bodies_all_set_after = if content == ContentMode::Unthrottled {
        while content_ended(&content_registry, "added") < events as u64 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert!(
                started.elapsed() < Duration::from_secs(1200),
                "bodies stopped appearing: {} of {events}",
                content_ended(&content_registry, "added")
            );
        }
        Some(started.elapsed())
    } else {
        None
    };
    let content_cpu = CpuTime::now().since(cpu_before);
    let sim_calls_after = p.sim.calls();
    let content_requests = content_calls(&sim_calls_after) - content_calls(&sim_calls_before);
    // The paced phase starts on an idle pipeline (the records above are all written).

    // Half the peak rate, paced: the accept latency a steady load sees.
    let half_rate = (accepted_per_second / 2.0).max(1.0);
    let paced_events = events / 2;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / half_rate));
    let mut paced = Vec::with_capacity(paced_events);
    for n in 0..paced_events {
        ticker.tick().await;
        let body = webhook(events + n, conversations[events + n]);
        let client = p.ingest.client.clone();
        let url = p.ingest.url("/customers/supportResult");
        let token = p.ingest.token(helpers::GENESYS).to_owned();
        paced.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), 202);
            sent.elapsed()
        }));
    }
    let mut paced_latencies = Vec::new();
    for task in paced {
        paced_latencies.push(task.await.unwrap());
    }
    paced_latencies.sort();

    let ceiling_after = pgbench_ceiling(concurrency, ceiling_seconds);
    println!("result-ingest on PostgreSQL: {events} webhooks at concurrency {concurrency}");
    println!(
        "  CPUs: PostgreSQL {}; services, load generator and pgbench's client {}",
        postgres_cpus().as_deref().unwrap_or("unknown"),
        cpus_allowed(std::path::Path::new("/proc/self"))
            .as_deref()
            .unwrap_or("unknown")
    );
    println!("  accepted per second                {accepted_per_second:>10.0}");
    println!(
        "  accept latency p50 / p99 / max     {:?} / {:?} / {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "  records per second (end to end)    {:>10.0}",
        events as f64 / last_record_at.as_secs_f64()
    );
    println!("  last record written after          {last_record_at:?}");
    println!(
        "  inbox updates (claims, settlements) {inbox_updates:>9}, heap-only (no index written) {inbox_hot_updates}"
    );
    println!(
        "  Genesys calls per 1,000 events     {:>10.2}",
        genesys_calls as f64 * 1000.0 / events as f64
    );
    match content {
        ContentMode::Off => println!("  content (BENCH_CONTENT)                   off"),
        ContentMode::Budgeted | ContentMode::Unthrottled => {
            let minutes = started.elapsed().as_secs_f64() / 60.0;
            println!(
                "  content ({content:?}): bodies set by the last record {bodies_by_last_record} of {events}; Genesys content requests {content_requests} ({:.0} a minute)",
                content_requests as f64 / minutes
            );
            if let Some(after) = bodies_all_set_after {
                println!(
                    "  content: every body set after {after:?}; Genesys requests per 1,000 conversations {:.0}; CPU per conversation until then {:.0} µs PostgreSQL, {:.0} µs ours",
                    content_requests as f64 * 1000.0 / events as f64,
                    content_cpu.postgres * 1e6 / events as f64,
                    content_cpu.ours * 1e6 / events as f64
                );
            }
        }
    }
    println!(
        "  at half the peak ({half_rate:.0}/s): accept p50 / p99 / max  {:?} / {:?} / {:?}",
        percentile(&paced_latencies, 0.5),
        percentile(&paced_latencies, 0.99),
        paced_latencies[paced_latencies.len() - 1]
    );
    // CPU per event over the peak phase, until the last record was seen (the polling sleeps):
    // what each event cost the machine, less sensitive to a noisy neighbour than the rates.
    // The load generator runs in the accept phase only. On loopback the kernel delivers a segment
    // in the sender's time, so each side is charged part of the other's receiving: the split
    // between services and load generator is approximate, their sum is not.
    let per_event = |seconds: f64| seconds * 1e6 / events as f64;
    println!(
        "  CPU per event, accept phase        {:>6.0} µs PostgreSQL, {:.0} µs services, {:.0} µs load generator",
        per_event(accept_cpu.postgres),
        per_event(accept_cpu.ours - load_generator_cpu),
        per_event(load_generator_cpu)
    );
    println!(
        "  CPU per event, until the last record {:>4.0} µs PostgreSQL, {:.0} µs services, {:.0} µs load generator",
        per_event(peak_cpu.postgres),
        per_event(peak_cpu.ours - load_generator_cpu),
        per_event(load_generator_cpu)
    );
    match ceiling_before.zip(ceiling_after) {
        Some((before, after)) => {
            let tps = (before.tps + after.tps) / 2.0;
            let transactions = before.transactions + after.transactions;
            let cpu = before.cpu.plus(after.cpu);
            println!(
                "  pgbench single-row insert ceiling  {tps:>10.0} tps at {concurrency} clients (before the run {:.0}, after it {:.0})",
                before.tps, after.tps
            );
            println!(
                "  CPU per pgbench transaction        {:>6.0} µs PostgreSQL, {:.0} µs pgbench",
                cpu.postgres * 1e6 / transactions,
                cpu.children * 1e6 / transactions
            );
            println!(
                "  accepted / ceiling                 {:>10.2}",
                accepted_per_second / tps
            );
            println!(
                "  end to end / ceiling               {:>10.2}",
                events as f64 / last_record_at.as_secs_f64() / tps
            );
            // What the ratios would be with PostgreSQL alone on the machine (the production
            // shape: the stateless services run elsewhere): how many of our events its CPU pays
            // for per pgbench transaction. A projection from CPU time, not a measured rate.
            let pgbench_postgres = cpu.postgres / transactions;
            println!(
                "  PostgreSQL CPU, pgbench transaction ÷ accepted event {:>5.2} (accept phase), {:.2} (until the last record)",
                pgbench_postgres / (accept_cpu.postgres / events as f64),
                pgbench_postgres / (peak_cpu.postgres / events as f64)
            );
            // How busy each side's CPUs were, and the most the accept rate could be at the CPU
            // it cost per event with every CPU busy: while the workers keep pace, accepted /
            // ceiling cannot pass that bound (the lower of the two sides' when they are split),
            // however the webhook batches.
            let postgres_cpus = postgres_cpus();
            let our_cpus = cpus_allowed(std::path::Path::new("/proc/self"));
            let counts = postgres_cpus
                .as_deref()
                .and_then(cpu_count)
                .zip(our_cpus.as_deref().and_then(cpu_count));
            if let Some((postgres_count, our_count)) = counts {
                let accept_seconds = accept_time.as_secs_f64();
                let seconds_per_event = |seconds: f64| seconds / events as f64;
                println!(
                    "  CPUs busy: PostgreSQL {:.2} under pgbench, {:.2} in the accept phase; ours {:.2} in it",
                    cpu.postgres / (transactions / tps),
                    accept_cpu.postgres / accept_seconds,
                    accept_cpu.ours / accept_seconds
                );
                if postgres_cpus == our_cpus {
                    println!(
                        "  accepted / ceiling with all {postgres_count:.0} CPUs busy at this cost per event {:>5.2}",
                        postgres_count / seconds_per_event(accept_cpu.postgres + accept_cpu.ours) / tps
                    );
                } else {
                    println!(
                        "  accepted / ceiling with a side's CPUs all busy at its cost per event {:>5.2} PostgreSQL ({postgres_count:.0}), {:.2} ours ({our_count:.0}: services and load generator)",
                        postgres_count / seconds_per_event(accept_cpu.postgres) / tps,
                        our_count / seconds_per_event(accept_cpu.ours) / tps
                    );
                }
            }
        }
        None => println!("  pgbench not available: no ceiling measured"),
    }
}
