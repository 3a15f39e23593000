#[tokio::test]
async fn migrations_apply_revert_and_apply_again() {
    test_support::assert_migrations_reversible(&result_ingest::SERVICE).await;
}

/// result-ingest with nothing in the background touching the tables (a test reverts migrations).
async fn quiet_app() -> test_support::TestApp {
    test_support::spawn_app_with(
        &result_ingest::SERVICE,
        &[("operator", &["ingest:operate"])],
        &[
            ("ingest.internal_token", "ingest-pipeline-token-0123456789"),
            ("ingest.worker_enabled", "false"),
            ("ingest.sweep_enabled", "false"),
        ],
    )
    .await
}

/// Reverts migrations, the latest first, until `version` is reverted.
fn revert_back_to(c: &mut service_kit::database::AnyConnection, version: &str) {
    use diesel_migrations::MigrationHarness;
    let migrations = result_ingest::SERVICE.migrations.as_ref().unwrap();
    let mut reverted = Vec::new();
    while reverted.last().map(String::as_str) != Some(version) {
        let last = match c {
            service_kit::database::AnyConnection::Postgresql(pg) => {
                pg.revert_last_migration((migrations.postgres)()).map(|v| v.to_string())
            }
            service_kit::database::AnyConnection::Sqlite(sqlite) => sqlite
                .revert_last_migration((migrations.sqlite)())
                .map(|v| v.to_string()),
        };
        reverted.push(last.unwrap());
        assert!(reverted.len() < 10, "{version} was never reverted: {reverted:?}");
    }
}

/// Migration 000007 makes a result's identity its conversation, agent and wrap-up code. A result
/// stored twice before (two event times) keeps one event, the processed one, and the GDPR hold
/// on the other moves to it: still hidden, still purged with its request.
#[tokio::test]
async fn a_result_stored_twice_under_the_old_identity_keeps_one_event_and_its_holds() {
    use diesel::RunQueryDsl;
    let app = quiet_app().await;
    let (kept, doubled, request) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let rows = app
        .pool()
        .run(move |c| {
            let migrations = result_ingest::SERVICE.migrations.as_ref().unwrap();
            // Back to before 000007, reverting the later ones first.
            revert_back_to(c, "20261129000007");
            let event = |id: uuid::Uuid, status: &str, event_time: &str, accepted_at: &str| {
                format!(
                    "INSERT INTO inbox_events (id, conversation_id, user_id, wrapup_code, event_time, payload, \
                     status, attempts, next_attempt_at, accepted_at, budget_started_at) VALUES ('{id}', \
                     '5773eca4-0874-4617-a6e8-85591aa94609', '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f', 'code', \
                     '{event_time}', '{{}}', '{status}', 1, '{accepted_at}', '{accepted_at}', '{accepted_at}')"
                )
            };
            for statement in [
                event(
                    doubled,
                    "pending",
                    "2026-11-20T09:41:09.000000Z",
                    "2026-11-20T09:41:08.000000Z",
                ),
                event(
                    kept,
                    "processed",
                    "2026-11-20T09:41:07.000000Z",
                    "2026-11-20T09:41:10.000000Z",
                ),
                format!("INSERT INTO gdpr_holds (request_id, kind, row_id) VALUES ('{request}', 'event', '{doubled}')"),
                format!("UPDATE inbox_events SET forgotten_by = '{request}' WHERE id = '{doubled}'"),
            ] {
                diesel::sql_query(statement).execute(c)?;
            }
            service_kit::database::run_pending_migrations(c, "result-ingest", migrations).unwrap();
            Ok::<_, service_kit::database::DatabaseError>(())
        })
        .await;
    rows.unwrap();
    let dump = test_support::dump_tables(app.pool()).await;
    let events: Vec<&String> = dump.iter().filter(|line| line.starts_with("inbox_events:")).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].contains(&kept.to_string()),
        "the processed event stays: {events:?}"
    );
    assert!(
        events[0].contains(&request.to_string()),
        "hidden by the request: {events:?}"
    );
    let holds: Vec<&String> = dump.iter().filter(|line| line.starts_with("gdpr_holds:")).collect();
    assert_eq!(holds.len(), 1, "{holds:?}");
    assert!(
        holds[0].contains(&kept.to_string()) && holds[0].contains(&request.to_string()),
        "{holds:?}"
    );
}

