//! devstack starts every service, each answering on its own port with the printed tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use devstack::{Devstack, Options};

#[tokio::test]
async fn every_service_answers_with_the_development_tokens() {
    let data = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: data.path().to_owned(),
        host: "127.0.0.1".to_owned(),
        ephemeral_ports: true,
    };
    let stack = Devstack::start(&options).await.unwrap();
    let names: Vec<_> = stack.services.iter().map(|s| s.name).collect();
    assert_eq!(names, ["interaction-pairing", "comm-history-writer"]);
    let banner = stack.banner();
    let urls: Vec<String> = stack.services.iter().map(|s| s.url.clone()).collect();
    let bofe = stack.tokens["bofe"].clone();
    let internal = stack.tokens["internal"].clone();
    assert!(banner.contains(&bofe) && urls.iter().all(|u| banner.contains(u.as_str())));
    tokio::spawn(stack.run_until_signalled());

    let client = reqwest::Client::new();
    for url in &urls {
        let ready: serde_json::Value = client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["database"], "sqlite");
    }
    let pairing = serde_json::json!({
        "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
        "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609"
    });
    let response = client
        .post(format!("{}/customers/supportInteraction", urls[0]))
        .bearer_auth(&bofe)
        .json(&pairing)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let response = client
        .get(format!(
            "{}/customers/supportInteraction/5773eca4-0874-4617-a6e8-85591aa94609",
            urls[0]
        ))
        .bearer_auth(&internal)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = client
        .get(format!(
            "{}/communicationRecords?customerId=2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
            urls[1]
        ))
        .bearer_auth(&bofe)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // The SQLite files and the tokens are where the data directory says.
    assert!(data.path().join("interaction-pairing.db").exists());
    assert!(data.path().join("comm-history-writer.db").exists());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.path().join("dev-tokens.json")).unwrap()).unwrap();
    assert_eq!(saved["bofe"], bofe.as_str());
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: data.path().to_owned(),
        host: "127.0.0.1".to_owned(),
        ephemeral_ports: true,
    };
    let first = Devstack::start(&options).await.unwrap().tokens;
    let second = Devstack::start(&options).await.unwrap().tokens;
    assert_eq!(first, second);
}
