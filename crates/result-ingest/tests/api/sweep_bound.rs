//! Operators' sweeps are bounded (`ingest.sweep_max_open_operator`), and the schedule's sweep
//! runs its window while they are open: they never hold it back.

use crate::helpers::{pipeline_with_trigger, OPERATOR};
use domain::Timestamp;
use genesys_sim::Faults;
use serde_json::{json, Value};
use test_support::assert_problem;
use uuid::Uuid;

const JANA: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const SALE_COMPLETED: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";

fn shifted(at: Timestamp, millis: i64) -> Timestamp {
    Timestamp::from_offset_date_time(at.as_offset_date_time() + time::Duration::milliseconds(millis)).unwrap()
}

async fn sweeps(p: &crate::helpers::Pipeline) -> Vec<Value> {
    let listed: Value = p
        .ingest
        .get("/ingest/sweeps?limit=100", OPERATOR)
        .await
        .json()
        .await
        .unwrap();
    listed["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn operator_sweeps_beyond_the_limit_are_refused_and_the_schedule_runs_while_they_are_open() {
    let p = pipeline_with_trigger(&[
        ("ingest.sweep_settle_seconds", "0"),
        ("ingest.sweep_interval_seconds", "1"),
        ("ingest.sweep_max_requests_per_minute", "60000"),
        ("ingest.sweep_max_open_operator", "2"),
    ])
    .await;
    // Every webhook is lost: only a sweep records the call below.
    p.sim.set_faults(Faults {
        webhook_drop_percent: 100,
        ..Faults::default()
    });
    // The schedule's first pass sets its watermark.
    assert_eq!(p.sweeper.try_execute_task(Timestamp::now()).await.unwrap(), 0);

    // Two operators' sweeps: the limit's worth, both open (nothing sweeps yet).
    let now = Timestamp::now();
    let window = json!({ "from": shifted(now, -3_600_000).to_rfc3339(), "to": now.to_rfc3339() });
    let mut operators = Vec::new();
    for _ in 0..2 {
        let started = p.ingest.post_json("/ingest/sweeps", OPERATOR, &window).await;
        assert_eq!(started.status().as_u16(), 202);
        let sweep: Value = started.json().await.unwrap();
        assert_eq!(sweep["status"], "pending", "{sweep}");
        operators.push(sweep["id"].as_str().unwrap().to_owned());
    }
    // The next is refused, naming the limit; nothing is stored for it.
    let problem = assert_problem(p.ingest.post_json("/ingest/sweeps", OPERATOR, &window).await, 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("ingest.sweep_max_open_operator"), "{problem}");
    assert!(detail.contains('2'), "{problem}");
    assert_eq!(sweeps(&p).await.len(), 2);

    // A call ends after the watermark, its webhook lost.
    let id = Uuid::new_v4().to_string();
    let start = Timestamp::now();
    p.record_conversation(&json!({
        "conversationId": id,
        "start": start.to_rfc3339(),
        "end": shifted(start, 1).to_rfc3339(),
        "direction": "inbound",
        "mediaType": "voice",
        "ani": "tel:+420601123456",
        "subject": "",
        "agents": [{ "userId": JANA, "wrapupCode": SALE_COMPLETED }],
    }))
    .await;

    // The schedule's next pass: it creates its window and reads it, before the older operators'
    // sweeps that are due too.
    let later = shifted(Timestamp::now(), 1_100);
    assert_eq!(p.sweeper.try_execute_task(later).await.unwrap(), 1);
    let listed = sweeps(&p).await;
    let scheduled: Vec<&Value> = listed.iter().filter(|s| s["origin"] == "schedule").collect();
    assert_eq!(scheduled.len(), 1, "{listed:?}");
    assert_eq!(scheduled[0]["status"], "done", "{listed:?}");
    assert_eq!(scheduled[0]["counts"]["recovered"], 1, "{listed:?}");
    for operator in &operators {
        let sweep = listed.iter().find(|s| s["id"] == operator.as_str()).unwrap();
        assert_eq!(sweep["status"], "pending", "still open, untouched: {sweep}");
        assert_eq!(sweep["counts"]["pages"], 0, "{sweep}");
    }

    // The operators' sweeps run after it; once they are done, another may be asked for.
    p.sweep(later).await;
    for operator in &operators {
        let sweep: Value = p
            .ingest
            .get(&format!("/ingest/sweeps/{operator}"), OPERATOR)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(sweep["status"], "done", "{sweep}");
    }
    let again = p.ingest.post_json("/ingest/sweeps", OPERATOR, &window).await;
    assert_eq!(again.status().as_u16(), 202);
}

/// Operators asking at once cannot pass the limit together: it is counted and the sweep created in
/// one transaction, under a lock.
#[tokio::test]
async fn operators_asking_at_once_open_no_more_than_the_limit() {
    let p = pipeline_with_trigger(&[("ingest.sweep_max_open_operator", "1")]).await;
    let now = Timestamp::now();
    let window = json!({ "from": shifted(now, -60_000).to_rfc3339(), "to": now.to_rfc3339() });
    let answers = futures_util::future::join_all((0..8).map(|_| async {
        p.ingest
            .post_json("/ingest/sweeps", OPERATOR, &window)
            .await
            .status()
            .as_u16()
    }))
    .await;
    let mut counted = answers.clone();
    counted.sort_unstable();
    assert_eq!(counted, [202, 409, 409, 409, 409, 409, 409, 409], "{answers:?}");
    assert_eq!(sweeps(&p).await.len(), 1);
}
