//! Helpers for HTTP tests against real servers and real databases.
//!
//! Every test gets its own database: a SQLite file in a temporary directory, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server (any database on it that we may connect to), a
//! fresh database created on that server and dropped afterwards. `.ci/run` runs the whole suite
//! once each way. Set `TEST_LOG=1` to see the services' logs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed set-up should panic loudly

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::header::CONTENT_TYPE;
use service_kit::configuration::{LogFormat, Settings, SettingsSources, TelemetrySettings};
use service_kit::database::{Backend, DbPool};
use service_kit::gdpr_participant::{CallSigner, SIGNATURE_HEADER};
use service_kit::startup::{Application, ServiceDefinition, Signals};
use std::collections::BTreeMap;
use std::sync::Once;

/// Which backend this run tests, from `TEST_DATABASE_URL`.
pub fn backend_under_test() -> Backend {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("ccbridge_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL is not reachable");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("cannot create a test database");
                let url = with_database_name(&admin_url, &name);
                Self {
                    url,
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            _ => {
                let directory = tempfile::tempdir().expect("cannot create a temporary directory");
                let url = format!("sqlite://{}", directory.path().join("test.db").display());
                Self {
                    url,
                    cleanup: Cleanup::Sqlite(directory),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// `postgres://user@host:port/anything?x=y` → the same URL naming database `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..]
        .find('/')
        .map_or(base.len(), |i| authority_end + i);
    let mut result = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let settings = TelemetrySettings {
                log_filter: "debug".to_owned(),
                log_format: LogFormat::Pretty,
                otlp_endpoint: None,
                otlp_sample_ratio: 1.0,
            };
            let guard = service_kit::telemetry::init("test", &settings).expect("telemetry");
            std::mem::forget(guard);
        }
    });
}

