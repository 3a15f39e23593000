//! `GET /internal/gdpr/retentions` (issue #30's retention schedule): every legal hold in force,
//! expanded as a purge gets it, and every statutory rule, for comm-history-writer's expiry alone
//! (scope `gdpr:retentions`); and that expiry, asking the real route, keeps what a hold covers.

use crate::helpers::{after, stack_with, Person, StackOptions, DPO, REVIEWER};
use comm_history_writer::expiry::Expiry;
use comm_history_writer::settings::RecordsSettings;
use contracts::participant::{Retentions, RETENTIONS_ROUTE};
use domain::Timestamp;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::num::NonZeroU32;

/// comm-history-writer's caller on the orchestrator.
const WRITER_TOKEN: &str = "comm-history-writer-retentions-token-0123";

async fn stack() -> crate::helpers::Stack {
    let rule =
        json!([{ "name": "mifid2-voice", "channels": ["VOICE"], "keep_days": 1826, "basis": "legal_obligation" }]);
    let setting = |key: &str, value: &str| (key.to_owned(), value.to_owned());
    stack_with(StackOptions {
        orchestrator: vec![
            setting("gdpr.statutory_retention", &rule.to_string()),
            setting("auth.callers.comm_history_writer.token", WRITER_TOKEN),
            setting("auth.callers.comm_history_writer.scopes", "gdpr:retentions"),
        ],
        ..StackOptions::default()
    })
    .await
}

async fn retentions_as(s: &crate::helpers::Stack, token: Option<&str>) -> reqwest::Response {
    let mut request = s.orchestrator.client.get(s.orchestrator.url(RETENTIONS_ROUTE));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub(crate) async fn dpo(s: &crate::helpers::Stack, person: &str, path: &str, body: Value) -> Value {
    let response = s
        .orchestrator
        .client
        .post(s.orchestrator.url(path))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", person)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{status} {body}");
    body
}

/// A hold on `customer` (as `alice`), for a claim; answers it.
pub(crate) async fn hold_on(s: &crate::helpers::Stack, customer: &str, reference: &str) -> Value {
    let hold = json!({
        "subject": { "customerIds": [customer] },
        "reference": reference,
        "reason": "a claim against the bank",
        "basis": "legal_claims",
    });
    dpo(s, "alice", "/gdpr/legal-holds", hold).await
}

#[tokio::test]
async fn the_holds_in_force_expanded_and_the_rules_go_to_the_expirys_caller_alone() {
    let s = stack().await;
    let person = Person::new();
    let paired = uuid::Uuid::new_v4().to_string();
    s.pair(&person.customer_id, &paired).await;
    let hold = hold_on(&s, &person.customer_id, "LIT-2026-051").await;

    // No token: 401; the DPOs' and the queue operator's tokens: 403.
    assert_eq!(retentions_as(&s, None).await.status().as_u16(), 401);
    assert_eq!(
        retentions_as(&s, Some(s.orchestrator.token(DPO)))
            .await
            .status()
            .as_u16(),
        403
    );
    let answer = retentions_as(&s, Some(WRITER_TOKEN)).await;
    assert_eq!(answer.status().as_u16(), 200);
    let retentions: Retentions = answer.json().await.unwrap();
    assert_eq!(retentions.holds.len(), 1, "{retentions:?}");
    let held = &retentions.holds[0];
    assert_eq!(held.hold_id.to_string(), hold["id"].as_str().unwrap());
    assert_eq!(held.basis, contracts::legal_hold::LegalBasis::LegalClaims);
    assert_eq!(
        held.subject
            .customer_ids
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&person.customer_id)
    );
    // Expanded as a purge gets it: the interaction paired with the customer, kept whoever its
    // rows belong to.
    assert_eq!(
        held.interaction_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        std::slice::from_ref(&paired),
        "{retentions:?}"
    );
    assert_eq!(retentions.rules.len(), 1);
    assert_eq!(retentions.rules[0].name, "mifid2-voice");
    assert_eq!(retentions.rules[0].keep_days, 1826);

    // Released by two persons: in force no more.
    let id = hold["id"].as_str().unwrap();
    for (person, step) in [("alice", "ask"), (REVIEWER, "confirm")] {
        let path = format!("/gdpr/legal-holds/{id}/release");
        dpo(
            &s,
            person,
            &path,
            json!({ "step": step, "reason": "the claim was settled" }),
        )
        .await;
    }
    let retentions: Retentions = retentions_as(&s, Some(WRITER_TOKEN)).await.json().await.unwrap();
    assert!(retentions.holds.is_empty(), "{retentions:?}");
    assert_eq!(retentions.rules.len(), 1);
    crate::helpers::assert_not_logged(&[&person.customer_id]);
}

#[tokio::test]
async fn comm_history_writers_expiry_asks_the_route_and_keeps_what_a_hold_covers() {
    let s = stack().await;
    let person = Person::new();
    let (held, other) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    s.pair(&person.customer_id, &held).await;
    s.record(&held, "tel:+420777000222").await;
    s.record(&other, "tel:+420777000333").await;
    hold_on(&s, &person.customer_id, "LIT-2026-052").await;
    let mut records: RecordsSettings = s.writer.settings.section("records").unwrap();
    records.retention_days = NonZeroU32::new(365).unwrap();
    records.orchestrator_url = s.orchestrator.url("").parse().unwrap();
    records.orchestrator_token = SecretString::from(WRITER_TOKEN.to_owned());
    let registry = prometheus::Registry::new();
    let expiry = Expiry::new(s.writer.pool().clone(), &records, &registry).unwrap();

    // Seven years on, both records (of 2026-11-20) are past a year's retention and past the
    // rule's five years: the held customer's stays, the other goes.
    let round = expiry
        .run_once(after(Timestamp::now(), 7 * 365 * 86_400))
        .await
        .unwrap();
    assert_eq!((round.expired, round.kept), (1, 1), "{round:?}");
    assert_eq!(s.records(&format!("interactionId={held}")).await.len(), 1);
    assert!(s.records(&format!("interactionId={other}")).await.is_empty());
}

#[tokio::test]
async fn the_route_and_its_types_are_in_the_services_openapi_description() {
    let s = stack().await;
    let response = s
        .orchestrator
        .client
        .get(s.orchestrator.url("/openapi.json"))
        .bearer_auth(WRITER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let description: Value = response.json().await.unwrap();
    let route = &description["paths"][RETENTIONS_ROUTE]["get"];
    assert!(route.is_object(), "{description}");
    assert!(route.to_string().contains("gdpr:retentions"), "{route}");
    for schema in ["Retentions", "Retention", "StatutoryRule"] {
        assert!(description["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
