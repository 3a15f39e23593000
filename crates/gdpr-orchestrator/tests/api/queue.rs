//! The GDPR requests on service-kit's one queue: a request out of its retry budget is a dead letter
//! (a reason in fixed words, no personal data) that operators list and retry at `/gdpr/queue`, and
//! replicas working one database run every step once.

use crate::helpers::{after, assert_not_logged, stack_with, Person, StackOptions, DPO, OPERATOR};
use domain::Timestamp;
use gdpr_orchestrator::queue::GdprRequests;
use gdpr_orchestrator::store;
use genesys_sim::Faults;
use serde_json::json;
use service_kit::database::DatabaseError;
use service_kit::queue::{Claim, Job as _, Reason, Settle, Settlement, Storage as _};

fn gauge(metrics: &prometheus::Registry, name: &str, queue: &str) -> Option<f64> {
    metrics
        .gather()
        .into_iter()
        .find(|family| family.name() == name)?
        .get_metric()
        .iter()
        .find(|m| m.get_label().iter().any(|l| l.name() == "queue" && l.value() == queue))
        .map(|m| m.get_gauge().get_value())
}

#[tokio::test]
async fn a_request_out_of_its_budget_is_a_dead_letter_an_operator_retries() {
    let s = stack_with(StackOptions {
        orchestrator: vec![("gdpr.retry_budget".to_owned(), "2 attempts".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    s.sim.set_faults(Faults {
        outage_seconds: Some(3600),
        ..Faults::default()
    });
    let id = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await;
    let mut clock = Timestamp::now();
    let mut dead = 0;
    for _ in 0..10 {
        dead += s.worker.drain(clock).await.unwrap().dead;
        if dead > 0 {
            break;
        }
        clock = after(clock, 60);
    }
    assert_eq!(dead, 1, "{}", s.request(&id).await);

    // Listed to operators as a dead letter: its type, attempts and reason, nothing of the subject.
    let listed = s
        .orchestrator
        .get("/gdpr/queue?status=dead", OPERATOR)
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&person.digits), "{listed}");
    let page: contracts::queue::QueuePage = serde_json::from_str(&listed).unwrap();
    assert_eq!(page.items.len(), 1, "{listed}");
    assert_eq!(page.items[0].id.to_string(), id);
    assert_eq!(page.items[0].kind, "EXPORT");
    assert_eq!(
        page.items[0].last_error.as_deref(),
        Some("gave up after 2 attempts: genesys-cloud's step failed")
    );
    assert_eq!(gauge(&s.metrics, "ccbridge_queue_dead", "gdpr_requests"), Some(1.0));

    // A dead letter is not taken up again by itself, however late.
    let before = s.request(&id).await;
    assert_eq!(s.worker.drain(after(clock, 30 * 86_400)).await.unwrap().claimed, 0);
    assert_eq!(s.request(&id).await["participants"], before["participants"]);

    // Least privilege: the DPO tool does not operate the queue, operators see no request.
    assert_eq!(
        s.orchestrator
            .get("/gdpr/queue?status=dead", DPO)
            .await
            .status()
            .as_u16(),
        403
    );
    let request_path = format!("/gdpr/requests/{id}");
    assert_eq!(s.orchestrator.get(&request_path, OPERATOR).await.status().as_u16(), 403);

    // Genesys Cloud is back; an operator retries the dead letter and the request completes.
    s.sim.set_faults(Faults::default());
    let retried = s
        .orchestrator
        .post_json(&format!("/gdpr/queue/{id}/retry"), OPERATOR, &json!({}))
        .await;
    assert_eq!(retried.status().as_u16(), 202);
    let (request, _) = s.run_while(&id, "exporting", after(clock, 60), 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(gauge(&s.metrics, "ccbridge_queue_dead", "gdpr_requests"), Some(0.0));
    assert_not_logged(&[&person.digits, &person.customer_id]);
}

#[tokio::test]
async fn two_replicas_on_one_database_run_every_step_once() {
    let s = stack_with(StackOptions {
        orchestrator: vec![("gdpr.batch_size".to_owned(), "1".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let person = Person::new();
        s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
            .await;
        ids.push(s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await);
    }
    let replica = gdpr_orchestrator::worker(
        &s.orchestrator.settings,
        s.orchestrator.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let mut clock = Timestamp::now();
    // One pass each first (a batch is one request): each replica takes a request of its own,
    // whichever order the concurrent drains below then happen in.
    let (mut first, mut second) = (0, 0);
    first += s.worker.pass(clock).await.unwrap().claimed;
    second += replica.pass(clock).await.unwrap().claimed;
    assert_eq!((first, second), (1, 1), "each replica takes a request of its own");
    for _ in 0..30 {
        let (a, b) = tokio::join!(s.worker.drain(clock), replica.drain(clock));
        first += a.unwrap().claimed;
        second += b.unwrap().claimed;
        let mut finished = true;
        for id in &ids {
            finished &= s.request(id).await["status"] == "completed";
        }
        if finished {
            break;
        }
        // Genesys Cloud (the simulator) finishes its exports on its own clock.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        clock = after(clock, 60);
    }
    println!("claims: {first} by one replica, {second} by the other");
    assert_each_step_once(&s, &ids).await;
}

/// A GDPR request's dead letter has a legal due date: the queue keeps it until an operator
/// retries it. `gdpr.dead_retention_days` (which every other queue's section takes) is refused at
/// start and by check-config, by name, never accepted and ignored; a zero timeout too.
#[test]
fn gdpr_dead_retention_days_and_a_zero_timeout_are_refused_at_start_by_name() {
    let refused = |extra: &[(&str, &str)]| {
        let settings = crate::persons::production_settings(extra);
        let context = service_kit::startup::ServiceContext {
            settings: &settings,
            metrics: &prometheus::Registry::new(),
            pool: None,
            background: None,
        };
        (gdpr_orchestrator::SERVICE.setup)(&context)
            .err()
            .map_or(String::new(), |e| format!("{e:#}").replace('\n', " "))
    };
    let retention = refused(&[("gdpr.dead_retention_days", "30")]);
    println!("gdpr.dead_retention_days = 30: {retention}");
    assert!(
        retention.contains("gdpr.dead_retention_days: not accepted"),
        "{retention:?}"
    );
    let zero = refused(&[("gdpr.request_timeout_ms", "0")]);
    println!("gdpr.request_timeout_ms = 0: {zero}");
    assert!(zero.contains("gdpr.request_timeout_ms"), "{zero:?}");
    assert_eq!(refused(&[]), "");
}

/// A replica claims a request and stalls (a pause, a slow disk) until its lease has run out: the
/// other replica takes the request over and works it, and when the first wakes up its late run
/// does nothing and every settlement it could make is refused (the lease fences them). Each step
/// runs once, one Genesys Cloud export.
#[tokio::test]
async fn a_replica_whose_lease_ran_out_settles_nothing_and_no_step_runs_twice() {
    let s = stack_with(StackOptions::default()).await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let id = s.file("EXPORT", json!({ "phoneNumbers": [person.phone] }), false).await;
    let stalled = gdpr_orchestrator::worker(
        &s.orchestrator.settings,
        s.orchestrator.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let lease = i64::try_from(stalled.policy().lease.as_secs()).unwrap();
    let t0 = Timestamp::now();
    let lease_until = after(t0, lease);
    let claim = Claim {
        now: t0,
        limit: 1,
        lease_until,
    };
    let claimed = s
        .orchestrator
        .pool()
        .run(move |c| GdprRequests.claim(c, claim).map_err(DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "the stalled replica claims the request");
    assert_eq!(claimed[0].id.to_string(), id);

    // While the lease holds, the other replica takes nothing, however often it looks.
    assert_eq!(s.worker.drain(after(t0, lease - 1)).await.unwrap().claimed, 0);

    // The lease runs out: the other replica takes the request over and works it.
    let t1 = after(t0, lease + 1);
    let taken_over = s.worker.drain(t1).await.unwrap();
    assert!(taken_over.claimed >= 1, "{taken_over:?}");
    let before = s.request(&id).await;
    assert_ne!(before["status"], "received", "{before}");
    let stored = || {
        let id = claimed[0].id;
        s.orchestrator.pool().run(move |c| {
            let request = store::find_request(c, id)?;
            Ok::<_, DatabaseError>((request, store::steps(c, id)?))
        })
    };
    let (stored_before, calls_before) = (stored().await.unwrap(), s.sim.gdpr_request_types());

    // The stalled replica wakes up: its late run changes nothing (not its lease, version or
    // steps) and calls no one, and whatever it would settle is refused by the lease.
    stalled.job().run(&claimed[0], t0).await.unwrap();
    assert_eq!(
        stored().await.unwrap(),
        stored_before,
        "the late run changed the request"
    );
    assert_eq!(
        s.sim.gdpr_request_types(),
        calls_before,
        "the late run called Genesys Cloud"
    );
    for settle in [
        Settle::Done,
        Settle::Postpone { at: t0 },
        Settle::Retry {
            at: t0,
            reason: Reason::new("late"),
        },
        Settle::Dead {
            reason: Reason::new("late"),
        },
    ] {
        let late = Settlement {
            id: claimed[0].id,
            lease_until,
            settle: settle.clone(),
            settled_at: t0,
            result: None,
        };
        let settled = s
            .orchestrator
            .pool()
            .run(move |c| GdprRequests.settle(c, &[late]).map_err(DatabaseError::from))
            .await
            .unwrap();
        assert_eq!(settled, 0, "a late {settle:?} was applied");
    }
    assert_eq!(
        stored().await.unwrap(),
        stored_before,
        "a late settlement changed the request"
    );

    // The other replica finishes it: every step once, one Genesys Cloud export.
    s.run_while(&id, before["status"].as_str().unwrap(), after(t1, 60), 20)
        .await;
    assert_each_step_once(&s, &[id]).await;
    assert_eq!(gauge(&s.metrics, "ccbridge_queue_dead", "gdpr_requests"), Some(0.0));
}

/// Each of `ids` completed, each of its steps ran once (one attempt, one `done` in its audit), and
/// Genesys Cloud got one export a request.
async fn assert_each_step_once(s: &crate::helpers::Stack, ids: &[String]) {
    for id in ids {
        let request = s.request(id).await;
        assert_eq!(request["status"], "completed", "{request}");
        let steps = request["participants"].as_array().unwrap();
        for step in steps {
            assert_eq!(step["attempts"], 1, "each step once: {step}");
        }
        let steps_done = s
            .audit(id)
            .await
            .into_iter()
            .filter(|e| e["event"] == "step" && e["detail"]["state"] == "done")
            .count();
        assert_eq!(steps_done, steps.len(), "{id}");
    }
    let exports = s
        .sim
        .gdpr_request_types()
        .into_iter()
        .filter(|t| t == "GDPR_EXPORT")
        .count();
    assert_eq!(exports, ids.len(), "one Genesys Cloud export a request");
}
