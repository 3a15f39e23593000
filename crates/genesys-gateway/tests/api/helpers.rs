use genesys_sim::{Seed, SimConfig, SimState};
use std::sync::Arc;
use test_support::TestApp;

pub const INGEST: &str = "result_ingest";
pub const ORCHESTRATOR: &str = "gdpr_orchestrator";
pub const JANA: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
pub const SALE_COMPLETED: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";

pub struct Harness {
    pub gateway: TestApp,
    pub sim: Arc<SimState>,
    pub sim_url: String,
}

/// A seed with the default data plus `extra_users` generated agents.
pub fn seed_with_users(extra_users: usize) -> (Seed, Vec<String>) {
    let mut seed = Seed::default_seed().unwrap();
    let ids: Vec<String> = (0..extra_users).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (n, id) in ids.iter().enumerate() {
        seed.users.push(serde_json::json!({ "id": id, "name": format!("Agent {n}"), "state": "active", "selfUri": format!("/api/v2/users/{id}") }));
    }
    (seed, ids)
}

/// genesys-sim and a gateway pointed at it; `sim` and `gateway` settings as the test needs.
pub async fn start(
    seed: Seed,
    configure_sim: impl FnOnce(&mut SimConfig),
    gateway_overrides: &[(&str, &str)],
) -> Harness {
    let mut config = SimConfig::development(seed);
    configure_sim(&mut config);
    let sim = genesys_sim::start(config).unwrap();
    let (sim_url, state) = (sim.url.clone(), sim.state.clone());
    tokio::spawn(sim.run_until_stopped());
    let gateway = gateway_for(&sim_url, gateway_overrides).await;
    Harness {
        gateway,
        sim: state,
        sim_url,
    }
}

/// A gateway that finds Genesys (its API and its login) at `genesys_url`.
pub async fn gateway_for(genesys_url: &str, gateway_overrides: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("genesys.api_base_url", genesys_url),
        ("genesys.login_base_url", genesys_url),
        ("genesys.client_id", "ccbridge-dev"),
        ("genesys.client_secret", "ccbridge-dev-secret"),
        // Generous so that tests about caching are not slowed by the limiter; the limiter has its own test.
        ("genesys.rate_limit_per_minute", "60000"),
        ("genesys.rate_limit_burst", "1000"),
    ];
    overrides.extend_from_slice(gateway_overrides);
    test_support::spawn_app_with(
        &genesys_gateway::SERVICE,
        &[
            (INGEST, &["genesys:lookup", "genesys:conversations", "content:read"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
        &overrides,
    )
    .await
}

pub async fn default_harness() -> Harness {
    start(Seed::default_seed().unwrap(), |_| {}, &[]).await
}
