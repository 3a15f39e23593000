//! The outbox on the one queue: a refusal from comm-history-writer (a 4xx but 408/429) becomes a
//! dead letter at once, an outage is retried until the budget and then dead; operators list them
//! without personal data and retry one or all (`/pairing-outbox`); a claim whose worker died is
//! claimed again when its lease ends. Time moves by `drain(now)`, never by sleeping.

use crate::expiry;
use crate::helpers::{example, queued, BOFE};
use actix_web::{web, App, HttpResponse, HttpServer};
use domain::Timestamp;
use gdpr_participant::stand_in::Orchestrator;
use interaction_pairing::outbox::PairingOutbox;
use interaction_pairing::worker::{runner, OutboxRunner};
use serde_json::{json, Value};
use service_kit::database::DatabaseError;
use service_kit::queue::{Claim, Drained, Settle, Settlement, Storage};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use test_support::TestApp;
use test_support::{assert_problem, problem_locations};

const OPERATOR: &str = "operator";

/// comm-history-writer as the outbox sees it: answers every call with the status it is set to,
/// and counts the calls.
#[derive(Clone)]
struct Writer {
    status: Arc<AtomicU16>,
    calls: Arc<AtomicUsize>,
    url: String,
}

impl Writer {
    fn start(status: u16) -> Self {
        let answer = Arc::new(AtomicU16::new(status));
        let calls = Arc::new(AtomicUsize::new(0));
        let (answering, counting) = (answer.clone(), calls.clone());
        let server = HttpServer::new(move || {
            let (answering, counting) = (answering.clone(), counting.clone());
            App::new().default_service(web::to(move || {
                let status = answering.load(Ordering::SeqCst);
                counting.fetch_add(1, Ordering::SeqCst);
                async move {
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .json(json!({ "updated": 1 }))
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://{}", server.addrs()[0]);
        tokio::spawn(server.run());
        Self {
            status: answer,
            calls,
            url,
        }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// The app, asking a stand-in orchestrator that knows no legal hold.
async fn spawn(writer: &Writer, budget: &str) -> TestApp {
    spawn_asking(writer, budget, &expiry::orchestrator(expiry::nothing_kept())).await
}

/// The app, asking `orchestrator` for the legal holds in force.
async fn spawn_asking(writer: &Writer, budget: &str, orchestrator: &Orchestrator) -> TestApp {
    let asking = expiry::asking(orchestrator);
    let settings: Vec<(&str, &str)> = asking.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_with(writer, budget, &settings).await
}

async fn spawn_with(writer: &Writer, budget: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        // The test works the outbox itself, at the times it chooses.
        ("pairing.outbox_worker_enabled", "false"),
        ("pairing.comm_history_url", writer.url.as_str()),
        ("pairing.retry_budget", budget),
        ("pairing.backoff_min_ms", "1000"),
        ("pairing.backoff_max_ms", "60000"),
    ];
    overrides.extend_from_slice(extra);
    test_support::spawn_app_with(
        &interaction_pairing::SERVICE,
        &[
            (BOFE, &["pairing:write", "pairing:read"]),
            (OPERATOR, &["pairing:operate"]),
            ("gdpr_orchestrator", &["gdpr:participant"]),
        ],
        &overrides,
    )
    .await
}

fn outbox_runner(app: &TestApp) -> OutboxRunner {
    runner(app.pool().clone(), &app.settings, &prometheus::Registry::new()).unwrap()
}

fn later(seconds: i64) -> Timestamp {
    Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::seconds(seconds)).unwrap()
}

async fn pair(app: &TestApp, pairing: &Value) {
    let response = app.post_json("/customers/supportInteraction", BOFE, pairing).await;
    assert_eq!(response.status().as_u16(), 201);
}

fn another() -> Value {
    json!({
        "customerId": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
        "interactionId": "0d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
    })
}

async fn listed(app: &TestApp, status: &str) -> Value {
    let response = app.get(&format!("/pairing-outbox?status={status}"), OPERATOR).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_refusal_is_a_dead_letter_listed_without_personal_data_and_an_operator_retries_it() {
    let writer = Writer::start(404);
    let app = spawn(&writer, "24 hours").await;
    let runner = outbox_runner(&app);
    pair(&app, &example()).await;

    let drained = runner.drain(Timestamp::now()).await.unwrap();
    assert_eq!((drained.claimed, drained.dead), (1, 1), "{drained:?}");
    assert_eq!(runner.metrics().dead.get(), 1);
    assert_eq!(runner.metrics().depth.get(), 0);

    // Listed with its reason (fixed words, the status), not whom it is about.
    let page = listed(&app, "dead").await;
    let text = page.to_string();
    for personal in [&example()["customerId"], &example()["interactionId"]] {
        assert!(!text.contains(personal.as_str().unwrap()), "{text}");
    }
    let entry = &page["items"][0];
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(entry["kind"], "assign");
    assert_eq!(entry["status"], "dead");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["lastError"], "comm-history-writer refused it: 404");
    assert_eq!(entry["nextAttemptAt"], Value::Null);
    assert_eq!(listed(&app, "pending").await["items"], json!([]));

    // A dead letter is not tried again by itself, whatever the time.
    assert_eq!(runner.drain(later(86_400)).await.unwrap().claimed, 0);
    assert_eq!(writer.calls(), 1);

    // Only operators see or retry it.
    assert_eq!(
        app.get("/pairing-outbox?status=dead", BOFE).await.status().as_u16(),
        403
    );

    // Fixed, and retried: pending again, then delivered.
    writer.answer(200);
    let id = entry["id"].as_str().unwrap();
    let retried = app
        .post_json(&format!("/pairing-outbox/{id}/retry"), OPERATOR, &json!({}))
        .await;
    assert_eq!(retried.status().as_u16(), 202);
    assert_eq!(
        retried.json::<Value>().await.unwrap(),
        json!({ "id": id, "status": "pending" })
    );
    let again = app
        .post_json(&format!("/pairing-outbox/{id}/retry"), OPERATOR, &json!({}))
        .await;
    let problem = assert_problem(again, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("pending, not dead"),
        "{problem}"
    );
    assert_eq!(listed(&app, "pending").await["items"][0]["attempts"], 0);

    let drained = runner.drain(Timestamp::now()).await.unwrap();
    assert_eq!((drained.claimed, drained.done), (1, 1), "{drained:?}");
    assert_eq!(writer.calls(), 2);
    assert_eq!(queued(&app).await, 0);
    let gone = app
        .post_json(&format!("/pairing-outbox/{id}/retry"), OPERATOR, &json!({}))
        .await;
    assert_problem(gone, 404).await;
}

#[tokio::test]
async fn retry_dead_brings_every_dead_letter_back() {
    let writer = Writer::start(400);
    let app = spawn(&writer, "24 hours").await;
    let runner = outbox_runner(&app);
    pair(&app, &example()).await;
    pair(&app, &another()).await;
    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().dead, 2);
    assert_eq!(listed(&app, "dead").await["items"].as_array().unwrap().len(), 2);

    writer.answer(200);
    let retried = app.post_json("/pairing-outbox/retry-dead", OPERATOR, &json!({})).await;
    assert_eq!(retried.status().as_u16(), 202);
    assert_eq!(retried.json::<Value>().await.unwrap(), json!({ "retried": 2 }));
    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().done, 2);
    assert_eq!(queued(&app).await, 0);
    assert_eq!(listed(&app, "dead").await["items"], json!([]));
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff_until_the_attempts_run_out_then_dead() {
    let writer = Writer::start(503);
    let app = spawn(&writer, "3 attempts").await;
    let runner = outbox_runner(&app);
    pair(&app, &example()).await;

    let first = runner.drain(Timestamp::now()).await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1), "{first:?}");
    // Not due again before its backoff (at least a second).
    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().claimed, 0);
    let pending = listed(&app, "pending").await;
    assert_eq!(pending["items"][0]["lastError"], "comm-history-writer answered 503");

    // 408 and 429 are an outage too.
    writer.answer(429);
    assert_eq!(runner.drain(later(120)).await.unwrap().retried, 1);
    writer.answer(503);
    let last = runner.drain(later(240)).await.unwrap();
    assert_eq!((last.claimed, last.dead), (1, 1), "{last:?}");
    assert_eq!(writer.calls(), 3);
    let dead = listed(&app, "dead").await;
    assert_eq!(
        dead["items"][0]["lastError"],
        "gave up after 3 attempts: comm-history-writer answered 503"
    );
}

#[tokio::test]
async fn an_outage_is_retried_until_the_time_budget_has_passed_then_dead() {
    let writer = Writer::start(500);
    let app = spawn(&writer, "1 hours").await;
    let runner = outbox_runner(&app);
    pair(&app, &example()).await;

    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().retried, 1);
    assert_eq!(runner.drain(later(1_800)).await.unwrap().retried, 1);
    let out_of_time = runner.drain(later(3_700)).await.unwrap();
    assert_eq!((out_of_time.claimed, out_of_time.dead), (1, 1), "{out_of_time:?}");
    assert_eq!(
        listed(&app, "dead").await["items"][0]["lastError"],
        "gave up after 3600s (3 attempts): comm-history-writer answered 500"
    );

    // Dead letters go after pairing.dead_retention_days (30 by default).
    assert_eq!(runner.drain(later(29 * 86_400)).await.unwrap().claimed, 0);
    assert_eq!(queued(&app).await, 1);
    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 0);
    assert_eq!(runner.metrics().dead_deleted.get(), 1);
}

