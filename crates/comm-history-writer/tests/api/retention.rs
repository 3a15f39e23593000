//! `GET /communicationRecords/retention` (the console's Retention page, issue #30): each
//! channel's retention as configured, how many records fall due within 24 hours and 7 days by it
//! (counted, never named), and what the last expiry round did, whichever replica ran it. Scope
//! `records:operate`.

use crate::helpers::{create, example, READER, WRITER};
use actix_web::{web, App, HttpResponse, HttpServer};
use comm_history_writer::expiry::{Expiry, ExpiryError};
use comm_history_writer::settings::RecordsSettings;
use contracts::participant::RETENTIONS_ROUTE;
use contracts::retention::{ChannelRetention, ExpiryRound, RecordsRetention, RoundOutcome, RECORDS_ROUTE};
use domain::{Channel, Timestamp};
use secrecy::SecretString;
use serde_json::json;
use test_support::TestApp;
use time::{Duration, OffsetDateTime};

const OPERATOR: &str = "operator";

async fn spawn() -> TestApp {
    test_support::spawn_app_with(
        &comm_history_writer::SERVICE,
        &[
            (WRITER, &["records:write"]),
            (READER, &["records:read"]),
            (OPERATOR, &["records:operate"]),
        ],
        &[
            ("records.retention_days", "365"),
            ("records.retention_days_by_channel.voice", "30"),
        ],
    )
    .await
}

/// `age` before now.
fn ago(age: Duration) -> Timestamp {
    Timestamp::from_offset_date_time(OffsetDateTime::now_utc() - age).unwrap()
}

/// A record of `channel` communicated `at`; answers its id.
async fn written(app: &TestApp, channel: &str, at: Timestamp) -> String {
    let mut body = example();
    body["interactionId"] = uuid::Uuid::new_v4().to_string().into();
    body["channel"] = channel.into();
    body["communicatedAt"] = json!(at);
    create(app, &body).await["id"].as_str().unwrap().to_owned()
}

async fn retention(app: &TestApp) -> (String, RecordsRetention) {
    let response = app.get(RECORDS_ROUTE, OPERATOR).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let answer = serde_json::from_str(&text).unwrap();
    (text, answer)
}

fn of(answer: &RecordsRetention, channel: Channel) -> &ChannelRetention {
    answer.channels.iter().find(|c| c.channel == channel).unwrap()
}

/// gdpr-orchestrator's retentions route as the expiry asks it: no hold, no rule.
fn orchestrator_keeping_nothing() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = || async { HttpResponse::Ok().json(json!({ "holds": [], "rules": [] })) };
    let server = HttpServer::new(move || App::new().route(RETENTIONS_ROUTE, web::get().to(answer)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    url
}

#[tokio::test]
async fn each_channels_retention_the_records_due_within_a_day_and_a_week_and_the_last_round() {
    let app = spawn().await;
    let hour = Duration::hours(1);
    let day = Duration::days(1);
    // VOICE keeps 30 days (its own), the others 365 (the default).
    let ids = [
        written(&app, "VOICE", ago(day * 30 - hour * 2)).await, // due in 2 hours
        written(&app, "VOICE", ago(day * 26)).await,            // in 4 days
        written(&app, "VOICE", ago(day * 10)).await,            // in 20 days
        written(&app, "VOICE", ago(day * 40)).await,            // past it: the expiry's, not due
        written(&app, "CHAT", ago(day * 365 - hour * 3)).await, // in 3 hours
        written(&app, "SMS", ago(day * 360)).await,             // in 5 days
    ];

    // Not an operator's caller: 403.
    assert_eq!(app.get(RECORDS_ROUTE, READER).await.status().as_u16(), 403);
    let (text, answer) = retention(&app).await;
    assert!(
        ids.iter().all(|id| !text.contains(id.as_str())),
        "counts, never a record"
    );
    assert_eq!(answer.default_days, 365);
    assert_eq!(
        answer.channels.iter().map(|c| c.channel).collect::<Vec<_>>(),
        Channel::ALL,
        "every channel, in order"
    );
    let due = |channel| {
        let c = of(&answer, channel);
        (c.days, c.own, c.due_within_day, c.due_within_week)
    };
    assert_eq!(due(Channel::Voice), (30, true, 1, 2));
    assert_eq!(due(Channel::Chat), (365, false, 1, 1));
    assert_eq!(due(Channel::Sms), (365, false, 0, 1));
    assert_eq!(due(Channel::Email), (365, false, 0, 0));
    // The service's own first round, at its start: no orchestrator token here, so skipped. Waited
    // for, so that it cannot land after the rounds below.
    let mut started = answer.last_round;
    for _ in 0..200 {
        if started.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        started = retention(&app).await.1.last_round;
    }
    assert_eq!(started.map(|round| round.outcome), Some(RoundOutcome::Skipped));

    // A round without the orchestrator's token is skipped, and says so.
    let mut records: RecordsSettings = app.settings.section("records").unwrap();
    let skipping = Expiry::new(app.pool().clone(), &records, &prometheus::Registry::new()).unwrap();
    let now = Timestamp::now();
    assert!(matches!(skipping.run_once(now).await, Err(ExpiryError::Unasked)));
    let (_, answer) = retention(&app).await;
    assert_eq!(
        answer.last_round,
        Some(ExpiryRound {
            ran_at: now,
            outcome: RoundOutcome::Skipped,
            expired: 0,
            kept: 0
        })
    );
    assert_eq!(of(&answer, Channel::Voice).due_within_week, 2, "nothing expired");

    // Another replica's round, asking the orchestrator: the VOICE record past 30 days goes.
    records.orchestrator_url = orchestrator_keeping_nothing().parse().unwrap();
    records.orchestrator_token = SecretString::from("the-writers-token-at-the-orchestrator".to_owned());
    let expiring = Expiry::new(app.pool().clone(), &records, &prometheus::Registry::new()).unwrap();
    let later = Timestamp::now();
    assert_eq!(expiring.run_once(later).await.unwrap().expired, 1);
    let (_, answer) = retention(&app).await;
    assert_eq!(
        answer.last_round,
        Some(ExpiryRound {
            ran_at: later,
            outcome: RoundOutcome::Ran,
            expired: 1,
            kept: 0
        })
    );
    assert_eq!(due(Channel::Voice), (30, true, 1, 2), "the due ones stay");
}

#[tokio::test]
async fn the_route_and_its_types_are_in_the_services_openapi_description() {
    let app = spawn().await;
    let description: serde_json::Value = app.get("/openapi.json", OPERATOR).await.json().await.unwrap();
    let route = &description["paths"][RECORDS_ROUTE]["get"];
    assert!(route.to_string().contains("records:operate"), "{route}");
    for schema in ["RecordsRetention", "ChannelRetention", "ExpiryRound"] {
        assert!(description["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
