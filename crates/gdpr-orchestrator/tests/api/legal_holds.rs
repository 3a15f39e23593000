//! Legal holds (issue #30): placed, listed, released by two persons, ended by their end; each
//! change in the audit chain; what the worker reads as in force. The orchestrator alone (no
//! worker) in development, persons named by the DPO tool; outside development persons signed in
//! at the identity provider (the whole stack, as persons.rs).

use crate::helpers::{assert_not_logged, stack_with, StackOptions, DPO};
use diesel::prelude::*;
use domain::gdpr::{DataSubject, SubjectInput};
use domain::Timestamp;
use gdpr_orchestrator::store::legal_holds::{self, HoldInForce};
use serde_json::{json, Value};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::problem::ApiError;
use std::collections::BTreeSet;
use test_support::oidc::{Provider, ProviderOptions};
use test_support::{assert_problem, problem_locations, TestApp};
use uuid::Uuid;

const PLACER: &str = "Placer Person";
const ALICE: &str = "Alice Dpo";
const BOB: &str = "Bob Dpo";
const PHONE: &str = "+420601987654";

/// The orchestrator alone (no worker), the DPO tool a delegating caller (development: persons by
/// name, four eyes on).
async fn app() -> TestApp {
    // Captures this binary's logs from here on.
    crate::helpers::logs();
    test_support::spawn_app_with(
        &gdpr_orchestrator::SERVICE,
        &[(DPO, &["dpo"])],
        &[
            ("gdpr.worker_enabled", "false"),
            ("gdpr.internal_token", "an-internal-token-of-some-length"),
            ("auth.callers.dpo.delegates", "true"),
        ],
    )
    .await
}

fn later(now: Timestamp, seconds: i64) -> Timestamp {
    crate::helpers::after(now, seconds)
}