/// A legal hold placed without a FORGET keeps the dead letters it covers past their retention
/// (the runner asks the job which to keep); the others go; none goes while the orchestrator
/// cannot be asked.
#[tokio::test]
async fn a_dead_letter_a_legal_hold_covers_outlives_its_retention_and_one_not_covered_goes() {
    let writer = Writer::start(422);
    let orchestrator = expiry::orchestrator(None);
    let app = spawn_asking(&writer, "1 hours", &orchestrator).await;
    let registry = prometheus::Registry::new();
    let runner = runner(app.pool().clone(), &app.settings, &registry).unwrap();
    let held = example();
    pair(&app, &held).await;
    pair(&app, &another()).await;
    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().dead, 2);

    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 2, "the holds are not known: nothing goes");
    assert_eq!(
        expiry::counted(&registry, "ccbridge_pairing_expiry_skipped_total", None),
        1.0
    );

    orchestrator.answers(expiry::a_hold_on(held["customerId"].as_str().unwrap()));
    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 1, "the one a hold covers stays");
    assert_eq!(runner.metrics().dead_deleted.get(), 1);
    assert_eq!(runner.metrics().dead_kept.get(), 1);
    let left = listed(&app, "dead").await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(1), "{left}");

    orchestrator.answers(expiry::nothing_kept());
    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 0, "the hold ended");
}

