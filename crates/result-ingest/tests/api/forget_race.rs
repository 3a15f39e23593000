//! A GDPR forget and a webhook batch for the same subject at the same moment: the result is
//! either hidden by the forget or suppressed, never stored visible.

use crate::helpers::{example, pipeline, Pipeline};
use contracts::participant::ParticipantCall;
use diesel::Connection;
use domain::gdpr::DataSubject;
use domain::{HandleNormaliser, SupportResult, Timestamp};
use gdpr_participant::{Forget, GdprStore, Reach};
use result_ingest::gdpr::WebhookResults;
use result_ingest::inbox::{self, Delivery};
use result_ingest::siblings::Siblings;
use result_ingest::suppression::SuppressionKey;
use service_kit::database::DatabaseError;
use std::collections::BTreeSet;
use std::sync::{mpsc, Arc};

fn suppression_key(p: &Pipeline) -> SuppressionKey {
    let settings = result_ingest::ingest_settings(&p.ingest.settings).unwrap();
    SuppressionKey::new(&settings.suppression_key).unwrap()
}

/// The participant store with the service's own suppression key.
fn store(p: &Pipeline) -> WebhookResults {
    let settings = result_ingest::ingest_settings(&p.ingest.settings).unwrap();
    WebhookResults::new(suppression_key(p), Arc::new(Siblings::new(&settings).unwrap()))
}

/// A forget of the call's subject, inside the caller's transaction (no result of the subject's
/// number is paired to anyone here, so none is attributed elsewhere).
fn forget(
    store: &WebhookResults,
    c: &mut service_kit::database::AnyConnection,
    request_id: uuid::Uuid,
    call: &ParticipantCall,
) -> diesel::QueryResult<contracts::participant::CategoryCounts> {
    let nobody_else = BTreeSet::new();
    let reach = Reach {
        subject: &call.subject,
        attributed_elsewhere: &nobody_else,
    };
    store.forget(c, &Forget::new(request_id, reach, call))?;
    store.held(c, request_id)
}

/// Returns once a session of this test's database waits for a lock (PostgreSQL), so that the
/// racing commit that follows comes after the other side asked for the lock, never before.
/// SQLite has one writer at a time and no view of who waits: there the order is SQLite's, and
/// the test shows the outcome of whichever it was.
async fn until_a_session_waits_for_a_lock(p: &Pipeline) {
    if p.ingest.backend() != service_kit::database::Backend::Postgres {
        return;
    }
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting = p
            .ingest
            .pool()
            .run(|c| {
                diesel::RunQueryDsl::get_result::<Waiting>(
                    diesel::sql_query(
                        "SELECT count(*) AS n FROM pg_stat_activity \
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    ),
                    c,
                )
                .map_err(DatabaseError::from)
            })
            .await
            .unwrap();
        if waiting.n > 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other side never waited for the lock: it did not take the lock it should"
        );
        tokio::task::yield_now().await;
    }
}

fn forget_call() -> ParticipantCall {
    let subject: DataSubject =
        serde_json::from_value(serde_json::json!({ "phoneNumbers": ["+420601123456"] })).unwrap();
    ParticipantCall {
        subject,
        forgotten_at: Some(Timestamp::now()),
        external_ref: None,
        retain: Vec::new(),
        rules: Vec::new(),
        kept_elsewhere: Vec::new(),
        rectification: None,
    }
}

