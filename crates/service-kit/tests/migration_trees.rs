//! `migrations/sqlite` and `migrations/postgres` must hold the same migrations under the same
//! folder names, each with an `up.sql` and a `down.sql` (a `metadata.toml` is a backend's own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn migrations_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// Every file under `root`, as paths relative to it.
fn files(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root.to_owned()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// The SQL files under `root`: what a migration does. A `metadata.toml` says how diesel runs it on
/// its backend (outside a transaction: PostgreSQL's `CREATE INDEX CONCURRENTLY`, SQLite's table
/// rebuild), so one backend may have it where the other has none.
fn sql_files(root: &Path) -> BTreeSet<String> {
    files(root).into_iter().filter(|f| f.ends_with(".sql")).collect()
}

#[test]
fn both_backends_list_the_same_migrations() {
    let sqlite = sql_files(&migrations_root().join("sqlite"));
    let postgres = sql_files(&migrations_root().join("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres differ");
}

#[test]
fn every_migration_has_up_and_down() {
    let all = files(&migrations_root().join("sqlite"));
    let folders: BTreeSet<String> = all.iter().map(|f| f.rsplit_once('/').unwrap().0.to_owned()).collect();
    for folder in folders {
        for script in ["up.sql", "down.sql"] {
            assert!(all.contains(&format!("{folder}/{script}")), "{folder} lacks {script}");
        }
        let name = folder.rsplit('/').next().unwrap();
        assert!(
            name.len() > 18 && name.as_bytes()[17] == b'_',
            "{folder}: name it YYYY-MM-DD-HHMMSS_what"
        );
    }
}
