use crate::helpers::{default_harness, ORCHESTRATOR};
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn an_export_is_created_and_followed() {
    let h = default_harness().await;
    let body = json!({ "requestType": "GDPR_EXPORT", "subject": { "phoneNumbers": ["tel:+420 601 123 456"] } });
    let response = h.gateway.post_json("/gdpr/requests", ORCHESTRATOR, &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["requestType"], "GDPR_EXPORT");
    assert_eq!(created["status"], "INITIATED");
    assert_eq!(
        created["subject"]["phoneNumbers"],
        json!(["+420601123456"]),
        "normalised to E.164 for Genesys"
    );
    let id = created["id"].as_str().unwrap();
    let fetched: Value = h
        .gateway
        .get(&format!("/gdpr/requests/{id}"), ORCHESTRATOR)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["id"], id);
}

#[tokio::test]
async fn a_delete_goes_to_genesys_only_when_confirmed() {
    let h = default_harness().await;
    let unconfirmed = json!({ "requestType": "GDPR_DELETE", "subject": { "emailAddresses": ["Client@Example.com"] } });
    let problem = assert_problem(
        h.gateway.post_json("/gdpr/requests", ORCHESTRATOR, &unconfirmed).await,
        422,
    )
    .await;
    assert_eq!(problem_locations(&problem), ["/deleteConfirmed"]);
    assert_eq!(h.sim.calls_to("gdpr.requests.create"), 0);

    let mut confirmed = unconfirmed.clone();
    confirmed["deleteConfirmed"] = true.into();
    // The simulator refuses a GDPR_DELETE without deleteConfirmed=true, so a 201 proves it was sent.
    let response = h.gateway.post_json("/gdpr/requests", ORCHESTRATOR, &confirmed).await;
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["subject"]["emailAddresses"], json!(["client@example.com"]));
}

#[tokio::test]
async fn subjects_are_found_by_any_phone_form() {
    let h = default_harness().await;
    let found: Value = h
        .gateway
        .get(
            "/gdpr/subjects?searchType=PHONE&searchValue=sip%3A%2B420601123456%4010.0.0.7",
            ORCHESTRATOR,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["subjects"][0]["emailAddresses"], json!(["client@example.com"]));
}

#[tokio::test]
async fn bad_gdpr_input_is_422_naming_the_field_and_reaches_no_one() {
    let h = default_harness().await;
    for (body, pointer) in [
        (
            json!({ "requestType": "GDPR_UPDATE", "subject": { "name": "x" } }),
            "/requestType",
        ),
        (json!({ "requestType": "GDPR_EXPORT", "subject": {} }), "/subject"),
        (
            json!({ "requestType": "GDPR_EXPORT", "subject": { "phoneNumbers": ["601123456"] } }),
            "/subject/phoneNumbers/0",
        ),
        (
            json!({ "requestType": "GDPR_EXPORT", "subject": { "emailAddresses": ["nobody"] } }),
            "/subject/emailAddresses/0",
        ),
        (
            json!({ "requestType": "GDPR_EXPORT", "subject": { "jid": "x" } }),
            "/subject/jid",
        ),
    ] {
        let problem = assert_problem(h.gateway.post_json("/gdpr/requests", ORCHESTRATOR, &body).await, 422).await;
        assert_eq!(problem_locations(&problem), [pointer], "{body}");
        assert!(!problem.to_string().contains("601123456"));
    }
    let problem = assert_problem(h.gateway.get("/gdpr/subjects?searchType=SHOE", ORCHESTRATOR).await, 422).await;
    assert_eq!(problem_locations(&problem), ["searchType", "searchValue"]);
    assert_problem(h.gateway.get("/gdpr/requests/nope", ORCHESTRATOR).await, 422).await;
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}
