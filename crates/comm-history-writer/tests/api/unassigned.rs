//! Communications nobody attributed: listed with the customers their handle suggests, never a
//! forgotten one; assigned by their handle only when asked to, and never for a shared handle.

use crate::helpers::{create, example, READER, WRITER};
use comm_history_writer::SERVICE;
use serde_json::{json, Value};
use test_support::{assert_problem, TestApp};
use uuid::Uuid;

const ORCHESTRATOR: &str = "gdpr_orchestrator";
const C: &str = "11111111-1111-4111-8111-111111111111";
const D: &str = "22222222-2222-4222-8222-222222222222";

async fn spawn(settings: &[(&str, &str)]) -> TestApp {
    test_support::spawn_app_with(
        &SERVICE,
        &[
            (WRITER, &["records:write", "records:assign"]),
            (READER, &["records:read"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
        settings,
    )
    .await
}

/// A record of its own interaction: `customer` (or none), `handle`, `channel`, at `at`.
fn record(customer: Option<&str>, handle: &str, channel: &str, at: &str) -> Value {
    let mut body = example();
    body["interactionId"] = Uuid::new_v4().to_string().into();
    body["customerId"] = customer.map_or(Value::Null, Value::from);
    body["customerHandle"] = handle.into();
    body["channel"] = channel.into();
    body["communicatedAt"] = at.into();
    body
}

async fn unassigned(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/communicationRecords/unassigned{query}"), READER)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_unassigned_email_suggests_the_customer_whose_records_share_its_address() {
    let app = spawn(&[]).await;
    for (n, handle) in ["client@example.com", "Client@Example.com", "client@example.com"]
        .iter()
        .enumerate()
    {
        create(
            &app,
            &record(Some(C), handle, "EMAIL", &format!("2026-11-0{}T10:00:00Z", n + 1)),
        )
        .await;
    }
    create(
        &app,
        &record(Some(D), "other@example.com", "EMAIL", "2026-11-05T10:00:00Z"),
    )
    .await;
    let email = create(
        &app,
        &record(None, "CLIENT@example.com", "EMAIL", "2026-11-20T10:00:00Z"),
    )
    .await;
    let call = create(
        &app,
        &record(None, "tel:+420601000001", "VOICE", "2026-11-21T10:00:00Z"),
    )
    .await;
    assert_eq!(email["customerSource"], Value::Null);

    let listed = unassigned(&app, "").await;
    let ids: Vec<&Value> = listed.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [&call["id"], &email["id"]],
        "newest first, only those without a customer"
    );
    assert_eq!(
        listed[1]["suggestions"],
        json!({
            "shared": false,
            "customersOfHandle": 1,
            "customers": [{ "customerId": C, "records": 3, "lastCommunicatedAt": "2026-11-03T10:00:00Z" }],
        })
    );
    assert_eq!(listed[0]["suggestions"]["customers"], json!([]));
    let emails = unassigned(&app, "?channel=EMAIL").await;
    assert_eq!(emails.len(), 1);
    let window = unassigned(&app, "?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z").await;
    assert_eq!(window.len(), 1);
    assert_eq!(window[0]["id"], call["id"]);
    let first = app.get("/communicationRecords/unassigned?limit=1", READER).await;
    let first: Value = first.json().await.unwrap();
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let second = unassigned(&app, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(second[0]["id"], email["id"]);
    assert_problem(app.get("/communicationRecords/unassigned", WRITER).await, 403).await;
}

#[tokio::test]
async fn a_shared_handle_suggests_everyone_and_is_never_assigned_a_sole_one_is_when_asked() {
    let app = spawn(&[("records.auto_assign_by_handle", "true")]).await;
    let shared = "tel:+420601000002";
    create(&app, &record(Some(C), shared, "VOICE", "2026-11-01T10:00:00Z")).await;
    create(&app, &record(Some(D), shared, "VOICE", "2026-11-02T10:00:00Z")).await;
    create(&app, &record(Some(D), shared, "VOICE", "2026-11-03T10:00:00Z")).await;
    let sole = "tel:+420601000003";
    create(&app, &record(Some(C), sole, "VOICE", &days_ago(10))).await;

    let on_shared = create(&app, &record(None, shared, "VOICE", "2026-11-20T10:00:00Z")).await;
    assert_eq!(on_shared["customerId"], Value::Null, "a shared handle is never a match");
    let on_sole = create(&app, &record(None, sole, "VOICE", "2026-11-21T10:00:00Z")).await;
    assert_eq!(on_sole["customerId"], C);
    assert_eq!(on_sole["customerSource"], "handle_match");
    let metrics = app.metrics().await;
    assert!(metrics.contains("ccbridge_records_auto_assigned_total 1"), "{metrics}");

    let listed = unassigned(&app, "").await;
    assert_eq!(listed.len(), 1);
    let suggestions = &listed[0]["suggestions"];
    assert_eq!(suggestions["shared"], true);
    assert_eq!(suggestions["customersOfHandle"], 2);
    let customers: Vec<&Value> = suggestions["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customerId"])
        .collect();
    assert_eq!(customers, [D, C], "most records first");
}

#[tokio::test]
async fn auto_assignment_is_off_unless_switched_on() {
    let app = spawn(&[]).await;
    let sole = "tel:+420601000004";
    create(&app, &record(Some(C), sole, "VOICE", &days_ago(1))).await;
    let written = create(&app, &record(None, sole, "VOICE", "2026-11-21T10:00:00Z")).await;
    assert_eq!(written["customerId"], Value::Null);
    assert_eq!(unassigned(&app, "").await.len(), 1);
}

#[tokio::test]
async fn a_forgotten_customer_is_never_suggested_and_an_undo_brings_the_suggestion_back() {
    let app = spawn(&[]).await;
    create(
        &app,
        &record(Some(C), "client@example.com", "EMAIL", "2026-11-01T10:00:00Z"),
    )
    .await;
    create(
        &app,
        &record(None, "client@example.com", "EMAIL", "2026-11-20T10:00:00Z"),
    )
    .await;
    let request = Uuid::now_v7();
    let call = json!({ "subject": { "customerIds": [C] } });
    let forget = app
        .post_signed(
            &format!("/internal/gdpr/requests/{request}/forget"),
            ORCHESTRATOR,
            &call,
        )
        .await;
    assert_eq!(forget.status().as_u16(), 200);
    let listed = unassigned(&app, "").await;
    assert_eq!(
        listed.len(),
        1,
        "the unassigned e-mail is nobody's: the forget of C keeps it"
    );
    assert_eq!(listed[0]["suggestions"]["customers"], json!([]), "C is not suggested");
    let undo = app
        .post_signed(&format!("/internal/gdpr/requests/{request}/undo"), ORCHESTRATOR, &call)
        .await;
    assert_eq!(undo.status().as_u16(), 200);
    let listed = unassigned(&app, "").await;
    assert_eq!(listed[0]["suggestions"]["customers"][0]["customerId"], C);
}

#[tokio::test]
async fn a_wrong_parameter_is_named() {
    let app = spawn(&[]).await;
    for (query, parameter) in [
        ("?from=yesterday", "from"),
        ("?from=2026-11-20T00:00:00Z&to=2026-11-19T00:00:00Z", "to"),
        ("?channel=PIGEON", "channel"),
        ("?limit=0", "limit"),
        ("?cursor=nope", "cursor"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/communicationRecords/unassigned{query}"), READER)
                .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["parameter"], parameter, "{query}: {problem}");
    }
}

/// An RFC 3339 time `days` before now (within the auto-assignment window).
fn days_ago(days: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Assignments and withdrawals in any order: each customer holds at most one record of a
/// communication, the last withdrawal leaves it unassigned, and assigning again brings the
/// customer's own record back.
#[tokio::test]
async fn assigning_and_withdrawing_in_turn_keeps_one_record_per_customer() {
    let app = spawn(&[]).await;
    let interaction = Uuid::new_v4().to_string();
    let mut original = record(Some(D), "tel:+420601000005", "VOICE", "2026-11-20T10:00:00Z");
    original["interactionId"] = interaction.clone().into();
    create(&app, &original).await;
    let assign = |customer: &'static str| {
        let body = json!({ "interactionId": interaction, "customerId": customer, "source": "pairing" });
        let app = &app;
        async move { app.post_json("/internal/customerAssignments", WRITER, &body).await }
    };
    let withdraw = |customer: &'static str| {
        let body = json!({ "interactionId": interaction, "customerId": customer, "withdrawnBy": "Eva Operator" });
        let app = &app;
        async move { app.post_json("/internal/customerWithdrawals", WRITER, &body).await }
    };
    let updated = |response: reqwest::Response| async move {
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.unwrap()["updated"].as_u64().unwrap()
    };
    assert_eq!(updated(assign(C).await).await, 1, "a copy for C");
    assert_eq!(updated(assign(C).await).await, 0, "once");
    assert_eq!(updated(withdraw(C).await).await, 1);
    assert_eq!(updated(withdraw(D).await).await, 1);
    // Served to nobody, but D's export holds it, marked withdrawn.
    let export = app
        .post_signed(
            &format!("/internal/gdpr/requests/{}/export", Uuid::now_v7()),
            ORCHESTRATOR,
            &json!({ "subject": { "customerIds": [D] } }),
        )
        .await;
    assert_eq!(export.status().as_u16(), 200);
    let export: Value = export.json().await.unwrap();
    let exported = export["data"]["communications"].as_array().unwrap();
    assert_eq!(exported.len(), 1, "{export}");
    assert!(exported[0]["withdrawnAt"].is_string(), "{export}");
    assert!(
        !export.to_string().contains("Eva Operator"),
        "who withdrew it is the bank's"
    );
    let left = of_interaction(&app, &interaction).await;
    assert_eq!(left.len(), 1, "nobody's again: {left:?}");
    assert_eq!(left[0]["customerId"], Value::Null);
    assert_eq!(updated(assign(C).await).await, 1, "C's own record comes back");
    let left = of_interaction(&app, &interaction).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["customerId"], C);
    assert_eq!(updated(assign(D).await).await, 1, "D's comes back too");
    assert_eq!(of_interaction(&app, &interaction).await.len(), 2);
}

async fn of_interaction(app: &TestApp, interaction: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/communicationRecords?interactionId={interaction}"), READER)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}