/// The webhook's inbox transaction has written the result but not committed when the forget
/// starts. The forget must wait for it (on PostgreSQL it takes a lock that makes it wait; on
/// SQLite writers queue anyway), or its update would not see the row and leave it visible.
#[tokio::test]
async fn a_forget_during_an_inbox_transaction_still_hides_the_result() {
    let p = pipeline().await;
    let result: SupportResult = serde_json::from_value(example("support-result-voice-inbound.json")).unwrap();
    let (written_tx, written_rx) = mpsc::channel::<()>();
    let (commit_tx, commit_rx) = mpsc::channel::<()>();
    let webhook = {
        let pool = p.ingest.pool().clone();
        let result = result.clone();
        let key = suppression_key(&p);
        tokio::spawn(async move {
            pool.run(move |c| {
                c.transaction(|c| {
                    let delivery = Delivery::prepare(result, None, &key, &HandleNormaliser::default(), None).unwrap();
                    inbox::accept_batch(c, &[delivery], Timestamp::now())?;
                    written_tx.send(()).unwrap();
                    commit_rx.recv().unwrap();
                    Ok::<_, diesel::result::Error>(())
                })
                .map_err(DatabaseError::from)
            })
            .await
            .unwrap();
        })
    };
    tokio::task::spawn_blocking(move || written_rx.recv().unwrap())
        .await
        .unwrap();

    let request_id = uuid::Uuid::now_v7();
    let forget = {
        let pool = p.ingest.pool().clone();
        let (store, call) = (store(&p), forget_call());
        tokio::spawn(async move {
            pool.run(move |c| {
                service_kit::database::write_transaction(c, |c| forget(&store, c, request_id, &call))
                    .map_err(DatabaseError::from)
            })
            .await
            .unwrap()
        })
    };
    // The forget waits for the open inbox transaction before it commits.
    until_a_session_waits_for_a_lock(&p).await;
    commit_tx.send(()).unwrap();
    webhook.await.unwrap();
    let held = forget.await.unwrap();

    assert_eq!(held["webhookResults"], 1, "the forget holds the result: {held:?}");
    assert!(
        p.events("pending").await.is_empty(),
        "the result is hidden from the listing"
    );
}

/// The forget has written its suppressions but not committed when a webhook for the subject
/// arrives: the webhook's batch must wait for it and then find the suppression, or it would
/// store the result where the forget's update can no longer see it.
#[tokio::test]
async fn a_webhook_during_a_forget_transaction_is_suppressed() {
    let p = pipeline().await;
    // Another caller's result first: the inbox writer's connection has then run the batch's
    // statement before (on PostgreSQL it is prepared, and takes its locks at bind, not at parse).
    let mut other = example("support-result-voice-inbound.json");
    other["conversationId"] = "0b6f4c52-3f7e-4a39-9d0e-4f6b1f2a7c11".into();
    other["ani"] = "tel:+420777000111".into();
    assert_eq!(p.deliver(&other).await.status().as_u16(), 202);
    let (forgotten_tx, forgotten_rx) = mpsc::channel::<()>();
    let (commit_tx, commit_rx) = mpsc::channel::<()>();
    let forget = {
        let pool = p.ingest.pool().clone();
        let (store, call) = (store(&p), forget_call());
        tokio::spawn(async move {
            pool.run(move |c| {
                service_kit::database::write_transaction(c, |c| {
                    let held = forget(&store, c, uuid::Uuid::now_v7(), &call)?;
                    forgotten_tx.send(()).unwrap();
                    commit_rx.recv().unwrap();
                    Ok::<_, diesel::result::Error>(held)
                })
                .map_err(DatabaseError::from)
            })
            .await
            .unwrap()
        })
    };
    tokio::task::spawn_blocking(move || forgotten_rx.recv().unwrap())
        .await
        .unwrap();
    // A result from before the forget, delivered late, while the forget is still open.
    let mut late = example("support-result-voice-inbound.json");
    late["eventTime"] = "2026-01-01T10:00:00Z".into();
    let delivery = tokio::spawn({
        let client = p.ingest.client.clone();
        let url = p.ingest.url("/customers/supportResult");
        let token = p.ingest.token(crate::helpers::GENESYS).to_owned();
        async move { client.post(url).bearer_auth(token).json(&late).send().await.unwrap() }
    });
    // The delivery's batch waits for the open forget before it commits.
    until_a_session_waits_for_a_lock(&p).await;
    commit_tx.send(()).unwrap();
    forget.await.unwrap();
    let response = delivery.await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["suppressed"], true, "{body}");
    let pending = p.events("pending").await;
    assert_eq!(
        pending.len(),
        1,
        "only the other caller's result is stored: {pending:?}"
    );
    assert!(p.processed_events().await.is_empty());
}

