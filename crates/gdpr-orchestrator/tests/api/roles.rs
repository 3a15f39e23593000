//! Migrations run as the tables' owner; the service runs as a role that can insert into and read
//! the audit log, but neither change nor erase its rows, nor alter the table or its triggers.

use crate::helpers::DPO;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;
use service_kit::configuration::{Settings, SettingsSources};
use service_kit::database::{Backend, DbPool};
use test_support::{backend_under_test, TestDatabase};

fn settings(overrides: &[(&str, &str)]) -> Result<Settings, service_kit::configuration::ConfigurationError> {
    let mut all = vec![
        ("application.environment".to_owned(), "development".to_owned()),
        (
            "auth.callers.dpo.token".to_owned(),
            "dpo-token-0123456789abcdef".to_owned(),
        ),
        ("auth.callers.dpo.scopes".to_owned(), "dpo".to_owned()),
        (
            "gdpr.internal_token".to_owned(),
            "an-internal-token-of-some-length".to_owned(),
        ),
    ];
    all.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::load(
        SettingsSources {
            service_defaults: gdpr_orchestrator::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: all,
        },
        gdpr_orchestrator::SERVICE.scopes,
    )
}

/// `url` with its user replaced by `role` (the test cluster trusts local connections).
fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, host_and_path) = rest.split_once('@').unwrap();
    format!("{scheme}://{role}@{host_and_path}")
}

#[tokio::test]
async fn the_runtime_role_can_append_to_the_audit_log_and_nothing_more() {
    if backend_under_test() == Backend::Sqlite {
        // SQLite has no roles: the setting is refused rather than silently ignored.
        let refused = settings(&[("database.runtime_role", "ccbridge_app")])
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("database.runtime_role: SQLite has no roles"),
            "{refused}"
        );
        return;
    }
    let database = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let owner_url = database.url().to_owned();
    let role = format!("ccbridge_app_{}", uuid::Uuid::new_v4().simple());
    let app_url = as_role(&owner_url, &role);
    let mut owner = PgConnection::establish(&owner_url).unwrap();
    owner.batch_execute(&format!("CREATE ROLE {role} LOGIN")).unwrap();

    // `gdpr-orchestrator migrate`, as the owner, naming the runtime role.
    let owner_settings = settings(&[("database.url", &owner_url), ("database.runtime_role", &role)]).unwrap();
    let pool = DbPool::new(&owner_settings.database).unwrap();
    service_kit::startup::migrate(&gdpr_orchestrator::SERVICE, &pool, Some(&role))
        .await
        .unwrap();

    // The service, as the runtime role, files a request: its audit entry is written.
    let app = test_support::spawn_app_with(
        &gdpr_orchestrator::SERVICE,
        &[(DPO, &["dpo"])],
        &[
            ("database.url", &app_url),
            ("database.migrate_on_start", "false"),
            ("gdpr.worker_enabled", "false"),
            ("gdpr.internal_token", "an-internal-token-of-some-length"),
        ],
    )
    .await;
    let filed = app
        .post_json(
            "/gdpr/requests",
            DPO,
            &json!({ "type": "EXPORT", "subject": { "phoneNumbers": ["+420601123456"] }, "reference": "CASE-1" }),
        )
        .await;
    assert_eq!(filed.status().as_u16(), 201);
    let id = filed.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trail: serde_json::Value = app
        .get(&format!("/gdpr/requests/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trail["chainVerified"], true, "{trail}");

    // What the runtime role may not do, whatever it tries.
    let mut runtime = PgConnection::establish(&app_url).unwrap();
    for attempt in [
        "UPDATE gdpr_audit_log SET actor = 'someone else'",
        "DELETE FROM gdpr_audit_log",
        "TRUNCATE gdpr_audit_log",
        "ALTER TABLE gdpr_audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER gdpr_audit_log_append_only ON gdpr_audit_log",
        "DELETE FROM gdpr_audit_keying",
        "DELETE FROM __diesel_schema_migrations",
        "DROP TABLE gdpr_requests",
    ] {
        let error = runtime.batch_execute(attempt).unwrap_err().to_string();
        assert!(
            error.contains("permission denied") || error.contains("must be owner"),
            "{attempt}: {error}"
        );
    }
    runtime.batch_execute("SELECT count(*) FROM gdpr_audit_log").unwrap();
    drop((runtime, owner, app, pool));
    // The role's grants go with the database; then the role can go.
    drop(database);
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).unwrap();
}
