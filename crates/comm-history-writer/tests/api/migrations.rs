#[tokio::test]
async fn migrations_apply_revert_and_apply_again() {
    test_support::assert_migrations_reversible(&comm_history_writer::SERVICE).await;
}

/// `records.suppression_key` is checked against the key the database's suppressed assignments
/// were made with: started again with another key the service refuses, naming the setting (the
/// stored fingerprints would no longer match, and a purged customer's copy could come back);
/// with the same key it starts.
#[tokio::test]
async fn a_restart_with_another_suppression_key_is_refused_naming_the_setting() {
    const KEY_A: &str = "records-suppression-key-A-0123456789abcdef";
    const KEY_B: &str = "records-suppression-key-B-0123456789abcdef";
    let service = &comm_history_writer::SERVICE;
    let app = test_support::spawn_app_with(
        service,
        &[("gdpr_orchestrator", &["gdpr:participant"])],
        &[("records.suppression_key", KEY_A)],
    )
    .await;
    let subject = serde_json::json!({
        "customerIds": ["00000000-0000-4000-8000-00000000000c"],
        "interactionIds": [uuid::Uuid::new_v4()],
    });
    let forget = uuid::Uuid::now_v7();
    crate::delivery::participant(&app, forget, "forget", &subject).await;
    crate::delivery::participant(&app, forget, "purge", &subject).await;

    let app = &app;
    let restart = |key: &'static str| {
        let overrides = [
            ("records.suppression_key", key),
            ("auth.callers.bofe.token", "bofe-token-0123456789abcdef0123456789"),
            ("auth.callers.bofe.scopes", "records:read"),
        ];
        async move { app.start_again_on_its_database(service, &overrides).await }
    };
    let refused = restart(KEY_B).await.expect_err("refused");
    let reason = format!("{refused:#}");
    assert!(reason.contains("records.suppression_key"), "{reason}");
    assert!(!reason.contains(KEY_A) && !reason.contains(KEY_B), "{reason}");
    assert!(restart(KEY_A).await.is_ok(), "the same key starts");
}
