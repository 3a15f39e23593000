//! One diesel code path for SQLite and PostgreSQL: the URL scheme picks the backend, a pool hands
//! out [`AnyConnection`]s, and every query runs off the async workers through [`DbPool::run`].

mod leased_queue;
mod migrations;
pub mod sql_types;

pub use leased_queue::claim_due_ids;
pub use migrations::{grant_runtime_role, revert_all_migrations, run_pending_migrations, Migrations};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::Span;

/// A connection to whichever backend the URL named. Backend-specific SQL (upserts, `SKIP LOCKED`)
/// matches on the variant; everything else is written once against this type.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same diesel expression against the concrete connection, for what `AnyConnection`
/// cannot express (upserts, `FOR UPDATE SKIP LOCKED`, `RETURNING`). The body is type-checked
/// once per backend: `per_backend!(connection, |c| insert_into(t).values(v).on_conflict_do_nothing().execute(c))`.
#[macro_export]
macro_rules! per_backend {
    ($connection:expr, |$c:ident| $body:expr) => {
        match $connection {
            $crate::database::AnyConnection::Postgresql($c) => $body,
            $crate::database::AnyConnection::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// `[database]`: where the service's data lives, and how it connects.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user:password@host:port/name`, parsed as it is
    /// read (a PostgreSQL URL stays secret: it may hold a password).
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
    pub sqlite_busy_timeout_ms: u32,
    /// Apply pending migrations when the service starts (under an advisory lock on PostgreSQL).
    pub migrate_on_start: bool,
    /// PostgreSQL: the role the service runs as, when migrations run as another (the tables'
    /// owner). `migrate` grants it what the service needs and nothing more: it reads and writes
    /// rows but cannot change the schema, and only reads and appends to the append-only tables.
    #[serde(default)]
    pub runtime_role: Option<String>,
}

/// A parsed `database.url`, parsed once where the settings are read. Only `sqlite://` and
/// `postgres://` (or `postgresql://`) are accepted: a bare path or a typo must never become a
/// new, empty SQLite file.
#[derive(Clone)]
pub enum DatabaseUrl {
    Postgres(SecretString),
    Sqlite(PathBuf),
}

impl std::fmt::Debug for DatabaseUrl {
    /// A PostgreSQL URL may hold a password: only the scheme is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("postgres://[REDACTED]"),
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let url = SecretString::deserialize(deserializer)?;
        Self::parse(url.expose_secret()).map_err(serde::de::Error::custom)
    }
}

impl DatabaseUrl {
    /// The error never repeats the URL, which may hold a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                return Err("a sqlite:// URL needs a file path, e.g. sqlite://data/ccbridge.db".to_owned());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(SecretString::from(url.to_owned())));
        }
        Err("must start with sqlite:// or postgres://; other schemes are refused".to_owned())
    }

    /// The URL as written, password included: for the few places that hand it on (a child
    /// process's environment in tests).
    pub fn expose_secret(&self) -> String {
        match self {
            Self::Postgres(url) => url.expose_secret().to_owned(),
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }

    pub const fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Opens connections for the pool, running SQLite's per-connection settings on each.
pub struct ConnectionManager {
    url: DatabaseUrl,
    sqlite_busy_timeout_ms: u32,
}

impl ConnectionManager {
    fn open_sqlite(&self, path: &Path) -> Result<SqliteConnection, r2d2::Error> {
        let location = path.to_str().ok_or_else(|| {
            r2d2::Error::ConnectionError(diesel::ConnectionError::InvalidConnectionUrl(
                "the SQLite path is not valid UTF-8".to_owned(),
            ))
        })?;
        let mut connection = SqliteConnection::establish(location).map_err(r2d2::Error::ConnectionError)?;
        // WAL lets readers work while one writer writes; the busy timeout makes writers queue
        // instead of failing at once; foreign keys are off by default in SQLite.
        connection
            .batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                self.sqlite_busy_timeout_ms
            ))
            .map_err(r2d2::Error::QueryError)?;
        Ok(connection)
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url.expose_secret())
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => self.open_sqlite(path).map(AnyConnection::Sqlite),
        }
    }

    fn is_valid(&self, connection: &mut AnyConnection) -> Result<(), r2d2::Error> {
        connection.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    /// Checked when a connection comes back: one whose user panicked, or that still has a
    /// transaction open or its transaction manager broken (a failed rollback), is dropped rather
    /// than handed to the next caller (`SELECT 1` on checkout would not see the latter two).
    fn has_broken(&self, connection: &mut AnyConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(connection)
    }
}

