//! The client secret, every bearer token and the personal data that crosses the gateway appear
//! in no log line, at debug level, through token renewals, retries and GDPR calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{start, INGEST, JANA, ORCHESTRATOR};
use test_support::CapturedLogs;

#[tokio::test]
async fn secrets_tokens_and_personal_data_stay_out_of_the_logs() {
    let logs = CapturedLogs::install_global().unwrap();

    let (seed, users) = helpers::seed_with_users(1);
    let h = start(seed, |c| c.faults.rate_limit_every = Some(4), &[]).await;
    assert_eq!(
        h.gateway.get(&format!("/users/{JANA}"), INGEST).await.status().as_u16(),
        200
    );
    h.sim.revoke_tokens();
    assert_eq!(
        h.gateway
            .get(&format!("/users/{}", users[0]), INGEST)
            .await
            .status()
            .as_u16(),
        200
    );
    let call = serde_json::json!({ "subject": { "phoneNumbers": ["+420601123456"], "emailAddresses": ["client@example.com"] } });
    for action in ["count", "export"] {
        let path = format!("/internal/gdpr/requests/{}/{action}", uuid::Uuid::now_v7());
        assert_eq!(
            h.gateway
                .post_signed(&path, ORCHESTRATOR, &call)
                .await
                .status()
                .as_u16(),
            200
        );
    }
    assert_eq!(h.gateway.get("/users/not-a-uuid", INGEST).await.status().as_u16(), 422);

    let text = logs.text();
    assert!(
        text.contains("obtained a Genesys OAuth token"),
        "the capture works: {text}"
    );
    assert!(
        text.contains("\"status\"") || text.contains("http.status_code"),
        "request spans were logged"
    );
    let mut forbidden = vec![
        "ccbridge-dev-secret".to_owned(),
        h.gateway.token(INGEST).to_owned(),
        h.gateway.token(ORCHESTRATOR).to_owned(),
        "420601123456".to_owned(),
        "client@example.com".to_owned(),
        "client%40example.com".to_owned(),
        "Jana Nov".to_owned(),
        "Klára".to_owned(),
    ];
    let issued = h.sim.issued_tokens();
    assert_eq!(issued.len(), 2, "a token and its renewal");
    forbidden.extend(issued);
    for secret in forbidden {
        assert!(!text.contains(&secret), "a log line contains {secret:?}");
    }
}
