//! A service running on 127.0.0.1 for a test, its callers and tokens, and signed calls.

use crate::database::TestDatabase;
use crate::logs::init_test_logging;
use gdpr_participant::{CallSigner, SIGNATURE_HEADER};
use reqwest::header::CONTENT_TYPE;
use service_kit::configuration::{Settings, SettingsSources};
use service_kit::database::{Backend, DbPool};
use service_kit::startup::{Application, ServiceDefinition, Signals};
use std::collections::BTreeMap;

/// A running service on 127.0.0.1 with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The settings the service was started with.
    pub settings: Settings,
    pool: Option<DbPool>,
    tokens: BTreeMap<String, String>,
    handle: service_kit::actix_web::dev::ServerHandle,
    // Dropped last: the server's connections go before the database.
    _database: Option<TestDatabase>,
}

/// A port on 127.0.0.1 held for a service that is not running yet: bound, so no other server
/// takes it, but not listening, so connections to it are refused, as to a service that is down.
/// [`spawn_app_on`] starts the service on it.
pub struct ReservedPort {
    socket: socket2::Socket,
    port: u16,
}

impl ReservedPort {
    /// Any free port, bound for reuse so that a service started on it can come back on it after
    /// it stopped ([`ReservedPort::again`]; its closed connections linger in TIME_WAIT).
    pub fn new() -> Self {
        Self::bind(0, true).expect("a free port")
    }

    /// This port again, after its server stopped (its closed connections linger in TIME_WAIT, so
    /// the address is bound for reuse), trying for up to two seconds.
    pub async fn again(port: u16) -> Self {
        for _ in 0..100 {
            if let Ok(reserved) = Self::bind(port, true) {
                return reserved;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("port {port} did not come free");
    }

    fn bind(port: u16, reuse_address: bool) -> std::io::Result<Self> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_reuse_address(reuse_address)?;
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("not an IP socket"))?;
        Ok(Self { socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn into_listener(self) -> std::net::TcpListener {
        self.socket.listen(1024).expect("the reserved port listens");
        self.socket.into()
    }
}

impl Default for ReservedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A caller to configure: its name and its scopes.
pub type TestCaller<'a> = (&'a str, &'a [&'a str]);

/// Starts `service` on a free port with a fresh database and the given callers, each with a
/// random token (see [`TestApp::token`]).
pub async fn spawn_app(service: &'static ServiceDefinition, callers: &[TestCaller<'_>]) -> TestApp {
    spawn_app_with(service, callers, &[]).await
}

