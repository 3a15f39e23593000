use crate::helpers::{example, pipeline, pipeline_with, records_in, requests_counted, start_writer};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::Value;

#[tokio::test]
async fn the_same_result_twice_is_one_event_and_one_record() {
    let p = pipeline().await;
    let body = example("support-result-voice-inbound.json");
    let first: Value = p.deliver(&body).await.json().await.unwrap();
    let second: Value = p.deliver(&body).await.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["duplicate"], true);
    p.drain(10).await;
    assert_eq!(
        p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609")
            .await
            .len(),
        1
    );
    p.assert_no_personal_data_logged();
}

/// Concurrent deliveries share inbox transactions (group commit): a batch can hold the same
/// result many times, a redelivery of a result stored before, and other results.
#[tokio::test]
async fn twenty_concurrent_deliveries_are_one_record() {
    let p = pipeline().await;
    let twenty_times = example("support-result-voice-inbound.json");
    let mut stored_before = twenty_times.clone();
    stored_before["conversationId"] = "5773eca4-0874-4617-a6e8-85591aa94600".into();
    let first: Value = p.deliver(&stored_before).await.json().await.unwrap();
    assert_eq!(first["duplicate"], false);
    let others: Vec<Value> = (0..10)
        .map(|n| {
            let mut body = twenty_times.clone();
            body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9470{n}").into();
            body
        })
        .collect();
    let deliveries = (0..20)
        .map(|_| &twenty_times)
        .chain((0..5).map(|_| &stored_before))
        .chain(&others);
    let responses = futures_util::future::join_all(deliveries.map(|body| p.deliver(body))).await;
    let mut answers = Vec::new();
    for response in responses {
        assert_eq!(response.status().as_u16(), 202);
        let body: Value = response.json().await.unwrap();
        answers.push((
            body["id"].as_str().unwrap().to_owned(),
            body["duplicate"].as_bool().unwrap(),
        ));
    }
    let (twenty, rest) = answers.split_at(20);
    let (again, others_answers) = rest.split_at(5);
    assert!(twenty.iter().all(|(id, _)| *id == twenty[0].0), "{twenty:?}");
    assert_eq!(
        twenty.iter().filter(|(_, duplicate)| !duplicate).count(),
        1,
        "{twenty:?}"
    );
    assert!(
        again.iter().all(|(id, duplicate)| *id == first["id"] && *duplicate),
        "{again:?}"
    );
    let mut other_ids: Vec<_> = others_answers
        .iter()
        .filter(|(_, duplicate)| !duplicate)
        .map(|(id, _)| id)
        .collect();
    other_ids.sort();
    other_ids.dedup();
    assert_eq!(other_ids.len(), 10);
    p.drain(10).await;
    for interaction in [
        "5773eca4-0874-4617-a6e8-85591aa94609",
        "5773eca4-0874-4617-a6e8-85591aa94600",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain((0..10).map(|n| format!("5773eca4-0874-4617-a6e8-85591aa9470{n}")))
    {
        assert_eq!(p.records_of_interaction(&interaction).await.len(), 1, "{interaction}");
    }
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn genesys_failing_for_a_while_delays_but_loses_nothing() {
    let p = pipeline().await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    for n in 0..5 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9460{n}").into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    }
    p.worker.try_execute_task(Timestamp::now()).await.unwrap();
    let pending = p.events("pending").await;
    assert_eq!(pending.len(), 5, "nothing processed while Genesys is down");
    assert!(
        pending
            .iter()
            .all(|e| e["lastError"].as_str().unwrap().starts_with("genesys-gateway: 503")),
        "{pending:?}"
    );
    p.sim.set_faults(Faults::default());
    p.drain(30).await;
    for n in 0..5 {
        let records = p
            .records_of_interaction(&format!("5773eca4-0874-4617-a6e8-85591aa9460{n}"))
            .await;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["bankUserName"], "Jana Nováková");
    }
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn a_writer_down_and_then_up_gets_every_record_once() {
    // A port for a writer that is not running yet: connections to it are refused.
    let port = test_support::ReservedPort::new();
    let p = pipeline_with(&[], Some(port.url())).await;
    for n in 0..3 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9461{n}").into();
        p.deliver(&body).await;
    }
    p.worker.try_execute_task(Timestamp::now()).await.unwrap();
    p.assert_pending_because(3, "comm-history-writer: unreachable").await;

    let writer = start_writer(Some(port)).await;
    p.drain(30).await;
    for n in 0..3 {
        let records = records_in(&writer, &format!("5773eca4-0874-4617-a6e8-85591aa9461{n}")).await;
        assert_eq!(records.len(), 1);
    }
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn a_pairing_after_the_result_fills_in_the_customer() {
    let p = pipeline().await;
    p.deliver(&example("support-result-voice-inbound.json")).await;
    let mut other = example("support-result-voice-inbound.json");
    other["wrapupCode"] = "ININ-WRAP-UP-TIMEOUT".into();
    p.deliver(&other).await;
    p.drain(10).await;
    let before = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|r| r["customerId"].is_null()));

    p.pair(&example("support-interaction.json")).await;
    assert_eq!(
        p.outbox.try_execute_task(Timestamp::now()).await.unwrap(),
        1,
        "the pairing was queued with it"
    );
    let after = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert!(
        after
            .iter()
            .all(|r| r["customerId"] == "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"),
        "{after:?}"
    );
    assert_eq!(
        p.outbox.try_execute_task(Timestamp::now()).await.unwrap(),
        0,
        "delivered once, then gone"
    );
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn a_late_pairing_waits_in_the_outbox_while_the_writer_is_down() {
    let port = test_support::ReservedPort::new();
    let p = pipeline_with(&[], Some(port.url())).await;
    p.pair(&example("support-interaction.json")).await;
    assert_eq!(p.outbox.try_execute_task(Timestamp::now()).await.unwrap(), 1);
    let writer = start_writer(Some(port)).await;
    let mut body = example("support-result-voice-inbound.json");
    body["conversationId"] = "5773eca4-0874-4617-a6e8-85591aa94609".into();
    // The record, written after the pairing, gets its customer from the pairing lookup directly.
    p.deliver(&body).await;
    p.drain(10).await;
    // The outbox's clock moves a minute a pass, past any backoff, instead of sleeping.
    let mut now = Timestamp::now();
    for _ in 0..200 {
        if p.outbox.try_execute_task(now).await.unwrap() == 0 && pending_outbox(&p).await == 0 {
            break;
        }
        now = Timestamp::from_offset_date_time(now.as_offset_date_time() + time::Duration::minutes(1)).unwrap();
    }
    assert_eq!(
        pending_outbox(&p).await,
        0,
        "the outbox drained once the writer was back"
    );
    let records = records_in(&writer, "5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(records[0]["customerId"], "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
    p.assert_no_personal_data_logged();
}

async fn pending_outbox(p: &crate::helpers::Pipeline) -> i64 {
    p.pairing
        .pool()
        .run(|c| interaction_pairing::outbox::pending(c).map_err(service_kit::database::DatabaseError::from))
        .await
        .unwrap()
}

/// Events share a few agents and wrap-up codes: the worker asks the gateway once per name (in
/// one batch and across batches), not once per event, and still writes each record with its own
/// names.
#[tokio::test]
async fn the_worker_asks_the_gateway_once_per_name() {
    let p = pipeline().await;
    let agents = [
        ("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "Jana Nováková"),
        ("0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b", "Petr Svoboda"),
    ];
    let codes = ["1ccb1c09-9495-4034-b377-b809f58d17da", "ININ-WRAP-UP-TIMEOUT"];
    for wave in [0..6, 6..12] {
        for n in wave {
            let mut body = example("support-result-voice-inbound.json");
            body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa948{n:02}").into();
            body["userId"] = agents[n % 2].0.into();
            body["wrapupCode"] = codes[n % 2].into();
            assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
        }
        p.drain(10).await;
    }
    for n in 0..12 {
        let records = p
            .records_of_interaction(&format!("5773eca4-0874-4617-a6e8-85591aa948{n:02}"))
            .await;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["bankUserName"], agents[n % 2].1);
    }
    let gateway = p._gateway.metrics().await;
    assert_eq!(requests_counted(&gateway, "/users/{userId}", None), 2);
    assert_eq!(requests_counted(&gateway, "/wrapupcodes/{codeId}", None), 2);
    p.assert_no_personal_data_logged();
}

/// The worker writes a claimed batch in one call; when comm-history-writer refuses the batch as
/// a whole (here: larger than it takes), each record is written alone and none is lost.
#[tokio::test]
async fn a_batch_the_writer_refuses_as_a_whole_is_written_record_by_record() {
    let port = test_support::ReservedPort::new();
    let p = pipeline_with(&[], Some(port.url())).await;
    let writer = crate::helpers::start_writer_with(Some(port), &[("application.max_body_bytes", "2048")]).await;
    for n in 0..5 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9490{n}").into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    }
    p.drain(10).await;
    for n in 0..5 {
        let records = records_in(&writer, &format!("5773eca4-0874-4617-a6e8-85591aa9490{n}")).await;
        assert_eq!(records.len(), 1);
    }
    let metrics = writer.metrics().await;
    assert_eq!(
        requests_counted(&metrics, "/communicationRecords/batch", Some("413")),
        1,
        "{metrics}"
    );
    assert_eq!(
        requests_counted(&metrics, "/communicationRecords", Some("201")),
        5,
        "{metrics}"
    );
    assert!(p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

/// interaction-pairing down: the batch's pairing lookup fails, so no record is written without
/// its customer; every event waits to be retried, with the reason, and none is dead.
#[tokio::test]
async fn pairing_down_holds_the_batch_for_a_retry() {
    let p = pipeline().await;
    for n in 0..3 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9495{n}").into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    }
    p.pairing.stop().await;
    p.worker.try_execute_task(Timestamp::now()).await.unwrap();
    p.assert_pending_because(3, "interaction-pairing: unreachable").await;
    for n in 0..3 {
        let records = p
            .records_of_interaction(&format!("5773eca4-0874-4617-a6e8-85591aa9495{n}"))
            .await;
        assert!(records.is_empty());
    }
    p.assert_no_personal_data_logged();
}

/// comm-history-writer answers a write a purged GDPR forget erased with 410 (`erased` in a
/// batch): the event is settled, processed without a record, neither retried nor dead.
#[tokio::test]
async fn a_record_the_writer_answers_as_erased_is_settled_not_retried() {
    let p = pipeline().await;
    // A conversation of its own: the run's logs are shared by every test of this binary.
    let interaction = &uuid::Uuid::new_v4().to_string();
    let mut pairing = example("support-interaction.json");
    pairing["interactionId"] = interaction.as_str().into();
    p.pair(&pairing).await;
    let subject = serde_json::json!({
        "customerIds": ["2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"],
        "interactionIds": [interaction],
    });
    let forget = uuid::Uuid::now_v7();
    for action in ["forget", "purge"] {
        let response = p
            .writer
            .post_signed(
                &format!("/internal/gdpr/requests/{forget}/{action}"),
                crate::helpers::ORCHESTRATOR,
                &serde_json::json!({ "subject": subject }),
            )
            .await;
        assert_eq!(response.status().as_u16(), 200, "{action}");
    }

    let mut result = example("support-result-voice-inbound.json");
    result["conversationId"] = interaction.as_str().into();
    p.deliver(&result).await;
    p.drain(10).await;
    assert!(p.events("pending").await.is_empty());
    assert!(p.events("dead").await.is_empty());
    let processed = p.processed_events().await;
    assert_eq!(processed.len(), 1, "{processed:?}");
    assert_eq!(processed[0].1, None, "no record");
    assert!(p.records_of_interaction(interaction).await.is_empty());

    // A later assignment of the purged customer gets nothing, counted without labels and logged
    // nowhere: no log line ties the conversation to the erasure.
    let assignment = serde_json::json!({
        "interactionId": interaction,
        "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
        "source": "late_pairing",
    });
    let response = p
        .writer
        .post_json("/internal/customerAssignments", "result_ingest", &assignment)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["updated"], 0);
    let metrics = p.writer.metrics().await;
    assert!(metrics.contains("ccbridge_records_suppressed_total 2"), "{metrics}");
    if let Some(logs) = p.logs() {
        let tying = logs.lines().find(|line| {
            line.contains(interaction) && ["GDPR", "forget", "suppress", "erase"].iter().any(|w| line.contains(w))
        });
        assert!(
            tying.is_none(),
            "a log line ties the conversation to the erasure: {tying:?}"
        );
    }
}