/// A transaction that will write after it reads. On SQLite it takes the write lock when it
/// begins (`BEGIN IMMEDIATE`): a transaction that read first and wrote later would fail outright
/// if another writer committed in between (WAL mode does not wait then). PostgreSQL's ordinary
/// transaction is used as it is (statements there lock the rows they need, e.g. `FOR UPDATE`).
pub fn write_transaction<T, E, F>(connection: &mut AnyConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match connection {
        AnyConnection::Postgresql(_) => connection.transaction(work),
        AnyConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match work(connection) {
                Ok(value) => {
                    <AnyConnection as Connection>::TransactionManager::commit_transaction(connection)?;
                    Ok(value)
                }
                Err(error) => {
                    <AnyConnection as Connection>::TransactionManager::rollback_transaction(connection)?;
                    Err(error)
                }
            }
        }
    }
}

/// Why a database call failed. Maps to 503 (worth retrying) or an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("no database connection became available")]
    Unavailable(#[source] r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("the database task did not complete")]
    TaskFailed(#[source] tokio::task::JoinError),
}

impl DatabaseError {
    /// Whether the same call may well succeed a little later (busy, restarting, failing over).
    pub fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Self::Unavailable(_) => true,
            Self::Query(Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::ClosedConnection
                ) || info.message().contains("database is locked")
            }
            Self::Query(_) | Self::TaskFailed(_) => false,
        }
    }
}

/// A connection checked out of a [`DbPool`]; it goes back to the pool when dropped.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The connection pool every service shares through `web::Data<DbPool>`.
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
}

impl DbPool {
    /// Builds the pool without connecting: the service starts and reports not-ready until the
    /// database answers, instead of crash-looping.
    pub fn new(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.clone();
        if let DatabaseUrl::Sqlite(path) = &url {
            ensure_sqlite_directory(path)?;
        }
        let backend = url.backend();
        let manager = ConnectionManager {
            url,
            sqlite_busy_timeout_ms: settings.sqlite_busy_timeout_ms,
        };
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_connections)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(settings.connect_timeout_seconds.max(1)))
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build_unchecked(manager);
        Ok(Self { pool, backend })
    }

    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `work` with a pooled connection on the blocking thread pool, inside the caller's span.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DatabaseError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut connection = pool.get().map_err(DatabaseError::Unavailable)?;
                work(&mut connection)
            })
        })
        .await
        .map_err(|join_error| E::from(DatabaseError::TaskFailed(join_error)))?
    }

    /// A connection for synchronous callers (migrations, tests). Blocks: not for async code.
    pub fn get_blocking(&self) -> Result<PooledConnection, DatabaseError> {
        self.pool.get().map_err(DatabaseError::Unavailable)
    }
}

/// A `sqlite://` URL may create its file, never its directory: a typo in the directory should
/// fail loudly rather than start an empty database somewhere unexpected.
fn ensure_sqlite_directory(path: &Path) -> anyhow::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !directory.is_dir() {
        anyhow::bail!(
            "database.url: the directory of the SQLite file does not exist: {}",
            directory.display()
        );
    }
    if !path.exists() {
        tracing::info!(path = %path.display(), "creating a new SQLite database file");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/x.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u:p@h/db").unwrap().backend(),
            Backend::Postgres
        );
    }

    #[test]
    fn anything_else_is_refused_without_echoing_it() {
        for bad in [
            "data/x.db",
            "mysql://u:hunter2@h/db",
            "sqlite://",
            "sqlite://:memory:",
            "",
            "file:x.db",
        ] {
            let err = DatabaseUrl::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(!err.contains("hunter2"));
        }
    }

    #[test]
    fn a_missing_sqlite_directory_is_refused() {
        let settings = DatabaseSettings {
            url: DatabaseUrl::parse("sqlite:///nonexistent-dir-for-ccbridge/x.db").unwrap(),
            max_connections: 1,
            connect_timeout_seconds: 1,
            sqlite_busy_timeout_ms: 100,
            migrate_on_start: false,
            runtime_role: None,
        };
        assert!(DbPool::new(&settings).is_err());
    }
}