/// Log output kept in memory, for tests that check what reaches the logs: install it with
/// [`CapturedLogs::install_global`] (or as any `fmt` layer's writer), then read
/// [`CapturedLogs::text`].
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs a global subscriber writing every event at debug level into memory, in the
    /// production JSON format (with its spans); `None` when another subscriber is already
    /// installed.
    pub fn install_global() -> Option<Self> {
        use tracing_subscriber::layer::SubscriberExt;
        let logs = Self::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("debug"))
            .with(service_kit::telemetry::json_log_layer(logs.clone()));
        tracing::subscriber::set_global_default(subscriber).ok().map(|()| logs)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

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
    /// Any free port.
    pub fn new() -> Self {
        Self::bind(0, false).expect("a free port")
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
    let settings = Settings::load(
        SettingsSources {
            service_defaults: service.default_config,
            file: None,
            environment: false,
            overrides: settings_overrides,
        },
        service.scopes,
    )
    .expect("test settings are valid");
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

impl TestApp {
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

/// Asserts a problem+json response with `status` and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type was {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "problem status field: {body}");
    assert!(body["title"].is_string(), "problem title: {body}");
    body
}

/// The JSON pointers, parameters or headers a 422 problem names.
pub fn problem_locations(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| {
                    e["pointer"]
                        .as_str()
                        .or(e["parameter"].as_str())
                        .or(e["header"].as_str())
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Applies every migration of `service` to a fresh database, reverts them all, applies them again,
/// and checks the schema came back the same: each `down.sql` must undo its `up.sql`.
pub async fn assert_migrations_reversible(service: &'static ServiceDefinition) {
    let database = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let settings = Settings::load(
        SettingsSources {
            service_defaults: service.default_config,
            file: None,
            environment: false,
            overrides: vec![
                ("database.url".to_owned(), database.url().to_owned()),
                ("application.environment".to_owned(), "development".to_owned()),
                ("auth.callers.test.token".to_owned(), "test-token-0123456789".to_owned()),
                ("auth.callers.test.scopes".to_owned(), service.scopes.join(",")),
            ],
        },
        service.scopes,
    )
    .unwrap();
    let pool = DbPool::new(&settings.database).unwrap();
    tokio::task::spawn_blocking(move || {
        use service_kit::database::{revert_all_migrations, run_pending_migrations};
        let mut connection = pool.get_blocking().unwrap();
        let migrations = service.migrations.as_ref().expect("the service has migrations");
        let applied = run_pending_migrations(&mut connection, service.name, migrations).unwrap();
        assert!(!applied.is_empty(), "{} has no migrations", service.name);
        let schema = schema_of(&mut connection);
        assert!(!schema.is_empty());
        let reverted = revert_all_migrations(&mut connection, migrations).unwrap();
        assert_eq!(reverted.len(), applied.len());
        assert!(schema_of(&mut connection).is_empty(), "down.sql left objects behind");
        let reapplied = run_pending_migrations(&mut connection, service.name, migrations).unwrap();
        assert_eq!(reapplied, applied);
        assert_eq!(
            schema_of(&mut connection),
            schema,
            "schema differs after down and up again"
        );
        drop(connection);
        drop(database);
    })
    .await
    .unwrap();
}

/// Tables, columns and indexes of the database, diesel's own bookkeeping table left out.
fn schema_of(connection: &mut service_kit::database::AnyConnection) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let query = match connection {
        service_kit::database::AnyConnection::Postgresql(_) => {
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS line \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations' \
             UNION ALL SELECT 'index ' || indexname || ' ' || indexdef AS line FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations' ORDER BY line"
        }
        service_kit::database::AnyConnection::Sqlite(_) => {
            "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE '__diesel%' AND name NOT LIKE 'sqlite_%' ORDER BY line"
        }
    };
    diesel::sql_query(query)
        .load::<Line>(connection)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Every row of every table (diesel's bookkeeping left out), one line per row as
/// `table: values`, sorted: to compare whole databases before and after, or to scan them for a
/// value that must not be there.
pub async fn dump_tables(pool: &DbPool) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let mut connection = {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || pool.get_blocking().unwrap())
            .await
            .unwrap()
    };
    tokio::task::spawn_blocking(move || {
        let connection = &mut *connection;
        let postgres = matches!(connection, service_kit::database::AnyConnection::Postgresql(_));
        let tables_query = if postgres {
            "SELECT table_name AS line FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations' ORDER BY line"
        } else {
            "SELECT name AS line FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '__diesel%' \
             AND name NOT LIKE 'sqlite_%' ORDER BY line"
        };
        let tables: Vec<String> = diesel::sql_query(tables_query)
            .load::<Line>(connection)
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect();
        let mut lines = Vec::new();
        for table in tables {
            let query = if postgres {
                format!("SELECT '{table}: ' || t::text AS line FROM {table} t")
            } else {
                let columns: Vec<String> =
                    diesel::sql_query(format!("SELECT name AS line FROM pragma_table_info('{table}')"))
                        .load::<Line>(connection)
                        .unwrap()
                        .into_iter()
                        .map(|l| format!("COALESCE(quote({}), 'NULL')", l.line))
                        .collect();
                format!(
                    "SELECT '{table}: ' || {} AS line FROM {table}",
                    columns.join(" || ',' || ")
                )
            };
            lines.extend(
                diesel::sql_query(query)
                    .load::<Line>(connection)
                    .unwrap()
                    .into_iter()
                    .map(|l| l.line),
            );
        }
        lines.sort();
        lines
    })
    .await
    .unwrap()
}

/// An example payload from `docs/examples/` (the repository's own copy; nothing outside it is
/// read).
pub fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The communication record the pipeline writes for the inbound voice example when its pairing
/// exists (agent "Jana Nováková", wrap-up code "Sale completed"): the integration spec's record,
/// plus the agent's Genesys user id, which finds an agent's records for a GDPR request.
pub fn expected_voice_inbound_record() -> serde_json::Value {
    fixture("expected-record-voice-inbound.json")
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn database_name_is_replaced_and_query_kept() {
        assert_eq!(
            with_database_name("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
    }
}
