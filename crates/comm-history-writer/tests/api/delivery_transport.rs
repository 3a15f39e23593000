//! The delivery's transport: the bank's manager over https, its certificate chaining to the
//! bank's own CA (`delivery.ca_bundle`), and a redirect from it a failed delivery, not followed.
//! The CA and the manager's certificate are made here; the manager stand-in is behind a TLS server
//! on 127.0.0.1 (test-support's `TlsFront`).

use crate::delivery::{delivered, deliveries, drain, record, spawn, write, C};
use comm_history_writer::settings::DeliverySettings;
use domain::Timestamp;
use std::path::PathBuf;
use test_support::tls::{TestCa, TlsFront};
use test_support::{HistoryManager, ManagerFault};
use uuid::Uuid;

#[tokio::test]
async fn a_redirect_from_the_manager_is_a_failed_delivery_not_followed() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    manager.set_fault(ManagerFault::Redirect);
    write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&s.worker, Timestamp::now()).await, 1);

    let received = manager.received();
    assert_eq!(received.len(), 1, "nothing went to where the 307 pointed: {received:?}");
    assert_eq!(received[0].path, "/communicationRecords");
    let dead = deliveries(&s.app, "dead").await;
    assert_eq!(dead.len(), 1, "a refusal, not retried");
    assert_eq!(
        dead[0]["lastError"],
        "communication-history-manager redirected (not followed): 307"
    );
    assert!(delivered(&s.app).await.is_empty());
}

fn written(pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ccbridge-bank-ca-{}.pem", Uuid::new_v4()));
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn the_manager_is_reached_over_https_trusting_the_banks_ca_bundle() {
    // The manager stand-in behind https://127.0.0.1:port, its certificate from the bank's own CA.
    let ca = TestCa::new("Bank internal CA (test)");
    let manager = HistoryManager::start(true);
    let front = TlsFront::start(&ca, manager.url.trim_start_matches("http://").parse().unwrap()).await;
    let records = format!("{}/communicationRecords", front.url);
    let bundle = ca.pem_file();

    let trusting = spawn(
        &manager,
        &[
            ("delivery.url", records.as_str()),
            ("delivery.ca_bundle", bundle.to_str().unwrap()),
        ],
    )
    .await;
    let stored = write(&trusting.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&trusting.worker, Timestamp::now()).await, 1);
    let delivered = delivered(&trusting.app).await;
    assert_eq!(delivered.len(), 1, "{:?}", deliveries(&trusting.app, "pending").await);
    let received = manager.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["interactionId"], stored["interactionId"]);
    let held: Vec<String> = manager.records().into_keys().collect();
    assert_eq!(delivered[0]["externalId"], held[0]);

    // Without the bank's CA the same manager is a stranger: nothing is sent to it.
    let stranger = spawn(&manager, &[("delivery.url", records.as_str())]).await;
    write(&stranger.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&stranger.worker, Timestamp::now()).await, 1);
    let pending = deliveries(&stranger.app, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["lastError"], "communication-history-manager: unreachable");
    assert_eq!(manager.received().len(), 1, "no record reached the untrusted server");
}

#[tokio::test]
async fn outside_development_the_manager_is_https_and_its_ca_bundle_a_file_of_certificates() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let mut section: DeliverySettings = s.app.settings.section("delivery").unwrap();
    let lease = std::time::Duration::from_secs(60);
    let url = |text: &str| Some(text.parse().unwrap());
    section.url = url("http://chm.bank.example/communicationRecords");
    assert!(section.validate(true, lease).is_ok(), "http in development");
    let problems = section.validate(false, lease).unwrap_err();
    assert_eq!(
        problems,
        ["delivery.url: must be an https URL (http only with application.environment = \"development\")"]
    );
    section.update_mode = comm_history_writer::settings::UpdateMode::Patch;
    section.update_url_template = Some("http://chm.bank.example/communicationRecords/{recordId}".to_owned());
    assert_eq!(section.validate(false, lease).unwrap_err().len(), 2, "the template too");

    section.url = url("https://chm.bank.example/communicationRecords");
    section.update_url_template = Some("https://chm.bank.example/communicationRecords/{recordId}".to_owned());
    assert!(section.validate(false, lease).is_ok());
    assert_eq!(
        section.validate(false, std::time::Duration::from_secs(1)).unwrap_err(),
        ["delivery.lease_seconds: must outlast delivery.timeout_ms by more than a second"]
    );

    section.ca_bundle = "/nonexistent/bank-ca.pem".to_owned();
    assert_eq!(
        section.validate(false, lease).unwrap_err(),
        ["delivery.ca_bundle: cannot be read (entity not found)"]
    );
    let not_pem = written("not a certificate");
    section.ca_bundle = not_pem.to_str().unwrap().to_owned();
    assert_eq!(
        section.validate(false, lease).unwrap_err(),
        ["delivery.ca_bundle: holds no certificate"]
    );
    let pem = written(&TestCa::new("Bank internal CA (test)").pem);
    section.ca_bundle = pem.to_str().unwrap().to_owned();
    assert!(section.validate(false, lease).is_ok());
    assert_eq!(section.ca_certificates().unwrap().len(), 1);
    std::fs::remove_file(not_pem).unwrap();
    std::fs::remove_file(pem).unwrap();
}

#[test]
fn the_credentials_are_one_kind_and_a_replaced_key_is_refused_by_name() {
    let keys = |extra: serde_json::Value| {
        let mut keys = serde_json::json!({
            "url": "https://chm.bank.example/communicationRecords",
            "bearer_token": "",
            "basic_username": "",
            "basic_password": "",
            "timeout_ms": 10000,
            "update_mode": "new_record",
            "update_url_template": "",
            "external_id_pointer": "",
            "worker_enabled": true,
            "ca_bundle": "",
        });
        keys.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<DeliverySettings>(keys)
    };
    let plain = keys(serde_json::json!({})).unwrap();
    assert!(matches!(
        plain.credentials,
        comm_history_writer::settings::Credentials::None
    ));
    assert_eq!(plain.external_id_pointer, None, "empty is none");
    let basic = keys(serde_json::json!({ "basic_username": "ccbridge", "basic_password": "secret" })).unwrap();
    assert!(
        matches!(basic.credentials, comm_history_writer::settings::Credentials::Basic { ref username, .. } if username == "ccbridge")
    );
    let both = keys(serde_json::json!({ "basic_username": "ccbridge", "bearer_token": "token" })).unwrap_err();
    assert!(
        both.to_string()
            .contains("delivery.bearer_token: set it or delivery.basic_username, not both"),
        "{both}"
    );
    let replaced = keys(serde_json::json!({ "max_attempts": 50 })).unwrap_err();
    assert!(
        replaced
            .to_string()
            .contains("delivery.max_attempts: replaced by delivery.retry_budget"),
        "{replaced}"
    );
    let none = keys(serde_json::json!({ "url": "" })).unwrap();
    assert!(!none.enabled());
}
