//! The whole ccbridge stack on real servers and databases (genesys-sim in Genesys Cloud's place),
//! with the ingest and GDPR workers driven by hand so tests choose the clock.

use domain::Timestamp;
use genesys_sim::SimState;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use test_support::stack::{Service, StackBuilder, StackServices};
use test_support::{CapturedLogs, TestApp};

pub use test_support::stack::callers::{BOFE, DPO, GENESYS, OPERATOR};
/// The person who confirms what `DPO` files (four eyes).
pub const REVIEWER: &str = "Second DPO";
/// result-ingest's caller on the writer (the bench writes its records as it).
#[allow(unused_imports)]
pub use test_support::stack::callers::INGEST as INGEST_CALLER;
/// Each calling service's own caller on the others (the stack's).
pub use test_support::stack::callers::{INGEST_TOKEN, ORCHESTRATOR as ORCHESTRATOR_CALLER};
/// The orchestrator's queue operator (`gdpr:operate`, [`OPERATOR`] on it).
const QUEUE_OPERATOR_TOKEN: &str = "gdpr-queue-operator-token-0123456789";

/// Every log line of this test binary, at debug level, as JSON.
static LOGS: OnceLock<CapturedLogs> = OnceLock::new();

fn capture_logs() -> &'static CapturedLogs {
    LOGS.get_or_init(|| CapturedLogs::install_global().expect("no other subscriber is installed in this test binary"))
}

/// Every log line so far.
pub fn logs() -> String {
    capture_logs().text()
}

/// Asserts that no log line so far holds any of `identifiers`.
pub fn assert_not_logged(identifiers: &[&str]) {
    let text = capture_logs().text();
    assert!(!text.is_empty(), "no logs were captured");
    for identifier in identifiers {
        assert!(
            !text.contains(identifier),
            "a log line holds a test identifier: {}",
            text.lines().find(|l| l.contains(identifier)).unwrap_or_default()
        );
    }
}

/// A data subject's identifiers, unique to one test.
pub struct Person {
    pub customer_id: String,
    /// E.164.
    pub phone: String,
    /// The national digits, as they appear in every form of the number.
    pub digits: String,
}

impl Person {
    pub fn new() -> Self {
        let digits = format!("60{:07}", rand_u32() % 10_000_000);
        Self {
            customer_id: uuid::Uuid::new_v4().to_string(),
            phone: format!("+420{digits}"),
            digits,
        }
    }

    /// Someone else whose number differs in the last digit.
    pub fn neighbour(&self) -> Self {
        let mut digits = self.digits.clone();
        let last = digits.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        digits.push(char::from_digit((last + 1) % 10, 10).unwrap());
        Self {
            customer_id: uuid::Uuid::new_v4().to_string(),
            phone: format!("+420{digits}"),
            digits,
        }
    }
}

fn rand_u32() -> u32 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

pub fn example(name: &str) -> Value {
    test_support::fixture(name)
}

/// The example voice result for `conversation`, from `ani`, at `event_time`.
pub fn webhook(conversation: &str, ani: &str, event_time: &str) -> Value {
    let mut body = example("support-result-voice-inbound.json");
    body["conversationId"] = json!(conversation);
    body["ani"] = json!(ani);
    body["eventTime"] = json!(event_time);
    body
}

pub struct Stack {
    pub sim: Arc<SimState>,
    /// Kept so the gateway outlives the test.
    pub _gateway: TestApp,
    pub writer: TestApp,
    pub pairing: TestApp,
    pub ingest: TestApp,
    pub orchestrator: TestApp,
    pub ingest_worker: result_ingest::worker::Worker,
    pub worker: gdpr_orchestrator::Worker,
    pub metrics: prometheus::Registry,
}

/// The services the stack runs, gdpr-orchestrator among them.
fn services() -> StackServices {
    StackServices {
        gateway: &genesys_gateway::SERVICE,
        writer: &comm_history_writer::SERVICE,
        pairing: &interaction_pairing::SERVICE,
        ingest: &result_ingest::SERVICE,
        orchestrator: Some(&gdpr_orchestrator::SERVICE),
    }
}

