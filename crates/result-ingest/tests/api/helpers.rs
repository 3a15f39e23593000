use contracts::participant::Retentions;
use domain::Timestamp;
use gdpr_participant::stand_in::Orchestrator;
use genesys_sim::SimState;
use result_ingest::sweep::Sweeper;
use result_ingest::worker::Worker;
use serde_json::Value;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;
use test_support::stack::{Service, StackBuilder, StackServices};
use test_support::{CapturedLogs, TestApp};

#[allow(unused_imports)] // the benches include this file and use fewer
pub use test_support::stack::callers::{BOFE, GENESYS, OPERATOR, ORCHESTRATOR, PAIRING_TOKEN};

pub fn example(name: &str) -> Value {
    test_support::fixture(name)
}

/// Every log line of this test binary (debug level, JSON), unless `TEST_LOG` shows them instead.
static LOGS: OnceLock<Option<CapturedLogs>> = OnceLock::new();

fn capture_logs() {
    LOGS.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            return None;
        }
        // Another test binary (trace.rs) installs its own subscriber first: nothing to capture there.
        CapturedLogs::install_global()
    });
}

/// The personal data the examples and the simulator's seed carry: phone numbers, e-mail
/// addresses, agents' names, subjects.
const PERSONAL_DATA: [&str; 7] = [
    "420601123456",
    "client@example.com",
    "Jana Nov",
    "jana.novakova",
    "Petr Svoboda",
    "petr.svoboda",
    "Your card replacement",
];

pub struct Pipeline {
    pub ingest: TestApp,
    pub pairing: TestApp,
    pub writer: TestApp,
    /// Kept so the gateway outlives the test.
    pub _gateway: TestApp,
    pub sim: Arc<SimState>,
    pub sim_url: String,
    pub worker: Worker,
    /// The sweeper, driven by hand, and the registry of its metrics.
    pub sweeper: Sweeper,
    pub sweeper_metrics: prometheus::Registry,
    /// interaction-pairing's outbox, driven by hand.
    pub outbox: Outbox,
    /// gdpr-orchestrator's retentions route, a stand-in result-ingest asks before anything past
    /// its retention goes: no legal hold in force until a test says otherwise.
    pub orchestrator: Orchestrator,
}

/// result-ingest's token at the stand-in orchestrator.
pub const ORCHESTRATOR_TOKEN: &str = "result-ingest-at-the-orchestrator-0123";

/// interaction-pairing's outbox runner, driven by hand.
pub struct Outbox(interaction_pairing::worker::OutboxRunner);

impl Outbox {
    /// One pass at `now`; answers how many entries it claimed.
    pub async fn try_execute_task(&self, now: Timestamp) -> anyhow::Result<usize> {
        Ok(self.0.pass(now).await?.claimed)
    }
}

/// The services of test-support's stack, from this crate's dev-dependencies.
pub fn services() -> StackServices {
    StackServices {
        gateway: &genesys_gateway::SERVICE,
        writer: &comm_history_writer::SERVICE,
        pairing: &interaction_pairing::SERVICE,
        ingest: &result_ingest::SERVICE,
        orchestrator: None,
    }
}

/// Starts comm-history-writer as the stack does, on the reserved port when given.
pub async fn start_writer(port: Option<test_support::ReservedPort>) -> TestApp {
    start_writer_with(port, &[]).await
}

