//! Embedded migrations, one tree a backend with the same folder names, applied at start-up and by
//! the `migrate` subcommand.

use super::AnyConnection;
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// A service's migrations for each backend (`migrations/sqlite/<service>` and
/// `migrations/postgres/<service>`), each a function returning its
/// `diesel_migrations::embed_migrations!` constant (the embedded set is neither `Copy` nor `Clone`).
pub struct Migrations {
    pub sqlite: fn() -> EmbeddedMigrations,
    pub postgres: fn() -> EmbeddedMigrations,
    /// Tables rows are only ever added to (an audit log): the runtime role may not change or
    /// delete their rows (the tables' triggers refuse it too; the role cannot drop them).
    pub append_only: &'static [&'static str],
}

/// Applies what is pending and returns the versions applied. On PostgreSQL this holds an advisory
/// lock named after the service, so replicas starting together apply each migration once.
pub fn run_pending_migrations(
    connection: &mut AnyConnection,
    service: &str,
    migrations: &Migrations,
) -> anyhow::Result<Vec<String>> {
    let applied = match connection {
        AnyConnection::Postgresql(pg) => {
            let key = advisory_lock_key(service);
            pg.batch_execute(&format!("SELECT pg_advisory_lock({key})"))?;
            let outcome = pg.run_pending_migrations((migrations.postgres)()).map(versions);
            // Unlock even when a migration failed; the session ends with the connection anyway.
            let unlocked = pg.batch_execute(&format!("SELECT pg_advisory_unlock({key})"));
            let applied = outcome.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
            unlocked?;
            applied
        }
        AnyConnection::Sqlite(sqlite) => {
            // SQLite serialises writers itself; each migration runs in its own transaction.
            sqlite
                .run_pending_migrations((migrations.sqlite)())
                .map(versions)
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
        }
    };
    Ok(applied)
}

/// After the migrations, as the tables' owner: `role`, which the service runs as, may read and
/// write the service's rows and no more: not the migrations' bookkeeping, not the append-only
/// tables' existing rows, not the schema (it owns nothing, so it can neither alter nor truncate a
/// table, nor disable or drop a trigger). PostgreSQL only; `role` is a checked role name.
pub fn grant_runtime_role(connection: &mut AnyConnection, role: &str, migrations: &Migrations) -> anyhow::Result<()> {
    let AnyConnection::Postgresql(pg) = connection else {
        anyhow::bail!("database.runtime_role is for PostgreSQL");
    };
    let role = format!("\"{role}\"");
    let mut grants = format!(
        "GRANT USAGE ON SCHEMA public TO {role}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; \
         REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM {role};"
    );
    for table in migrations.append_only {
        grants.push_str(&format!(" REVOKE UPDATE, DELETE ON {table} FROM {role};"));
    }
    pg.batch_execute(&grants)
        .map_err(|e| anyhow::anyhow!("granting the runtime role failed: {e}"))
}

/// Reverts every applied migration (their `down.sql`), newest first. For tests that prove each
/// `down.sql` undoes its `up.sql`; never called by a service.
pub fn revert_all_migrations(connection: &mut AnyConnection, migrations: &Migrations) -> anyhow::Result<Vec<String>> {
    let reverted = match connection {
        AnyConnection::Postgresql(pg) => pg.revert_all_migrations((migrations.postgres)()).map(versions),
        AnyConnection::Sqlite(sqlite) => sqlite.revert_all_migrations((migrations.sqlite)()).map(versions),
    };
    reverted.map_err(|e| anyhow::anyhow!("revert failed: {e}"))
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}

/// A stable 63-bit key for `pg_advisory_lock` (FNV-1a of the service name).
fn advisory_lock_key(service: &str) -> i64 {
    let hash = service.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    i64::try_from(hash >> 1).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::advisory_lock_key;

    #[test]
    fn lock_keys_are_stable_and_differ_between_services() {
        assert_eq!(
            advisory_lock_key("interaction-pairing"),
            advisory_lock_key("interaction-pairing")
        );
        assert_ne!(
            advisory_lock_key("interaction-pairing"),
            advisory_lock_key("comm-history-writer")
        );
        assert!(advisory_lock_key("x") >= 0);
    }
}