fn setting(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

/// comm-history-writer as the stack starts it, on the reserved port when given; `database_url`
/// reuses a database (a restart).
pub async fn start_writer(port: Option<test_support::ReservedPort>, database_url: Option<&str>) -> TestApp {
    let settings: Vec<(String, String)> = database_url
        .map(|url| setting("database.url", url))
        .into_iter()
        .collect();
    test_support::stack::start_writer(&comm_history_writer::SERVICE, port, &settings).await
}

pub async fn stack() -> Stack {
    stack_with(StackOptions::default()).await
}

/// What a test changes in the stack.
#[derive(Debug, Default)]
pub struct StackOptions {
    /// comm-history-writer's own settings.
    pub writer: Vec<(String, String)>,
    /// Every participant's (comm-history-writer, interaction-pairing, result-ingest,
    /// genesys-gateway).
    pub participants: Vec<(String, String)>,
    pub orchestrator: Vec<(String, String)>,
}

impl StackOptions {
    /// The orchestrator outside development (`application.environment = production`), with keys
    /// of its own (a fresh signing pair the participants trust) and its people verified at
    /// `provider` (`auth.persons`), fetching its keys again at most every `refetch_seconds`.
    pub fn production_with_persons(provider: &test_support::oidc::Provider, refetch_seconds: u64) -> Self {
        let keys = service_kit::cli::new_keys();
        let key = |name: &str| key_of(&keys, name);
        let verifying = key("APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY");
        let mut orchestrator = person_settings(provider, refetch_seconds);
        orchestrator.extend([
            setting("application.environment", "production"),
            setting("gdpr.signing_key", key("APP__GDPR__SIGNING_KEY")),
            setting("gdpr.bundle_key", key("APP__GDPR__BUNDLE_KEY")),
            setting("gdpr.identifier_key", uuid::Uuid::new_v4().to_string()),
            setting("gdpr.audit_key", uuid::Uuid::new_v4().to_string()),
            setting("gdpr_participant.orchestrator_key", verifying.clone()),
        ]);
        Self {
            writer: Vec::new(),
            participants: vec![setting("gdpr_participant.orchestrator_key", verifying)],
            orchestrator,
        }
    }
}

/// The value of `name` in `keys`, as `service_kit::cli::new_keys` prints them (`NAME=value`).
pub fn key_of(keys: &str, name: &str) -> String {
    keys.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

/// `auth.persons`: the orchestrator verifies person tokens from `provider`, of the `gdpr`
/// command's client, the people holding the provider role `ccbridge-dpo` (as in production).
pub fn person_settings(provider: &test_support::oidc::Provider, refetch_seconds: u64) -> Vec<(String, String)> {
    vec![
        setting("auth.persons.issuer", provider.issuer.clone()),
        setting("auth.persons.audience", test_support::oidc::AUDIENCE),
        setting("auth.persons.roles.dpo", "ccbridge-dpo"),
        setting("auth.persons.clients", test_support::oidc::CLI_CLIENT_ID),
        setting("auth.persons.jwks_refetch_seconds", refetch_seconds.to_string()),
        setting("auth.persons.leeway_seconds", "0"),
    ]
}

/// [`stack`], comm-history-writer delivering to the bank's communication-history-manager at
/// `manager_url` (its worker driven by the test: [`Stack::delivery_worker`]).
pub async fn stack_delivering_to(manager_url: &str) -> Stack {
    stack_with(StackOptions {
        writer: vec![
            setting("delivery.url", format!("{manager_url}/communicationRecords")),
            setting("delivery.worker_enabled", "false"),
        ],
        ..StackOptions::default()
    })
    .await
}

pub async fn stack_with(options: StackOptions) -> Stack {
    capture_logs();
    let mut builder = StackBuilder::new(services())
        .sim(|sim| sim.gdpr_step = Duration::from_millis(40))
        .set_all(Service::Writer, options.writer)
        .set_all(
            Service::Orchestrator,
            [
                ("auth.callers.operator.token", QUEUE_OPERATOR_TOKEN),
                ("auth.callers.operator.scopes", "gdpr:operate"),
            ],
        )
        .set_all(Service::Orchestrator, options.orchestrator);
    for (key, value) in options.participants {
        builder = builder.participants(key, value);
    }
    let stack = builder.start().await;
    let orchestrator = stack.orchestrator.expect("the stack starts gdpr-orchestrator");
    let ingest_worker = result_ingest::worker(
        &stack.ingest.settings,
        stack.ingest.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let metrics = prometheus::Registry::new();
    let worker = gdpr_orchestrator::worker(&orchestrator.settings, orchestrator.pool().clone(), &metrics).unwrap();
    Stack {
        sim: stack.sim,
        _gateway: stack.gateway,
        writer: stack.writer,
        pairing: stack.pairing,
        ingest: stack.ingest,
        orchestrator,
        ingest_worker,
        worker,
        metrics,
    }
}

impl Stack {
    /// comm-history-writer's delivery outbox's runner, as a replica would run it.
    pub fn delivery_worker(&self) -> comm_history_writer::delivery::DeliveryRunner {
        comm_history_writer::delivery::runner(
            self.writer.pool().clone(),
            &self.writer.settings,
            &prometheus::Registry::new(),
        )
        .unwrap()
    }
}

/// `now` moved by `seconds`.
pub fn after(now: Timestamp, seconds: i64) -> Timestamp {
    Timestamp::from_offset_date_time(now.as_offset_date_time() + time::Duration::seconds(seconds)).unwrap()
}

impl Stack {
    pub async fn pair(&self, customer_id: &str, interaction_id: &str) {
        let body = json!({ "customerId": customer_id, "interactionId": interaction_id });
        let response = self
            .pairing
            .post_json("/customers/supportInteraction", BOFE, &body)
            .await;
        assert!(response.status().is_success());
    }

    pub async fn deliver(&self, body: &Value) -> reqwest::Response {
        self.ingest.post_json("/customers/supportResult", GENESYS, body).await
    }

    /// Delivers a result and runs the ingest worker until it is a record; answers its inbox
    /// event's id.
    pub async fn record(&self, conversation: &str, ani: &str) -> uuid::Uuid {
        let response = self
            .deliver(&webhook(conversation, ani, "2026-11-20T09:41:07.512Z"))
            .await;
        assert_eq!(response.status().as_u16(), 202);
        let accepted: contracts::ingest::Accepted = response.json().await.unwrap();
        self.drain_ingest().await;
        accepted.id.expect("a result not suppressed is an inbox event")
    }

    pub async fn drain_ingest(&self) {
        for _ in 0..50 {
            if self.ingest_worker.try_execute_task(Timestamp::now()).await.unwrap() == 0 {
                return;
            }
        }
    }

    /// Files a request as the DPO; returns its id.
    pub async fn file(&self, request_type: &str, subject: Value, count_only: bool) -> String {
        let response = self.file_as(request_type, subject, count_only, None).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Files a request through the DPO tool as `person` (`None`: as the tool itself).
    pub async fn file_as(
        &self,
        request_type: &str,
        subject: Value,
        count_only: bool,
        person: Option<&str>,
    ) -> reqwest::Response {
        let body =
            json!({ "type": request_type, "subject": subject, "reference": "CASE-4711", "countOnly": count_only });
        let mut request = self
            .orchestrator
            .client
            .post(self.orchestrator.url("/gdpr/requests"))
            .bearer_auth(self.orchestrator.token(DPO))
            .json(&body);
        if let Some(person) = person {
            request = request.header("X-Acting-User", person);
        }
        request.send().await.unwrap()
    }

    /// Files a request through the DPO tool for the person `token` signs in (`X-Person-Token`).
    pub async fn file_signed_in(
        &self,
        request_type: &str,
        subject: Value,
        count_only: bool,
        token: &str,
    ) -> reqwest::Response {
        let body =
            json!({ "type": request_type, "subject": subject, "reference": "CASE-4711", "countOnly": count_only });
        self.orchestrator
            .client
            .post(self.orchestrator.url("/gdpr/requests"))
            .bearer_auth(self.orchestrator.token(DPO))
            .header("X-Person-Token", token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Confirms through the DPO tool for the person `token` signs in (`X-Person-Token`).
    pub async fn confirm_signed_in(&self, id: &str, token: &str) -> reqwest::Response {
        self.orchestrator
            .client
            .post(self.orchestrator.url(&format!("/gdpr/requests/{id}/confirm")))
            .bearer_auth(self.orchestrator.token(DPO))
            .header("X-Person-Token", token)
            .send()
            .await
            .unwrap()
    }

    /// A request's audit entries.
    pub async fn audit(&self, id: &str) -> Vec<Value> {
        let response = self.orchestrator.get(&format!("/gdpr/requests/{id}/audit"), DPO).await;
        assert_eq!(response.status().as_u16(), 200);
        let trail: Value = response.json().await.unwrap();
        assert_eq!(trail["chainVerified"], true, "{trail}");
        trail["entries"].as_array().unwrap().clone()
    }

    /// A request filed and confirmed (by the reviewer), in its grace window at `now`.
    pub async fn forget_in_grace(&self, subject: Value, now: Timestamp) -> String {
        let id = self.file("FORGET", subject, false).await;
        assert_eq!(self.run(&id, now).await["status"], "awaiting_confirmation");
        assert_eq!(self.confirm(&id).await.status().as_u16(), 200);
        let request = self.run(&id, now).await;
        assert_eq!(request["status"], "in_grace", "{request}");
        id
    }

    /// The bundle of a completed EXPORT.
    pub async fn bundle(&self, id: &str) -> Value {
        let response = self.orchestrator.get(&format!("/gdpr/requests/{id}/export"), DPO).await;
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// Files an EXPORT and runs it to its end; returns the request and its bundle.
    pub async fn export(&self, subject: Value) -> (Value, Value) {
        let id = self.file("EXPORT", subject, false).await;
        let (request, _) = self.run_while(&id, "exporting", Timestamp::now(), 20).await;
        assert_eq!(request["status"], "completed", "{request}");
        let bundle = self.bundle(&id).await;
        (request, bundle)
    }

    pub async fn request(&self, id: &str) -> Value {
        let response = self.orchestrator.get(&format!("/gdpr/requests/{id}"), DPO).await;
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// Confirms as the reviewer: another person than the filer (four eyes).
    pub async fn confirm(&self, id: &str) -> reqwest::Response {
        self.confirm_as(id, Some(REVIEWER)).await
    }

    /// Confirms as `person` through the DPO tool (`None`: as the tool itself, like the filer).
    pub async fn confirm_as(&self, id: &str, person: Option<&str>) -> reqwest::Response {
        let mut request = self
            .orchestrator
            .client
            .post(self.orchestrator.url(&format!("/gdpr/requests/{id}/confirm")))
            .bearer_auth(self.orchestrator.token(DPO));
        if let Some(person) = person {
            request = request.header("X-Acting-User", person);
        }
        request.send().await.unwrap()
    }

    /// Runs the GDPR worker at `now` until nothing is due, then returns the request.
    pub async fn run(&self, id: &str, now: Timestamp) -> Value {
        // Requests filed after `now` was taken are due at their filing time.
        self.worker.drain(now.max(Timestamp::now())).await.unwrap();
        self.request(id).await
    }

    /// Runs the GDPR worker, letting Genesys Cloud (the sim) finish its work, until the request
    /// leaves `status` or `tries` passes have gone by; the clock moves a minute a pass.
    pub async fn run_while(&self, id: &str, status: &str, mut now: Timestamp, tries: u32) -> (Value, Timestamp) {
        let mut request = self.run(id, now).await;
        for _ in 0..tries {
            if request["status"] != status {
                break;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            now = after(now, 60);
            request = self.run(id, now).await;
        }
        (request, now)
    }

    /// Every row of every table of the services that hold personal data.
    pub async fn dump_participants(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for app in [&self.ingest, &self.writer, &self.pairing] {
            lines.extend(test_support::dump_tables(app.pool()).await);
        }
        lines
    }

    /// What interaction-pairing shows of `interactions`: each one's pairing on its own (where
    /// one is found), then the lookup of them all together.
    pub async fn pairings(&self, interactions: &[String]) -> Vec<Value> {
        let mut seen = Vec::new();
        for interaction in interactions {
            let pairing = self
                .pairing
                .get(&format!("/customers/supportInteraction/{interaction}"), BOFE)
                .await;
            if pairing.status().as_u16() == 200 {
                seen.push(pairing.json().await.unwrap());
            }
        }
        let lookup = self
            .pairing
            .post_json(
                "/internal/pairings/lookup",
                BOFE,
                &json!({ "interactionIds": interactions }),
            )
            .await;
        let lookup: Value = lookup.json().await.unwrap();
        seen.extend(lookup["pairings"].as_array().unwrap().iter().cloned());
        seen
    }

    pub async fn records(&self, query: &str) -> Vec<Value> {
        let response = self.writer.get(&format!("/communicationRecords?{query}"), BOFE).await;
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }
}
