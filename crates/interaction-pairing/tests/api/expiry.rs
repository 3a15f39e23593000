//! Pairings past their retention (current ones `pairing.retention_days` after they were made,
//! removed ones `pairing.removed_retention_days` after their removal) go only once
//! gdpr-orchestrator (a stand-in on 127.0.0.1, `GET /internal/gdpr/retentions`) has said which
//! legal holds are in force: what a hold covers stays, whatever its age; what a GDPR request holds
//! is the request's; when the orchestrator cannot be asked nothing goes and the round is counted
//! (`ccbridge_pairing_expiry_skipped_total`). The outbox's dead letters: `outbox.rs`.

use crate::actors::{pair_status, participant, rows_of, spawn_delegating_app_with, FIRST, SECOND};
use contracts::participant::Retentions;
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::stand_in::Orchestrator;
use interaction_pairing::schema::interaction_customers::dsl;
use serde_json::json;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::DatabaseError;
use test_support::TestApp;

/// interaction-pairing's token at the stand-in orchestrator.
pub(crate) const TOKEN: &str = "interaction-pairing-at-the-orchestrator-0123";

/// A stand-in gdpr-orchestrator answering `answer` (`None`: 503) to interaction-pairing's token.
pub(crate) fn orchestrator(answer: Option<Retentions>) -> Orchestrator {
    Orchestrator::start(TOKEN, answer).unwrap()
}

/// No hold in force, no rule.
pub(crate) fn nothing_kept() -> Option<Retentions> {
    Some(Retentions::default())
}

/// One legal hold in force, on `customer`.
pub(crate) fn a_hold_on(customer: &str) -> Option<Retentions> {
    let hold =
        json!({ "holdId": uuid::Uuid::now_v7(), "subject": { "customerIds": [customer] }, "basis": "legal_claims" });
    Some(serde_json::from_value(json!({ "holds": [hold], "rules": [] })).unwrap())
}

/// The settings that make the app ask `orchestrator` (its URL as text, to borrow).
pub(crate) fn asking(orchestrator: &Orchestrator) -> [(&'static str, String); 2] {
    [
        ("pairing.orchestrator_url", orchestrator.url.to_string()),
        ("pairing.orchestrator_token", TOKEN.to_owned()),
    ]
}

/// BOFE's delegating app (see `actors`), asking `orchestrator` for the holds in force.
pub(crate) async fn expiring_app(orchestrator: &Orchestrator) -> TestApp {
    let asking = asking(orchestrator);
    let settings: Vec<(&str, &str)> = asking.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_delegating_app_with(&settings).await
}

/// Runs the outbox worker's housekeeping once at `now`, as its loop does; answers the registry
/// of its metrics.
pub(crate) async fn housekeeping_at(app: &TestApp, now: Timestamp) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let runner = interaction_pairing::worker::runner(app.pool().clone(), &app.settings, &registry).unwrap();
    runner.housekeeping(now).await.unwrap();
    registry
}

/// The counter `name` (with `label`'s value, when given) in `registry`; 0 when never counted.
pub(crate) fn counted(registry: &prometheus::Registry, name: &str, label: Option<&str>) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric().iter())
        .filter(|metric| label.is_none_or(|value| metric.get_label().iter().any(|l| l.value() == value)))
        .map(|metric| metric.get_counter().get_value())
        .sum()
}

/// `days` from now.
fn days_later(days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::days(days)).unwrap()
}

/// FIRST and SECOND paired with the interaction, now.
async fn both_paired(app: &TestApp) {
    assert_eq!(pair_status(app, "bea", FIRST, json!({})).await, 201);
    assert_eq!(pair_status(app, "bea", SECOND, json!({})).await, 201);
}

