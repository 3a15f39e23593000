//! Pairings in the person's name: who made and who removed each pairing (caller and person),
//! when and why; an unassigned-only pairing and a re-assignment with a reason.

use crate::helpers::{example, BOFE, INTERNAL};
use serde_json::{json, Value};
use test_support::TestApp;

pub(crate) const INTERACTION: &str = "5773eca4-0874-4617-a6e8-85591aa94609";
pub(crate) const FIRST: &str = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";
pub(crate) const SECOND: &str = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f";

const ORCHESTRATOR: &str = "gdpr_orchestrator";

/// BOFE as a delegating caller (as the console is): it names the person it acts for.
pub(crate) async fn spawn_delegating_app() -> TestApp {
    spawn_delegating_app_with(&[]).await
}

/// [`spawn_delegating_app`] with settings of the test's own.
pub(crate) async fn spawn_delegating_app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("pairing.outbox_worker_enabled", "false"),
        ("auth.callers.bofe.delegates", "true"),
    ];
    overrides.extend_from_slice(extra);
    test_support::spawn_app_with(
        &interaction_pairing::SERVICE,
        &[
            (BOFE, &["pairing:write", "pairing:read"]),
            (INTERNAL, &["pairing:read"]),
            (ORCHESTRATOR, &["gdpr:participant"]),
        ],
        &overrides,
    )
    .await
}

