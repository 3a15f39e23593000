//! docs/records-of-processing.md, the bank's GDPR Art. 30 record, stays true to what ships: every
//! retention key a service ships is in it with its shipped value, every setting it names exists
//! (with the value it says), and every table a migration creates is in it or listed below as
//! holding no personal data. The settings are each service's own defaults as its binary embeds
//! them, loaded by service-kit's loader as the service loads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use devstack::{CONSOLE, SERVICES};
use service_kit::configuration::{Settings, SettingsSources};
use service_kit::startup::ServiceDefinition;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const RECORD: &str = "docs/records-of-processing.md";

/// Tables that hold no personal data, so the record need not name them. Each says why.
const NO_PERSONAL_DATA: [(&str, &str); 6] = [
    // One check value of the service's suppression key (an HMAC over a fixed label).
    ("comm-history-writer", "suppression_key_check"),
    // The last records' expiry round: when, ran or skipped, how many expired and kept (one row).
    ("comm-history-writer", "records_expiry_rounds"),
    ("interaction-pairing", "suppression_key_check"),
    ("result-ingest", "suppression_key_check"),
    // The sweeper's lease (a replica's random id) and the schedule's watermark.
    ("result-ingest", "sweeper"),
    // When the audit log's chain became keyed: one timestamp.
    ("gdpr-orchestrator", "gdpr_audit_keying"),
];

/// Keys a service reads but ships unset (absent from its defaults): the record may name them
/// without a value. Each must be documented in docs/configuration.md under its section.
const UNSET_BY_DEFAULT: [&str; 2] = [
    // comm-history-writer's delivery dead letters: kept until retried unless the bank sets it.
    "delivery.dead_retention_days",
    // gdpr-orchestrator's statutory retention rules: none until the bank configures them.
    "gdpr.statutory_retention",
];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `section.key` → (service, shipped value as TOML writes it) for every key in every service's
/// defaults and the shared base, as the service's loader reads them.
fn shipped_settings() -> BTreeMap<String, Vec<(&'static str, String)>> {
    let base = read(&repository().join("crates/service-kit/configuration/base.toml"));
    let mut shipped: BTreeMap<String, Vec<(&'static str, String)>> = BTreeMap::new();
    let services: Vec<&ServiceDefinition> = SERVICES.iter().copied().chain([CONSOLE]).collect();
    for service in services {
        // The shipped defaults hold development-only keys, refused anywhere else, and no caller,
        // which a service checking scopes refuses to start without.
        let mut overrides = vec![("application.environment".to_owned(), "development".to_owned())];
        if let Some(scope) = service.scopes.first() {
            overrides.push((
                "auth.callers.record.token".to_owned(),
                "records-of-processing".to_owned(),
            ));
            overrides.push(("auth.callers.record.scopes".to_owned(), (*scope).to_owned()));
        }
        let sources = SettingsSources {
            service_defaults: service.default_config,
            file: None,
            environment: false,
            overrides,
        };
        let settings = Settings::load(sources, service.scopes)
            .unwrap_or_else(|e| panic!("{}'s defaults do not load: {e}", service.name));
        for section in sections(&base).chain(sections(service.default_config)) {
            let value: serde_json::Value = settings.section(&section).unwrap();
            flatten(&section, &value, &mut |key, value| {
                let entry = shipped.entry(key).or_default();
                if !entry.iter().any(|(name, _)| *name == service.name) {
                    entry.push((service.name, value));
                }
            });
        }
    }
    shipped
}

/// The top-level sections a TOML text's table headers open (`[console.oidc]`: `console`).
fn sections(toml: &str) -> impl Iterator<Item = String> + '_ {
    toml.lines()
        .filter_map(|line| line.trim().strip_prefix('['))
        .filter(|header| !header.starts_with('['))
        .filter_map(|header| header.split([']', '.']).next())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut impl FnMut(String, String)) {
    match value {
        // A table shipped empty (`retention_days_by_channel = {}`) is a setting too.
        serde_json::Value::Object(fields) if !fields.is_empty() => {
            for (name, field) in fields {
                flatten(&format!("{prefix}.{name}"), field, out);
            }
        }
        other => out(prefix.to_owned(), other.to_string()),
    }
}

/// A setting the record names in a code span: `section.key = value` (the shipped value) or a
/// bare `section.key`.
struct Named {
    key: String,
    value: Option<String>,
}

fn named_settings(record: &str, sections: &BTreeSet<String>) -> Vec<Named> {
    let is_key = |text: &str| {
        text.contains('.')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            && text.split('.').next().is_some_and(|section| sections.contains(section))
    };
    record
        .lines()
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter_map(|span| match span.split_once(" = ") {
            Some((key, value)) if is_key(key) => Some(Named {
                key: key.to_owned(),
                value: Some(value.to_owned()),
            }),
            None if is_key(span) => Some(Named {
                key: span.to_owned(),
                value: None,
            }),
            _ => None,
        })
        .collect()
}

/// Whether docs/configuration.md has a row for `section.key` under the section's heading.
fn documented(configuration: &str, key: &str) -> bool {
    let (section, name) = key.split_once('.').unwrap();
    let heading = format!("`[{section}]`");
    let row = format!("| `{name}` |");
    configuration
        .lines()
        .skip_while(|line| !(line.starts_with("## ") && line.contains(&heading)))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .any(|line| line.starts_with(&row))
}

