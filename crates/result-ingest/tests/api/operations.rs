use crate::helpers::{example, pipeline_with, OPERATOR};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::Value;
use service_kit::database::DatabaseError;
use test_support::{assert_problem, problem_locations};

#[tokio::test]
async fn a_spent_retry_budget_is_a_dead_letter_with_its_reason_and_can_be_replayed() {
    let p = pipeline_with(&[("ingest.retry_budget", "1 attempt")], None).await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    p.deliver(&example("support-result-voice-inbound.json")).await;
    p.drain(5).await;
    let dead = p.events("dead").await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]["lastError"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up after 1 attempts: genesys-gateway: 503"),
        "{reason}"
    );
    let listing = dead[0].to_string();
    assert!(
        !listing.contains("420601123456"),
        "no personal data in the listing: {listing}"
    );

    p.sim.set_faults(Faults::default());
    let id = dead[0]["id"].as_str().unwrap();
    let response = p
        .ingest
        .client
        .post(p.ingest.url(&format!("/ingest/events/{id}/retry")))
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    p.drain(10).await;
    assert!(p.events("dead").await.is_empty());
    assert_eq!(
        p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609")
            .await
            .len(),
        1
    );
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn retry_dead_replays_a_whole_batch() {
    let p = pipeline_with(&[("ingest.retry_budget", "1 attempt")], None).await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    for n in 0..4 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9462{n}").into();
        p.deliver(&body).await;
    }
    p.drain(5).await;
    assert_eq!(p.events("dead").await.len(), 4);
    p.sim.set_faults(Faults::default());
    let response = p
        .ingest
        .client
        .post(p.ingest.url("/ingest/events/retry-dead"))
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["retried"], 4);
    p.drain(10).await;
    assert!(p.events("dead").await.is_empty() && p.events("pending").await.is_empty());
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn listings_page_and_refuse_bad_parameters() {
    let p = pipeline_with(&[], None).await;
    for n in 0..5 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9463{n}").into();
        p.deliver(&body).await;
    }
    let first: Value = p
        .ingest
        .get("/ingest/events?status=pending&limit=3", OPERATOR)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second: Value = p
        .ingest
        .get(
            &format!("/ingest/events?status=pending&limit=3&cursor={cursor}"),
            OPERATOR,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["nextCursor"], Value::Null);

    for (query, parameter) in [
        ("status=done", "status"),
        ("status=pending&limit=0", "limit"),
        ("status=dead&cursor=x", "cursor"),
    ] {
        let problem = assert_problem(p.ingest.get(&format!("/ingest/events?{query}"), OPERATOR).await, 422).await;
        assert_eq!(problem_locations(&problem), [parameter]);
    }
    let unknown = p
        .ingest
        .client
        .post(
            p.ingest
                .url("/ingest/events/0190f5c2-7d1f-7a2e-9c61-3f8e2d9a1b07/retry"),
        )
        .bearer_auth(p.ingest.token(OPERATOR))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404).await;
    p.assert_no_personal_data_logged();
}