/// Sends `method` to `path` as BOFE acting for `person` (development's `X-Acting-User`).
pub(crate) async fn as_person(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    person: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(app.token(BOFE))
        .header("X-Acting-User", person);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

pub(crate) async fn pair(app: &TestApp, person: &str, body: &Value) -> reqwest::Response {
    as_person(
        app,
        reqwest::Method::POST,
        "/customers/supportInteraction",
        person,
        Some(body),
    )
    .await
}

/// The status of `person`'s pairing of `customer` (with `extra` fields).
pub(crate) async fn pair_status(app: &TestApp, person: &str, customer: &str, extra: Value) -> u16 {
    pair(app, person, &pairing_of(customer, extra)).await.status().as_u16()
}

pub(crate) fn pairing_of(customer: &str, extra: Value) -> Value {
    let mut body = example();
    body["customerId"] = customer.into();
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

pub(crate) async fn fetched(app: &TestApp) -> Value {
    let response = app
        .get(&format!("/customers/supportInteraction/{INTERACTION}"), BOFE)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn actor(caller: &str, person: &str) -> Value {
    json!({ "caller": caller, "subject": person, "displayName": person })
}

#[tokio::test]
async fn a_pairing_names_who_made_it_and_a_removed_one_who_removed_it_and_when() {
    let app = spawn_delegating_app().await;
    assert_eq!(
        pair(&app, "bea", &pairing_of(FIRST, json!({}))).await.status().as_u16(),
        201
    );
    assert_eq!(
        pair(&app, "ben", &pairing_of(SECOND, json!({})))
            .await
            .status()
            .as_u16(),
        201
    );
    let before = fetched(&app).await;
    assert_eq!(before["customers"][0]["pairedBy"], actor("bofe", "bea"), "{before}");
    assert_eq!(before["customers"][1]["pairedBy"], actor("bofe", "ben"), "{before}");

    // Bob removes the second pairing: it is kept, with who removed it and when.
    let path = format!("/customers/supportInteraction/{INTERACTION}/customers/{SECOND}");
    let removed = as_person(&app, reqwest::Method::DELETE, &path, "bob", None).await;
    assert_eq!(removed.status().as_u16(), 204);
    let after = fetched(&app).await;
    assert_eq!(after["customers"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["customerId"], FIRST);
    let gone = &after["removedCustomers"][0];
    assert_eq!(gone["customerId"], SECOND, "{after}");
    assert_eq!(gone["pairedBy"], actor("bofe", "ben"));
    assert_eq!(gone["pairedAt"], before["customers"][1]["pairedAt"]);
    assert_eq!(gone["removedBy"], actor("bofe", "bob"));
    let (paired_at, removed_at) = (gone["pairedAt"].as_str().unwrap(), gone["removedAt"].as_str().unwrap());
    assert!(removed_at >= paired_at, "{paired_at} then {removed_at}");

    // Removing it again is a 404; pairing it again is a new pairing, the removal stays listed.
    test_support::assert_problem(as_person(&app, reqwest::Method::DELETE, &path, "bob", None).await, 404).await;
    assert_eq!(
        pair(&app, "bea", &pairing_of(SECOND, json!({})))
            .await
            .status()
            .as_u16(),
        201
    );
    let again = fetched(&app).await;
    assert_eq!(again["customers"].as_array().unwrap().len(), 2, "{again}");
    assert_eq!(again["removedCustomers"].as_array().unwrap().len(), 1, "{again}");

    // Lookups (ccbridge's own services) name nobody.
    let lookup: Value = app
        .post_json(
            "/internal/pairings/lookup",
            BOFE,
            &json!({ "interactionIds": [INTERACTION] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let listed = &lookup["pairings"][0];
    assert!(listed["customers"][0].get("pairedBy").is_none(), "{lookup}");
    assert!(listed.get("removedCustomers").is_none(), "{lookup}");
}

#[tokio::test]
async fn an_unassigned_pairing_of_a_paired_interaction_is_refused_and_a_reassignment_needs_a_reason() {
    let app = spawn_delegating_app().await;
    assert_eq!(
        pair(&app, "bea", &pairing_of(FIRST, json!({}))).await.status().as_u16(),
        201
    );

    // Only an interaction without a customer is paired as unassigned.
    let refused = pair(&app, "ben", &pairing_of(SECOND, json!({ "mode": "unassigned" }))).await;
    let problem = test_support::assert_problem(refused, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("re-assign"), "{problem}");
    // The same customer as unassigned again changes nothing.
    let same = pair(&app, "ben", &pairing_of(FIRST, json!({ "mode": "unassigned" }))).await;
    assert_eq!(same.status().as_u16(), 200);

    // A re-assignment without a reason, or with a blank one, names the field.
    for body in [
        pairing_of(SECOND, json!({ "mode": "reassign" })),
        pairing_of(SECOND, json!({ "mode": "reassign", "reason": "  " })),
        pairing_of(SECOND, json!({ "mode": "reassign", "reason": "x".repeat(1001) })),
    ] {
        let problem = test_support::assert_problem(pair(&app, "ben", &body).await, 422).await;
        assert_eq!(problem["errors"][0]["pointer"], "/reason", "{problem}");
    }
    let problem = test_support::assert_problem(
        pair(
            &app,
            "ben",
            &pairing_of(SECOND, json!({ "mode": "sideways", "reason": "r" })),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/mode", "{problem}");
    assert_eq!(fetched(&app).await["customers"].as_array().unwrap().len(), 1);

    // With a reason, the customer replaces the other: the reason is kept on both.
    let reason = "The caller was the account holder's spouse";
    let reassigned = pair(
        &app,
        "ben",
        &pairing_of(SECOND, json!({ "mode": "reassign", "reason": reason })),
    )
    .await;
    assert_eq!(reassigned.status().as_u16(), 201);
    let now = fetched(&app).await;
    assert_eq!(now["customerId"], SECOND);
    assert_eq!(now["customers"].as_array().unwrap().len(), 1, "{now}");
    assert_eq!(now["customers"][0]["reason"], reason);
    assert_eq!(now["customers"][0]["pairedBy"], actor("bofe", "ben"));
    let gone = &now["removedCustomers"][0];
    assert_eq!(gone["customerId"], FIRST, "{now}");
    assert_eq!(gone["pairedBy"], actor("bofe", "bea"));
    assert_eq!(gone["removedBy"], actor("bofe", "ben"));
    assert_eq!(gone["removalReason"], reason);
    assert_eq!(
        crate::helpers::queued(&app).await,
        3,
        "two assignments and the first customer's withdrawal"
    );
}

/// A GDPR participant call, signed as gdpr-orchestrator signs it; answers its report.
pub(crate) async fn participant(app: &TestApp, request: uuid::Uuid, action: &str, customer: &str) -> Value {
    let response = app
        .post_signed(
            &format!("/internal/gdpr/requests/{request}/{action}"),
            ORCHESTRATOR,
            &json!({ "subject": { "customerIds": [customer] } }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{action}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_removed_pairing_is_its_customers_data_hidden_by_their_forget_and_deleted_by_the_purge() {
    let app = spawn_delegating_app().await;
    pair(&app, "bea", &pairing_of(FIRST, json!({}))).await;
    pair(&app, "bea", &pairing_of(SECOND, json!({}))).await;
    let path = format!("/customers/supportInteraction/{INTERACTION}/customers/{SECOND}");
    assert_eq!(
        as_person(&app, reqwest::Method::DELETE, &path, "bob", None)
            .await
            .status()
            .as_u16(),
        204
    );

    // Counted and exported as the customer's pairing: it is data held about them.
    let count = participant(&app, uuid::Uuid::now_v7(), "count", SECOND).await;
    assert_eq!(count["counts"]["pairings"], 1, "{count}");
    let export = participant(&app, uuid::Uuid::now_v7(), "export", SECOND).await;
    assert_eq!(export["data"]["pairings"][0]["customerId"], SECOND, "{export}");

    // Their FORGET holds it (no longer listed as removed); the purge deletes it.
    assert_eq!(rows_of(&app, SECOND).await, 1, "the removed pairing is kept");
    let forget = uuid::Uuid::now_v7();
    let held = participant(&app, forget, "forget", SECOND).await;
    assert_eq!(held["counts"]["pairings"], 1, "{held}");
    let hidden = fetched(&app).await;
    assert!(hidden.get("removedCustomers").is_none(), "{hidden}");
    assert_eq!(hidden["customers"].as_array().unwrap().len(), 1);
    let purged = participant(&app, forget, "purge", SECOND).await;
    assert_eq!(purged["counts"]["pairings"], 0, "nothing left held: {purged}");
    assert_eq!(rows_of(&app, SECOND).await, 0, "the removed pairing is deleted");
    assert_eq!(rows_of(&app, FIRST).await, 1, "the other customer's stays");
}

/// The pairing rows (current or removed) that name `customer`.
pub(crate) async fn rows_of(app: &TestApp, customer: &str) -> i64 {
    use diesel::prelude::*;
    use interaction_pairing::schema::interaction_customers::dsl;
    let customer = service_kit::database::sql_types::DbUuid(customer.parse().unwrap());
    app.pool()
        .run(move |c| {
            dsl::interaction_customers
                .filter(dsl::customer_id.eq(customer))
                .count()
                .get_result(c)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap()
}
