//! genesys-sim: the parts of Genesys Cloud that ccbridge uses, answering with the documented
//! bodies (`docs/genesys/api-facts.md`), with faults on demand and a count of every call, so
//! tests can prove what the gateway did and did not ask.
//!
//! API: `POST /oauth/token`, `GET /api/v2/users/{id}`, `GET /api/v2/routing/wrapupcodes/{id}`,
//! `POST|GET /api/v2/gdpr/requests`, `GET /api/v2/gdpr/requests/{id}`, `GET /api/v2/gdpr/subjects`,
//! `POST /api/v2/analytics/conversations/details/query`,
//! `GET /api/v2/analytics/conversations/{id}/details`,
//! `GET /api/v2/speechandtextanalytics/conversations/{id}/communications/{id}/transcripturl` (and
//! the transcript file at the URL it answers, `GET /transcripts/…`),
//! `GET /api/v2/conversations/emails/{id}/messages`, `GET …/messages/{messageId}`.
//! Admin (no auth; the simulator only listens where you run it): `GET /admin/calls`,
//! `PUT /admin/faults`, `POST /admin/revoke-tokens`, `POST /admin/reset`,
//! `POST /admin/conversations` (an ended conversation, as analytics will hold it),
//! `POST /admin/conversations/{id}/transcript` and `…/emails` (its content).

mod api;
mod content;
mod conversations;
mod faults;

pub use faults::{Faults, Malformed};

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const DEFAULT_SEED: &str = include_str!("../seed/default.json");

/// What the simulated organisation holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<serde_json::Value>,
    #[serde(default)]
    pub wrapup_codes: Vec<serde_json::Value>,
    /// What `GET /api/v2/gdpr/subjects` can find (GDPRSubject bodies).
    #[serde(default)]
    pub gdpr_subjects: Vec<serde_json::Value>,
}

impl Seed {
    pub fn default_seed() -> anyhow::Result<Self> {
        Ok(serde_json::from_str(DEFAULT_SEED)?)
    }

    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens.
    pub token_lifetime: Duration,
    /// How long a GDPR request stays in each status before the next.
    pub gdpr_step: Duration,
    pub seed: Seed,
    pub faults: Faults,
    /// Where the trigger's data action posts each agent's result (result-ingest's webhook); none:
    /// conversations are only recorded.
    pub webhook: Option<WebhookTarget>,
}

/// The data action's target: `POST url` with HTTP Basic `user:secret`, as Genesys' Web Services
/// data action sends it (one attempt, no retry).
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub user: String,
    pub secret: String,
}

impl SimConfig {
    /// Development defaults: client `ccbridge-dev`, 24-hour tokens, two-second GDPR steps.
    pub fn development(seed: Seed) -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            client_id: "ccbridge-dev".to_owned(),
            client_secret: "ccbridge-dev-secret".to_owned(),
            token_lifetime: Duration::from_secs(86_400),
            gdpr_step: Duration::from_secs(2),
            seed,
            faults: Faults::default(),
            webhook: None,
        }
    }
}

pub(crate) struct GdprRequest {
    pub id: String,
    pub request_type: String,
    pub subject: serde_json::Value,
    /// A GDPR_UPDATE's `replacementTerms`, as received (null for the other types).
    pub replacement_terms: serde_json::Value,
    pub created_date: String,
    pub created: Instant,
}