/// The pairings' time, to check a walk's order does not depend on it: FIRST's a day earlier.
async fn first_paired_earlier(app: &TestApp) {
    let first = DbUuid(FIRST.parse().unwrap());
    let at = DbTimestamp::from(days_later(-1));
    app.pool()
        .run(move |c| {
            diesel::update(dsl::interaction_customers.filter(dsl::customer_id.eq(first)))
                .set(dsl::paired_at.eq(at))
                .execute(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn current_pairings_past_their_retention_go_but_one_a_legal_hold_covers_stays() {
    let orchestrator = orchestrator(a_hold_on(SECOND));
    let app = expiring_app(&orchestrator).await;
    both_paired(&app).await;
    first_paired_earlier(&app).await;

    // The default keeps a pairing 3650 days: within it (FIRST's made a day earlier), both stay.
    let registry = housekeeping_at(&app, days_later(3648)).await;
    assert_eq!((rows_of(&app, FIRST).await, rows_of(&app, SECOND).await), (1, 1));
    assert_eq!(counted(&registry, "ccbridge_pairing_expired_total", None), 0.0);

    // Past it: FIRST's goes, SECOND's a hold covers stays.
    let registry = housekeeping_at(&app, days_later(3651)).await;
    assert_eq!(rows_of(&app, FIRST).await, 0, "past its retention");
    assert_eq!(rows_of(&app, SECOND).await, 1, "a legal hold covers it");
    assert_eq!(
        counted(&registry, "ccbridge_pairing_expired_total", Some("current")),
        1.0
    );

    // The hold ended: it goes too.
    orchestrator.answers(nothing_kept());
    housekeeping_at(&app, days_later(3651)).await;
    assert_eq!(rows_of(&app, SECOND).await, 0, "no hold any more");
}

#[tokio::test]
async fn a_current_pairing_a_gdpr_request_holds_outlives_its_retention_until_lifted() {
    let orchestrator = orchestrator(nothing_kept());
    let app = expiring_app(&orchestrator).await;
    both_paired(&app).await;
    let restrict = uuid::Uuid::now_v7();
    let restricted = participant(&app, restrict, "restrict", SECOND).await;
    assert_eq!(restricted["counts"]["pairings"], 1, "{restricted}");

    housekeeping_at(&app, days_later(3651)).await;
    assert_eq!(rows_of(&app, FIRST).await, 0, "past its retention");
    assert_eq!(rows_of(&app, SECOND).await, 1, "restricted: the request's");
    participant(&app, restrict, "undo", SECOND).await;
    housekeeping_at(&app, days_later(3651)).await;
    assert_eq!(rows_of(&app, SECOND).await, 0, "lifted: past its retention");
}

#[tokio::test]
async fn nothing_goes_while_the_orchestrator_cannot_be_asked_and_the_round_is_counted() {
    let orchestrator = orchestrator(None);
    let app = expiring_app(&orchestrator).await;
    both_paired(&app).await;

    let registry = housekeeping_at(&app, days_later(3651)).await;
    assert_eq!((rows_of(&app, FIRST).await, rows_of(&app, SECOND).await), (1, 1));
    assert_eq!(counted(&registry, "ccbridge_pairing_expiry_skipped_total", None), 1.0);
    assert_eq!(counted(&registry, "ccbridge_pairing_expired_total", None), 0.0);

    // Refused (a wrong token) is no better than unreachable.
    let wrong = Orchestrator::start("another-token-at-the-orchestrator-0123", nothing_kept()).unwrap();
    let refused = expiring_app(&wrong).await;
    both_paired(&refused).await;
    let registry = housekeeping_at(&refused, days_later(3651)).await;
    assert_eq!(rows_of(&refused, FIRST).await, 1);
    assert_eq!(counted(&registry, "ccbridge_pairing_expiry_skipped_total", None), 1.0);

    // Answering again: the next round goes on.
    orchestrator.answers(nothing_kept());
    housekeeping_at(&app, days_later(3651)).await;
    assert_eq!((rows_of(&app, FIRST).await, rows_of(&app, SECOND).await), (0, 0));
}

#[tokio::test]
async fn a_retention_shorter_than_the_results_that_need_a_pairing_is_refused_at_start() {
    let settings = json!({
        "comm_history_url": "http://127.0.0.1:8082",
        "internal_token": "",
        "outbox_worker_enabled": false,
        "request_timeout_ms": 5000,
        "suppression_key": "a-pairing-suppression-key-of-32-characters-at-least",
        "removed_retention_days": 90,
        "retention_days": 29,
        "orchestrator_url": "http://127.0.0.1:8085",
        "orchestrator_token": "",
    });
    let outbox: interaction_pairing::settings::OutboxSettings = serde_json::from_value(settings).unwrap();
    let problems = outbox.validate().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("pairing.retention_days: must be 30 to 36500")),
        "{problems:?}"
    );
}

/// The holds are asked for again before each batch (500 pairings): a hold placed while a round
/// runs keeps what it covers from the round's next batch on.
#[tokio::test]
async fn a_hold_placed_during_a_round_keeps_what_it_covers_from_the_next_batch_on() {
    let orchestrator = orchestrator(nothing_kept());
    let app = expiring_app(&orchestrator).await;
    // 501 pairings made long ago, the newest FIRST's: the first batch holds the 500 oldest.
    let long_ago = days_later(-3700);
    let rows: Vec<_> = (0..501)
        .map(|n| {
            let customer = if n == 500 {
                FIRST.parse().unwrap()
            } else {
                uuid::Uuid::new_v4()
            };
            let at = long_ago.as_offset_date_time() + time::Duration::seconds(n);
            (
                dsl::id.eq(DbUuid(uuid::Uuid::now_v7())),
                dsl::interaction_id.eq(DbUuid(uuid::Uuid::new_v4())),
                dsl::customer_id.eq(DbUuid(customer)),
                dsl::paired_at.eq(DbTimestamp::from(Timestamp::from_offset_date_time(at).unwrap())),
            )
        })
        .collect();
    app.pool()
        .run(move |c| gdpr_participant::insert_new!(c, dsl::interaction_customers, rows).map_err(DatabaseError::from))
        .await
        .unwrap();
    // Asked before the first batch: no hold; before the second: a hold on FIRST.
    orchestrator.answers_in_turn(vec![nothing_kept(), a_hold_on(FIRST)]);

    let registry = housekeeping_at(&app, Timestamp::now()).await;
    assert_eq!(
        counted(&registry, "ccbridge_pairing_expired_total", Some("current")),
        500.0
    );
    assert_eq!(
        rows_of(&app, FIRST).await,
        1,
        "the hold reached the round's second batch"
    );
}
