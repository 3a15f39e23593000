//! The inbox's retention sees legal holds placed without a FORGET: processed events past
//! `ingest.retention_days` and dead ones past `ingest.dead_retention_days` go only once
//! gdpr-orchestrator (the pipeline's stand-in on 127.0.0.1, `GET /internal/gdpr/retentions`) has
//! said which holds are in force; what one covers stays, whatever its age; when it cannot be
//! asked nothing goes and the round is counted (`ccbridge_ingest_expiry_skipped_total`).

use crate::helpers::{pipeline_with, Pipeline};
use crate::legal_holds::{result_of, IN_2026};
use contracts::participant::Retentions;
use diesel::prelude::*;
use domain::Timestamp;
use result_ingest::schema::inbox_events::dsl;
use serde_json::json;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::DatabaseError;
use uuid::Uuid;

/// One legal hold in force, on the interaction `conversation` (named, as the DPO's hold names it).
fn a_hold_on(conversation: &str) -> Option<Retentions> {
    let hold = json!({
        "holdId": Uuid::now_v7(),
        "subject": { "interactionIds": [conversation] },
        "interactionIds": [conversation],
        "basis": "legal_claims"
    });
    Some(serde_json::from_value(json!({ "holds": [hold], "rules": [] })).unwrap())
}

/// `days` from now.
fn days_later(days: i64) -> Timestamp {
    Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::days(days)).unwrap()
}

/// A result for each of two new conversations delivered, then drained (processed, or dead while
/// Genesys is down); answers the conversations.
pub(crate) async fn two_delivered(p: &Pipeline) -> [String; 2] {
    let conversations = [(); 2].map(|()| Uuid::new_v4().to_string());
    for conversation in &conversations {
        assert_eq!(
            p.deliver(&result_of(conversation, IN_2026)).await.status().as_u16(),
            202
        );
    }
    p.drain(10).await;
    conversations
}

/// The conversations of the events left in the inbox, sorted.
async fn left(p: &Pipeline) -> Vec<String> {
    let mut left: Vec<String> = p
        .ingest
        .pool()
        .run(|c| {
            let rows: Vec<DbUuid> = dsl::inbox_events.select(dsl::conversation_id).load(c)?;
            Ok::<_, DatabaseError>(rows.into_iter().map(|id| id.0.to_string()).collect())
        })
        .await
        .unwrap();
    left.sort();
    left
}

/// A housekeeping round of the inbox at `now` (the runner's: dead letters, then the job's:
/// processed events); answers the registry of its metrics.
async fn housekeeping(p: &Pipeline, now: Timestamp) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let worker = result_ingest::worker(&p.ingest.settings, p.ingest.pool().clone(), &registry).unwrap();
    worker.housekeeping(now).await.unwrap();
    registry
}

fn counted(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric().iter())
        .map(|metric| metric.get_counter().get_value())
        .sum()
}

/// Every dead event died `days` ago.
pub(crate) async fn all_died_days_ago(p: &Pipeline, days: i64) {
    let long_ago = DbTimestamp::from(days_later(-days));
    p.ingest
        .pool()
        .run(move |c| {
            diesel::update(dsl::inbox_events)
                .set(dsl::dead_at.eq(Some(long_ago)))
                .execute(c)
                .map_err(DatabaseError::from)
        })
        .await
        .unwrap();
}

fn sorted(mut conversations: Vec<String>) -> Vec<String> {
    conversations.sort();
    conversations
}

#[tokio::test]
async fn a_processed_event_a_legal_hold_covers_outlives_its_retention_and_one_not_covered_goes() {
    let p = pipeline_with(&[], None).await;
    let [held, other] = two_delivered(&p).await;
    assert!(p.events("pending").await.is_empty(), "processed");
    p.orchestrator.answers(a_hold_on(&held));

    // The default keeps processed events 7 days.
    let registry = housekeeping(&p, days_later(6)).await;
    assert_eq!(
        left(&p).await,
        sorted(vec![held.clone(), other]),
        "within their retention"
    );
    assert_eq!(counted(&registry, "ccbridge_ingest_expired_total"), 0.0);

    let registry = housekeeping(&p, days_later(8)).await;
    assert_eq!(left(&p).await, vec![held.clone()], "the one a hold covers stays");
    assert_eq!(counted(&registry, "ccbridge_ingest_expired_total"), 1.0);
    assert_eq!(counted(&registry, "ccbridge_ingest_expiry_skipped_total"), 0.0);

    // The hold ended.
    p.orchestrator.answers(Some(Retentions::default()));
    housekeeping(&p, days_later(8)).await;
    assert!(left(&p).await.is_empty());
}

#[tokio::test]
async fn nothing_goes_while_the_orchestrator_cannot_be_asked_and_the_round_is_counted() {
    let p = pipeline_with(&[], None).await;
    let [first, second] = two_delivered(&p).await;
    p.orchestrator.answers(None);

    let registry = housekeeping(&p, days_later(8)).await;
    assert_eq!(left(&p).await, sorted(vec![first, second]), "the holds are not known");
    assert_eq!(counted(&registry, "ccbridge_ingest_expiry_skipped_total"), 1.0);
    assert_eq!(counted(&registry, "ccbridge_ingest_expired_total"), 0.0);

    p.orchestrator.answers(Some(Retentions::default()));
    housekeeping(&p, days_later(8)).await;
    assert!(left(&p).await.is_empty(), "answered again: they go");
}

/// Dead letters, deleted by service-kit's runner, ask the same: the runner lists those past
/// `ingest.dead_retention_days`, the inbox's job says which a hold keeps.
#[tokio::test]
async fn a_dead_letter_a_legal_hold_covers_outlives_its_retention_and_one_not_covered_goes() {
    let p = pipeline_with(&[("ingest.retry_budget", "1 attempt")], None).await;
    p.sim.set_faults(genesys_sim::Faults {
        outage_seconds: Some(3600),
        ..genesys_sim::Faults::default()
    });
    let [held, other] = two_delivered(&p).await;
    assert_eq!(p.events("dead").await.len(), 2);
    // Both died 31 days ago (the default keeps dead letters 30).
    all_died_days_ago(&p, 31).await;

    p.orchestrator.answers(None);
    let registry = housekeeping(&p, Timestamp::now()).await;
    assert_eq!(left(&p).await.len(), 2, "the holds are not known: nothing goes");
    assert_eq!(counted(&registry, "ccbridge_ingest_expiry_skipped_total"), 1.0);

    p.orchestrator.answers(a_hold_on(&held));
    let registry = housekeeping(&p, Timestamp::now()).await;
    assert_eq!(left(&p).await, vec![held], "the one a hold covers stays");
    assert_eq!(counted(&registry, "ccbridge_queue_dead_deleted_total"), 1.0);
    assert_eq!(counted(&registry, "ccbridge_queue_dead_kept_total"), 1.0);
    assert!(!left(&p).await.contains(&other));

    p.orchestrator.answers(Some(Retentions::default()));
    housekeeping(&p, Timestamp::now()).await;
    assert!(left(&p).await.is_empty(), "the hold ended");
}
