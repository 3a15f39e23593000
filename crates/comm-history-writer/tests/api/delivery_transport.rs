//! The delivery's transport: the bank's manager over https, its certificate chaining to the
//! bank's own CA (`delivery.ca_bundle`), and a redirect from it a failed delivery, not followed.
//! The CA and the manager's certificate are made here; the manager is a TLS server on 127.0.0.1.

use crate::delivery::{deliveries, drain, record, spawn, write, C};
use comm_history_writer::settings::DeliverySettings;
use domain::Timestamp;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use test_support::{HistoryManager, ManagerFault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
        "communication-history-manager answered 307 Temporary Redirect: redirects are not followed"
    );
    assert!(deliveries(&s.app, "delivered").await.is_empty());
}

/// A CA of the bank's own, and a certificate for 127.0.0.1 it signed.
struct BankCa {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

fn bank_ca() -> BankCa {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Bank internal CA (test)");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca.self_signed(&ca_key).unwrap();
    let mut server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(rcgen::DnType::CommonName, "communication-history-manager (test)");
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = server.signed_by(&server_key, &ca, &ca_key).unwrap();
    BankCa {
        ca_pem: ca.pem(),
        server_chain: vec![server.der().clone()],
        server_key: server_key.serialize_der(),
    }
}

/// A manager on https://127.0.0.1:port presenting `ca`'s certificate: answers every request
/// 201 `{"id": "chm-tls-1"}`, keeping the bodies it got.
async fn tls_manager(ca: &BankCa) -> (String, Arc<Mutex<Vec<Value>>>) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            ca.server_chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ca.server_key.clone())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let kept = kept.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let body = read_request(&mut tls).await;
                kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                let answer = br#"{"id":"chm-tls-1"}"#;
                let head = format!(
                    "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                tls.write_all(head.as_bytes()).await.unwrap();
                tls.write_all(answer).await.unwrap();
                tls.shutdown().await.unwrap();
            });
        }
    });
    (url, bodies)
}

/// An HTTP/1.1 request's body (its head read up to the blank line, then content-length bytes).
async fn read_request(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended before its head did");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    while buffer.len() < end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended before its body did");
        buffer.extend_from_slice(&chunk[..n]);
    }
    buffer[end..end + length].to_vec()
}

fn written(pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ccbridge-bank-ca-{}.pem", Uuid::new_v4()));
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn the_manager_is_reached_over_https_trusting_the_banks_ca_bundle() {
    let ca = bank_ca();
    let (url, bodies) = tls_manager(&ca).await;
    let records = format!("{url}/communicationRecords");
    let bundle = written(&ca.ca_pem);
    let unused = HistoryManager::start(true);

    let trusting = spawn(
        &unused,
        &[
            ("delivery.url", records.as_str()),
            ("delivery.ca_bundle", bundle.to_str().unwrap()),
        ],
    )
    .await;
    let stored = write(&trusting.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&trusting.worker, Timestamp::now()).await, 1);
    let delivered = deliveries(&trusting.app, "delivered").await;
    assert_eq!(delivered.len(), 1, "{:?}", deliveries(&trusting.app, "pending").await);
    assert_eq!(delivered[0]["externalId"], "chm-tls-1");
    assert_eq!(bodies.lock().unwrap().len(), 1);
    assert_eq!(bodies.lock().unwrap()[0]["interactionId"], stored["interactionId"]);

    // Without the bank's CA the same manager is a stranger: nothing is sent to it.
    let stranger = spawn(&unused, &[("delivery.url", records.as_str())]).await;
    write(&stranger.app, &record(Some(C), &Uuid::new_v4().to_string())).await;
    assert_eq!(drain(&stranger.worker, Timestamp::now()).await, 1);
    let pending = deliveries(&stranger.app, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["lastError"], "communication-history-manager: unreachable");
    assert_eq!(
        bodies.lock().unwrap().len(),
        1,
        "no record reached the untrusted server"
    );
    assert!(unused.received().is_empty());
    std::fs::remove_file(bundle).unwrap();
}

#[tokio::test]
async fn outside_development_the_manager_is_https_and_its_ca_bundle_a_file_of_certificates() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let mut section: DeliverySettings = s.app.settings.section("delivery").unwrap();
    section.url = "http://chm.bank.example/communicationRecords".to_owned();
    assert!(section.validate(true).is_ok(), "http in development");
    let problems = section.validate(false).unwrap_err();
    assert_eq!(
        problems,
        ["delivery.url: must be an https URL (http only with application.environment = \"development\")"]
    );
    section.update_mode = comm_history_writer::settings::UpdateMode::Patch;
    section.update_url_template = "http://chm.bank.example/communicationRecords/{recordId}".to_owned();
    assert_eq!(section.validate(false).unwrap_err().len(), 2, "the template too");

    section.url = "https://chm.bank.example/communicationRecords".to_owned();
    section.update_url_template = "https://chm.bank.example/communicationRecords/{recordId}".to_owned();
    assert!(section.validate(false).is_ok());

    section.ca_bundle = "/nonexistent/bank-ca.pem".to_owned();
    assert_eq!(
        section.validate(false).unwrap_err(),
        ["delivery.ca_bundle: cannot be read (entity not found)"]
    );
    let not_pem = written("not a certificate");
    section.ca_bundle = not_pem.to_str().unwrap().to_owned();
    assert_eq!(
        section.validate(false).unwrap_err(),
        ["delivery.ca_bundle: holds no certificate"]
    );
    let pem = written(&bank_ca().ca_pem);
    section.ca_bundle = pem.to_str().unwrap().to_owned();
    assert!(section.validate(false).is_ok());
    assert_eq!(section.ca_certificates().unwrap().len(), 1);
    std::fs::remove_file(not_pem).unwrap();
    std::fs::remove_file(pem).unwrap();
}