/// Everything the simulator knows and has seen.
pub struct SimState {
    pub(crate) config: SimConfig,
    pub(crate) users: HashMap<String, serde_json::Value>,
    pub(crate) wrapup_codes: HashMap<String, serde_json::Value>,
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    issued: Mutex<Vec<String>>,
    pub(crate) gdpr_requests: Mutex<Vec<GdprRequest>>,
    /// What `GET /api/v2/gdpr/subjects` finds: the seed's, as GDPR_UPDATEs changed them since.
    pub(crate) gdpr_subjects: Mutex<Vec<serde_json::Value>>,
    pub(crate) conversations: Mutex<Vec<conversations::StoredConversation>>,
    /// Transcripts and e-mail messages of recorded conversations.
    pub(crate) content: Mutex<content::ContentStore>,
    pub(crate) webhook_client: reqwest::Client,
    /// The trigger's target: `SimConfig::webhook`, or what [`SimState::set_webhook`] set since.
    pub(crate) webhook: Mutex<Option<WebhookTarget>>,
    pub(crate) webhook_attempts: AtomicU64,
    webhook_outcomes: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) faults: Mutex<faults::ActiveFaults>,
    pub(crate) api_requests: AtomicU64,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-updated.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimState {
    fn new(config: SimConfig, webhook_client: reqwest::Client) -> Self {
        let by_id = |items: &[serde_json::Value]| {
            items
                .iter()
                .filter_map(|item| Some((item.get("id")?.as_str()?.to_owned(), item.clone())))
                .collect::<HashMap<_, _>>()
        };
        Self {
            users: by_id(&config.seed.users),
            wrapup_codes: by_id(&config.seed.wrapup_codes),
            faults: Mutex::new(faults::ActiveFaults::from(config.faults.clone())),
            webhook: Mutex::new(config.webhook.clone()),
            gdpr_subjects: Mutex::new(config.seed.gdpr_subjects.clone()),
            config,
            tokens: Mutex::default(),
            issued: Mutex::default(),
            gdpr_requests: Mutex::default(),
            conversations: Mutex::default(),
            content: Mutex::default(),
            webhook_client,
            webhook_attempts: AtomicU64::new(0),
            webhook_outcomes: Mutex::default(),
            api_requests: AtomicU64::new(0),
            calls: Mutex::default(),
        }
    }

    pub(crate) fn count(&self, endpoint: &'static str) {
        *lock(&self.calls).entry(endpoint).or_default() += 1;
    }

    /// Calls per endpoint: `token`, `users`, `wrapupcodes`, `gdpr.requests.create`,
    /// `gdpr.requests.list`, `gdpr.requests.get`, `gdpr.subjects`,
    /// `analytics.conversations.details.query`, `analytics.conversations.details`,
    /// `speechandtextanalytics.transcripturl`, `speechandtextanalytics.transcript` (downloads from
    /// the transcript storage), `conversations.emails.messages`, `conversations.emails.message`.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.calls).clone()
    }

    /// Webhook deliveries by outcome: `delivered`, `dropped` (the fault), `refused` (not 2xx),
    /// `failed` (no answer).
    pub fn webhook_outcomes(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.webhook_outcomes).clone()
    }

    /// Points the trigger at `target` (none: conversations are only recorded), for a webhook
    /// that starts after the simulator (devstack binds result-ingest later).
    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        *lock(&self.webhook) = target;
    }

    pub(crate) fn count_webhook(&self, outcome: &'static str) {
        *lock(&self.webhook_outcomes).entry(outcome).or_default() += 1;
    }

    pub fn calls_to(&self, endpoint: &str) -> u64 {
        lock(&self.calls).get(endpoint).copied().unwrap_or(0)
    }

    /// The type (`GDPR_EXPORT`, `GDPR_DELETE`, …) of every GDPR request received, in order.
    pub fn gdpr_request_types(&self) -> Vec<String> {
        lock(&self.gdpr_requests)
            .iter()
            .map(|r| r.request_type.clone())
            .collect()
    }

    /// The `replacementTerms` of every GDPR_UPDATE received, in order (personal data: tests only).
    pub fn gdpr_replacement_terms(&self) -> Vec<serde_json::Value> {
        lock(&self.gdpr_requests)
            .iter()
            .filter(|r| r.request_type == "GDPR_UPDATE")
            .map(|r| r.replacement_terms.clone())
            .collect()
    }

    /// Every token issued so far, revoked or not (tests check none of them reached a log).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.issued).clone()
    }

    /// Every issued token stops working at once (as when an admin revokes the OAuth client's tokens).
    pub fn revoke_tokens(&self) {
        lock(&self.tokens).clear();
    }

    /// Whether the fault [`Faults::malformed`] breaks `endpoint`'s answers now.
    pub(crate) fn malformed(&self, endpoint: Malformed) -> bool {
        lock(&self.faults).faults.malformed == Some(endpoint)
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults::ActiveFaults::from(faults);
    }

    /// Forgets calls, tokens and faults.
    pub fn reset(&self) {
        lock(&self.calls).clear();
        self.revoke_tokens();
        self.set_faults(Faults::default());
        self.api_requests.store(0, Ordering::SeqCst);
    }

    pub(crate) fn issue_token(&self) -> String {
        let token = format!("sim-{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        lock(&self.tokens).insert(token.clone(), Instant::now() + self.config.token_lifetime);
        lock(&self.issued).push(token.clone());
        token
    }

    pub(crate) fn token_is_valid(&self, token: &str) -> bool {
        lock(&self.tokens)
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }
}

pub struct RunningSim {
    pub url: String,
    pub state: Arc<SimState>,
    server: actix_web::dev::Server,
}

impl RunningSim {
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Binds the simulator; serve it with [`RunningSim::run_until_stopped`] (or spawn that).
pub fn start(config: SimConfig) -> anyhow::Result<RunningSim> {
    let listener = TcpListener::bind((config.host.as_str(), config.port))?;
    let port = listener.local_addr()?.port();
    let url = format!("http://{}:{port}", config.host);
    // The data action's own timeout is at most 60 s; ten is plenty on loopback.
    let webhook_client = service_kit::tls::client_builder(&[])
        .timeout(Duration::from_secs(10))
        .build()?;
    let state = Arc::new(SimState::new(config, webhook_client));
    let data = actix_web::web::Data::from(state.clone());
    let server =
        actix_web::HttpServer::new(move || actix_web::App::new().app_data(data.clone()).configure(api::config))
            .workers(2)
            .disable_signals()
            .listen(listener)?
            .run();
    Ok(RunningSim { url, state, server })
}
