use crate::helpers::{assert_not_logged, stack, Person, DPO};
use domain::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One subject known three ways (a `sip:` ANI, a `tel:` ANI, a customer id); a neighbour whose
/// number differs in one digit must not appear.
#[tokio::test]
async fn export_finds_every_form_of_the_subject_and_nothing_of_a_neighbour() {
    let s = stack().await;
    let person = Person::new();
    let neighbour = person.neighbour();
    let (x1, x2, x3, x4) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    s.record(&x1, &format!("sip:{}@10.0.0.7;user=phone", person.phone))
        .await;
    s.record(&x2, &format!("tel:{}", person.phone)).await;
    // The third: the customer called from another number; BOFE paired the interaction.
    s.pair(&person.customer_id, &x3).await;
    s.record(&x3, "tel:+420777000111").await;
    s.pair(&neighbour.customer_id, &x4).await;
    s.record(&x4, &format!("tel:{}", neighbour.phone)).await;

    let subject = json!({ "customerIds": [person.customer_id], "phoneNumbers": [format!("+420 {}", person.digits)] });
    let id = s.file("EXPORT", subject, false).await;
    let (request, _) = s.run_while(&id, "exporting", Timestamp::now(), 20).await;
    assert_eq!(request["status"], "completed", "{request}");

    let response = s.orchestrator.get(&format!("/gdpr/requests/{id}/export"), DPO).await;
    assert_eq!(response.status().as_u16(), 200);
    let bundle: Value = response.json().await.unwrap();
    let communications = bundle["data"]["comm-history-writer"]["communications"]
        .as_array()
        .unwrap();
    let mut interactions: Vec<&str> = communications
        .iter()
        .map(|r| r["interactionId"].as_str().unwrap())
        .collect();
    interactions.sort_unstable();
    let mut expected = vec![x1.as_str(), x2.as_str(), x3.as_str()];
    expected.sort_unstable();
    assert_eq!(interactions, expected);
    let pairings = bundle["data"]["interaction-pairing"]["pairings"].as_array().unwrap();
    assert_eq!(pairings.len(), 1);
    assert_eq!(pairings[0]["interactionId"], x3.as_str());
    assert_eq!(pairings[0]["customerId"], person.customer_id.as_str());
    let results = bundle["data"]["result-ingest"]["webhookResults"].as_array().unwrap();
    assert_eq!(results.len(), 3, "the third result is found through its pairing");
    let text = bundle.to_string();
    assert!(!text.contains(&neighbour.digits) && !text.contains(&neighbour.customer_id) && !text.contains(&x4));

    // The manifest's counts and checksums describe the files exactly.
    let files = bundle["manifest"]["files"].as_array().unwrap();
    for file in files {
        let participant = file["participant"].as_str().unwrap();
        let category = file["category"].as_str().unwrap();
        let items = &bundle["data"][participant][category];
        assert_eq!(file["count"], items.as_array().unwrap().len());
        let bytes = serde_json::to_vec_pretty(items).unwrap();
        assert_eq!(
            file["sha256"],
            hex::encode(Sha256::digest(&bytes)),
            "{participant}/{category}"
        );
    }
    let genesys = bundle["manifest"]["genesysCloudResults"].as_array().unwrap();
    assert_eq!(genesys.len(), 1, "the Genesys Cloud export's results link: {bundle}");
    let genesys_step = request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "export" && p["participant"] == "genesys-cloud")
        .unwrap();
    assert_eq!(genesys_step["state"], "done");
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_EXPORT"]);

    // The count phase ran first and reports per participant and category.
    assert_eq!(request["counts"]["count.communications"], 3);
    assert_eq!(request["counts"]["count.pairings"], 1);
    assert_eq!(request["counts"]["count.webhookResults"], 3);

    let audit: Value = s
        .orchestrator
        .get(&format!("/gdpr/requests/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    let audit = audit.to_string();
    for identifier in [&person.digits, &person.customer_id, &x1, &x2, &x3] {
        assert!(!audit.contains(identifier.as_str()), "audit log holds an identifier");
    }
    assert_not_logged(&[&person.digits, &person.customer_id, &neighbour.digits]);
}

#[tokio::test]
async fn a_count_only_export_counts_and_changes_nothing() {
    let s = stack().await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let before = s.dump_participants().await;
    let id = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), true).await;
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(request["counts"]["count.communications"], 1);
    assert!(request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["phase"] == "count"));
    assert_eq!(s.dump_participants().await, before);
    assert!(
        s.sim.gdpr_request_types().is_empty(),
        "a count submits nothing to Genesys Cloud"
    );
    let response = s.orchestrator.get(&format!("/gdpr/requests/{id}/export"), DPO).await;
    test_support::assert_problem(response, 409).await;
    assert_not_logged(&[&person.digits]);
}
