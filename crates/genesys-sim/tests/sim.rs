//! The simulator answers as docs/genesys/api-facts.md says Genesys Cloud does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use genesys_sim::{Faults, RunningSim, Seed, SimConfig};
use serde_json::{json, Value};
use std::time::Duration;

fn start(configure: impl FnOnce(&mut SimConfig)) -> (String, std::sync::Arc<genesys_sim::SimState>) {
    let mut config = SimConfig::development(Seed::default_seed().unwrap());
    configure(&mut config);
    let sim: RunningSim = genesys_sim::start(config).unwrap();
    let (url, state) = (sim.url.clone(), sim.state.clone());
    tokio::spawn(sim.run_until_stopped());
    (url, state)
}

async fn token(client: &reqwest::Client, url: &str, secret: &str) -> reqwest::Response {
    client
        .post(format!("{url}/oauth/token"))
        .basic_auth("ccbridge-dev", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// A valid bearer token from the client-credentials grant.
async fn bearer(client: &reqwest::Client, url: &str) -> String {
    let grant: Value = token(client, url, "ccbridge-dev-secret").await.json().await.unwrap();
    grant["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn client_credentials_then_a_user_with_every_documented_field() {
    let (url, state) = start(|_| {});
    let client = reqwest::Client::new();
    let grant: Value = token(&client, &url, "ccbridge-dev-secret").await.json().await.unwrap();
    assert_eq!(grant["token_type"], "bearer");
    assert_eq!(grant["expires_in"], 86_400);
    let bearer = grant["access_token"].as_str().unwrap();

    let user: Value = client
        .get(format!("{url}/api/v2/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["name"], "Jana Nováková");
    assert_eq!(user["division"]["name"], "Home");
    assert_eq!(state.calls_to("token"), 1);
    assert_eq!(state.calls_to("users"), 1);
}

#[tokio::test]
async fn wrong_credentials_missing_tokens_and_unknown_ids_get_documented_errors() {
    let (url, state) = start(|_| {});
    let client = reqwest::Client::new();
    let refused = token(&client, &url, "wrong").await;
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let unauthenticated = client
        .get(format!("{url}/api/v2/routing/wrapupcodes/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["code"], "authentication.required");

    let bearer = bearer(&client, &url).await;
    let missing = client
        .get(format!(
            "{url}/api/v2/routing/wrapupcodes/00000000-0000-4000-8000-000000000000"
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert!(missing.headers().contains_key("inin-correlation-id"));
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert!(body["contextId"].is_string() && body["message"].is_string());

    state.revoke_tokens();
    let revoked = client
        .get(format!("{url}/api/v2/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 401);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let (url, _) = start(|c| c.token_lifetime = Duration::from_secs(2));
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let user = format!("{url}/api/v2/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
    assert_eq!(
        client
            .get(&user)
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        client
            .get(&user)
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
}

/// `PUT /admin/faults` with `faults` as written: its status.
async fn put_faults(client: &reqwest::Client, url: &str, faults: Value) -> u16 {
    let response = client.put(format!("{url}/admin/faults")).json(&faults).send().await;
    response.unwrap().status().as_u16()
}

/// `malformed` breaks one documented field of one endpoint's answers, named as in the call counts.
#[tokio::test]
async fn malformed_answers_by_admin_endpoint() {
    let (url, _) = start(|_| {});
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let jana = || {
        let request = client.get(format!("{url}/api/v2/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"));
        async {
            request
                .bearer_auth(&bearer)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(put_faults(&client, &url, json!({ "malformed": "users" })).await, 204);
    assert_eq!(jana().await["name"], json!(["Jana Nováková"]));

    assert_eq!(put_faults(&client, &url, json!({ "malformed": "token" })).await, 204);
    let grant = token(&client, &url, "ccbridge-dev-secret").await;
    assert_eq!(grant.json::<Value>().await.unwrap()["expires_in"], "86400");

    assert_eq!(
        put_faults(&client, &url, json!({ "malformed": "nothing.we.know" })).await,
        400
    );
    assert_eq!(put_faults(&client, &url, json!({})).await, 204);
    assert_eq!(jana().await["name"], "Jana Nováková");
}

#[tokio::test]
async fn faults_by_admin_endpoint() {
    let (url, _) = start(|_| {});
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let faults = Faults {
        rate_limit_every: Some(2),
        retry_after_seconds: Some(3),
        ..Faults::default()
    };
    assert_eq!(
        client
            .put(format!("{url}/admin/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let user = format!("{url}/api/v2/users/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
    assert_eq!(
        client
            .get(&user)
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let limited = client.get(&user).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "3");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests.retry.after");

    let outage = Faults {
        outage_seconds: Some(60),
        ..Faults::default()
    };
    client
        .put(format!("{url}/admin/faults"))
        .json(&outage)
        .send()
        .await
        .unwrap();
    assert_eq!(
        client
            .get(&user)
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    assert_eq!(token(&client, &url, "ccbridge-dev-secret").await.status().as_u16(), 503);

    let calls: Value = client
        .get(format!("{url}/admin/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["users"], 3);
    assert_eq!(calls["token"], 2);
}

#[tokio::test]
async fn gdpr_requests_move_through_their_statuses() {
    let (url, _) = start(|c| c.gdpr_step = Duration::from_millis(100));
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let body = serde_json::json!({"requestType": "GDPR_DELETE", "subject": {"phoneNumbers": ["+420601123456"]}});

    let unconfirmed = client
        .post(format!("{url}/api/v2/gdpr/requests"))
        .bearer_auth(&bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unconfirmed.status().as_u16(), 400);

    let created: Value = client
        .post(format!("{url}/api/v2/gdpr/requests?deleteConfirmed=true"))
        .bearer_auth(&bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "INITIATED");
    assert_eq!(created["subject"]["phoneNumbers"][0], "+420601123456");
    let request_url = format!("{url}/api/v2/gdpr/requests/{}", created["id"].as_str().unwrap());
    // Statuses only ever move forward along the documented path (how many a poll catches
    // depends on timing; the exact schedule is a unit test of `gdpr_status`).
    assert_moves_along(
        &statuses_until_completed(&client, &bearer, &request_url).await,
        &["INITIATED", "SEARCHING", "DELETING", "COMPLETED"],
    );

    let found: Value = client
        .get(format!(
            "{url}/api/v2/gdpr/subjects?searchType=PHONE&searchValue=%2B420601123456"
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1);
    assert_eq!(found["entities"][0]["emailAddresses"][0], "client@example.com");
}

/// A GDPR_UPDATE replaces a phone number as Genesys does: refused without (or with malformed)
/// `replacementTerms`, as are `replacementTerms` on any other type (400 "Invalid data", as
/// Genesys staff said); accepted, it is answered with its terms, passes UPDATING, and a search by
/// the new number finds the subject the old one no longer does.
#[tokio::test]
async fn a_gdpr_update_replaces_the_value_and_replacement_terms_elsewhere_are_refused() {
    let (url, state) = start(|c| c.gdpr_step = Duration::from_millis(50));
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let requests = format!("{url}/api/v2/gdpr/requests?deleteConfirmed=true");
    let post = |body: Value| client.post(&requests).bearer_auth(&bearer).json(&body).send();
    let subject = json!({"phoneNumbers": ["+420601123456"]});
    let term = json!({"type": "PHONE", "existingValue": "+420601123456", "updatedValue": "+420602000111"});
    for refused in [
        json!({"requestType": "GDPR_UPDATE", "subject": subject}),
        json!({"requestType": "GDPR_UPDATE", "subject": subject, "replacementTerms": []}),
        json!({"requestType": "GDPR_UPDATE", "subject": subject, "replacementTerms": [{"type": "PHONE", "existingValue": "+420601123456"}]}),
        json!({"requestType": "GDPR_UPDATE", "subject": subject, "replacementTerms": [{"type": "FAX", "existingValue": "a", "updatedValue": "b"}]}),
        json!({"requestType": "GDPR_EXPORT", "subject": subject, "replacementTerms": [term]}),
        json!({"requestType": "GDPR_DELETE", "subject": subject, "replacementTerms": [term]}),
    ] {
        let response = post(refused.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{refused}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["message"], "Invalid data", "{refused}");
    }
    assert!(state.gdpr_replacement_terms().is_empty(), "nothing refused was kept");

    let search = |value: &'static str| {
        let (client, bearer, url) = (client.clone(), bearer.clone(), url.clone());
        async move {
            let query = format!("searchType=PHONE&searchValue={}", value.replace('+', "%2B"));
            let found = get_json(&client, &bearer, &format!("{url}/api/v2/gdpr/subjects?{query}")).await;
            found["total"].as_u64().unwrap()
        }
    };
    assert_eq!((search("+420601123456").await, search("+420602000111").await), (1, 0));
    let update = json!({"requestType": "GDPR_UPDATE", "subject": subject, "replacementTerms": [term]});
    let response = post(update).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["requestType"], "GDPR_UPDATE");
    assert_eq!(created["replacementTerms"], json!([term]));
    assert_eq!(state.gdpr_replacement_terms(), [json!([term])]);
    assert_eq!((search("+420601123456").await, search("+420602000111").await), (0, 1));

    let request_url = format!("{url}/api/v2/gdpr/requests/{}", created["id"].as_str().unwrap());
    assert_moves_along(
        &statuses_until_completed(&client, &bearer, &request_url).await,
        &["INITIATED", "SEARCHING", "UPDATING", "COMPLETED"],
    );
}

/// A number two people share (a household's line) is held by two Genesys subjects: a search by it
/// finds both, and a GDPR_UPDATE whose subject names it rewrites it in both, as Genesys Cloud
/// corrects a value for everyone who holds it (what the gateway's RECTIFY count warns of).
#[tokio::test]
async fn a_shared_number_finds_every_subject_holding_it_and_an_update_rewrites_it_in_each() {
    let (url, state) = start(|c| {
        c.seed
            .gdpr_subjects
            .push(json!({"name": "Jan Dvořák", "phoneNumbers": ["+420601123456", "+420608000888"]}));
    });
    let client = reqwest::Client::new();
    let bearer = bearer(&client, &url).await;
    let search = |value: &'static str| {
        let (client, bearer, url) = (client.clone(), bearer.clone(), url.clone());
        async move {
            let query = format!("searchType=PHONE&searchValue={}", value.replace('+', "%2B"));
            get_json(&client, &bearer, &format!("{url}/api/v2/gdpr/subjects?{query}")).await
        }
    };
    let shared = search("+420601123456").await;
    assert_eq!(shared["total"], 2, "{shared}");
    let names: Vec<&str> = shared["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Klára Dvořáková", "Jan Dvořák"]);
    assert_eq!(search("+420608000888").await["total"], 1);

    let update = json!({"requestType": "GDPR_UPDATE", "subject": {"phoneNumbers": ["+420601123456"]},
        "replacementTerms": [{"type": "PHONE", "existingValue": "+420601123456", "updatedValue": "+420602000111"}]});
    let response = client
        .post(format!("{url}/api/v2/gdpr/requests"))
        .bearer_auth(&bearer)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(search("+420601123456").await["total"], 0);
    assert_eq!(
        search("+420602000111").await["total"],
        2,
        "both holders carry the new number"
    );
    let household = search("+420608000888").await;
    assert_eq!(
        household["entities"][0]["phoneNumbers"],
        json!(["+420602000111", "+420608000888"])
    );
    assert_eq!(state.gdpr_request_types(), ["GDPR_UPDATE"]);
}

/// `GET url` with the bearer token, as JSON.
async fn get_json(client: &reqwest::Client, bearer: &str, url: &str) -> Value {
    let response = client.get(url).bearer_auth(bearer).send().await.unwrap();
    response.json().await.unwrap()
}

/// The statuses a GDPR request shows, each once, polled until it is COMPLETED (at most 500
/// polls, ten seconds: a simulator that never completes fails the test instead of hanging it).
async fn statuses_until_completed(client: &reqwest::Client, bearer: &str, request_url: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..500 {
        if seen.last().map(String::as_str) == Some("COMPLETED") {
            return seen;
        }
        let now = get_json(client, bearer, request_url).await;
        let status = now["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the GDPR request never completed: {seen:?}");
}

/// Each of `seen` is on `path`, never behind the one before.
fn assert_moves_along(seen: &[String], path: &[&str]) {
    let positions: Vec<usize> = seen
        .iter()
        .map(|status| path.iter().position(|p| p == status).expect("a documented status"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?} against {path:?}");
}

/// An ended conversation for `POST /admin/conversations`.
fn conversation(id: &str, start: &str, end: &str, agents: &[(&str, &str)]) -> Value {
    serde_json::json!({
        "conversationId": id,
        "start": start,
        "end": end,
        "direction": "inbound",
        "mediaType": "voice",
        "ani": "tel:+420601123456",
        "subject": "A question",
        "agents": agents.iter().map(|(user, code)| serde_json::json!({ "userId": user, "wrapupCode": code })).collect::<Vec<_>>(),
    })
}

/// Records `body` with `POST /admin/conversations`; the sim's answer (201).
async fn record(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    let response = client
        .post(format!("{url}/admin/conversations"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

async fn detail_query(client: &reqwest::Client, url: &str, bearer: &str, body: &Value) -> reqwest::Response {
    client
        .post(format!("{url}/api/v2/analytics/conversations/details/query"))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap()
}

const AGENT: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const OTHER_AGENT: &str = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b";
const CODE: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";

#[tokio::test]
async fn the_detail_query_finds_ended_conversations_by_start_a_page_at_a_time() {
    let (url, state) = start(|_| {});
    let client = reqwest::Client::new();
    let ids = [
        "00000000-0000-4000-8000-00000000000a",
        "00000000-0000-4000-8000-00000000000b",
        "00000000-0000-4000-8000-00000000000c",
    ];
    for (id, start, end, agents) in [
        (
            ids[0],
            "2026-11-20T09:00:00Z",
            "2026-11-20T09:05:00Z",
            vec![(AGENT, CODE)],
        ),
        (
            ids[1],
            "2026-11-20T09:10:00Z",
            "2026-11-20T09:20:00Z",
            vec![(AGENT, CODE), (OTHER_AGENT, CODE)],
        ),
        (
            ids[2],
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:01:00Z",
            vec![(OTHER_AGENT, CODE)],
        ),
    ] {
        record(&client, &url, &conversation(id, start, end, &agents)).await;
    }
    let bearer = bearer(&client, &url).await;
    let page = |n: u64| {
        serde_json::json!({
            "interval": "2026-11-20T09:00:00Z/2026-11-20T10:00:00Z",
            "order": "asc",
            "orderBy": "conversationStart",
            "paging": { "pageSize": 1, "pageNumber": n },
        })
    };
    let first: Value = detail_query(&client, &url, &bearer, &page(1))
        .await
        .json()
        .await
        .unwrap();
    let second: Value = detail_query(&client, &url, &bearer, &page(2))
        .await
        .json()
        .await
        .unwrap();
    let third: Value = detail_query(&client, &url, &bearer, &page(3))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (first["totalHits"].as_u64(), second["totalHits"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(first["conversations"][0]["conversationId"], ids[0]);
    assert_eq!(second["conversations"][0]["conversationId"], ids[1]);
    assert!(third.get("conversations").is_none(), "past the last page: {third}");

    // The two-agent conversation: a customer and two agents, each with a wrap-up segment.
    let both = &second["conversations"][0];
    assert_eq!(both["conversationEnd"], "2026-11-20T09:20:00Z");
    assert_eq!(both["originatingDirection"], "inbound");
    let participants = both["participants"].as_array().unwrap();
    let purposes: Vec<&str> = participants.iter().map(|p| p["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["customer", "agent", "agent"]);
    for (participant, user) in participants[1..].iter().zip([AGENT, OTHER_AGENT]) {
        assert_eq!(participant["userId"], user);
        let session = &participant["sessions"][0];
        assert_eq!(
            (session["mediaType"].as_str(), session["ani"].as_str()),
            (Some("voice"), Some("tel:+420601123456"))
        );
        let wrapup = session["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["segmentType"] == "wrapup")
            .unwrap();
        assert_eq!(wrapup["wrapUpCode"], CODE);
        assert_eq!(wrapup["segmentEnd"], "2026-11-20T09:20:00Z");
    }

    // A segment filter on the agent: only the conversations they handled, newest first.
    let by_agent: Value = detail_query(
        &client,
        &url,
        &bearer,
        &serde_json::json!({
            "interval": "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z",
            "order": "desc",
            "segmentFilters": [{ "type": "and", "predicates": [{ "type": "dimension", "dimension": "userId", "operator": "matches", "value": OTHER_AGENT }] }],
        }),
    )
    .await
    .json()
    .await
    .unwrap();
    let found: Vec<&str> = by_agent["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap())
        .collect();
    assert_eq!(found, [ids[2], ids[1]]);
    assert_eq!(state.calls_to("analytics.conversations.details.query"), 4);
}

#[tokio::test]
async fn the_detail_query_shows_a_conversation_only_after_the_analytics_delay_and_refuses_bad_queries() {
    let (url, state) = start(|_| {});
    state.set_faults(Faults {
        analytics_delay_seconds: 3600,
        ..Faults::default()
    });
    let client = reqwest::Client::new();
    let id = "00000000-0000-4000-8000-0000000000d1";
    let body = conversation(id, "2026-11-20T09:00:00Z", "2026-11-20T09:05:00Z", &[(AGENT, CODE)]);
    record(&client, &url, &body).await;
    let bearer = bearer(&client, &url).await;
    let interval = serde_json::json!({ "interval": "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z" });
    let hidden: Value = detail_query(&client, &url, &bearer, &interval)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        hidden,
        serde_json::json!({ "totalHits": 0 }),
        "analytics has not caught up yet"
    );

    for bad in [
        serde_json::json!({}),
        serde_json::json!({ "interval": "yesterday" }),
        serde_json::json!({ "interval": "2026-11-21T00:00:00Z/2026-11-20T00:00:00Z" }),
        serde_json::json!({ "interval": "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z", "paging": { "pageSize": 101 } }),
        serde_json::json!({
            "interval": "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z",
            "segmentFilters": [{ "type": "and", "predicates": [{ "dimension": "userId", "operator": "contains", "value": "x" }] }],
        }),
    ] {
        let response = detail_query(&client, &url, &bearer, &bad).await;
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "bad.request", "{bad}");
    }
    let unauthenticated = client
        .post(format!("{url}/api/v2/analytics/conversations/details/query"))
        .json(&interval)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
}

/// What a stand-in for result-ingest's webhook received: each body with its Authorization.
#[derive(Clone, Default)]
struct Received(std::sync::Arc<std::sync::Mutex<Vec<(Value, String)>>>);

/// A webhook receiver on 127.0.0.1 answering 202, as result-ingest does.
fn receiver() -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/customers/supportResult", listener.local_addr().unwrap());
    let server = actix_web::HttpServer::new(move || {
        let kept = kept.clone();
        actix_web::App::new().route(
            "/customers/supportResult",
            actix_web::web::post().to(
                move |request: actix_web::HttpRequest, body: actix_web::web::Json<Value>| {
                    let kept = kept.clone();
                    async move {
                        let auth = request
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        kept.0.lock().unwrap().push((body.into_inner(), auth));
                        actix_web::HttpResponse::Accepted().finish()
                    }
                },
            ),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, received)
}

#[tokio::test]
async fn the_trigger_posts_each_agents_result_and_drops_the_configured_share() {
    let (webhook, received) = receiver();
    let (url, state) = start(|config| {
        config.webhook = Some(genesys_sim::WebhookTarget {
            url: webhook,
            user: "genesys".to_owned(),
            secret: "a-data-action-secret".to_owned(),
        });
    });
    state.set_faults(Faults {
        webhook_drop_percent: 30,
        ..Faults::default()
    });
    let client = reqwest::Client::new();
    let mut outcomes = Vec::new();
    for n in 0..10u32 {
        let id = format!("00000000-0000-4000-8000-0000000001{n:02}");
        let body = conversation(&id, "2026-11-20T09:00:00Z", "2026-11-20T09:05:00Z", &[(AGENT, CODE)]);
        let answer = record(&client, &url, &body).await;
        outcomes.push(answer["webhookDeliveries"][0]["outcome"].as_str().unwrap().to_owned());
    }
    let dropped: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| *outcome == "dropped")
        .map(|(n, _)| n + 1)
        .collect();
    assert_eq!(dropped, [4, 7, 10], "{outcomes:?}");
    assert_eq!(
        state.webhook_outcomes(),
        [("delivered", 7), ("dropped", 3)].into_iter().collect()
    );
    let received = received.0.lock().unwrap().clone();
    assert_eq!(received.len(), 7);
    let (body, auth) = &received[0];
    assert_eq!(
        body,
        &serde_json::json!({
            "conversationId": "00000000-0000-4000-8000-000000000100",
            "eventTime": "2026-11-20T09:05:00Z",
            "direction": "inbound",
            "mediaType": "voice",
            "ani": "tel:+420601123456",
            "subject": "A question",
            "wrapupCode": CODE,
            "userId": AGENT,
        })
    );
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("genesys:a-data-action-secret");
    assert_eq!(auth, &format!("Basic {expected}"));
}

#[tokio::test]
async fn a_webhook_nobody_answers_is_one_failed_attempt() {
    let unreachable = a_free_port();
    let (url, state) = start(|config| {
        config.webhook = Some(genesys_sim::WebhookTarget {
            url: format!("http://127.0.0.1:{unreachable}/customers/supportResult"),
            user: "genesys".to_owned(),
            secret: "a-data-action-secret".to_owned(),
        });
    });
    let body = conversation(
        "00000000-0000-4000-8000-0000000002aa",
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:05:00Z",
        &[(AGENT, CODE), (OTHER_AGENT, CODE)],
    );
    let answer = record(&reqwest::Client::new(), &url, &body).await;
    assert_eq!(answer["webhookDeliveries"][0]["outcome"], "failed");
    assert_eq!(answer["webhookDeliveries"][1]["outcome"], "failed");
    assert_eq!(state.webhook_outcomes(), [("failed", 2)].into_iter().collect());
    // The conversation is recorded all the same: the sweep is what finds it.
    assert_eq!(
        answer["conversation"]["conversationId"],
        "00000000-0000-4000-8000-0000000002aa"
    );
}

/// A port on 127.0.0.1 just freed: nothing listens there, so connections are refused.
fn a_free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    port
}
