//! devstack starts every service, genesys-sim and the console, each answering on its own port with
//! the printed tokens (the console with its development sign-in).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use contracts::gateway::AgentName;
use contracts::history::{CommunicationRecordPage, RecordsQuery};
use contracts::ingest::{Accepted, SupportResult};
use contracts::pairing::{PairInteraction, Pairing, PairingMode};
use devstack::{Devstack, Options};
use std::collections::BTreeMap;

fn options(data: &tempfile::TempDir) -> Options {
    Options {
        data_dir: data.path().to_owned(),
        host: "127.0.0.1".to_owned(),
        ephemeral_ports: true,
        overrides: Vec::new(),
        genesys: None,
    }
}

#[tokio::test]
async fn every_service_answers_with_the_development_tokens() {
    let data = tempfile::tempdir().unwrap();
    let stack = Devstack::start(&options(&data)).await.unwrap();
    let names: Vec<_> = stack.services.iter().map(|s| s.name).collect();
    let expected = [
        "genesys-sim",
        "comm-history-writer",
        "interaction-pairing",
        "genesys-gateway",
        "result-ingest",
        "gdpr-orchestrator",
        "console",
    ];
    assert_eq!(names, expected);
    let banner = stack.banner();
    let urls: BTreeMap<&str, String> = stack.services.iter().map(|s| (s.name, s.url.clone())).collect();
    let bofe = stack.tokens["bofe"].clone();
    let ingest = stack.tokens["result_ingest"].clone();
    let genesys = stack.tokens["genesys"].clone();
    assert!(banner.contains(&bofe) && urls.values().all(|u| banner.contains(u.as_str())));
    tokio::spawn(stack.run_until_signalled());

    let client = reqwest::Client::new();
    for (name, database) in [
        ("interaction-pairing", "sqlite"),
        ("comm-history-writer", "sqlite"),
        ("genesys-gateway", "none"),
        ("gdpr-orchestrator", "sqlite"),
        ("console", "sqlite"),
    ] {
        let ready: serde_json::Value = client
            .get(format!("{}/readyz", urls[name]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["database"], database, "{name}");
    }
    // The console's sign-in is devstack's development one: a form, not a trip to a provider.
    let sign_in = client.get(format!("{}/signin", urls["console"])).send().await.unwrap();
    assert_eq!(sign_in.status().as_u16(), 200);
    assert!(sign_in.text().await.unwrap().contains("Development sign-in"));
    // Each service's answers read as its contract's types, as every client reads them.
    let as_caller = |service: &str, token: &str| {
        contracts::Client::plain(reqwest::Client::new(), urls[service].parse().unwrap())
            .with_token(secrecy::SecretString::from(token.to_owned()))
    };
    let customer = domain::CustomerId::parse("2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07").unwrap();
    let interaction = domain::InteractionId::parse("5773eca4-0874-4617-a6e8-85591aa94609").unwrap();
    let pairing = PairInteraction {
        customer_id: customer,
        interaction_id: interaction,
        mode: PairingMode::Add,
        reason: None,
    };
    let paired = as_caller("interaction-pairing", &bofe)
        .post("/customers/supportInteraction")
        .json(&pairing)
        .send_full::<Pairing>()
        .await
        .unwrap();
    assert_eq!(paired.status.as_u16(), 201);
    let found: Pairing = as_caller("interaction-pairing", &ingest)
        .get(&format!("/customers/supportInteraction/{interaction}"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.customers[0].customer_id, customer);
    let history = as_caller("comm-history-writer", &bofe);
    let by_customer = RecordsQuery {
        customer_id: Some(customer.to_string()),
        ..RecordsQuery::default()
    };
    let _: CommunicationRecordPage = history
        .get("/communicationRecords")
        .query(&by_customer)
        .send()
        .await
        .unwrap();

    // The gateway answers from genesys-sim to result-ingest's token.
    let agent: AgentName = as_caller("genesys-gateway", &ingest)
        .get("/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")
        .send()
        .await
        .unwrap();
    assert_eq!(agent.name, "Jana Nováková");

    // The whole pipeline: a Genesys result becomes the expected record, with the running worker.
    let result: SupportResult = serde_json::from_value(serde_json::json!({
        "conversationId": "5773eca4-0874-4617-a6e8-85591aa94609",
        "eventTime": "2026-11-20T09:41:07.512Z",
        "direction": "inbound", "mediaType": "voice", "ani": "tel:+420601123456", "subject": "",
        "wrapupCode": "1ccb1c09-9495-4034-b377-b809f58d17da",
        "userId": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    }))
    .unwrap();
    let accepted = as_caller("result-ingest", &genesys)
        .post("/customers/supportResult")
        .json(&result)
        .send_full::<Accepted>()
        .await
        .unwrap();
    assert_eq!(accepted.status.as_u16(), 202);
    assert!(accepted.body.id.is_some() && !accepted.body.duplicate);
    let by_interaction = RecordsQuery {
        interaction_id: Some(interaction.to_string()),
        ..RecordsQuery::default()
    };
    let mut records = Vec::new();
    for _ in 0..100 {
        let page: CommunicationRecordPage = history
            .get("/communicationRecords")
            .query(&by_interaction)
            .send()
            .await
            .unwrap();
        records = page.items;
        if !records.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let record = &records
        .first()
        .expect("the worker wrote the record within 10 s")
        .attributes;
    assert_eq!(
        record.bank_user_name.as_ref().map(|n| n.as_str()),
        Some("Jana Nováková")
    );
    assert_eq!(record.purpose.as_ref().map(|p| p.as_str()), Some("Sale completed"));
    assert_eq!(record.customer_id, Some(customer));

    // The SQLite files and the tokens are where the data directory says.
    assert!(data.path().join("interaction-pairing.db").exists());
    assert!(data.path().join("comm-history-writer.db").exists());
    assert!(
        !data.path().join("genesys-gateway.db").exists(),
        "the gateway has no database"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.path().join("dev-tokens.json")).unwrap()).unwrap();
    assert_eq!(saved["bofe"], bofe.as_str());
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let first = Devstack::start(&options(&data)).await.unwrap().tokens;
    let second = Devstack::start(&options(&data)).await.unwrap().tokens;
    assert_eq!(first, second);
}

/// One caller per client, each with only the scopes it uses (docs/security.md): a token works
/// where its client calls, and nowhere else.
#[tokio::test]
async fn every_caller_reaches_only_what_it_uses() {
    let data = tempfile::tempdir().unwrap();
    let stack = Devstack::start(&options(&data)).await.unwrap();
    let urls: BTreeMap<&str, String> = stack.services.iter().map(|s| (s.name, s.url.clone())).collect();
    let tokens = stack.tokens.clone();
    tokio::spawn(stack.run_until_signalled());
    let client = reqwest::Client::new();
    let interaction = "5773eca4-0874-4617-a6e8-85591aa94609";
    let customer = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";
    let participant = format!("/internal/gdpr/requests/{}/forget", uuid::Uuid::now_v7());
    let assignment = serde_json::json!({ "interactionId": interaction, "customerId": customer });
    let subject = serde_json::json!({ "subject": { "customerIds": [customer] } });
    // (caller, service, method, path, body, expected status)
    type Case<'a> = (&'a str, &'a str, &'a str, String, Option<&'a serde_json::Value>, u16);
    let cases: Vec<Case> = vec![
        (
            "result_ingest",
            "genesys-gateway",
            "GET",
            "/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f".into(),
            None,
            200,
        ),
        (
            "result_ingest",
            "comm-history-writer",
            "POST",
            "/internal/customerAssignments".into(),
            Some(&assignment),
            200,
        ),
        (
            "result_ingest",
            "comm-history-writer",
            "GET",
            format!("/communicationRecords?customerId={customer}"),
            None,
            403,
        ),
        (
            "result_ingest",
            "interaction-pairing",
            "POST",
            participant.clone(),
            Some(&subject),
            403,
        ),
        (
            "result_ingest",
            "result-ingest",
            "GET",
            "/ingest/events?status=dead".into(),
            None,
            401,
        ),
        (
            "result_ingest",
            "genesys-gateway",
            "GET",
            "/conversations/results?startedFrom=2026-11-28T09:00:00Z&startedBefore=2026-11-28T10:00:00Z".into(),
            None,
            200,
        ),
        (
            "gdpr_orchestrator",
            "genesys-gateway",
            "GET",
            "/conversations/results?startedFrom=2026-11-28T09:00:00Z&startedBefore=2026-11-28T10:00:00Z".into(),
            None,
            403,
        ),
        ("operator", "result-ingest", "GET", "/ingest/sweeps".into(), None, 200),
        (
            "interaction_pairing",
            "comm-history-writer",
            "POST",
            "/internal/customerAssignments".into(),
            Some(&assignment),
            200,
        ),
        (
            "interaction_pairing",
            "comm-history-writer",
            "POST",
            "/communicationRecords/batch".into(),
            Some(&subject),
            403,
        ),
        (
            "gdpr_orchestrator",
            "genesys-gateway",
            "GET",
            "/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f".into(),
            None,
            403,
        ),
        (
            "gdpr_orchestrator",
            "comm-history-writer",
            "GET",
            format!("/communicationRecords?customerId={customer}"),
            None,
            403,
        ),
        (
            "bofe",
            "comm-history-writer",
            "POST",
            participant.clone(),
            Some(&subject),
            403,
        ),
        (
            "bofe",
            "result-ingest",
            "GET",
            "/ingest/events?status=dead".into(),
            None,
            401,
        ),
        (
            "dpo",
            "comm-history-writer",
            "POST",
            participant.clone(),
            Some(&subject),
            401,
        ),
        (
            "operator",
            "gdpr-orchestrator",
            "GET",
            "/gdpr/requests".into(),
            None,
            401,
        ),
        // The records' expiry asks for the legal holds in force; it reads nothing else.
        (
            "comm_history_writer",
            "gdpr-orchestrator",
            "GET",
            "/internal/gdpr/retentions".into(),
            None,
            200,
        ),
        (
            "comm_history_writer",
            "gdpr-orchestrator",
            "GET",
            "/gdpr/requests".into(),
            None,
            403,
        ),
        (
            "dpo",
            "gdpr-orchestrator",
            "GET",
            "/internal/gdpr/retentions".into(),
            None,
            403,
        ),
        // So do the inbox's and the pairings' retention.
        (
            "result_ingest",
            "gdpr-orchestrator",
            "GET",
            "/internal/gdpr/retentions".into(),
            None,
            200,
        ),
        (
            "interaction_pairing",
            "gdpr-orchestrator",
            "GET",
            "/internal/gdpr/retentions".into(),
            None,
            200,
        ),
    ];
    for (caller, service, method, path, body, expected) in cases {
        let url = format!("{}{path}", urls[service]);
        let request = match method {
            "GET" => client.get(url),
            _ => client.post(url).json(body.unwrap()),
        };
        let status = request
            .bearer_auth(&tokens[caller])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected, "{caller} {method} {service}{path}");
    }
}

/// genesys-sim plays Genesys' trigger against devstack's result-ingest: a delivered result and a
/// dropped one each end as one record (the dropped one recovered by the sweep within seconds).
#[tokio::test]
async fn a_dropped_webhook_is_recovered_by_the_sweep() {
    let data = tempfile::tempdir().unwrap();
    let stack = Devstack::start(&options(&data)).await.unwrap();
    let urls: BTreeMap<&str, String> = stack.services.iter().map(|s| (s.name, s.url.clone())).collect();
    let bofe = stack.tokens["bofe"].clone();
    tokio::spawn(stack.run_until_signalled());
    let client = reqwest::Client::new();
    let now = time::OffsetDateTime::now_utc();
    let at = |seconds: i64| {
        (now + time::Duration::seconds(seconds))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut conversations = Vec::new();
    for (drop_percent, outcome) in [(0, "delivered"), (100, "dropped")] {
        let faults = client
            .put(format!("{}/admin/faults", urls["genesys-sim"]))
            .json(&serde_json::json!({ "webhookDropPercent": drop_percent }))
            .send()
            .await
            .unwrap();
        assert!(faults.status().is_success());
        let id = uuid::Uuid::new_v4().to_string();
        let recorded: serde_json::Value = client
            .post(format!("{}/admin/conversations", urls["genesys-sim"]))
            .json(&serde_json::json!({
                "conversationId": id, "start": at(-2), "end": at(-1), "direction": "inbound",
                "mediaType": "voice", "ani": "tel:+420601123456",
                "agents": [{ "userId": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "wrapupCode": "1ccb1c09-9495-4034-b377-b809f58d17da" }],
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(recorded["webhookDeliveries"][0]["outcome"], outcome, "{recorded}");
        conversations.push(id);
    }
    // devstack sweeps every 5 seconds what ended 5 seconds before: a bound, not a speed target.
    for id in &conversations {
        let mut records = Vec::new();
        for _ in 0..300 {
            let listed: serde_json::Value = client
                .get(format!(
                    "{}/communicationRecords?interactionId={id}",
                    urls["comm-history-writer"]
                ))
                .bearer_auth(&bofe)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            records = listed["items"].as_array().unwrap().clone();
            if !records.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(records.len(), 1, "{id}: {records:?}");
        assert_eq!(records[0]["bankUserName"], "Jana Nováková");
    }
}
