//! Every service's OpenAPI description is generated from its code, served at `/openapi.json` to
//! authenticated callers, and committed under `docs/openapi/`. This test fails when the committed
//! files are stale; `UPDATE_OPENAPI=1 cargo test -p devstack --test openapi` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use devstack::{Devstack, Options, SERVICES};
use service_kit::openapi::{describe, to_json};
use std::path::PathBuf;

fn committed(service: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/openapi/{service}.json"))
}

#[test]
fn the_committed_descriptions_are_up_to_date() {
    let update = std::env::var_os("UPDATE_OPENAPI").is_some();
    let mut stale = Vec::new();
    for service in SERVICES {
        let generated = to_json(&describe(service.name, (service.openapi)()));
        let path = committed(service.name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(service.name);
        }
        let description: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert_eq!(description["openapi"], "3.1.0", "{}", service.name);
        assert!(description["paths"]["/healthz"].is_object(), "{}", service.name);
    }
    assert!(
        stale.is_empty(),
        "docs/openapi is stale for {stale:?}: run UPDATE_OPENAPI=1 cargo test -p devstack --test openapi"
    );
}

#[tokio::test]
async fn each_service_serves_its_description_to_authenticated_callers() {
    let data = tempfile::tempdir().unwrap();
    let stack = Devstack::start(&Options {
        data_dir: data.path().to_owned(),
        host: "127.0.0.1".to_owned(),
        ephemeral_ports: true,
        overrides: Vec::new(),
        genesys: None,
    })
    .await
    .unwrap();
    let urls: Vec<(&str, String)> = stack.services.iter().map(|s| (s.name, s.url.clone())).collect();
    let token = stack.tokens["gdpr_orchestrator"].clone();
    let dpo = stack.tokens["dpo"].clone();
    tokio::spawn(stack.run_until_signalled());
    let client = reqwest::Client::new();
    for service in SERVICES {
        let url = &urls.iter().find(|(name, _)| *name == service.name).unwrap().1;
        let anonymous = client.get(format!("{url}/openapi.json")).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401, "{}", service.name);
        let caller = if service.name == "gdpr-orchestrator" {
            &dpo
        } else {
            &token
        };
        let served = client
            .get(format!("{url}/openapi.json"))
            .bearer_auth(caller)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            served,
            to_json(&describe(service.name, (service.openapi)())),
            "{}",
            service.name
        );
    }
}
