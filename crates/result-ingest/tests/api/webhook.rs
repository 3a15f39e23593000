use crate::helpers::{example, pipeline, GENESYS, OPERATOR};
use serde_json::Value;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn a_valid_result_is_accepted_202_with_its_id() {
    let p = pipeline().await;
    let response = p.deliver(&example("support-result-voice-inbound.json")).await;
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    assert!(body["id"].is_string());
    assert_eq!(body["duplicate"], false);
    assert_eq!(p.events("pending").await.len(), 1);
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn an_unknown_direction_is_422_and_stores_nothing() {
    let p = pipeline().await;
    let problem = assert_problem(p.deliver(&example("support-result-bad-direction.json")).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/direction"]);
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn missing_fields_bad_uuids_and_bad_timestamps_are_422_naming_the_field() {
    let p = pipeline().await;
    for (field, value) in [
        ("conversationId", Value::Null),
        ("conversationId", "not-a-uuid".into()),
        ("eventTime", "20.11.2026".into()),
        ("userId", 7.into()),
        ("wrapupCode", "".into()),
        ("ani", Value::Null),
        ("mediaType", Value::Null),
    ] {
        let mut body = example("support-result-voice-inbound.json");
        body[field] = value;
        let problem = assert_problem(p.deliver(&body).await, 422).await;
        assert_eq!(problem_locations(&problem), [format!("/{field}")]);
        assert!(!problem.to_string().contains("420601123456"));
    }
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn genesys_may_authenticate_with_basic_or_bearer() {
    let p = pipeline().await;
    let token = p.ingest.token(GENESYS).to_owned();
    let body = example("support-result-voice-inbound.json");
    let basic = p
        .ingest
        .client
        .post(p.ingest.url("/customers/supportResult"))
        .basic_auth(GENESYS, Some(&token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 202);
    let wrong = p
        .ingest
        .client
        .post(p.ingest.url("/customers/supportResult"))
        .basic_auth(GENESYS, Some("nope"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401).await;
    assert_problem(
        p.ingest.post_json("/customers/supportResult", OPERATOR, &body).await,
        403,
    )
    .await;
    p.assert_no_personal_data_logged();
}
