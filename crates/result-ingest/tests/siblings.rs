//! result-ingest's calls to its siblings read their answers as the siblings' contracts
//! (`contracts::{gateway, pairing, history}`): a stand-in answering a wrong shape is a failure
//! naming the field (and retried), never a silent default — before, an agent lookup answered
//! without `name` was read as "Genesys does not know the agent", and a batch result without
//! `recordId` as "written".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{web, App, HttpResponse, HttpServer};
use domain::{GenesysUserId, InteractionId, NewCommunicationRecord, Timestamp};
use result_ingest::siblings::{Failure, Siblings};
use serde_json::json;
use service_kit::configuration::{Settings, SettingsSources};

const AGENT: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const INTERACTION: &str = "5773eca4-0874-4617-a6e8-85591aa94609";

/// A stand-in for all three siblings that answers every call 200 with a body off its contract
/// (and a right one for the agent `good`), on 127.0.0.1.
async fn stand_in() -> (String, actix_web::dev::ServerHandle) {
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/users/{id}",
                web::get().to(|| async { HttpResponse::Ok().json(json!({ "id": AGENT, "displayName": "Jana Nováková" })) }),
            )
            .route(
                "/wrapupcodes/{id}",
                web::get().to(|| async { HttpResponse::Ok().json(json!({ "id": "w1", "name": "Sale completed" })) }),
            )
            .route(
                "/internal/pairings/lookup",
                web::post().to(|| async {
                    HttpResponse::Ok().json(json!({ "pairings": [{ "interactionId": INTERACTION }] }))
                }),
            )
            .route(
                "/communicationRecords/batch",
                web::post().to(|| async {
                    HttpResponse::Ok().json(json!({ "results": [{ "idempotencyKey": "k", "outcome": "created", "recordId": null, "detail": null }] }))
                }),
            )
            .route(
                "/conversations/results",
                web::get().to(|| async {
                    HttpResponse::Ok().json(json!({ "page": 1, "pageSize": 100, "totalHits": 1, "conversations": [{
                        "conversationId": "c1", "conversationStart": "2026-11-28T10:00:00Z",
                        "results": [{ "userId": AGENT, "wrapupCode": "w1", "wrapupEnd": 1_764_324_000_000_u64 }]
                    }]}))
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (base, handle)
}

fn siblings(base: &str) -> Siblings {
    let overrides = [
        ("ingest.gateway_url", base),
        ("ingest.pairing_url", base),
        ("ingest.comm_history_url", base),
        ("ingest.internal_token", "sibling-token-0123456789abcdef"),
        ("database.url", "sqlite://unused.db"),
        ("application.environment", "development"),
        ("auth.callers.ops.token", "ops-token-0123456789abcdef"),
        ("auth.callers.ops.scopes", "ingest:operate"),
    ];
    let settings = Settings::load(
        SettingsSources {
            service_defaults: result_ingest::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        },
        result_ingest::SERVICE.scopes,
    )
    .unwrap();
    Siblings::new(&settings.section("ingest").unwrap()).unwrap()
}

/// A transient failure whose reason says the answer is off the contract, at `field` (the path
/// of the missing or wrong field itself).
fn assert_off_contract<T: std::fmt::Debug>(answer: Result<T, Failure>, service: &str, field: &str) {
    match answer {
        Err(Failure::Transient { reason, .. }) => {
            assert!(reason.starts_with(service), "{reason}");
            assert!(reason.contains("off the contract"), "{reason}");
            assert!(reason.contains(field), "{reason}");
            assert!(!reason.contains("Jana"), "no value in the reason: {reason}");
        }
        other => panic!("{service}: expected a transient failure off the contract, got {other:?}"),
    }
}

#[actix_web::test]
async fn an_answer_off_the_contract_is_a_failure_naming_the_field_never_a_default() {
    let logs = test_support::CapturedLogs::install_global().expect("the only subscriber of this binary");
    let (base, server) = stand_in().await;
    let siblings = siblings(&base);

    // Before: an agent answered without `name` was "unknown to Genesys", and its record named nobody.
    let agent = GenesysUserId::parse(AGENT).unwrap();
    assert_off_contract(siblings.agent_name(agent).await, "genesys-gateway", "\"name\"");
    // The contract kept: the name.
    assert_eq!(
        siblings.wrapup_code_name("w1").await.unwrap().as_deref(),
        Some("Sale completed")
    );

    let interaction = InteractionId::parse(INTERACTION).unwrap();
    assert_off_contract(
        siblings.pairings_of(&[interaction]).await,
        "interaction-pairing",
        "pairings[0]",
    );

    let record: NewCommunicationRecord = serde_json::from_value(json!({
        "direction": "INBOUND", "communicatedAt": "2026-11-20T09:41:07.512Z", "source": "Call center",
        "channel": "VOICE", "domain": "OTHER", "customerHandle": "tel:+420601123456",
        "interactionId": INTERACTION, "title": "Call center communication", "body": ""
    }))
    .unwrap();
    // Before: `created` without `recordId` was "written" with no id.
    let written = siblings
        .write_records(&[(uuid::Uuid::new_v4(), &record, None)])
        .await
        .unwrap();
    assert_off_contract(written.into_iter().next().unwrap(), "comm-history-writer", "recordId");

    let from = Timestamp::parse("2026-11-28T00:00:00Z").unwrap();
    let before = Timestamp::parse("2026-11-29T00:00:00Z").unwrap();
    assert_off_contract(
        siblings.conversation_page(from, before, 1).await,
        "genesys-gateway",
        "conversations[0].results[0].wrapupEnd",
    );
    server.stop(true).await;

    // Each is logged as off the contract, by field, with no value of the answer.
    let logs = logs.text();
    let logged: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("a sibling's answer does not fit its contract"))
        .collect();
    assert_eq!(logged.len(), 4, "{logs}");
    for field in ["pairings[0]", "recordId", "conversations[0].results[0].wrapupEnd"] {
        assert!(logged.iter().any(|line| line.contains(field)), "{field}: {logs}");
    }
    assert!(!logs.contains("Jana") && !logs.contains("420601123456"), "{logs}");
}
