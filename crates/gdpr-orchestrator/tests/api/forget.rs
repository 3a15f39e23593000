use crate::helpers::{after, assert_not_logged, stack, webhook, Person, Stack, DPO, OPERATOR};
use domain::Timestamp;
use serde_json::{json, Value};

struct Known {
    person: Person,
    neighbour: Person,
    interactions: [String; 3],
    /// The inbox events of the subject's results.
    events: Vec<uuid::Uuid>,
    neighbour_interaction: String,
}

/// The subject in three records (sip ANI, tel ANI, a paired interaction), and a neighbour.
async fn known_subject(s: &Stack) -> Known {
    let person = Person::new();
    let neighbour = person.neighbour();
    let interactions = [(); 3].map(|()| uuid::Uuid::new_v4().to_string());
    let neighbour_interaction = uuid::Uuid::new_v4().to_string();
    let mut events = vec![
        s.record(&interactions[0], &format!("sip:{}@10.0.0.7;user=phone", person.phone))
            .await,
        s.record(&interactions[1], &format!("tel:{}", person.phone)).await,
    ];
    s.pair(&person.customer_id, &interactions[2]).await;
    events.push(s.record(&interactions[2], "tel:+420777000222").await);
    s.pair(&neighbour.customer_id, &neighbour_interaction).await;
    s.record(&neighbour_interaction, &format!("tel:{}", neighbour.phone))
        .await;
    Known {
        person,
        neighbour,
        interactions,
        events,
        neighbour_interaction,
    }
}

fn subject(known: &Known) -> Value {
    json!({ "customerIds": [known.person.customer_id], "phoneNumbers": [format!("tel:{}", known.person.phone)] })
}

/// What every read path shows of the subject: records by customer and by interaction, pairings
/// (one by one and looked up together), inbox listings.
async fn visible(s: &Stack, known: &Known) -> Vec<Value> {
    let mut seen = s.records(&format!("customerId={}", known.person.customer_id)).await;
    for interaction in &known.interactions {
        seen.extend(s.records(&format!("interactionId={interaction}")).await);
    }
    seen.extend(s.pairings(&known.interactions).await);
    for status in ["pending", "dead"] {
        let response = s
            .ingest
            .get(&format!("/ingest/events?status={status}&limit=500"), OPERATOR)
            .await;
        let body: Value = response.json().await.unwrap();
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| known.events.iter().any(|id| e["id"] == id.to_string().as_str()))
                .cloned(),
        );
    }
    seen
}

#[tokio::test]
async fn count_only_and_unconfirmed_forget_change_nothing_anywhere() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let before = s.dump_participants().await;
    let now = Timestamp::now();

    let counted = s.file("FORGET", subject(&known), true).await;
    let request = s.run(&counted, now).await;
    assert_eq!(request["status"], "completed");
    assert_eq!(request["counts"]["count.communications"], 3);

    let id = s.file("FORGET", subject(&known), false).await;
    let request = s.run(&id, now).await;
    assert_eq!(request["status"], "awaiting_confirmation", "{request}");
    assert_eq!(request["counts"]["count.communications"], 3);
    assert_eq!(request["counts"]["count.pairings"], 1);
    assert_eq!(request["counts"]["count.webhookResults"], 3);
    // However long it waits, nothing happens without the confirmation.
    let request = s.run(&id, after(now, 40 * 86_400)).await;
    assert_eq!(request["status"], "awaiting_confirmation");
    assert_eq!(s.dump_participants().await, before);
    assert!(s.sim.gdpr_request_types().is_empty());

    // Filing the same FORGET again answers the open one.
    let again = s
        .orchestrator
        .post_json(
            "/gdpr/requests",
            DPO,
            &json!({ "type": "FORGET", "subject": subject(&known), "reference": "CASE-4711" }),
        )
        .await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["id"].as_str(), again["duplicate"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    assert_not_logged(&[&known.person.digits, &known.person.customer_id]);
}

