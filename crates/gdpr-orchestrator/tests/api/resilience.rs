use crate::helpers::{after, assert_not_logged, stack, start_writer, Person, DPO};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::{json, Value};

fn steps<'a>(request: &'a Value, phase: &str) -> Vec<&'a Value> {
    request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["phase"] == phase)
        .collect()
}

/// A participant down when a request starts: the request waits as `blocked`, nothing runs, and
/// it completes by itself once the participant is back.
#[tokio::test]
async fn a_participant_down_at_the_start_blocks_the_request_until_it_returns() {
    let mut s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let port: u16 = s.writer.address.rsplit(':').next().unwrap().parse().unwrap();
    s.writer.stop().await;
    // Held (refusing connections) until the writer comes back on it.
    let reserved = test_support::ReservedPort::again(port).await;

    let id = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await;
    let now = Timestamp::now();
    let request = s.run(&id, now).await;
    assert_eq!(request["status"], "blocked", "{request}");
    assert_eq!(request["statusReason"], "comm-history-writer is unreachable");
    assert!(
        request["participants"].as_array().unwrap().is_empty(),
        "nothing ran: {request}"
    );
    // Still down a minute later: still blocked, still nothing run.
    let request = s.run(&id, after(now, 60)).await;
    assert_eq!(request["status"], "blocked");
    assert!(request["participants"].as_array().unwrap().is_empty());

    // Back, on the same port and database: the request resumes by itself and completes.
    let database_url = s.writer.settings.database.url.expose_secret();
    let old_writer = std::mem::replace(&mut s.writer, start_writer(Some(reserved), Some(&database_url)).await);
    let (request, _) = s.run_while(&id, "exporting", after(now, 120), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(request["counts"]["export.communications"], 1);
    let blocked = s.audit(&id).await.iter().filter(|e| e["event"] == "blocked").count();
    assert_eq!(blocked, 1, "one entry for the blocked state, not one per retry");
    drop(old_writer);
    assert_not_logged(&[&person.digits]);
}

/// The orchestrator dies in the middle of a purge (here: Genesys Cloud fails after the internal
/// participants are done, and a new worker takes over): the new worker finishes the request
/// without repeating any step that was done.
#[tokio::test]
async fn a_new_worker_resumes_a_half_done_purge_without_repeating_done_steps() {
    let s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let id = s.file("FORGET", json!({ "phoneNumbers": [person.phone] }), false).await;
    let now = Timestamp::now();
    s.run(&id, now).await;
    assert_eq!(s.confirm(&id).await.status().as_u16(), 200);
    assert_eq!(s.run(&id, now).await["status"], "in_grace");

    s.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    let purge_time = after(now, 25 * 3600);
    let request = s.run(&id, purge_time).await;
    assert_eq!(request["status"], "purging", "{request}");
    let purge = steps(&request, "purge");
    let states: Vec<(&str, &str)> = purge
        .iter()
        .map(|p| (p["participant"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("result-ingest", "done"),
            ("comm-history-writer", "done"),
            ("interaction-pairing", "done"),
            ("genesys-cloud", "failed")
        ]
    );
    assert!(
        request["statusReason"].as_str().unwrap().starts_with("genesys-cloud"),
        "{request}"
    );

    // "Crash": this worker is gone; a new one, knowing only the database, takes over.
    s.sim.set_faults(Faults::default());
    let replacement = gdpr_orchestrator::worker(
        &s.orchestrator.settings,
        s.orchestrator.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let mut request = Value::Null;
    let mut clock = after(purge_time, 60);
    for _ in 0..20 {
        replacement.drain(clock).await.unwrap();
        request = s.request(&id).await;
        if request["status"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        clock = after(clock, 60);
    }
    assert_eq!(request["status"], "completed", "{request}");
    for step in steps(&request, "purge") {
        let expected_attempts = if step["participant"] == "genesys-cloud" { 2 } else { 1 };
        assert_eq!(step["attempts"], expected_attempts, "{step}");
    }
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_DELETE"]);
    assert_not_logged(&[&person.digits]);
}

/// gdpr-orchestrator as its own process on the test orchestrator's database.
fn start_orchestrator_process(s: &crate::helpers::Stack) -> std::process::Child {
    use secrecy::ExposeSecret;
    let settings = &s.orchestrator.settings;
    let gdpr = gdpr_orchestrator::gdpr_settings(settings).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-orchestrator"))
        .env_clear()
        .env("APP__APPLICATION__PORT", "0")
        .env("APP__DATABASE__URL", settings.database.url.expose_secret())
        .env("APP__AUTH__CALLERS__DPO__TOKEN", "dpo-token-0123456789abcdef")
        .env("APP__AUTH__CALLERS__DPO__SCOPES", "dpo")
        .env("APP__GDPR__RESULT_INGEST_URL", gdpr.result_ingest_url.as_str())
        .env("APP__GDPR__COMM_HISTORY_URL", gdpr.comm_history_url.as_str())
        .env("APP__GDPR__PAIRING_URL", gdpr.pairing_url.as_str())
        .env("APP__GDPR__GATEWAY_URL", gdpr.gateway_url.as_str())
        .env("APP__GDPR__INTERNAL_TOKEN", gdpr.internal_token.expose_secret())
        .env("APP__APPLICATION__ENVIRONMENT", "development")
        .env("APP__GDPR__LEASE_SECONDS", "1")
        .env("APP__GDPR__REQUEST_TIMEOUT_MS", "500")
        .env("APP__GDPR__POLL_INTERVAL_MS", "20")
        .env("APP__GDPR__BACKOFF_MIN_MS", "10")
        .env("APP__GDPR__BACKOFF_MAX_MS", "100")
        .env("APP__GDPR__EXTERNAL_POLL_SECONDS", "1")
        .env("APP__TELEMETRY__LOG_FILTER", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gdpr-orchestrator starts")
}

fn step_state<'a>(request: &'a Value, phase: &str, participant: &str) -> Option<&'a str> {
    steps(request, phase)
        .into_iter()
        .find(|p| p["participant"] == participant)
        .and_then(|p| p["state"].as_str())
}

/// The orchestrator process is SIGKILLed while a participant call is in flight (Genesys Cloud is
/// slow), and started again: it takes the request over when its lease ends, finishes it, and
/// repeats none of the steps that were done.
#[tokio::test]
async fn an_orchestrator_killed_mid_request_resumes_without_repeating_done_steps() {
    let s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    s.sim.set_faults(Faults {
        latency_ms: 1200,
        ..Faults::default()
    });
    let id = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await;

    let mut process = start_orchestrator_process(&s);
    let mut waited = 0;
    loop {
        let request = s.request(&id).await;
        let internal_done = ["result-ingest", "comm-history-writer", "interaction-pairing"]
            .iter()
            .all(|p| step_state(&request, "count", p) == Some("done"));
        // Killed while the Genesys Cloud call is in flight (its step says so).
        if internal_done && step_state(&request, "count", "genesys-cloud") == Some("running") {
            break;
        }
        assert!(waited < 500, "the process never got to Genesys Cloud: {request}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    process.kill().unwrap();
    process.wait().unwrap();
    s.sim.set_faults(Faults::default());

    let mut process = start_orchestrator_process(&s);
    let mut request = Value::Null;
    for _ in 0..600 {
        request = s.request(&id).await;
        if request["status"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    process.kill().unwrap();
    process.wait().unwrap();
    assert_eq!(request["status"], "completed", "{request}");
    for participant in ["result-ingest", "comm-history-writer", "interaction-pairing"] {
        let step = steps(&request, "count")
            .into_iter()
            .find(|p| p["participant"] == participant)
            .unwrap();
        assert_eq!(step["attempts"], 1, "done before the kill, not repeated: {step}");
    }
    let audit: Value = s
        .orchestrator
        .get(&format!("/gdpr/requests/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    for participant in ["result-ingest", "comm-history-writer", "interaction-pairing"] {
        let done = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["event"] == "step" && e["detail"]["phase"] == "count" && e["detail"]["participant"] == participant
            })
            .count();
        assert_eq!(done, 1, "{participant} counted once");
    }
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_EXPORT"]);
    assert_not_logged(&[&person.digits]);
}
