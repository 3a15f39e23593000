#[tokio::test]
async fn migrations_apply_revert_and_apply_again() {
    test_support::assert_migrations_reversible(&gdpr_orchestrator::SERVICE).await;
}
