#[tokio::test]
async fn migrations_apply_revert_and_apply_again() {
    test_support::assert_migrations_reversible(&interaction_pairing::SERVICE).await;
}

/// `pairing.suppression_key` is checked against the key the database's erased pairings were made
/// with: started again with another key the service refuses, naming the setting and not the key;
/// with the same key it starts.
#[tokio::test]
async fn a_restart_with_another_suppression_key_is_refused_naming_the_setting() {
    const KEY_A: &str = "pairing-suppression-key-A-0123456789abcdef";
    const KEY_B: &str = "pairing-suppression-key-B-0123456789abcdef";
    let service = &interaction_pairing::SERVICE;
    let app = test_support::spawn_app_with(
        service,
        &[("bofe", &["pairing:write"])],
        &[
            ("pairing.outbox_worker_enabled", "false"),
            ("pairing.suppression_key", KEY_A),
        ],
    )
    .await;
    let app = &app;
    let restart = |key: &'static str| {
        let overrides = [
            ("pairing.outbox_worker_enabled", "false"),
            ("pairing.suppression_key", key),
            ("auth.callers.bofe.token", "bofe-token-0123456789abcdef0123456789"),
            ("auth.callers.bofe.scopes", "pairing:write"),
        ];
        async move { app.start_again_on_its_database(service, &overrides).await }
    };
    let refused = restart(KEY_B).await.expect_err("refused");
    let reason = format!("{refused:#}");
    assert!(reason.contains("pairing.suppression_key"), "{reason}");
    assert!(!reason.contains(KEY_A) && !reason.contains(KEY_B), "{reason}");
    assert!(restart(KEY_A).await.is_ok(), "the same key starts");
}
