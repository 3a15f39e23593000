//! A communication nobody paired, through the whole pipeline: listed as unassigned with the
//! customer its address suggests, and moved into that customer's history once BOFE pairs it.

use crate::helpers::{example, pipeline, BOFE};
use domain::Timestamp;
use serde_json::{json, Value};

/// comm-history-writer's unassigned records, as BOFE reads them.
async fn unassigned(p: &crate::helpers::Pipeline, query: &str) -> Value {
    p.writer
        .get(&format!("/communicationRecords/unassigned{query}"), BOFE)
        .await
        .json()
        .await
        .unwrap()
}

const C: &str = "33333333-3333-4333-8333-333333333333";
const EMAIL_CONVERSATION: &str = "9d2f7a61-0c3b-4e8e-b1d4-6a5c2e7f9013";

#[tokio::test]
async fn an_unpaired_email_is_suggested_for_its_customer_and_pairing_moves_it_to_their_history() {
    let p = pipeline().await;
    // C wrote from the same address three times before (records the bank attributed to C).
    for day in 1..=3 {
        let mut earlier = test_support::expected_voice_inbound_record();
        earlier["interactionId"] = uuid::Uuid::new_v4().to_string().into();
        earlier["customerId"] = C.into();
        earlier["customerHandle"] = "Client@Example.com".into();
        earlier["channel"] = "EMAIL".into();
        earlier["communicatedAt"] = format!("2026-11-0{day}T10:00:00Z").into();
        let written = p
            .writer
            .post_json("/communicationRecords", "result_ingest", &earlier)
            .await;
        assert_eq!(written.status().as_u16(), 201);
    }
    // An e-mail's result, with no pairing.
    assert_eq!(
        p.deliver(&example("support-result-email-outbound.json"))
            .await
            .status()
            .as_u16(),
        202
    );
    p.drain(10).await;

    let listed: Value = unassigned(&p, "?channel=EMAIL").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["interactionId"], EMAIL_CONVERSATION);
    assert_eq!(items[0]["customerSource"], Value::Null);
    assert_eq!(items[0]["suggestions"]["shared"], false);
    assert_eq!(items[0]["suggestions"]["customers"][0]["customerId"], C);
    assert_eq!(items[0]["suggestions"]["customers"][0]["records"], 3);

    // Assigning is pairing: BOFE pairs the interaction with the suggested customer.
    p.pair(&json!({ "customerId": C, "interactionId": EMAIL_CONVERSATION }))
        .await;
    assert_eq!(p.outbox.try_execute_task(Timestamp::now()).await.unwrap(), 1);
    let history: Value = p
        .writer
        .get(&format!("/communicationRecords?customerId={C}"), BOFE)
        .await
        .json()
        .await
        .unwrap();
    let moved: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["interactionId"] == EMAIL_CONVERSATION)
        .collect();
    assert_eq!(moved.len(), 1, "{history}");
    assert_eq!(moved[0]["customerSource"], "late_pairing");
    let earlier: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["interactionId"] != EMAIL_CONVERSATION)
        .collect();
    assert!(earlier.iter().all(|r| r["customerSource"] == "pairing"), "{history}");
    let listed: Value = unassigned(&p, "").await;
    assert_eq!(listed["items"], json!([]));
    p.assert_no_personal_data_logged();
}

const A: &str = "44444444-4444-4444-8444-444444444444";
const B: &str = "55555555-5555-4555-8555-555555555555";
const VOICE_CONVERSATION: &str = "5773eca4-0874-4617-a6e8-85591aa94609";

fn pairing(customer: &str) -> Value {
    json!({ "customerId": customer, "interactionId": VOICE_CONVERSATION })
}

/// The voice example's records in `customer`'s history.
async fn history_of(p: &crate::helpers::Pipeline, customer: &str) -> Vec<Value> {
    let history: Value = p
        .writer
        .get(&format!("/communicationRecords?customerId={customer}"), BOFE)
        .await
        .json()
        .await
        .unwrap();
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["interactionId"] == VOICE_CONVERSATION)
        .cloned()
        .collect()
}

