//! A result-ingest process killed mid-batch (SIGKILL, not a clean stop) and started again:
//! no event is lost and none is written twice.

use crate::helpers::{example, pipeline_with, start_replica};
use genesys_sim::Faults;
use std::time::Duration;

const EVENTS: usize = 40;

async fn count(p: &crate::helpers::Pipeline, status: &str) -> usize {
    p.events(status).await.len()
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing_and_writes_nothing_twice() {
    let p = pipeline_with(&[], None).await;
    // Every event has its own (unknown) wrap-up code, so each needs a slow Genesys call: a batch
    // takes a while, and the kill lands while one is in flight.
    p.sim.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let mut conversations = Vec::new();
    for _ in 0..EVENTS {
        let mut body = example("support-result-voice-inbound.json");
        let conversation = uuid::Uuid::new_v4().to_string();
        body["conversationId"] = conversation.clone().into();
        body["wrapupCode"] = uuid::Uuid::new_v4().to_string().into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
        conversations.push(conversation);
    }

    let mut replica = start_replica(&p, None, &[]);
    let mut waited = 0;
    while count(&p, "pending").await == EVENTS {
        assert!(waited < 300, "the replica processed nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    replica.kill().unwrap();
    replica.wait().unwrap();
    let left = count(&p, "pending").await;
    assert!(left > 0, "killed before it finished");

    let mut replica = start_replica(&p, None, &[]);
    let mut waited = 0;
    while count(&p, "pending").await > 0 {
        assert!(waited < 1500, "the restarted replica did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    replica.kill().unwrap();
    replica.wait().unwrap();

    assert_eq!(count(&p, "dead").await, 0);
    for conversation in &conversations {
        let records = p.records_of_interaction(conversation).await;
        assert_eq!(records.len(), 1, "conversation {conversation}: {records:?}");
    }
    p.assert_no_personal_data_logged();
}

/// What a dead worker leaves behind is its lease: the events it claimed are claimed by no one
/// else while the lease runs (the operators' listing shows them due when it ends), and by the
/// next claim after it.
#[tokio::test]
async fn a_claimed_event_is_claimed_again_only_when_its_lease_ends() {
    use domain::Timestamp;

    let p = crate::helpers::pipeline().await;
    for n in 0..3 {
        let mut body = example("support-result-voice-inbound.json");
        body["conversationId"] = uuid::Uuid::new_v4().to_string().into();
        body["wrapupCode"] = format!("ININ-WRAP-UP-{n}").into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    }
    let p = &p;
    let claim_at = |at: Timestamp| async move {
        crate::helpers::claim_inbox(p, at)
            .await
            .iter()
            .map(|e| (e.id, e.attempts.get()))
            .collect::<Vec<_>>()
    };
    let now = Timestamp::now();
    let first = claim_at(now).await;
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|&(_, attempts)| attempts == 1), "{first:?}");
    assert_eq!(claim_at(now).await, vec![], "a leased event was claimed twice");
    let lease_end = now.as_offset_date_time() + Duration::from_secs(60);
    for event in p.events("pending").await {
        let due = Timestamp::parse(event["nextAttemptAt"].as_str().unwrap()).unwrap();
        assert_eq!(due.as_offset_date_time(), lease_end, "{event}");
    }

    let after_lease = Timestamp::from_offset_date_time(lease_end + Duration::from_secs(1)).unwrap();
    let mut second = claim_at(after_lease).await;
    let mut expected: Vec<_> = first.iter().map(|&(id, _)| (id, 2)).collect();
    second.sort();
    expected.sort();
    assert_eq!(second, expected);
}

/// A worker that held its batch past its lease (stalled, paused) settles nothing of what another
/// worker has claimed since: the other's outcome stands, and the event is not written twice over.
#[tokio::test]
async fn a_batch_whose_lease_was_taken_over_settles_nothing() {
    use crate::helpers::{claim_inbox, settle_inbox};
    use domain::Timestamp;
    use service_kit::queue::{Reason, Settle};

    let p = crate::helpers::pipeline().await;
    assert_eq!(
        p.deliver(&example("support-result-voice-inbound.json"))
            .await
            .status()
            .as_u16(),
        202
    );
    let now = Timestamp::now();
    let stalled = claim_inbox(&p, now).await;
    assert_eq!(stalled.len(), 1);
    let later = Timestamp::from_offset_date_time(now.as_offset_date_time() + Duration::from_secs(61)).unwrap();
    let current = claim_inbox(&p, later).await;
    assert_eq!(current.len(), 1, "the lease ran out: another worker claims the event");

    let id = stalled[0].id;
    let dead = Settle::Dead {
        reason: Reason::new("the stalled worker's verdict"),
    };
    assert_eq!(
        settle_inbox(&p, id, stalled[0].lease_until, dead).await,
        0,
        "the stalled batch settles nothing"
    );
    assert!(p.events("dead").await.is_empty());
    let pending = p.events("pending").await;
    assert_eq!(pending.len(), 1, "still the current worker's");
    assert_eq!(settle_inbox(&p, id, current[0].lease_until, Settle::Done).await, 1);
    assert!(p.events("pending").await.is_empty());
}