/// Starts comm-history-writer with settings of the test's own.
pub async fn start_writer_with(port: Option<test_support::ReservedPort>, settings: &[(&'static str, &str)]) -> TestApp {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    test_support::stack::start_writer(&comm_history_writer::SERVICE, port, &settings).await
}

/// How many requests a service's `/metrics` text counts on `endpoint` (a route pattern), with
/// `status` or any.
pub fn requests_counted(metrics: &str, endpoint: &str, status: Option<&str>) -> u64 {
    let endpoint = format!("endpoint=\"{endpoint}\"");
    let status = status.map(|s| format!("status=\"{s}\""));
    metrics
        .lines()
        .filter(|line| line.starts_with("ccbridge_http_requests_total{") && line.contains(&endpoint))
        .filter(|line| status.as_ref().is_none_or(|s| line.contains(s.as_str())))
        .map(|line| line.rsplit(' ').next().unwrap_or_default().parse::<u64>().unwrap_or(0))
        .sum()
}

/// result-ingest as its own process, a second replica on the in-process one's database, on
/// `port` (any when none), with `extra` environment (`APP__…`) over the test's settings.
pub fn start_replica(p: &Pipeline, port: Option<u16>, extra: &[(&str, &str)]) -> std::process::Child {
    use secrecy::ExposeSecret;
    let ingest = &p.ingest.settings;
    let section = result_ingest::ingest_settings(ingest).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_result-ingest"))
        .env_clear()
        .env("APP__APPLICATION__PORT", port.unwrap_or(0).to_string())
        .env("APP__DATABASE__URL", ingest.database.url.expose_secret())
        .env("APP__AUTH__CALLERS__OPS__TOKEN", "ops-token-0123456789abcdef")
        .env("APP__AUTH__CALLERS__OPS__SCOPES", "ingest:operate")
        .env("APP__INGEST__GATEWAY_URL", section.gateway_url.as_str())
        .env("APP__INGEST__PAIRING_URL", section.pairing_url.as_str())
        .env("APP__INGEST__COMM_HISTORY_URL", section.comm_history_url.as_str())
        .env("APP__INGEST__INTERNAL_TOKEN", section.internal_token.expose_secret())
        .env("APP__INGEST__BATCH_SIZE", "8")
        .env("APP__INGEST__POLL_INTERVAL_MS", "20")
        .env("APP__APPLICATION__ENVIRONMENT", "development")
        .env("APP__INGEST__LEASE_SECONDS", "3")
        .env("APP__INGEST__REQUEST_TIMEOUT_MS", "400")
        .env("APP__INGEST__BACKOFF_MIN_MS", "10")
        .env("APP__INGEST__BACKOFF_MAX_MS", "100")
        .env("APP__TELEMETRY__LOG_FILTER", "error")
        .envs(extra.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("result-ingest starts")
}

/// The whole pipeline with the worker stopped (tests drain it by hand); `ingest_overrides` adjust
/// result-ingest, `writer_url` replaces the writer's address (to start with it down).
pub async fn pipeline_with(ingest_overrides: &[(&'static str, &str)], writer_url: Option<String>) -> Pipeline {
    start_pipeline(ingest_overrides, &[], writer_url, false).await
}

/// The whole pipeline with the worker stopped, result-ingest and genesys-gateway adjusted.
pub async fn pipeline_with_gateway(
    ingest_overrides: &[(&'static str, &str)],
    gateway_overrides: &[(&'static str, &str)],
) -> Pipeline {
    start_pipeline(ingest_overrides, gateway_overrides, None, false).await
}

/// The whole pipeline, with genesys-sim playing Genesys' trigger: each conversation recorded
/// with `POST /admin/conversations` is posted to result-ingest's webhook (unless the fault
/// `webhookDropPercent` drops it).
pub async fn pipeline_with_trigger(ingest_overrides: &[(&'static str, &str)]) -> Pipeline {
    start_pipeline(ingest_overrides, &[], None, true).await
}

async fn start_pipeline(
    ingest_overrides: &[(&'static str, &str)],
    gateway_overrides: &[(&'static str, &str)],
    writer_url: Option<String>,
    trigger: bool,
) -> Pipeline {
    capture_logs();
    let orchestrator = Orchestrator::start(ORCHESTRATOR_TOKEN, Some(Retentions::default())).unwrap();
    let asking = [
        ("ingest.orchestrator_url", orchestrator.url.to_string()),
        ("ingest.orchestrator_token", ORCHESTRATOR_TOKEN.to_owned()),
    ];
    let mut builder = StackBuilder::new(services())
        .set_all(Service::Ingest, asking)
        .set_all(Service::Ingest, ingest_overrides.iter().copied())
        .set_all(Service::Gateway, gateway_overrides.iter().copied());
    if trigger {
        builder = builder.trigger();
    }
    if let Some(url) = writer_url {
        builder = builder.writer_url(url);
    }
    let stack = builder.start().await;
    let outbox = Outbox(
        interaction_pairing::worker::runner(
            stack.pairing.pool().clone(),
            &stack.pairing.settings,
            &prometheus::Registry::new(),
        )
        .unwrap(),
    );
    let ingest = stack.ingest;
    let worker = result_ingest::worker(&ingest.settings, ingest.pool().clone(), &prometheus::Registry::new()).unwrap();
    let sweeper_metrics = prometheus::Registry::new();
    let sweeper = result_ingest::sweeper(&ingest.settings, ingest.pool().clone(), &sweeper_metrics).unwrap();
    Pipeline {
        ingest,
        pairing: stack.pairing,
        writer: stack.writer,
        _gateway: stack.gateway,
        sim: stack.sim,
        sim_url: stack.sim_url,
        worker,
        sweeper,
        sweeper_metrics,
        outbox,
        orchestrator,
    }
}

pub async fn pipeline() -> Pipeline {
    pipeline_with(&[], None).await
}

impl Pipeline {
    /// Every service's `/metrics` counts requests by route pattern and status, and no label holds
    /// personal data or an id from a path.
    pub async fn assert_metrics_are_labelled_by_route(&self) {
        for app in [&self.ingest, &self.writer, &self.pairing, &self._gateway] {
            let metrics = app.metrics().await;
            assert!(metrics.contains("ccbridge_http_requests_total"), "{metrics}");
            assert!(metrics.contains("ccbridge_http_requests_duration_seconds_bucket"));
            for value in PERSONAL_DATA.iter().chain(["5773eca4", "2b0e4c55"].iter()) {
                assert!(!metrics.contains(value), "a metric label holds {value}");
            }
        }
        let ingest = self.ingest.metrics().await;
        assert!(ingest.contains("endpoint=\"/customers/supportResult\""), "{ingest}");
        let pairing = self.pairing.metrics().await;
        assert!(pairing.contains("endpoint=\"/internal/pairings/lookup\""), "{pairing}");
    }

    /// Every log line of the whole run so far; `None` when `TEST_LOG` shows them instead.
    pub fn logs(&self) -> Option<String> {
        if std::env::var_os("TEST_LOG").is_some() {
            return None;
        }
        Some(
            LOGS.get()
                .and_then(Option::as_ref)
                .expect("the log capture is installed")
                .text(),
        )
    }

    /// No log line of the whole run so far holds any of the test's personal data.
    pub fn assert_no_personal_data_logged(&self) {
        let Some(logs) = self.logs() else {
            return;
        };
        assert!(logs.contains("\"level\":\"INFO\""), "no logs were captured");
        for value in PERSONAL_DATA {
            let line = logs.lines().find(|l| l.contains(value));
            assert!(
                line.is_none(),
                "a log line holds personal data: {}",
                line.unwrap_or_default()
            );
        }
    }

    pub async fn pair(&self, body: &Value) {
        let response = self
            .pairing
            .post_json("/customers/supportInteraction", BOFE, body)
            .await;
        assert!(response.status().is_success());
    }

    pub async fn deliver(&self, body: &Value) -> reqwest::Response {
        self.ingest.post_json("/customers/supportResult", GENESYS, body).await
    }

    /// Runs the worker until no event is pending, moving its clock on to each backoff's or
    /// `Retry-After`'s end instead of waiting it out; gives up after `seconds` of wall-clock
    /// time (a bound, not a speed target: the test then fails on what it finds).
    pub async fn drain(&self, seconds: u64) {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut now = Timestamp::now();
        while tokio::time::Instant::now() < give_up {
            now = now.max(Timestamp::now());
            if self.worker.try_execute_task(now).await.unwrap() > 0 {
                continue;
            }
            let pending = self.events("pending").await;
            // What is pending is due when its backoff, a sibling's Retry-After or a lease ends.
            let Some(due) = pending
                .iter()
                .filter_map(|event| event["nextAttemptAt"].as_str())
                .map(|at| Timestamp::parse(at).unwrap())
                .min()
            else {
                return;
            };
            if due <= now {
                // Due, yet not claimed: another hand holds it; let it go on.
                tokio::task::yield_now().await;
            }
            now = now.max(due);
        }
    }

    /// Records an ended conversation in genesys-sim (which plays the trigger when configured to);
    /// answers the sim's 201 body.
    pub async fn record_conversation(&self, body: &Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/admin/conversations", self.sim_url))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    /// Sweeper passes at `now` until one finds nothing due (at most 1,000); answers how many
    /// pages they spent requests on.
    pub async fn sweep(&self, now: Timestamp) -> usize {
        let mut pages = 0;
        for _ in 0..1000 {
            match self.sweeper.try_execute_task(now).await.unwrap() {
                0 => return pages,
                taken => pages += taken,
            }
        }
        panic!("the sweep never ran out of due pages");
    }

    /// What the hand-driven sweeper counted with `outcome` (`recovered`, `confirmed`, …).
    pub fn sweep_results(&self, outcome: &str) -> u64 {
        sweep_results_in(&self.sweeper_metrics, outcome)
    }

    /// Runs the worker as if it were `now` (a test's clock ahead of the wall clock) until a pass
    /// finds nothing due.
    pub async fn drain_at(&self, now: Timestamp) {
        for _ in 0..1000 {
            if self.worker.try_execute_task(now).await.unwrap() == 0 {
                return;
            }
        }
        panic!("the inbox never ran dry");
    }

    pub async fn events(&self, status: &str) -> Vec<Value> {
        let response = self
            .ingest
            .get(&format!("/ingest/events?status={status}&limit=500"), OPERATOR)
            .await;
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }

    /// Exactly `count` events wait to be retried, each because of `reason`; none is dead.
    pub async fn assert_pending_because(&self, count: usize, reason: &str) {
        let pending = self.events("pending").await;
        assert_eq!(pending.len(), count, "{pending:?}");
        assert!(pending.iter().all(|e| e["lastError"] == reason), "{pending:?}");
        assert!(self.events("dead").await.is_empty());
    }

    /// Processed inbox events as stored: (event id, record id, whether `processed_at` is set).
    pub async fn processed_events(&self) -> Vec<(uuid::Uuid, Option<uuid::Uuid>, bool)> {
        use diesel::prelude::*;
        use result_ingest::schema::inbox_events::dsl;
        use service_kit::database::sql_types::{DbTimestamp, DbUuid};
        let rows: Vec<(DbUuid, Option<DbUuid>, Option<DbTimestamp>)> = self
            .ingest
            .pool()
            .run(|c| {
                dsl::inbox_events
                    .filter(dsl::status.eq("processed"))
                    .select((dsl::id, dsl::record_id, dsl::processed_at))
                    .load(c)
                    .map_err(service_kit::database::DatabaseError::from)
            })
            .await
            .unwrap();
        rows.into_iter()
            .map(|(id, record_id, processed_at)| (id.0, record_id.map(|r| r.0), processed_at.is_some()))
            .collect()
    }

    /// How many records comm-history-writer holds.
    pub async fn record_count(&self) -> i64 {
        self.writer
            .pool()
            .run(|c| comm_history_writer::store::count(c).map_err(service_kit::database::DatabaseError::from))
            .await
            .unwrap()
    }

    pub async fn records_of_interaction(&self, interaction_id: &str) -> Vec<Value> {
        records_in(&self.writer, interaction_id).await
    }
}

/// What a sweeper whose metrics are in `registry` counted with `outcome`.
pub fn sweep_results_in(registry: &prometheus::Registry, outcome: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == "ccbridge_ingest_sweep_results_total")
        .flat_map(|family| family.get_metric())
        .filter(|metric| metric.get_label().iter().any(|l| l.value() == outcome))
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

/// The interaction's records, as `writer` lists them.
pub async fn records_in(writer: &TestApp, interaction_id: &str) -> Vec<Value> {
    let response = writer
        .get(&format!("/communicationRecords?interactionId={interaction_id}"), BOFE)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// A record without what the writer adds (its id, how its customer was found, createdAt).
pub fn attributes(record: &Value) -> Value {
    let mut attributes = record.clone();
    attributes
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "id" && k != "customerSource" && k != "createdAt");
    attributes
}

/// Claims up to 10 inbox events due at `at` for a minute, as a worker's runner would (through the
/// inbox's queue storage).
pub async fn claim_inbox(
    p: &Pipeline,
    at: Timestamp,
) -> Vec<service_kit::queue::Claimed<result_ingest::inbox::InboxEvent>> {
    use service_kit::queue::Storage as _;
    let lease_until = Timestamp::from_offset_date_time(at.as_offset_date_time() + Duration::from_secs(60)).unwrap();
    let claim = service_kit::queue::Claim {
        now: at,
        limit: 10,
        lease_until,
    };
    p.ingest
        .pool()
        .run(move |c| {
            result_ingest::inbox::InboxQueue::default()
                .claim(c, claim)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap()
}

/// Settles claimed event `id` leased until `lease_until` as a runner would; answers how many
/// rows that settled (0: the lease was no longer the claim's).
pub async fn settle_inbox(
    p: &Pipeline,
    id: uuid::Uuid,
    lease_until: Timestamp,
    settle: service_kit::queue::Settle,
) -> usize {
    use service_kit::queue::Storage as _;
    let settlement = service_kit::queue::Settlement {
        id,
        lease_until,
        settle,
        settled_at: Timestamp::now(),
        result: None,
    };
    p.ingest
        .pool()
        .run(move |c| {
            result_ingest::inbox::InboxQueue::default()
                .settle(c, &[settlement])
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap()
}
