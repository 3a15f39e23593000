use interaction_pairing::SERVICE;
use service_kit::database::DatabaseError;
use test_support::TestApp;

pub const BOFE: &str = "bofe";
pub const INTERNAL: &str = "internal";

/// BOFE may write and read pairings; ccbridge's own services may only read them.
pub async fn spawn_app() -> TestApp {
    // The outbox worker is the pipeline's concern (result-ingest's tests); here pairings only queue.
    test_support::spawn_app_with(
        &SERVICE,
        &[
            (BOFE, &["pairing:write", "pairing:read"]),
            (INTERNAL, &["pairing:read"]),
        ],
        &[("pairing.outbox_worker_enabled", "false")],
    )
    .await
}

pub async fn stored_pairings(app: &TestApp) -> i64 {
    app.pool()
        .run(|c| interaction_pairing::store::count(c).map_err(DatabaseError::from))
        .await
        .unwrap()
}

pub fn example() -> serde_json::Value {
    serde_json::json!({
        "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
        "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609"
    })
}

/// Outbox entries waiting (assignments and withdrawals).
pub async fn queued(app: &TestApp) -> i64 {
    app.pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(DatabaseError::from))
        .await
        .unwrap()
}
