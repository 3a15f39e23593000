use crate::helpers::{stack, Person, DPO};
use serde_json::json;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn bad_requests_are_refused_naming_each_field_and_nothing_is_stored() {
    let s = stack().await;
    let before = test_support::dump_tables(s.orchestrator.pool()).await;
    let cases = [
        (
            json!({ "type": "DELETE", "subject": { "phoneNumbers": ["+420601123456"] }, "reference": "C-1" }),
            vec!["/type"],
        ),
        (
            json!({ "type": "EXPORT", "subject": { "phoneNumbers": ["60112"], "customerIds": ["nope"], "emailAddresses": ["x"] }, "reference": "C-1" }),
            vec![
                "/subject/customerIds/0",
                "/subject/phoneNumbers/0",
                "/subject/emailAddresses/0",
            ],
        ),
        (
            json!({ "type": "EXPORT", "subject": {}, "reference": "C-1" }),
            vec!["/subject"],
        ),
        (
            json!({ "type": "EXPORT", "subject": { "genesysUserIds": ["2f1c9b7e-6a43-4d1e-8f0a-7c5d3e2b1a90"] }, "reference": " " }),
            vec!["/reference"],
        ),
        (
            json!({ "type": "UNDO_FORGET", "subject": { "phoneNumbers": ["+420601123456"] }, "reference": "C-1", "countOnly": true }),
            vec!["/countOnly"],
        ),
    ];
    for (body, expected) in cases {
        let response = s.orchestrator.post_json("/gdpr/requests", DPO, &body).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem_locations(&problem), expected, "{body}");
        assert!(
            !problem.to_string().contains("60112"),
            "a problem echoes the input: {problem}"
        );
    }
    // Unknown fields, wrong types, missing fields: 4xx problems, never a 500.
    for body in [
        json!({ "type": "EXPORT", "subject": { "phones": ["+420601123456"] }, "reference": "C-1" }),
        json!({ "type": "EXPORT", "subject": { "phoneNumbers": "+420601123456" }, "reference": "C-1" }),
        json!({ "type": "EXPORT", "reference": "C-1" }),
    ] {
        let response = s.orchestrator.post_json("/gdpr/requests", DPO, &body).await;
        assert!(response.status().is_client_error(), "{body}: {}", response.status());
    }
    assert_eq!(
        test_support::dump_tables(s.orchestrator.pool()).await,
        before,
        "nothing stored"
    );

    let unauthenticated = s
        .orchestrator
        .client
        .get(s.orchestrator.url("/gdpr/requests"))
        .send()
        .await
        .unwrap();
    assert_problem(unauthenticated, 401).await;
    let unknown = uuid::Uuid::new_v4();
    assert_problem(s.orchestrator.get(&format!("/gdpr/requests/{unknown}"), DPO).await, 404).await;
    assert_problem(s.orchestrator.get("/gdpr/requests/not-an-id", DPO).await, 422).await;
    assert_problem(s.orchestrator.get("/gdpr/requests?status=lost", DPO).await, 422).await;
    assert_problem(s.orchestrator.get("/gdpr/requests?cursor=garbage", DPO).await, 422).await;

    // Confirming what is not a FORGET awaiting confirmation, undoing what was never forgotten.
    let person = Person::new();
    let export = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await;
    assert_problem(s.confirm(&export).await, 409).await;
    let undo = json!({ "type": "UNDO_FORGET", "subject": { "phoneNumbers": [person.phone] }, "reference": "C-2" });
    let problem = assert_problem(s.orchestrator.post_json("/gdpr/requests", DPO, &undo).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("no FORGET"));
    assert_problem(
        s.orchestrator
            .get(&format!("/gdpr/requests/{export}/export"), DPO)
            .await,
        409,
    )
    .await;

    // Participants refuse callers without the participant scope and bad actions.
    let participant = s
        .writer
        .post_json(
            &format!("/internal/gdpr/requests/{unknown}/count"),
            crate::helpers::BOFE,
            &json!({ "subject": { "phoneNumbers": [person.phone] } }),
        )
        .await;
    assert_problem(participant, 403).await;
    let bad_action = s
        .writer
        .post_signed(
            &format!("/internal/gdpr/requests/{unknown}/delete"),
            crate::helpers::ORCHESTRATOR_CALLER,
            &json!({ "subject": {} }),
        )
        .await;
    assert_eq!(problem_locations(&assert_problem(bad_action, 422).await), ["action"]);
}

/// `gdpr.order` may not put comm-history-writer before result-ingest: result-ingest's forget
/// waits for records still being written, which only a later writer step then catches.
#[test]
fn comm_history_writer_before_result_ingest_is_refused() {
    let load = |order: &str| {
        let sources = service_kit::configuration::SettingsSources {
            service_defaults: gdpr_orchestrator::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: vec![
                ("gdpr.order".to_owned(), order.to_owned()),
                (
                    "gdpr.internal_token".to_owned(),
                    "an-internal-token-of-some-length".to_owned(),
                ),
                (
                    "auth.callers.dpo.token".to_owned(),
                    "a-dpo-token-of-some-length-000".to_owned(),
                ),
                ("auth.callers.dpo.scopes".to_owned(), "dpo".to_owned()),
                ("application.environment".to_owned(), "development".to_owned()),
            ],
        };
        let settings = service_kit::configuration::Settings::load(sources, gdpr_orchestrator::SERVICE.scopes).unwrap();
        gdpr_orchestrator::gdpr_settings(&settings).map(drop)
    };
    load("result-ingest,comm-history-writer,interaction-pairing,genesys-cloud").unwrap();
    load("interaction-pairing,result-ingest,genesys-cloud,comm-history-writer").unwrap();
    let refused = load("comm-history-writer,result-ingest,interaction-pairing,genesys-cloud").unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("gdpr.order: result-ingest must come before comm-history-writer"),
        "{refused}"
    );
}

/// The participants verify with `gdpr_participant.orchestrator_key`: a signing key that is not
/// its private half would have every call refused, so it is refused at start.
#[test]
fn a_signing_key_that_is_not_the_participants_pair_is_refused() {
    let load = |public_key: &str| {
        let sources = service_kit::configuration::SettingsSources {
            service_defaults: gdpr_orchestrator::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: vec![
                ("application.environment".to_owned(), "development".to_owned()),
                (
                    "gdpr.internal_token".to_owned(),
                    "an-internal-token-of-some-length".to_owned(),
                ),
                (
                    "auth.callers.dpo.token".to_owned(),
                    "a-dpo-token-of-some-length-000".to_owned(),
                ),
                ("auth.callers.dpo.scopes".to_owned(), "dpo".to_owned()),
                ("gdpr_participant.orchestrator_key".to_owned(), public_key.to_owned()),
            ],
        };
        let settings = service_kit::configuration::Settings::load(sources, gdpr_orchestrator::SERVICE.scopes).unwrap();
        gdpr_orchestrator::Orchestrator::new(&settings).map(drop)
    };
    load("development-only-ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc=").unwrap();
    let refused = load("ed25519:yYXWDn99km3dbCVZnHNn7oGwpGzQWGBAp1hnTEIc5e4=").unwrap_err();
    assert!(
        refused.to_string().contains("gdpr.signing_key: not the private half"),
        "{refused}"
    );
}