/// A hold's body for a subject of its own (a customer id and `PHONE`).
fn hold_body(reference: &str) -> Value {
    json!({
        "subject": { "customerIds": [Uuid::new_v4().to_string()], "phoneNumbers": [PHONE] },
        "reference": reference,
        "reason": "litigation about the mortgage",
        "basis": "legal_claims",
    })
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    person: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(app.token(DPO));
    if let Some(person) = person {
        request = request.header("X-Acting-User", person);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn place_as(app: &TestApp, body: &Value, person: Option<&str>) -> reqwest::Response {
    call(app, reqwest::Method::POST, "/gdpr/legal-holds", person, Some(body)).await
}

/// Places `body` as `PLACER`; answers the hold.
async fn place(app: &TestApp, body: &Value) -> Value {
    let response = place_as(app, body, Some(PLACER)).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("Location")
        .map(|l| l.to_str().unwrap().to_owned());
    let hold: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{hold}");
    assert_eq!(
        location,
        Some(format!("/gdpr/legal-holds/{}", hold["id"].as_str().unwrap()))
    );
    hold
}

async fn get(app: &TestApp, path: &str, person: Option<&str>) -> Value {
    let response = call(app, reqwest::Method::GET, path, person, None).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

/// Releases hold `id` as `person`, taking the step its state calls for (asking while it is
/// active, confirming once asked); [`release_step`] takes the one it is told.
async fn release(app: &TestApp, id: &str, person: Option<&str>) -> reqwest::Response {
    let status = call(
        app,
        reqwest::Method::GET,
        &format!("/gdpr/legal-holds/{id}"),
        person,
        None,
    )
    .await;
    let step = match status.status().as_u16() {
        200 if status.json::<Value>().await.unwrap()["status"] == "release_requested" => "confirm",
        _ => "ask",
    };
    release_step(app, id, person, step).await
}

async fn release_step(app: &TestApp, id: &str, person: Option<&str>, step: &str) -> reqwest::Response {
    let body = json!({ "step": step, "reason": "the claim was settled" });
    call(
        app,
        reqwest::Method::POST,
        &format!("/gdpr/legal-holds/{id}/release"),
        person,
        Some(&body),
    )
    .await
}

async fn withdraw(app: &TestApp, id: &str, person: Option<&str>) -> reqwest::Response {
    let path = format!("/gdpr/legal-holds/{id}/release/withdraw");
    call(app, reqwest::Method::POST, &path, person, None).await
}

/// The hold's audit entries, its chain verified.
async fn audit(app: &TestApp, id: &str) -> Vec<Value> {
    let trail = get(app, &format!("/gdpr/legal-holds/{id}/audit"), None).await;
    assert_eq!(trail["chainVerified"], true, "{trail}");
    trail["entries"].as_array().unwrap().clone()
}

fn events(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn actions(hold: &Value) -> Vec<String> {
    hold["allowedActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Moves hold `id`'s end to `at` in the database (as if its end had been given so and the clock
/// had run past it).
async fn end_at(app: &TestApp, id: &str, at: Timestamp) {
    use gdpr_orchestrator::schema::legal_holds::dsl;
    let id = DbUuid(Uuid::parse_str(id).unwrap());
    app.pool()
        .run(move |c| {
            diesel::update(dsl::legal_holds.find(id))
                .set(dsl::ends_at.eq(Some(DbTimestamp::from(at))))
                .execute(c)
                .map_err(ApiError::from)
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_hold_is_placed_in_force_and_served_counting_what_it_covers_never_naming_it() {
    let app = app().await;
    let customer = Uuid::new_v4().to_string();
    let agent = Uuid::new_v4().to_string();
    let interaction = Uuid::new_v4();
    let ends_at = later(Timestamp::now(), 86_400);
    let body = json!({
        "subject": {
            "customerIds": [customer],
            "phoneNumbers": ["tel:+420601987654"],
            "emailAddresses": ["Jana.Novak@Example.COM"],
            "genesysUserIds": [agent],
        },
        "interactionIds": [interaction],
        "window": { "from": "2026-01-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" },
        "reference": "  LIT-2026-17 ",
        "reason": "litigation about the mortgage",
        "basis": "legal_claims",
        "endsAt": ends_at,
    });
    let hold = place(&app, &body).await;
    println!("placed: {hold}");
    let id = hold["id"].as_str().unwrap().to_owned();
    assert_eq!(hold["status"], "active");
    assert_eq!(hold["reference"], "LIT-2026-17");
    assert_eq!(hold["basis"], "legal_claims");
    assert_eq!(
        hold["covers"],
        json!({ "customerIds": 1, "phoneNumbers": 1, "emailAddresses": 1, "genesysUserIds": 1, "interactionIds": 1 })
    );
    assert_eq!(
        hold["window"],
        json!({ "from": "2026-01-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" })
    );
    assert_eq!(hold["endsAt"], json!(ends_at));
    assert_eq!(
        (hold["placedBy"].as_str(), hold["placedVia"].as_str()),
        (Some(PLACER), Some(DPO))
    );
    assert_eq!(actions(&hold), ["request_release"]);

    let shown = get(&app, &format!("/gdpr/legal-holds/{id}"), Some(PLACER)).await;
    assert_eq!(shown, hold);
    let listed = get(&app, "/gdpr/legal-holds", None).await;
    assert_eq!(listed["holds"].as_array().unwrap().len(), 1);
    assert_eq!(listed["holds"][0]["id"], hold["id"]);
    let served = format!("{hold}{listed}");
    for identifier in [
        customer.as_str(),
        "601987654",
        "jana.novak",
        &agent,
        &interaction.to_string(),
    ] {
        assert!(
            !served.to_lowercase().contains(&identifier.to_lowercase()),
            "served: {identifier}"
        );
    }

    // Stored as a request's subject is: normalised (E.164, lower case), the interaction beside.
    let in_force = app
        .pool()
        .run(|c| legal_holds::in_force(c, Timestamp::now()).map_err(ApiError::from))
        .await
        .unwrap();
    let expected = DataSubject {
        interaction_ids: [domain::InteractionId::from_uuid(interaction)].into(),
        ..DataSubject::parse(
            &SubjectInput {
                customer_ids: vec![customer.clone()],
                phone_numbers: vec![PHONE.to_owned()],
                email_addresses: vec!["jana.novak@example.com".to_owned()],
                genesys_user_ids: vec![agent.clone()],
            },
            &domain::HandleNormaliser::default(),
        )
        .unwrap()
    };
    assert_eq!(in_force.len(), 1);
    assert_eq!(in_force[0].subject, expected);

    let entries = audit(&app, &id).await;
    assert_eq!(events(&entries), [("hold_placed".to_owned(), PLACER.to_owned())]);
    let detail = &entries[0]["detail"];
    assert_eq!(
        // No free text in the chain (it is never erased): the reference is the hold's own.
        (&detail["hold"], &detail["basis"], &detail["reference"], &detail["to"]),
        (&json!(id), &json!("legal_claims"), &Value::Null, &json!("active"))
    );
    assert_eq!(entries[0]["caller"], DPO);
    let trail = serde_json::to_string(&entries).unwrap();
    assert!(
        !trail.contains(&customer) && !trail.contains("601987654") && !trail.contains("mortgage"),
        "{trail}"
    );
    assert_not_logged(&[&customer, "601987654", "Jana.Novak", &agent, PLACER]);
}

#[tokio::test]
async fn the_routes_and_their_types_are_in_the_services_openapi_description() {
    let app = app().await;
    let description = get(&app, "/openapi.json", None).await;
    for (path, methods) in [
        ("/gdpr/legal-holds", &["get", "post"][..]),
        ("/gdpr/legal-holds/{id}", &["get"]),
        ("/gdpr/legal-holds/{id}/release", &["post"]),
        ("/gdpr/legal-holds/{id}/release/withdraw", &["post"]),
        ("/gdpr/legal-holds/{id}/audit", &["get"]),
    ] {
        for method in methods {
            assert!(description["paths"][path][method].is_object(), "{method} {path}");
        }
    }
    for schema in [
        "PlaceLegalHold",
        "LegalHold",
        "LegalHoldPage",
        "ReleaseLegalHold",
        "LegalBasis",
        "TimeWindow",
    ] {
        assert!(description["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn bad_holds_are_refused_naming_each_field_and_nothing_is_stored() {
    let app = app().await;
    let before = test_support::dump_tables(app.pool()).await;
    let past = later(Timestamp::now(), -60);
    let with = |changes: Value| {
        let mut body = hold_body("LIT-1");
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (with(json!({ "subject": {} })), vec!["/subject"]),
        (
            with(
                json!({ "subject": { "customerIds": ["nope"], "phoneNumbers": ["60112"], "emailAddresses": ["x"], "genesysUserIds": ["agent-7"] } }),
            ),
            vec![
                "/subject/customerIds/0",
                "/subject/phoneNumbers/0",
                "/subject/emailAddresses/0",
                "/subject/genesysUserIds/0",
            ],
        ),
        (with(json!({ "reference": "  " })), vec!["/reference"]),
        (with(json!({ "reference": "L".repeat(201) })), vec!["/reference"]),
        (with(json!({ "reason": "" })), vec!["/reason"]),
        (with(json!({ "reason": "r".repeat(1001) })), vec!["/reason"]),
        (
            with(json!({ "window": { "from": "2026-07-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" } })),
            vec!["/window/to"],
        ),
        (
            with(json!({ "window": { "from": "2026-07-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" } })),
            vec!["/window/to"],
        ),
        (with(json!({ "endsAt": past })), vec!["/endsAt"]),
        (
            with(json!({ "reference": "", "reason": " ", "endsAt": past, "subject": {} })),
            vec!["/subject", "/reference", "/reason", "/endsAt"],
        ),
    ];
    for (body, expected) in cases {
        let problem = assert_problem(place_as(&app, &body, Some(PLACER)).await, 422).await;
        assert_eq!(problem_locations(&problem), expected, "{body}");
        assert!(
            !problem.to_string().contains("60112") && !problem.to_string().contains("agent-7"),
            "{problem}"
        );
    }
    // A basis, a window field or a field that is not the contract's: 4xx problems naming it.
    for (body, field) in [
        (with(json!({ "basis": "consent" })), "/basis"),
        (
            with(json!({ "window": { "since": "2026-01-01T00:00:00Z" } })),
            "/window",
        ),
        (with(json!({ "interactionIds": ["not-a-uuid"] })), "/interactionIds"),
    ] {
        let response = place_as(&app, &body, Some(PLACER)).await;
        assert!(response.status().is_client_error(), "{body}: {}", response.status());
        let problem = assert_problem(response, 422).await;
        assert!(
            problem_locations(&problem).iter().any(|l| l.starts_with(field)),
            "{field}: {problem}"
        );
    }
    let unknown = Uuid::new_v4();
    assert_problem(get_raw(&app, &format!("/gdpr/legal-holds/{unknown}")).await, 404).await;
    assert_problem(release(&app, &unknown.to_string(), Some(ALICE)).await, 404).await;
    for path in [
        "/gdpr/legal-holds/not-an-id",
        "/gdpr/legal-holds?status=lost",
        "/gdpr/legal-holds?cursor=garbage",
        "/gdpr/legal-holds?limit=0",
        "/gdpr/legal-holds?limit=201",
    ] {
        assert_problem(get_raw(&app, path).await, 422).await;
    }
    let no_reason = call(
        &app,
        reqwest::Method::POST,
        &format!("/gdpr/legal-holds/{unknown}/release"),
        Some(ALICE),
        Some(&json!({ "step": "ask", "reason": " " })),
    )
    .await;
    assert_eq!(problem_locations(&assert_problem(no_reason, 422).await), ["/reason"]);
    for (body, field) in [
        (json!({ "reason": "settled" }), "/step"),
        (json!({ "step": "maybe", "reason": "settled" }), "/step"),
    ] {
        let refused = call(
            &app,
            reqwest::Method::POST,
            &format!("/gdpr/legal-holds/{unknown}/release"),
            Some(ALICE),
            Some(&body),
        )
        .await;
        let status = refused.status().as_u16();
        let problem = assert_problem(refused, status).await;
        assert!((400..500).contains(&status), "{problem}");
        assert_eq!(problem_locations(&problem), [field], "{problem}");
    }
    assert_eq!(test_support::dump_tables(app.pool()).await, before, "nothing stored");

    // Only with the dpo scope.
    let anonymous = app.client.get(app.url("/gdpr/legal-holds")).send().await.unwrap();
    assert_problem(anonymous, 401).await;
}

async fn get_raw(app: &TestApp, path: &str) -> reqwest::Response {
    call(app, reqwest::Method::GET, path, None, None).await
}

#[tokio::test]
async fn a_release_takes_two_persons_the_asker_confirming_is_refused_and_changes_nothing() {
    let app = app().await;
    let hold = place(&app, &hold_body("LIT-2")).await;
    let id = hold["id"].as_str().unwrap().to_owned();
    let path = format!("/gdpr/legal-holds/{id}");
    // Nothing asked: nothing to confirm.
    let refused = assert_problem(release_step(&app, &id, Some(BOB), "confirm").await, 409).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("nobody asked"),
        "{refused}"
    );

    let asked = release(&app, &id, Some(ALICE)).await;
    assert_eq!(asked.status().as_u16(), 200);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["status"], "release_requested");
    assert_eq!(asked["releaseRequestedBy"], ALICE);
    assert_eq!(actions(&asked), ["withdraw_release"]);
    assert_eq!(actions(&get(&app, &path, Some(BOB)).await), ["confirm_release"]);
    assert!(
        actions(&get(&app, &path, None).await).is_empty(),
        "the tool as itself confirms nothing"
    );

    let before = get(&app, &path, Some(ALICE)).await;
    // Bob, who meant to ask too (his page said "ask"), does not confirm Alice's ask unknowingly.
    let refused = assert_problem(release_step(&app, &id, Some(BOB), "ask").await, 409).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("confirm their ask"),
        "{refused}"
    );
    let refused = assert_problem(release(&app, &id, Some(ALICE)).await, 403).await;
    println!("Alice confirms her own ask: 403 {}", refused["detail"]);
    assert!(refused["detail"].as_str().unwrap().contains("four eyes"), "{refused}");
    assert_problem(release(&app, &id, None).await, 403).await;
    assert_eq!(get(&app, &path, Some(ALICE)).await, before, "nothing changed");
    let in_force = app
        .pool()
        .run(|c| legal_holds::in_force(c, Timestamp::now()).map_err(ApiError::from))
        .await
        .unwrap();
    assert_eq!(in_force.len(), 1, "a hold whose release is asked for is still in force");

    let released = release(&app, &id, Some(BOB)).await;
    assert_eq!(released.status().as_u16(), 200);
    let released: Value = released.json().await.unwrap();
    println!("Bob confirms: {released}");
    assert_eq!(released["status"], "released");
    assert_eq!(
        (released["releaseRequestedBy"].as_str(), released["releasedBy"].as_str()),
        (Some(ALICE), Some(BOB))
    );
    assert!(released["releasedAt"].is_string());
    assert!(actions(&released).is_empty());
    assert_problem(release(&app, &id, Some(ALICE)).await, 409).await;
    assert_problem(withdraw(&app, &id, Some(ALICE)).await, 409).await;

    let entries = audit(&app, &id).await;
    assert_eq!(
        events(&entries),
        [
            ("hold_placed", PLACER),
            ("hold_release_requested", ALICE),
            ("hold_release_refused", ALICE),
            ("hold_release_refused", DPO),
            ("hold_released", BOB),
        ]
        .map(|(e, a)| (e.to_owned(), a.to_owned()))
    );
    let confirmed = &entries[4]["detail"];
    assert_eq!(
        (&confirmed["from"], &confirmed["to"], &confirmed["fourEyes"]),
        (&json!("release_requested"), &json!("released"), &json!(true))
    );
    assert!(
        entries.iter().all(|e| !e.to_string().contains("LIT-2")),
        "no reference in the chain"
    );
}

#[tokio::test]
async fn the_asker_withdraws_the_release_and_the_hold_is_active_again() {
    let app = app().await;
    let hold = place(&app, &hold_body("LIT-3")).await;
    let id = hold["id"].as_str().unwrap().to_owned();
    assert_problem(withdraw(&app, &id, Some(ALICE)).await, 409).await;
    assert_eq!(release(&app, &id, Some(ALICE)).await.status().as_u16(), 200);
    let refused = assert_problem(withdraw(&app, &id, Some(BOB)).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("who asked"), "{refused}");

    let withdrawn = withdraw(&app, &id, Some(ALICE)).await;
    assert_eq!(withdrawn.status().as_u16(), 200);
    let withdrawn: Value = withdrawn.json().await.unwrap();
    assert_eq!(withdrawn["status"], "active");
    assert!(withdrawn.get("releaseRequestedBy").is_none(), "{withdrawn}");
    assert_eq!(actions(&withdrawn), ["request_release"]);

    // Asked again by Bob, Alice may confirm it now.
    assert_eq!(release(&app, &id, Some(BOB)).await.status().as_u16(), 200);
    let released: Value = release(&app, &id, Some(ALICE)).await.json().await.unwrap();
    assert_eq!(released["status"], "released");
    assert_eq!(
        events(&audit(&app, &id).await),
        [
            ("hold_placed", PLACER),
            ("hold_release_requested", ALICE),
            ("hold_withdraw_refused", BOB),
            ("hold_release_withdrawn", ALICE),
            ("hold_release_requested", BOB),
            ("hold_released", ALICE),
        ]
        .map(|(e, a)| (e.to_owned(), a.to_owned()))
    );
}

#[tokio::test]
async fn a_hold_past_its_end_reads_as_ended_and_nothing_more_is_done_to_it() {
    let app = app().await;
    let mut body = hold_body("LIT-4");
    body["endsAt"] = json!(later(Timestamp::now(), 3600));
    let hold = place(&app, &body).await;
    let id = hold["id"].as_str().unwrap().to_owned();
    assert_eq!(hold["status"], "active");
    assert_eq!(release(&app, &id, Some(ALICE)).await.status().as_u16(), 200);

    // Its end comes (moved to now in the database: the clock has run past it).
    let placed = Timestamp::now();
    end_at(&app, &id, placed).await;
    let ended = get(&app, &format!("/gdpr/legal-holds/{id}"), Some(BOB)).await;
    println!("past its end: {ended}");
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["releasedAt"], json!(placed));
    assert_eq!(ended["endsAt"], json!(placed));
    assert!(actions(&ended).is_empty());
    assert_problem(release(&app, &id, Some(BOB)).await, 409).await;
    assert_problem(withdraw(&app, &id, Some(ALICE)).await, 409).await;

    let ids = |page: Value| -> Vec<Value> {
        page["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].clone())
            .collect()
    };
    assert_eq!(
        ids(get(&app, "/gdpr/legal-holds?status=ended", None).await),
        [json!(id)]
    );
    assert!(ids(get(&app, "/gdpr/legal-holds?status=release_requested", None).await).is_empty());
    let now = Timestamp::now();
    let in_force = app
        .pool()
        .run(move |c| legal_holds::in_force(c, now).map_err(ApiError::from))
        .await
        .unwrap();
    assert!(in_force.is_empty());
}

#[tokio::test]
async fn holds_are_listed_newest_first_a_page_at_a_time_and_by_status() {
    let app = app().await;
    let mut placed = Vec::new();
    for n in 0..5 {
        placed.push(
            place(&app, &hold_body(&format!("LIT-5{n}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(release(&app, &placed[1], Some(ALICE)).await.status().as_u16(), 200);
    assert_eq!(release(&app, &placed[2], Some(ALICE)).await.status().as_u16(), 200);
    assert_eq!(release(&app, &placed[2], Some(BOB)).await.status().as_u16(), 200);

    let mut seen = Vec::new();
    let mut path = "/gdpr/legal-holds?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = get(&app, &path, None).await;
        pages += 1;
        let holds = page["holds"].as_array().unwrap();
        assert!(holds.len() <= 2);
        seen.extend(holds.iter().map(|h| h["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/gdpr/legal-holds?limit=2&cursor={next}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = placed.iter().rev().cloned().collect();
    assert_eq!((seen, pages), (newest_first, 3));

    let by_status = |status: &'static str| {
        let app = &app;
        async move {
            let page = get(app, &format!("/gdpr/legal-holds?status={status}"), None).await;
            page["holds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    assert_eq!(h["status"], status);
                    h["id"].as_str().unwrap().to_owned()
                })
                .collect::<BTreeSet<_>>()
        }
    };
    let set = |ids: &[&String]| ids.iter().map(|id| (*id).clone()).collect::<BTreeSet<_>>();
    assert_eq!(by_status("active").await, set(&[&placed[0], &placed[3], &placed[4]]));
    assert_eq!(by_status("release_requested").await, set(&[&placed[1]]));
    assert_eq!(by_status("released").await, set(&[&placed[2]]));
    assert!(by_status("ended").await.is_empty());
}

#[tokio::test]
async fn in_force_answers_exactly_the_holds_in_force() {
    let app = app().await;
    let t0 = Timestamp::now();
    let open = place(&app, &hold_body("LIT-6A")).await;
    let mut ending = hold_body("LIT-6B");
    ending["endsAt"] = json!(later(t0, 3600));
    ending["window"] = json!({ "from": "2026-01-01T00:00:00Z" });
    ending["basis"] = json!("authority_request");
    let ending = place(&app, &ending).await;
    let asked = place(&app, &hold_body("LIT-6C")).await;
    let released = place(&app, &hold_body("LIT-6D")).await;
    let ended = place(&app, &hold_body("LIT-6E")).await;
    let id = |hold: &Value| Uuid::parse_str(hold["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        release(&app, &id(&asked).to_string(), Some(ALICE))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        release(&app, &id(&released).to_string(), Some(ALICE))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        release(&app, &id(&released).to_string(), Some(BOB))
            .await
            .status()
            .as_u16(),
        200
    );
    let now = Timestamp::now();
    end_at(&app, &id(&ended).to_string(), now).await;

    let read = |at: Timestamp| {
        app.pool()
            .run(move |c| legal_holds::in_force(c, at).map_err(ApiError::from))
    };
    let ids = |holds: &[HoldInForce]| holds.iter().map(|h| h.id).collect::<Vec<_>>();
    let in_force = read(now).await.unwrap();
    assert_eq!(ids(&in_force), [id(&open), id(&ending), id(&asked)], "oldest first");
    let window = in_force[1].window.unwrap();
    assert_eq!(
        (window.from, window.to),
        (Some(Timestamp::parse("2026-01-01T00:00:00Z").unwrap()), None)
    );
    assert_eq!(in_force[0].window, None);
    assert_eq!(in_force[1].basis, contracts::legal_hold::LegalBasis::AuthorityRequest);
    let retention = in_force[0].clone().retention();
    assert_eq!(
        (retention.hold_id, retention.subject.phone_numbers.len()),
        (id(&open), 1)
    );
    assert_eq!(ids(&read(later(t0, 7200)).await.unwrap()), [id(&open), id(&asked)]);
}

/// Outside development: four eyes are two persons the identity provider signed in.
#[tokio::test]
async fn outside_development_a_hold_is_released_by_two_signed_in_persons_never_by_one() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let s = stack_with(StackOptions::production_with_persons(&provider, 60)).await;
    let app = &s.orchestrator;
    let signed_in =
        |token: String| move |request: reqwest::RequestBuilder| request.header("X-Person-Token", token.clone());
    let dana = signed_in(provider.access_token("dana").await);
    let send = |path: String, body: Value| app.client.post(app.url(&path)).bearer_auth(app.token(DPO)).json(&body);
    // The tool acting as itself may not place one: a hold nobody signed in for would stop
    // erasures with no person to answer for it.
    let unsigned = send("/gdpr/legal-holds".to_owned(), hold_body("LIT-6"))
        .send()
        .await
        .unwrap();
    let unsigned = assert_problem(unsigned, 403).await;
    assert!(
        unsigned["detail"].as_str().unwrap().contains("signed-in person"),
        "{unsigned}"
    );
    let placed = dana(send("/gdpr/legal-holds".to_owned(), hold_body("LIT-7")))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status().as_u16(), 201);
    let hold: Value = placed.json().await.unwrap();
    let id = hold["id"].as_str().unwrap().to_owned();
    let release_path = format!("/gdpr/legal-holds/{id}/release");
    let (ask, confirm) = (
        json!({ "step": "ask", "reason": "settled" }),
        json!({ "step": "confirm", "reason": "settled" }),
    );

    // The tool acting as itself may not ask: nobody could then confirm it.
    let tool = send(release_path.clone(), ask.clone()).send().await.unwrap();
    assert_problem(tool, 403).await;
    let asked = dana(send(release_path.clone(), ask.clone())).send().await.unwrap();
    assert_eq!(asked.status().as_u16(), 200);
    // Another sign-in of dana: another token, the same person.
    let dana_again = signed_in(provider.access_token("dana").await);
    let refused = dana_again(send(release_path.clone(), confirm.clone()))
        .send()
        .await
        .unwrap();
    let refused = assert_problem(refused, 403).await;
    println!("dana confirms dana's ask: 403 {}", refused["detail"]);
    let bob = signed_in(provider.access_token("bob").await);
    let released = bob(send(release_path.clone(), confirm.clone())).send().await.unwrap();
    assert_eq!(released.status().as_u16(), 200);
    let released: Value = released.json().await.unwrap();
    assert_eq!(
        (
            released["status"].as_str(),
            released["releaseRequestedBy"].as_str(),
            released["releasedBy"].as_str()
        ),
        (Some("released"), Some("dana"), Some("bob"))
    );

    let trail: Value = app
        .get(&format!("/gdpr/legal-holds/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trail["chainVerified"], true);
    let entries = trail["entries"].as_array().unwrap();
    let who: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["detail"]["vouchedBy"].as_str().unwrap(),
            )
        })
        .collect();
    println!("audit: {who:?}");
    assert_eq!(
        who,
        [
            ("hold_placed", "dana", "provider"),
            ("hold_release_refused", DPO, "caller"),
            ("hold_release_requested", "dana", "provider"),
            ("hold_release_refused", "dana", "provider"),
            ("hold_released", "bob", "provider"),
        ]
    );
    assert_eq!(entries[4]["actorName"], "Bob Reviewer");
}

/// The `gdpr` command as an operator runs it against `app`: whether it succeeded, its output
/// and its errors.
async fn gdpr(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut args = args.to_vec();
    args.extend(["--token", app.token(DPO), "--url", &app.address]);
    let output = crate::cli::gdpr(&args).await;
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_gdpr_command_places_lists_and_releases_holds_with_two_persons() {
    let app = app().await;
    let customer = Uuid::new_v4().to_string();
    let agent = Uuid::new_v4().to_string();
    let ends_at = later(Timestamp::now(), 86_400).to_string();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("hold");
    let (ok, stdout, stderr) = gdpr(
        &app,
        &[
            "hold",
            "--customer-id",
            &customer,
            "--phone",
            PHONE,
            "--email",
            "jana@example.com",
            "--agent",
            &agent,
            "--reference",
            "LIT-8",
            "--reason",
            "litigation",
            "--basis",
            "legal_claims",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-07-01T00:00:00Z",
            "--ends-at",
            &ends_at,
            "--as",
            PLACER,
            "-o",
            &out.display().to_string(),
        ],
    )
    .await;
    println!("gdpr hold: {stdout}{stderr}");
    assert!(ok, "{stderr}");
    let hold: Value = serde_json::from_str(&std::fs::read_to_string(out.join("output.json")).unwrap()).unwrap();
    let id = hold["id"].as_str().unwrap().to_owned();
    assert!(
        stdout.contains(&format!("hold {id}: active, legal_claims, LIT-8")),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 customer ids, 1 phone numbers, 1 e-mail addresses, 1 agents"),
        "{stdout}"
    );
    assert_eq!(hold["window"]["to"], "2026-07-01T00:00:00Z");
    assert_eq!(hold["placedBy"], PLACER);
    let log = std::fs::read_to_string(out.join("execution.log")).unwrap();
    for printed in [&stdout, &log, &serde_json::to_string(&hold).unwrap()] {
        assert!(
            !printed.contains(&customer) && !printed.contains("601987654") && !printed.contains("jana"),
            "{printed}"
        );
    }

    // A hold naming nobody: refused by the orchestrator, naming the field.
    let (ok, _, stderr) = gdpr(
        &app,
        &[
            "hold",
            "--reference",
            "LIT-9",
            "--reason",
            "x",
            "--basis",
            "legal_claims",
            "--as",
            PLACER,
        ],
    )
    .await;
    assert!(!ok && stderr.contains("422") && stderr.contains("/subject"), "{stderr}");
    let (ok, _, stderr) = gdpr(&app, &["hold", "--customer-id", &customer, "--as", PLACER]).await;
    assert!(!ok && stderr.contains("--reference"), "{stderr}");

    let (ok, stdout, stderr) = gdpr(&app, &["holds"]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("hold {id}: active")) && stdout.ends_with("1 holds\n"),
        "{stdout}"
    );

    let (ok, stdout, stderr) = gdpr(&app, &["release", &id, "--reason", "settled", "--as", ALICE]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("release_requested") && stdout.contains("another person confirms"),
        "{stdout}"
    );
    let (ok, _, stderr) = gdpr(
        &app,
        &["release", &id, "--confirm", "--reason", "settled", "--as", ALICE],
    )
    .await;
    println!("gdpr release by the asker: {stderr}");
    assert!(
        !ok && stderr.contains("403") && stderr.contains("four eyes"),
        "{stderr}"
    );
    let (ok, _, stderr) = gdpr(&app, &["release", &id, "--reason", "settled", "--as", BOB]).await;
    println!("gdpr release (an ask) by another person, once asked: {stderr}");
    assert!(!ok && stderr.contains("409") && stderr.contains("confirm"), "{stderr}");
    let (ok, stdout, stderr) = gdpr(&app, &["release", &id, "--confirm", "--reason", "settled", "--as", BOB]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("hold {id}: released")), "{stdout}");
    let (ok, stdout, _) = gdpr(&app, &["holds", "--status", "released"]).await;
    assert!(ok && stdout.contains(&id), "{stdout}");
    let (ok, stdout, _) = gdpr(&app, &["holds", "--status", "active"]).await;
    assert!(ok && stdout.trim() == "0 holds", "{stdout}");
}