#[tokio::test]
async fn forget_hides_at_once_undo_restores_exactly_and_the_purge_leaves_nothing() {
    let s = stack().await;
    let known = known_subject(&s).await;
    let before = visible(&s, &known).await;
    assert_eq!(
        before.len(),
        1 + 3 + 1 + 1,
        "a record by customer, three by interaction, a pairing by its interaction and in a lookup"
    );
    let neighbour_records = s.records(&format!("customerId={}", known.neighbour.customer_id)).await;
    let now = Timestamp::now();

    // FORGET, confirmed: hidden from every read path at once; the neighbour untouched.
    let id = s.file("FORGET", subject(&known), false).await;
    assert_eq!(s.run(&id, now).await["status"], "awaiting_confirmation");
    let confirmed = s.confirm(&id).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let request = s.run(&id, now).await;
    assert_eq!(request["status"], "in_grace", "{request}");
    assert_eq!(request["confirmedBy"], crate::helpers::REVIEWER);
    assert_eq!(request["confirmedVia"], DPO);
    assert!(visible(&s, &known).await.is_empty());
    assert_eq!(
        s.records(&format!("customerId={}", known.neighbour.customer_id)).await,
        neighbour_records
    );
    // Only the purge reaches Genesys Cloud.
    assert!(s.sim.gdpr_request_types().is_empty());

    // UNDO_FORGET within the window restores exactly what was there.
    let undo = s.file("UNDO_FORGET", subject(&known), false).await;
    let undone = s.run(&undo, now).await;
    assert_eq!(undone["status"], "completed", "{undone}");
    assert_eq!(s.request(&id).await["status"], "undone");
    assert_eq!(visible(&s, &known).await, before);
    // An undone FORGET is never purged.
    s.run(&id, after(now, 3 * 86_400)).await;
    assert_eq!(visible(&s, &known).await, before);

    // Forget again and let the window pass: the purge deletes everything, Genesys Cloud too.
    let id = s.file("FORGET", subject(&known), false).await;
    s.run(&id, now).await;
    assert_eq!(s.confirm(&id).await.status().as_u16(), 200);
    assert_eq!(s.run(&id, now).await["status"], "in_grace");
    let forgotten_at = Timestamp::now();
    let (request, later) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(s.sim.gdpr_request_types(), ["GDPR_DELETE"]);
    for step in request["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["phase"] == "purge")
    {
        assert_eq!(step["state"], "done", "{step}");
        if step["participant"] != "genesys-cloud" {
            assert!(
                step["counts"].as_object().unwrap().values().all(|n| n == 0),
                "re-count after the purge: {step}"
            );
        }
    }
    let refused = s
        .orchestrator
        .post_json(
            "/gdpr/requests",
            DPO,
            &json!({ "type": "UNDO_FORGET", "subject": subject(&known), "reference": "CASE-4711" }),
        )
        .await;
    let problem = test_support::assert_problem(refused, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("purged"), "{problem}");

    // A late redelivery of a result from before the forget is suppressed and stays gone.
    let late = s
        .deliver(&webhook(
            &known.interactions[0],
            &format!("tel:{}", known.person.phone),
            "2026-11-20T09:41:07.512Z",
        ))
        .await;
    assert_eq!(late.status().as_u16(), 200);
    let late: Value = late.json().await.unwrap();
    assert_eq!(late["suppressed"], true);
    s.drain_ingest().await;
    assert!(visible(&s, &known).await.is_empty());

    // Once the orchestrator's own retention has passed, no table of any service holds the
    // subject's identifiers (the suppression list holds keyed hashes only).
    s.run(&id, after(later, 31 * 86_400)).await;
    let mut everything = s.dump_participants().await;
    everything.extend(test_support::dump_tables(s.orchestrator.pool()).await);
    for identifier in [&known.person.digits, &known.person.customer_id]
        .into_iter()
        .chain(known.interactions.iter())
    {
        let holding: Vec<&String> = everything.iter().filter(|l| l.contains(identifier.as_str())).collect();
        assert!(holding.is_empty(), "rows still hold an identifier: {holding:?}");
    }
    assert!(
        everything.iter().any(|l| l.contains(&known.neighbour.digits)),
        "the neighbour is kept"
    );
    assert!(everything.iter().any(|l| l.contains(&known.neighbour_interaction)));

    // A later interaction of the same person is recorded as normal.
    let new_interaction = uuid::Uuid::new_v4().to_string();
    let after_forget = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let _ = forgotten_at;
    let response = s
        .deliver(&webhook(
            &new_interaction,
            &format!("tel:{}", known.person.phone),
            &Timestamp::from_offset_date_time(after_forget).unwrap().to_string(),
        ))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    s.drain_ingest().await;
    assert_eq!(s.records(&format!("interactionId={new_interaction}")).await.len(), 1);

    for request_id in [&id, &undo] {
        let audit: Value = s
            .orchestrator
            .get(&format!("/gdpr/requests/{request_id}/audit"), DPO)
            .await
            .json()
            .await
            .unwrap();
        assert!(audit["entries"].as_array().unwrap().len() >= 3);
        let audit = audit.to_string();
        for identifier in [&known.person.digits, &known.person.customer_id] {
            assert!(
                !audit.contains(identifier.as_str()),
                "the audit log holds an identifier"
            );
        }
    }
    assert_not_logged(&[&known.person.digits, &known.person.customer_id, &known.neighbour.digits]);
}

#[tokio::test]
async fn a_forget_filed_while_a_count_of_the_subject_is_open_is_a_forget() {
    let s = stack().await;
    let person = Person::new();
    let subject = json!({ "phoneNumbers": [person.phone] });
    let file = |count_only: bool| {
        let subject = subject.clone();
        let s = &s;
        async move {
            let response = s.file_as("FORGET", subject, count_only, Some("Alice")).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    };
    // The count is open (nothing has run it yet) when the FORGET is filed.
    let (status, count) = file(true).await;
    assert_eq!((status, &count["countOnly"]), (201, &json!(true)), "{count}");
    let (status, forget) = file(false).await;
    println!(
        "a FORGET filed while its subject's count is open: {status}, countOnly={}, duplicate={}",
        forget["countOnly"], forget["duplicate"]
    );
    assert_eq!(status, 201, "{forget}");
    assert_eq!(
        (&forget["countOnly"], &forget["duplicate"]),
        (&json!(false), &json!(false))
    );
    assert_ne!(forget["id"], count["id"]);

    // Each filed again answers its own kind.
    let (status, again) = file(true).await;
    assert_eq!(
        (status, &again["id"], &again["duplicate"]),
        (200, &count["id"], &json!(true))
    );
    let (status, again) = file(false).await;
    assert_eq!(
        (status, &again["id"], &again["duplicate"]),
        (200, &forget["id"], &json!(true))
    );
}