#[test]
fn every_retention_the_services_ship_is_in_the_record_with_its_value() {
    let record = read(&repository().join(RECORD));
    let configuration = read(&repository().join("docs/configuration.md"));
    let shipped = shipped_settings();
    let sections: BTreeSet<String> = shipped
        .keys()
        .filter_map(|k| k.split('.').next())
        .map(str::to_owned)
        .collect();
    let named = named_settings(&record, &sections);
    let mut problems = Vec::new();

    for (key, services) in shipped.iter().filter(|(key, _)| key.contains("retention")) {
        // A key the record gives another value is reported below, by the value it gives.
        if named.iter().any(|n| &n.key == key && n.value.is_some()) {
            continue;
        }
        for (service, value) in services {
            problems.push(format!(
                "{service} ships `{key} = {value}`, which {RECORD} does not say: write it so in the row of the data it erases"
            ));
        }
    }
    for Named { key, value } in &named {
        match (shipped.get(key), value) {
            (Some(services), Some(value)) => {
                for (service, ships) in services.iter().filter(|(_, ships)| ships != value) {
                    problems.push(format!(
                        "{RECORD} says `{key} = {value}`, but {service} ships `{key} = {ships}`"
                    ));
                }
            }
            (Some(_), None) => {}
            (None, _) if UNSET_BY_DEFAULT.contains(&key.as_str()) => {
                if value.is_some() {
                    problems.push(format!("{RECORD} gives `{key}` a value, but no service ships one"));
                }
                if !documented(&configuration, key) {
                    problems.push(format!(
                        "{RECORD} names `{key}`, which docs/configuration.md does not document"
                    ));
                }
            }
            (None, _) => problems.push(format!("{RECORD} names `{key}`, which no service's settings have")),
        }
    }
    for key in UNSET_BY_DEFAULT {
        if let Some(services) = shipped.get(key) {
            let (service, value) = &services[0];
            problems.push(format!(
                "{service} now ships `{key} = {value}`: write it so in {RECORD} and drop it from UNSET_BY_DEFAULT"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The tables each service's PostgreSQL migrations leave, in order: created, renamed and dropped.
fn migrated_tables() -> BTreeSet<(String, String)> {
    let root = repository().join("migrations/postgres");
    let mut tables = BTreeSet::new();
    for service in std::fs::read_dir(&root).unwrap() {
        let service = service.unwrap();
        let name = service.file_name().to_string_lossy().into_owned();
        let mut migrations: Vec<PathBuf> = std::fs::read_dir(service.path())
            .unwrap()
            .map(|entry| entry.unwrap().path().join("up.sql"))
            .filter(|up| up.exists())
            .collect();
        migrations.sort();
        let mut own = BTreeSet::new();
        for up in migrations {
            let sql: String = read(&up)
                .lines()
                .map(|line| line.split("--").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ");
            for statement in sql.to_lowercase().split(';') {
                let words: Vec<&str> = statement.split_whitespace().collect();
                let unquoted = |word: &str| word.split('(').next().unwrap_or("").trim_matches('"').to_owned();
                match words.as_slice() {
                    ["create", "table", "if", "not", "exists", table, ..] | ["create", "table", table, ..] => {
                        own.insert(unquoted(table));
                    }
                    ["drop", "table", rest @ ..] => {
                        for table in rest.iter().filter(|w| !matches!(**w, "if" | "exists" | "cascade")) {
                            for table in table.split(',').filter(|t| !t.is_empty()) {
                                own.remove(&unquoted(table));
                            }
                        }
                    }
                    ["alter", "table", table, "rename", "to", new, ..] => {
                        own.remove(&unquoted(table));
                        own.insert(unquoted(new));
                    }
                    _ => {}
                }
            }
        }
        tables.extend(own.into_iter().map(|table| (name.clone(), table)));
    }
    tables
}

#[test]
fn every_table_is_in_the_record_or_holds_no_personal_data() {
    let record = read(&repository().join(RECORD));
    let rows: Vec<&str> = record.lines().filter(|line| line.starts_with('|')).collect();
    let tables = migrated_tables();
    assert!(tables.len() > 20, "migrations/postgres read badly: {tables:?}");
    let mut problems = Vec::new();
    for (service, table) in &tables {
        let listed = NO_PERSONAL_DATA.contains(&(service.as_str(), table.as_str()));
        let span = format!("`{table}`");
        let recorded = rows
            .iter()
            .any(|row| row.contains(service.as_str()) && row.contains(&span));
        if !listed && !recorded {
            problems.push(format!(
                "{service}'s migrations create `{table}`, which no row of {RECORD} names with {service}: \
                 add its category there, or (no personal data) to NO_PERSONAL_DATA in this test, saying why"
            ));
        }
    }
    for (service, table) in NO_PERSONAL_DATA {
        if !tables.contains(&(service.to_owned(), table.to_owned())) {
            problems.push(format!(
                "NO_PERSONAL_DATA lists {service}'s `{table}`, which its migrations do not create"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
