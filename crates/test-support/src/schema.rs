//! Whole-database checks: reversible migrations, every row dumped.

use crate::database::TestDatabase;
use service_kit::configuration::{Settings, SettingsSources};
use service_kit::database::DbPool;
use service_kit::startup::ServiceDefinition;

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
