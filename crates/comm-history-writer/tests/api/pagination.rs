use crate::helpers::{create, example, spawn_app, READER};
use serde_json::Value;
use test_support::{assert_problem, problem_locations, TestApp};

const CUSTOMER: &str = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";

/// Seven records of one customer at five instants (two pairs share an instant, so the id must
/// break ties), plus one record of another customer.
async fn seed(app: &TestApp) -> Vec<String> {
    let instants = [
        "2026-11-01T08:00:00Z",
        "2026-11-02T08:00:00Z",
        "2026-11-02T08:00:00Z",
        "2026-11-03T08:00:00Z",
        "2026-11-04T08:00:00Z",
        "2026-11-04T08:00:00Z",
        "2026-11-05T08:00:00Z",
    ];
    let mut ids = Vec::new();
    for (n, at) in instants.iter().enumerate() {
        let mut body = example();
        body["communicatedAt"] = (*at).into();
        body["interactionId"] = uuid::Uuid::new_v4().to_string().into();
        body["title"] = format!("record {n}").into();
        ids.push(create(app, &body).await["id"].as_str().unwrap().to_owned());
    }
    let mut stranger = example();
    stranger["customerId"] = "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f".into();
    create(app, &stranger).await;
    ids
}

async fn page(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/communicationRecords?{query}"), READER).await;
    assert_eq!(response.status().as_u16(), 200, "{query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn pages_walk_every_record_newest_first_exactly_once() {
    let app = spawn_app().await;
    seed(&app).await;
    let mut seen: Vec<Value> = Vec::new();
    let mut query = format!("customerId={CUSTOMER}&limit=3");
    let mut pages = 0;
    loop {
        let page = page(&app, &query).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("customerId={CUSTOMER}&limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert!(seen.iter().all(|r| r["customerId"] == CUSTOMER));
    let keys: Vec<(String, String)> = seen
        .iter()
        .map(|r| {
            (
                r["communicatedAt"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first, ties broken by id");
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no record twice");
}

#[tokio::test]
async fn interaction_filter_lists_only_that_interaction() {
    let app = spawn_app().await;
    seed(&app).await;
    let page = page(&app, "interactionId=5773eca4-0874-4617-a6e8-85591aa94609").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "only the other customer's record kept the example interaction"
    );
    assert_eq!(items[0]["customerId"], "7a3d1f20-8b4c-4e5d-9f60-1a2b3c4d5e6f");
    assert_eq!(page["nextCursor"], Value::Null);
}

#[tokio::test]
async fn default_page_size_and_an_empty_result() {
    let app = spawn_app().await;
    seed(&app).await;
    assert_eq!(
        page(&app, &format!("customerId={CUSTOMER}")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    let empty = page(&app, "customerId=00000000-0000-4000-8000-000000000000").await;
    assert_eq!(empty["items"], serde_json::json!([]));
    assert_eq!(empty["nextCursor"], Value::Null);
}

#[tokio::test]
async fn bad_listing_parameters_are_422_naming_each() {
    let app = spawn_app().await;
    let cases = [
        ("", vec!["customerId"]),
        ("customerId=nope", vec!["customerId"]),
        ("interactionId=nope", vec!["interactionId"]),
        (&*format!("customerId={CUSTOMER}&limit=0"), vec!["limit"]),
        (&*format!("customerId={CUSTOMER}&limit=201"), vec!["limit"]),
        (&*format!("customerId={CUSTOMER}&limit=ten"), vec!["limit"]),
        (&*format!("customerId={CUSTOMER}&cursor=forged"), vec!["cursor"]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("/communicationRecords?{query}"), READER).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem_locations(&problem), expected, "{query}");
    }
}