/// A dead letter a GDPR request holds (here a RESTRICT of its customer) is the request's: the
/// dead letters' retention leaves it until the restriction is lifted.
#[tokio::test]
async fn a_restricted_customers_dead_letter_outlives_its_retention_until_lifted() {
    let writer = Writer::start(422);
    let app = spawn(&writer, "1 hours").await;
    let runner = outbox_runner(&app);
    let pairing = example();
    pair(&app, &pairing).await;
    assert_eq!(runner.drain(Timestamp::now()).await.unwrap().dead, 1);
    let call = json!({ "subject": { "customerIds": [pairing["customerId"]] } });
    let restrict = uuid::Uuid::now_v7();
    let restricted = app.participant_call(restrict, "restrict", &call).await;
    assert_eq!(restricted["counts"]["pendingAssignments"], 1, "{restricted}");

    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 1, "restricted: left alone past its retention");
    app.participant_call(restrict, "undo", &call).await;
    runner.drain(later(31 * 86_400)).await.unwrap();
    assert_eq!(queued(&app).await, 0, "lifted: past its retention");
}

#[tokio::test]
async fn a_claim_whose_worker_died_is_claimed_again_when_its_lease_ends_and_its_late_settlement_is_refused() {
    let writer = Writer::start(200);
    let app = spawn(&writer, "24 hours").await;
    let runner = outbox_runner(&app);
    pair(&app, &example()).await;

    // A replica claims the entry for 60 seconds and dies before settling it.
    let now = Timestamp::now();
    let lease_until = later(60);
    let claimed = app
        .pool()
        .run(move |c| {
            PairingOutbox
                .claim(
                    c,
                    Claim {
                        now,
                        limit: 10,
                        lease_until,
                    },
                )
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    assert_eq!(runner.drain(later(30)).await.unwrap(), Drained::default(), "leased");
    let drained = runner.drain(later(61)).await.unwrap();
    assert_eq!((drained.claimed, drained.done), (1, 1), "{drained:?}");
    assert_eq!(writer.calls(), 1);

    // The dead replica's settlement, were it to come now, changes nothing.
    let stale = Settlement {
        id: claimed[0].id,
        lease_until,
        settle: Settle::Done,
        settled_at: later(62),
        result: None,
    };
    let settled = app
        .pool()
        .run(move |c| PairingOutbox.settle(c, &[stale]).map_err(DatabaseError::from))
        .await
        .unwrap();
    assert_eq!(settled, 0);
}

#[tokio::test]
async fn wrong_parameters_are_named() {
    let writer = Writer::start(200);
    let app = spawn(&writer, "24 hours").await;
    for (query, parameter) in [
        ("", "status"),
        ("?status=delivered", "status"),
        ("?status=dead&limit=0", "limit"),
        ("?status=dead&cursor=nope", "cursor"),
    ] {
        let response = app.get(&format!("/pairing-outbox{query}"), OPERATOR).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem_locations(&problem), [parameter], "{query}");
    }
    let response = app
        .post_json("/pairing-outbox/not-an-id/retry", OPERATOR, &json!({}))
        .await;
    assert_eq!(problem_locations(&assert_problem(response, 422).await), ["id"]);
}

#[tokio::test]
async fn two_replicas_draining_at_once_deliver_every_entry_once() {
    let writer = Writer::start(200);
    let app = spawn_with(&writer, "24 hours", &[("pairing.batch_size", "3")]).await;
    for n in 0..24u32 {
        let pairing = json!({
            "customerId": uuid::Uuid::new_v4(),
            "interactionId": format!("00000000-0000-4000-8000-{n:012}"),
        });
        pair(&app, &pairing).await;
    }
    // Two replicas' runners on one database, small batches, working at the same time.
    let (first, second) = (outbox_runner(&app), outbox_runner(&app));
    let now = Timestamp::now();
    let (a, b) = tokio::join!(first.drain(now), second.drain(now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.done + b.done, 24, "{a:?} {b:?}");
    assert_eq!(a.lost_leases + b.lost_leases, 0);
    assert_eq!(writer.calls(), 24, "each entry sent once");
    assert_eq!(queued(&app).await, 0);
}