/// Housekeeping sets the queue gauges from what waits and what is dead, and removes processed
/// events past retention (oldest first, a chunk at a time) while leaving pending and dead ones.
#[tokio::test]
async fn housekeeping_gauges_the_queue_and_removes_processed_events_past_retention() {
    use domain::Timestamp;
    use result_ingest::inbox;
    use service_kit::database::DatabaseError;

    let p = pipeline_with(
        &[("ingest.retry_budget", "1 attempt"), ("ingest.retention_days", "1")],
        None,
    )
    .await;
    let result = |n: usize| {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = format!("5773eca4-0874-4617-a6e8-85591aa9464{n}").into();
        body
    };
    // One dead (Genesys down, no retry budget), three processed, one still pending.
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    p.deliver(&result(0)).await;
    p.drain(5).await;
    p.sim.set_faults(Faults::default());
    for n in 1..=3 {
        p.deliver(&result(n)).await;
    }
    p.drain(10).await;
    p.deliver(&result(4)).await;
    // Each event as "status n", n being its delivery above.
    let inbox_rows = || {
        p.ingest.pool().run(|c| {
            use diesel::prelude::*;
            use result_ingest::schema::inbox_events::dsl;
            use service_kit::database::sql_types::DbUuid;
            let rows: Vec<(String, DbUuid)> = dsl::inbox_events
                .order(dsl::accepted_at)
                .select((dsl::status, dsl::conversation_id))
                .load(c)
                .map_err(DatabaseError::from)?;
            Ok::<_, DatabaseError>(
                rows.into_iter()
                    .map(|(status, conversation)| format!("{status} {}", conversation.0.as_u128() % 16))
                    .collect::<Vec<_>>(),
            )
        })
    };
    assert_eq!(
        inbox_rows().await.unwrap(),
        ["dead 0", "processed 1", "processed 2", "processed 3", "pending 4"]
    );

    // A chunk of one removes the oldest processed event only.
    let removed = p
        .ingest
        .pool()
        .run(|c| {
            let processed = inbox::InboxStatus::Processed;
            let oldest = inbox::expired(c, processed, Timestamp::now(), None, 1)?;
            let ids = oldest.into_iter().map(|(_, id)| id).collect();
            inbox::remove_expired(c, processed, ids, Timestamp::now()).map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        inbox_rows().await.unwrap(),
        ["dead 0", "processed 2", "processed 3", "pending 4"]
    );

    // A housekeeping round a day later (retention 1 day) removes the rest and gauges what is left.
    let registry = prometheus::Registry::new();
    let worker = result_ingest::worker(&p.ingest.settings, p.ingest.pool().clone(), &registry).unwrap();
    let a_day_later =
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::days(1)).unwrap();
    worker.housekeeping(a_day_later).await.unwrap();
    assert_eq!(inbox_rows().await.unwrap(), ["dead 0", "pending 4"]);
    // The inbox's gauges are named as every queue's, the queue in a label.
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        text.contains(r#"ccbridge_queue_depth{queue="ingest_inbox"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ccbridge_queue_dead{queue="ingest_inbox"} 1"#),
        "{text}"
    );
    p.assert_no_personal_data_logged();
}

/// A dead event is personal data no record holds: erased `ingest.dead_retention_days` after it
/// died (counted), while younger dead letters wait for their replay.
#[tokio::test]
async fn dead_letters_are_erased_after_their_retention() {
    use diesel::prelude::*;
    use result_ingest::schema::inbox_events::dsl;
    use service_kit::database::sql_types::DbTimestamp;

    let p = pipeline_with(&[("ingest.retry_budget", "1 attempt")], None).await;
    p.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    for _ in 0..2 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = uuid::Uuid::new_v4().to_string().into();
        p.deliver(&body).await;
    }
    p.drain(5).await;
    let dead = p.events("dead").await;
    assert_eq!(dead.len(), 2);
    // One died 31 days ago.
    let old = uuid::Uuid::parse_str(dead[0]["id"].as_str().unwrap()).unwrap();
    let long_ago = DbTimestamp::from(
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() - time::Duration::days(31)).unwrap(),
    );
    p.ingest
        .pool()
        .run(move |c| {
            diesel::update(dsl::inbox_events.find(service_kit::database::sql_types::DbUuid(old)))
                .set(dsl::dead_at.eq(Some(long_ago)))
                .execute(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();

    let registry = prometheus::Registry::new();
    let worker = result_ingest::worker(&p.ingest.settings, p.ingest.pool().clone(), &registry).unwrap();
    worker.housekeeping(Timestamp::now()).await.unwrap();
    let left = p.events("dead").await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0]["id"], dead[0]["id"]);
    let erased = registry
        .gather()
        .iter()
        .find(|family| family.name() == "ccbridge_queue_dead_deleted_total")
        .map(|family| family.get_metric()[0].get_counter().get_value());
    assert_eq!(erased, Some(1.0));
}

/// A sibling's `Retry-After`, however long, parks an event no longer than
/// `ingest.max_retry_after_seconds`: nothing from outside sets the event's next attempt.
#[tokio::test]
async fn a_huge_retry_after_is_capped() {
    let p = pipeline_with(&[("ingest.max_retry_after_seconds", "60")], None).await;
    // Genesys rate-limits every request for "ever"; the gateway passes a 503 with Retry-After on.
    p.sim.set_faults(Faults {
        rate_limit_every: Some(1),
        retry_after_seconds: Some(u64::MAX / 2),
        ..Faults::default()
    });
    p.deliver(&example("support-result-voice-inbound.json")).await;
    let before = Timestamp::now();
    assert_eq!(p.worker.try_execute_task(Timestamp::now()).await.unwrap(), 1);
    let pending = p.events("pending").await;
    assert_eq!(pending.len(), 1);
    let due = Timestamp::parse(pending[0]["nextAttemptAt"].as_str().unwrap()).unwrap();
    let wait = due.as_offset_date_time() - before.as_offset_date_time();
    assert!(
        (time::Duration::seconds(55)..=time::Duration::seconds(65)).contains(&wait),
        "due in {wait}"
    );
}
