//! A communication nobody paired, through the whole pipeline: listed as unassigned with the
//! customer its address suggests, and moved into that customer's history once BOFE pairs it.

use crate::helpers::{example, pipeline, BOFE};
use domain::Timestamp;
use serde_json::{json, Value};

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

    let listed: Value = p
        .writer
        .get("/communicationRecords/unassigned?channel=EMAIL", BOFE)
        .await
        .json()
        .await
        .unwrap();
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
    let listed: Value = p
        .writer
        .get("/communicationRecords/unassigned", BOFE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    p.assert_no_personal_data_logged();
}
