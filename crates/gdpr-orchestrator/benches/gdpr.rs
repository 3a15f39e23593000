//! `just bench-gdpr`: one GDPR request for a subject with five records among BENCH_RECORDS
//! (default 1,000,000 on PostgreSQL, 200,000 on SQLite) in comm-history-writer, through
//! gdpr-orchestrator and every participant (genesys-sim standing in for Genesys Cloud): the count,
//! the export to its bundle, and the forget to `in_grace` (filed, confirmed by a second person);
//! then the same forget of another such subject under a legal hold (issue #30), to `in_grace` and
//! through its purge to `completed_with_retention`. Prints how long each took from filing, the
//! orchestrator's worker driven without pauses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use domain::Timestamp;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::Instant;

const BATCH: usize = 500;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Record `n` of somebody else: ten a customer, on a number of their own.
fn record(n: usize) -> Value {
    let mut body = test_support::expected_voice_inbound_record();
    body["interactionId"] = uuid::Uuid::new_v4().to_string().into();
    body["customerId"] = format!("00000000-0000-4000-8000-{:012}", n / 10).into();
    body["customerHandle"] = format!("tel:+4207{:08}", n / 10).into();
    body
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let records = setting("BENCH_RECORDS", if postgres { 1_000_000 } else { 200_000 });
    let s = helpers::stack().await;
    println!("writing {records} records to comm-history-writer");
    futures_util::stream::iter(0..records.div_ceil(BATCH))
        .for_each_concurrent(4, |batch| {
            let writer = &s.writer;
            async move {
                let entries: Vec<Value> = (batch * BATCH..((batch + 1) * BATCH).min(records))
                    .map(|n| json!({ "idempotencyKey": format!("bench-{n}"), "record": record(n) }))
                    .collect();
                let response = writer
                    .post_json(
                        "/communicationRecords/batch",
                        helpers::INGEST_CALLER,
                        &json!({ "records": entries }),
                    )
                    .await;
                assert_eq!(response.status().as_u16(), 200);
            }
        })
        .await;
    // As after any bulk load: the planner's statistics now. A plain ANALYZE (every table of
    // the writer's database) names none of its tables: the bench knows no service's schema.
    s.writer
        .pool()
        .run(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("ANALYZE")
                .execute(c)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();

    let subject = subject_with_five_records(&s).await;

    let started = Instant::now();
    let count = s.file("EXPORT", subject.clone(), true).await;
    let request = s.run(&count, Timestamp::now()).await;
    let counted = started.elapsed();
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(request["counts"]["count.communications"], 5, "{request}");

    let started = Instant::now();
    let (request, bundle) = s.export(subject.clone()).await;
    let exported = started.elapsed();
    assert_eq!(request["status"], "completed", "{request}");
    assert!(bundle.is_object());

    let started = Instant::now();
    s.forget_in_grace(subject, Timestamp::now()).await;
    let forgotten = started.elapsed();

    // Another subject, under a legal hold: the forget goes as fast; its purge keeps the records.
    let held = subject_with_five_records(&s).await;
    let hold = json!({
        "subject": { "customerIds": held["customerIds"] },
        "reference": "LIT-BENCH",
        "reason": "a benchmark",
        "basis": "legal_claims",
    });
    let placed = s
        .orchestrator
        .client
        .post(s.orchestrator.url("/gdpr/legal-holds"))
        .bearer_auth(s.orchestrator.token(helpers::DPO))
        .header("X-Acting-User", "alice")
        .json(&hold)
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status().as_u16(), 201);
    let now = Timestamp::now();
    let started = Instant::now();
    let id = s.forget_in_grace(held, now).await;
    let forgotten_held = started.elapsed();
    let started = Instant::now();
    let (request, _) = s.run_while(&id, "purging", helpers::after(now, 25 * 3600), 20).await;
    let purged_held = started.elapsed();
    assert_eq!(request["status"], "completed_with_retention", "{request}");

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!("one subject with five records among {records}, through gdpr-orchestrator:");
    println!("  count (filed to completed): {:.0} ms", ms(counted));
    println!(
        "  export (filed to its bundle, genesys-sim's GDPR export included): {:.0} ms",
        ms(exported)
    );
    println!(
        "  forget (filed, confirmed by a second person, to in_grace): {:.0} ms",
        ms(forgotten)
    );
    println!(
        "  forget of a subject under a legal hold, to in_grace: {:.0} ms; its purge, to completed_with_retention: {:.0} ms",
        ms(forgotten_held),
        ms(purged_held)
    );
}

/// A new subject with five paired records on their own number; answers the subject to file.
async fn subject_with_five_records(s: &helpers::Stack) -> Value {
    let person = helpers::Person::new();
    for _ in 0..5 {
        let interaction = uuid::Uuid::new_v4().to_string();
        s.pair(&person.customer_id, &interaction).await;
        s.record(&interaction, &format!("tel:{}", person.phone)).await;
    }
    json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] })
}