/// As [`spawn_app`], with extra settings overrides (`("application.max_body_bytes", "2048")`).
pub async fn spawn_app_with(
    service: &'static ServiceDefinition,
    callers: &[TestCaller<'_>],
    overrides: &[(&str, &str)],
) -> TestApp {
    spawn(service, callers, overrides, None).await
}

/// As [`spawn_app_with`], serving on a port the test reserved (to start a service it pointed
/// others at while it was down).
pub async fn spawn_app_on(
    service: &'static ServiceDefinition,
    callers: &[TestCaller<'_>],
    overrides: &[(&str, &str)],
    port: ReservedPort,
) -> TestApp {
    spawn(service, callers, overrides, Some(port)).await
}

async fn spawn(
    service: &'static ServiceDefinition,
    callers: &[TestCaller<'_>],
    overrides: &[(&str, &str)],
    port: Option<ReservedPort>,
) -> TestApp {
    init_test_logging();
    let database = match service.migrations {
        Some(_) => Some(tokio::task::spawn_blocking(TestDatabase::create).await.unwrap()),
        None => None,
    };
    let mut tokens = BTreeMap::new();
    let mut settings_overrides = vec![
        ("application.port".to_owned(), "0".to_owned()),
        ("database.max_connections".to_owned(), "4".to_owned()),
        // The embedded development keys; a test of production settings overrides this.
        ("application.environment".to_owned(), "development".to_owned()),
    ];
    if let Some(database) = &database {
        settings_overrides.push(("database.url".to_owned(), database.url().to_owned()));
    }
    for (name, scopes) in callers {
        let token = format!("{name}-{}", uuid::Uuid::new_v4().simple());
        settings_overrides.push((format!("auth.callers.{name}.token"), token.clone()));
        settings_overrides.push((format!("auth.callers.{name}.scopes"), scopes.join(",")));
        tokens.insert((*name).to_owned(), token);
    }
    settings_overrides.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = load_settings(service, settings_overrides).expect("test settings are valid");
    // Callers a test configured through overrides answer to `token` too.
    for (name, caller) in &settings.auth.callers {
        tokens
            .entry(name.clone())
            .or_insert_with(|| secrecy::ExposeSecret::expose_secret(&caller.token).to_owned());
    }
    let application = Application::build_on(
        service,
        settings.clone(),
        Signals::Ignore,
        port.map(ReservedPort::into_listener),
    )
    .await
    .expect("the service starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let pool = application.pool().cloned();
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        settings,
        pool,
        tokens,
        handle,
        _database: database,
    }
}

/// The service's embedded defaults with `overrides`, no file and no environment.
fn load_settings(
    service: &'static ServiceDefinition,
    overrides: Vec<(String, String)>,
) -> Result<Settings, service_kit::configuration::ConfigurationError> {
    Settings::load(
        SettingsSources {
            service_defaults: service.default_config,
            file: None,
            environment: false,
            overrides,
        },
        service.scopes,
    )
}

impl TestApp {
    /// Starts `service` again on this app's database with only `overrides` (besides a free port
    /// and development), as an operator restarting it with other settings would; answers whether
    /// it started (the server is built, not run, and dropped at once).
    pub async fn start_again_on_its_database(
        &self,
        service: &'static ServiceDefinition,
        overrides: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let url = match &self.settings.database.url {
            service_kit::database::DatabaseUrl::Postgres(url) => secrecy::ExposeSecret::expose_secret(url).to_owned(),
            service_kit::database::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        };
        let mut settings_overrides = vec![
            ("application.port".to_owned(), "0".to_owned()),
            ("application.environment".to_owned(), "development".to_owned()),
            ("database.url".to_owned(), url),
        ];
        settings_overrides.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let settings = load_settings(service, settings_overrides)?;
        Application::build(service, settings, Signals::Ignore).await.map(drop)
    }

    /// The bearer token of a configured caller.
    pub fn token(&self, caller: &str) -> &str {
        self.tokens
            .get(caller)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no caller {caller} configured"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The service's `/metrics` (Prometheus text; no token needed).
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request sent");
        response.text().await.expect("metrics read")
    }

    pub async fn get(&self, path: &str, caller: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.token(caller))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, path: &str, caller: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(self.token(caller))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, caller: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(caller))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// A GDPR participant call signed as gdpr-orchestrator signs it (with the development key).
    pub async fn post_signed(&self, path: &str, caller: &str, body: &serde_json::Value) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).expect("JSON");
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(caller))
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signer().sign("POST", path, &bytes))
            .body(bytes)
            .send()
            .await
            .expect("request sent")
    }

    /// A GDPR participant call (`action` on `request`) with `body`, signed as gdpr-orchestrator
    /// signs it, as the caller `gdpr_orchestrator`: asserts a 200 and answers the report.
    pub async fn participant_call(
        &self,
        request: uuid::Uuid,
        action: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let path = format!("/internal/gdpr/requests/{request}/{action}");
        let response = self.post_signed(&path, "gdpr_orchestrator", body).await;
        assert_eq!(response.status().as_u16(), 200, "{action}");
        response.json().await.expect("a participant report")
    }

    /// A GDPR participant status query signed as gdpr-orchestrator signs it.
    pub async fn get_signed(&self, path: &str, caller: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.token(caller))
            .header(SIGNATURE_HEADER, signer().sign("GET", path, b""))
            .send()
            .await
            .expect("request sent")
    }

    /// A raw body with a content type of the test's choosing.
    pub async fn post_raw(
        &self,
        path: &str,
        caller: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(caller))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// The service's database pool (panics for a service without a database).
    pub fn pool(&self) -> &DbPool {
        self.pool.as_ref().expect("this service has no database")
    }

    pub fn backend(&self) -> Backend {
        self.pool().backend()
    }

    /// Stops the server as SIGTERM would: in-flight requests finish first.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// The private half of the development key pair (gdpr-orchestrator's `gdpr.signing_key`
/// default; participants' `gdpr_participant.orchestrator_key` holds the public half).
pub const DEVELOPMENT_SIGNING_KEY: &str = "development-only-ed25519:nBnWCNHFnRF/39OuFA8q93LHVADQDmoLSGpH/ie9KRQ=";

fn signer() -> CallSigner {
    CallSigner::from_setting(&secrecy::SecretString::from(DEVELOPMENT_SIGNING_KEY.to_owned()))
        .expect("the development signing key parses")
}