/// `ingest.suppression_key` is checked against the key the database's suppressions and erased
/// results were made with: started again with another key the service refuses, naming the
/// setting (the stored hashes would no longer match, and a forgotten subject's results could come
/// back); with the same key it starts.
#[tokio::test]
async fn a_restart_with_another_suppression_key_is_refused_naming_the_setting() {
    const KEY_A: &str = "ingest-suppression-key-A-0123456789abcdef";
    const KEY_B: &str = "ingest-suppression-key-B-0123456789abcdef";
    let service = &result_ingest::SERVICE;
    let quiet = [
        ("ingest.internal_token", "ingest-pipeline-token-0123456789"),
        ("ingest.worker_enabled", "false"),
        ("ingest.sweep_enabled", "false"),
    ];
    let mut first = quiet.to_vec();
    first.push(("ingest.suppression_key", KEY_A));
    let app = test_support::spawn_app_with(
        service,
        &[(crate::helpers::ORCHESTRATOR, &["gdpr:participant"])],
        &first,
    )
    .await;
    let subject = serde_json::json!({ "customerIds": [uuid::Uuid::new_v4()], "phoneNumbers": ["+420601123456"] });
    let forget = uuid::Uuid::now_v7();
    let response = app
        .post_signed(
            &format!("/internal/gdpr/requests/{forget}/forget"),
            crate::helpers::ORCHESTRATOR,
            &serde_json::json!({ "subject": subject }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());

    let app = &app;
    let restart = |key: &'static str| {
        let mut overrides = vec![
            ("ingest.suppression_key", key),
            ("auth.callers.operator.token", "operator-token-0123456789abcdef0123"),
            ("auth.callers.operator.scopes", "ingest:operate"),
        ];
        overrides.extend_from_slice(&quiet);
        async move { app.start_again_on_its_database(service, &overrides).await }
    };
    let refused = restart(KEY_B).await.expect_err("refused");
    let reason = format!("{refused:#}");
    assert!(reason.contains("ingest.suppression_key"), "{reason}");
    assert!(!reason.contains(KEY_A) && !reason.contains(KEY_B), "{reason}");
    assert!(restart(KEY_A).await.is_ok(), "the same key starts");
}

/// Migration 000301 gives each inbox event its record's channel: events still to be processed
/// (pending, dead) take theirs from their payload's media type, in SQL mapped as
/// `domain::Channel::from_genesys_media_type` maps it. Every row of that mapping, as Genesys
/// writes it and in upper and title case, and an unlisted media type, go through the migration on
/// this backend, so that the SQL and the Rust cannot drift apart; processed ones keep none.
#[tokio::test]
async fn events_not_yet_processed_get_their_channel_from_their_payload() {
    use diesel::prelude::*;
    use domain::Channel;
    use result_ingest::schema::inbox_events::dsl;
    use service_kit::database::sql_types::DbUuid;
    let app = quiet_app().await;
    let title = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    let mut events: Vec<(uuid::Uuid, &'static str, String, Option<&'static str>)> = Vec::new();
    for (index, (media_type, channel)) in Channel::GENESYS_MEDIA_TYPES.into_iter().enumerate() {
        let status = if index % 2 == 0 { "pending" } else { "dead" };
        for written in [media_type.to_owned(), media_type.to_uppercase(), title(media_type)] {
            events.push((uuid::Uuid::now_v7(), status, written, Some(channel.as_str())));
        }
    }
    assert_eq!(Channel::from_genesys_media_type("fax"), Channel::Other);
    events.push((uuid::Uuid::now_v7(), "pending", "fax".to_owned(), Some("OTHER")));
    events.push((uuid::Uuid::now_v7(), "processed", "voice".to_owned(), None));
    let inserted = events.clone();
    let channels = app
        .pool()
        .run(move |c| {
            let migrations = result_ingest::SERVICE.migrations.as_ref().unwrap();
            revert_back_to(c, "20261206000301");
            for (index, (id, status, media_type, _)) in inserted.iter().enumerate() {
                diesel::sql_query(format!(
                    "INSERT INTO inbox_events (id, conversation_id, user_id, wrapup_code, event_time, payload, \
                     status, attempts, next_attempt_at, accepted_at, budget_started_at) VALUES ('{id}', \
                     '5773eca4-0874-4617-a6e8-85591aa94609', '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f', 'code-{index}', \
                     '2026-12-01T09:41:07.000000Z', '{{\"mediaType\": \"{media_type}\"}}', '{status}', 1, \
                     '2026-12-01T09:41:08.000000Z', '2026-12-01T09:41:08.000000Z', '2026-12-01T09:41:08.000000Z')"
                ))
                .execute(c)?;
            }
            service_kit::database::run_pending_migrations(c, "result-ingest", migrations).unwrap();
            let found: Vec<(DbUuid, Option<String>)> = dsl::inbox_events.select((dsl::id, dsl::channel)).load(c)?;
            Ok::<_, service_kit::database::DatabaseError>(found)
        })
        .await
        .unwrap();
    assert_eq!(channels.len(), Channel::GENESYS_MEDIA_TYPES.len() * 3 + 2);
    for (id, status, media_type, expected) in events {
        let channel = channels
            .iter()
            .find(|(found, _)| found.0 == id)
            .map(|(_, channel)| channel.as_deref());
        assert_eq!(channel, Some(expected), "a {status} event of media type {media_type:?}");
        if let Some(expected) = expected {
            assert_eq!(Channel::from_genesys_media_type(&media_type).as_str(), expected);
        }
    }
}