/// Runs interaction-pairing's outbox until it is empty.
async fn deliver_outbox(p: &crate::helpers::Pipeline) {
    while p.outbox.try_execute_task(Timestamp::now()).await.unwrap() > 0 {}
}

#[tokio::test]
async fn an_interaction_paired_to_two_customers_is_in_both_histories_until_one_is_removed() {
    let p = pipeline().await;
    p.pair(&pairing(A)).await;
    p.pair(&pairing(B)).await;
    let paired: Value = p
        .pairing
        .get(&format!("/customers/supportInteraction/{VOICE_CONVERSATION}"), BOFE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paired["customerId"], B, "the latest, as the spec's field says");
    assert_eq!(paired["customers"].as_array().unwrap().len(), 2);
    deliver_outbox(&p).await;
    assert_eq!(
        p.deliver(&example("support-result-voice-inbound.json"))
            .await
            .status()
            .as_u16(),
        202
    );
    p.drain(10).await;

    for customer in [A, B] {
        let records = history_of(&p, customer).await;
        assert_eq!(records.len(), 1, "{customer}: {records:?}");
        assert_eq!(records[0]["customerSource"], "pairing");
        assert_eq!(records[0]["bankUserName"], "Jana Nováková");
    }
    assert_eq!(p.records_of_interaction(VOICE_CONVERSATION).await.len(), 2);

    // B's pairing was a mistake: removed after the result.
    let removed = p
        .pairing
        .delete(
            &format!("/customers/supportInteraction/{VOICE_CONVERSATION}/customers/{B}"),
            BOFE,
        )
        .await;
    assert_eq!(removed.status().as_u16(), 204);
    deliver_outbox(&p).await;
    assert!(history_of(&p, B).await.is_empty(), "withdrawn from B's history");
    assert_eq!(history_of(&p, A).await.len(), 1, "A's stays");
    assert_eq!(
        p.record_count().await,
        2,
        "the withdrawn record is kept, for a GDPR export"
    );
}

#[tokio::test]
async fn a_result_delivered_twice_for_three_customers_is_three_records() {
    let p = pipeline().await;
    let c = "66666666-6666-4666-8666-666666666666";
    for customer in [A, B, c] {
        p.pair(&pairing(customer)).await;
    }
    let body = example("support-result-voice-inbound.json");
    p.deliver(&body).await;
    p.deliver(&body).await;
    p.drain(10).await;
    p.drain(10).await;
    deliver_outbox(&p).await;
    assert_eq!(p.records_of_interaction(VOICE_CONVERSATION).await.len(), 3);
    for customer in [A, B, c] {
        assert_eq!(history_of(&p, customer).await.len(), 1, "{customer}");
    }
}

#[tokio::test]
async fn a_customer_paired_after_the_result_gets_a_record_of_their_own_and_the_last_removed_leaves_it_unassigned() {
    let p = pipeline().await;
    p.pair(&pairing(A)).await;
    deliver_outbox(&p).await;
    p.deliver(&example("support-result-voice-inbound.json")).await;
    p.drain(10).await;
    p.pair(&pairing(B)).await;
    deliver_outbox(&p).await;
    let late = history_of(&p, B).await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["customerSource"], "late_pairing");
    assert_eq!(history_of(&p, A).await[0]["customerSource"], "pairing");

    for customer in [A, B] {
        let path = format!("/customers/supportInteraction/{VOICE_CONVERSATION}/customers/{customer}");
        assert_eq!(p.pairing.delete(&path, BOFE).await.status().as_u16(), 204);
    }
    deliver_outbox(&p).await;
    assert!(history_of(&p, A).await.is_empty() && history_of(&p, B).await.is_empty());
    let unassigned: Value = unassigned(&p, "").await;
    let items = unassigned["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "no pairing left: the communication is nobody's again: {unassigned}"
    );
    assert_eq!(items[0]["interactionId"], VOICE_CONVERSATION);
}