/// An event a worker claimed before the forget may still become a record after it: the forget
/// is answered `pending_external` until the worker has settled it, so that comm-history-writer's
/// forget, which runs next, catches that record.
#[tokio::test]
async fn a_forget_waits_for_the_subjects_events_in_a_workers_hands() {
    let p = pipeline().await;
    assert_eq!(
        p.deliver(&example("support-result-voice-inbound.json"))
            .await
            .status()
            .as_u16(),
        202
    );
    // A worker claims the event (and is slow with it).
    let claimed = crate::helpers::claim_inbox(&p, Timestamp::now()).await;
    assert_eq!(claimed.len(), 1);

    let request_id = uuid::Uuid::now_v7();
    let call = serde_json::to_value(forget_call()).unwrap();
    let forget = p
        .ingest
        .post_signed(
            &format!("/internal/gdpr/requests/{request_id}/forget"),
            crate::helpers::ORCHESTRATOR,
            &call,
        )
        .await;
    assert_eq!(forget.status().as_u16(), 200);
    let report: serde_json::Value = forget.json().await.unwrap();
    assert_eq!(report["state"], "pending_external", "{report}");
    assert_eq!(report["counts"]["webhookResults"], 1);
    assert_eq!(participant_status(&p, request_id).await["state"], "pending_external");

    // The worker settles the event (its record written, in this story): the forget is done.
    let settled = crate::helpers::settle_inbox(
        &p,
        claimed[0].id,
        claimed[0].lease_until,
        service_kit::queue::Settle::Done,
    )
    .await;
    assert_eq!(settled, 1);
    let report = participant_status(&p, request_id).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["counts"]["webhookResults"], 1);
}

/// What the participant route answers about `request_id` (the orchestrator's poll).
async fn participant_status(p: &Pipeline, request_id: uuid::Uuid) -> serde_json::Value {
    let url = format!("/internal/gdpr/requests/{request_id}");
    let response = p.ingest.get_signed(&url, crate::helpers::ORCHESTRATOR).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// One batch holding a forgotten subject's late result twice and another caller's result: the
/// forgotten one is answered suppressed both times and stored neither time; the other is stored.
#[tokio::test]
async fn a_batch_stores_only_the_results_no_forget_suppresses() {
    let p = pipeline().await;
    let (store, call, key) = (store(&p), forget_call(), suppression_key(&p));
    p.ingest
        .pool()
        .run(move |c| {
            service_kit::database::write_transaction(c, |c| forget(&store, c, uuid::Uuid::now_v7(), &call))
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();

    let mut late = example("support-result-voice-inbound.json");
    late["eventTime"] = "2026-01-01T10:00:00Z".into();
    let mut other = example("support-result-voice-inbound.json");
    other["conversationId"] = "0b6f4c52-3f7e-4a39-9d0e-4f6b1f2a7c11".into();
    other["ani"] = "tel:+420777000111".into();
    let results: Vec<SupportResult> = [&late, &late, &other]
        .into_iter()
        .map(|body| serde_json::from_value(body.clone()).unwrap())
        .collect();
    let answers = p
        .ingest
        .pool()
        .run(move |c| {
            let deliveries: Vec<Delivery> = results
                .into_iter()
                .map(|result| Delivery::prepare(result, None, &key, &HandleNormaliser::default(), None).unwrap())
                .collect();
            inbox::accept_batch(c, &deliveries, Timestamp::now()).map_err(DatabaseError::from)
        })
        .await
        .unwrap();

    assert_eq!(answers[0], inbox::Acceptance::Suppressed);
    assert_eq!(answers[1], inbox::Acceptance::Suppressed);
    let inbox::Acceptance::Stored(stored) = answers[2] else {
        panic!("the other caller's result is stored: {answers:?}")
    };
    assert!(!stored.duplicate);
    let pending = p.events("pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["id"], stored.id.to_string());
}
