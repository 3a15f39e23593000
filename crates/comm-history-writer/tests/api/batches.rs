//! `POST /communicationRecords/batch`: each entry answered as a single write with its key would
//! be, in one transaction; an invalid entry refuses the whole batch.

use crate::helpers::{attributes, example, spawn_app, stored_records, READER, WRITER};
use serde_json::{json, Value};
use test_support::{assert_problem, problem_locations, TestApp};

async fn post_batch(app: &TestApp, entries: &[(&str, Value)]) -> reqwest::Response {
    let records: Vec<Value> = entries
        .iter()
        .map(|(key, record)| json!({ "idempotencyKey": key, "record": record }))
        .collect();
    app.post_json("/communicationRecords/batch", WRITER, &json!({ "records": records }))
        .await
}

async fn results(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    body["results"].as_array().unwrap().clone()
}

fn with_interaction(n: u32) -> Value {
    let mut record = example();
    record["interactionId"] = format!("5773eca4-0874-4617-a6e8-85591aa9{n:04}").into();
    record
}

#[tokio::test]
async fn a_batch_writes_each_record_once_and_answers_in_order() {
    let app = spawn_app().await;
    // Written before, alone: the batch replays it.
    let single = app
        .client
        .post(app.url("/communicationRecords"))
        .bearer_auth(app.token(WRITER))
        .header("Idempotency-Key", "inbox-earlier")
        .json(&with_interaction(9))
        .send()
        .await
        .unwrap();
    assert_eq!(single.status().as_u16(), 201);
    let single: Value = single.json().await.unwrap();
    let mut changed = with_interaction(9);
    changed["purpose"] = "Complaint".into();

    let entries = [
        ("inbox-1", with_interaction(1)),
        ("inbox-2", with_interaction(2)),
        ("inbox-1", with_interaction(1)), // the same key and record again in the batch
        ("inbox-earlier", with_interaction(9)),
        ("inbox-earlier", changed.clone()), // a key used with another record
        ("inbox-2", changed),               // likewise, within the batch
    ];
    let results = results(post_batch(&app, &entries).await).await;
    let outcomes: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["idempotencyKey"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("inbox-1", "created"),
            ("inbox-2", "created"),
            ("inbox-1", "replayed"),
            ("inbox-earlier", "replayed"),
            ("inbox-earlier", "conflict"),
            ("inbox-2", "conflict"),
        ]
    );
    assert_eq!(results[2]["recordId"], results[0]["recordId"]);
    assert_eq!(results[3]["recordId"], single["id"]);
    assert_eq!(results[4]["recordId"], single["id"], "the key's record, which is there");
    assert_eq!(results[5]["recordId"], results[1]["recordId"]);
    assert!(results[4]["detail"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(stored_records(&app).await, 3);

    // Each new record reads back exactly as sent.
    for (result, sent) in [(&results[0], with_interaction(1)), (&results[1], with_interaction(2))] {
        let id = result["recordId"].as_str().unwrap();
        let stored: Value = app
            .get(&format!("/communicationRecords/{id}"), READER)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(attributes(&stored), sent);
    }

    // The whole batch again: every entry replayed or refused as before, nothing written.
    let again = results_of(&app, &entries).await;
    assert_eq!(again[0], ("replayed".to_owned(), results[0]["recordId"].clone()));
    assert_eq!(again[1], ("replayed".to_owned(), results[1]["recordId"].clone()));
    assert_eq!(stored_records(&app).await, 3);
}

async fn results_of(app: &TestApp, entries: &[(&str, Value)]) -> Vec<(String, Value)> {
    results(post_batch(app, entries).await)
        .await
        .into_iter()
        .map(|r| (r["outcome"].as_str().unwrap().to_owned(), r["recordId"].clone()))
        .collect()
}

/// Four batches of the same twenty keys at once, in different orders.
#[tokio::test]
async fn concurrent_batches_sharing_keys_write_each_record_once() {
    let app = spawn_app().await;
    let keys: Vec<String> = (0..20).map(|n| format!("inbox-{n}")).collect();
    let batches: Vec<Vec<(&str, Value)>> = (0..4)
        .map(|b| {
            let mut entries: Vec<(&str, Value)> = (0..20)
                .map(|n| (keys[n].as_str(), with_interaction(n as u32)))
                .collect();
            entries.rotate_left(b * 5);
            if b % 2 == 1 {
                entries.reverse();
            }
            entries
        })
        .collect();
    let answers = futures_util::future::join_all(
        batches
            .iter()
            .map(|entries| async { results(post_batch(&app, entries).await).await }),
    )
    .await;
    for key in &keys {
        let of_key: Vec<&Value> = answers
            .iter()
            .flatten()
            .filter(|r| r["idempotencyKey"] == key.as_str())
            .collect();
        assert_eq!(of_key.len(), 4);
        assert!(
            of_key
                .iter()
                .all(|r| r["recordId"] == of_key[0]["recordId"] && !r["recordId"].is_null()),
            "{of_key:?}"
        );
        let created = of_key.iter().filter(|r| r["outcome"] == "created").count();
        assert_eq!(created, 1, "{key}");
    }
    assert_eq!(stored_records(&app).await, 20);
}

#[tokio::test]
async fn an_invalid_entry_refuses_the_whole_batch_naming_it() {
    let app = spawn_app().await;
    let mut invalid = with_interaction(2);
    invalid["direction"] = "SIDEWAYS".into();
    let problem = assert_problem(
        post_batch(&app, &[("inbox-1", with_interaction(1)), ("inbox-2", invalid)]).await,
        422,
    )
    .await;
    assert_eq!(problem_locations(&problem), ["/records/1/record/direction"]);
    let problem = assert_problem(
        post_batch(
            &app,
            &[
                ("inbox-1", with_interaction(1)),
                (&"k".repeat(256), with_interaction(2)),
            ],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem_locations(&problem), ["/records/1/idempotencyKey"]);
    let problem = assert_problem(post_batch(&app, &[]).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/records"]);
    let too_many: Vec<(&str, Value)> = (0..501).map(|n| ("inbox-x", with_interaction(n))).collect();
    let problem = assert_problem(post_batch(&app, &too_many).await, 422).await;
    assert_eq!(problem_locations(&problem), ["/records"]);
    assert_eq!(stored_records(&app).await, 0);
    // A reader may not write.
    let response = app
        .post_json("/communicationRecords/batch", READER, &json!({ "records": [] }))
        .await;
    assert_problem(response, 403).await;
}

/// An entry may say its customer came from Genesys participant data (result-ingest's
/// `ingest.participant_data`); the record then says so. Without a customer it is refused.
#[tokio::test]
async fn an_entry_says_how_its_customer_was_found() {
    let app = spawn_app().await;
    let (named, paired) = (with_interaction(21), with_interaction(22));
    let records = json!({ "records": [
        { "idempotencyKey": "inbox-21", "record": named, "customerSource": "participant_data" },
        { "idempotencyKey": "inbox-22", "record": paired },
    ]});
    let answer = app.post_json("/communicationRecords/batch", WRITER, &records).await;
    let results = results(answer).await;
    for (result, source) in results.iter().zip(["participant_data", "pairing"]) {
        assert_eq!(result["outcome"], "created", "{result}");
        let id = result["recordId"].as_str().unwrap();
        let record: Value = app
            .get(&format!("/communicationRecords/{id}"), READER)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(record["customerSource"], source, "{record}");
    }

    let mut without = with_interaction(23);
    without["customerId"] = Value::Null;
    let refused = json!({ "records": [
        { "idempotencyKey": "inbox-23", "record": without, "customerSource": "participant_data" },
    ]});
    let before = stored_records(&app).await;
    let problem = assert_problem(
        app.post_json("/communicationRecords/batch", WRITER, &refused).await,
        422,
    )
    .await;
    assert_eq!(problem_locations(&problem), ["/records/0/customerSource"]);
    let unknown = json!({ "records": [
        { "idempotencyKey": "inbox-24", "record": with_interaction(24), "customerSource": "late_pairing" },
    ]});
    assert_problem(
        app.post_json("/communicationRecords/batch", WRITER, &unknown).await,
        422,
    )
    .await;
    assert_eq!(stored_records(&app).await, before);
}
