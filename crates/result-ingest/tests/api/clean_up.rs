//! The inbox's age-based clean-up (processed events after `ingest.retention_days`) leaves every
//! event a GDPR request holds or a purge kept, whole or only its agent: a purge that keeps just
//! the agent on an event (a legal hold on the agent) or a RESTRICT of the agent leaves no FORGET
//! marker on the event, and the clean-up must still leave it (and its hold notes) alone.

use crate::helpers::{pipeline, Pipeline};
use crate::legal_holds::call;
use diesel::prelude::*;
use domain::Timestamp;
use result_ingest::inbox;
use result_ingest::schema::inbox_events::dsl;
use serde_json::{json, Value};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::DatabaseError;
use uuid::Uuid;

/// The agent on the example's results.
const AGENT: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

/// The agent, as a request names them.
fn agent() -> Value {
    json!({ "genesysUserIds": [AGENT] })
}

/// `action` on the agent under a new request id; answers the id and the report.
async fn on_the_agent(p: &Pipeline, action: &str) -> (Uuid, Value) {
    let request = Uuid::now_v7();
    (request, call(p, request, action, &agent(), json!([])).await)
}

/// Two results of the agent, delivered and processed; answers their conversations.
async fn two_processed(p: &Pipeline) -> [String; 2] {
    let conversations = crate::expiry::two_delivered(p).await;
    assert!(p.events("pending").await.is_empty(), "processed");
    assert!(p.events("dead").await.is_empty(), "processed");
    conversations
}

/// The inbox's clean-up as if a day past the retention (chunks of 100 until none goes);
/// answers the conversations of the events left.
async fn cleaned_up(p: &Pipeline) -> Vec<String> {
    let a_day_later =
        Timestamp::from_offset_date_time(Timestamp::now().as_offset_date_time() + time::Duration::days(1)).unwrap();
    p.ingest
        .pool()
        .run(move |c| {
            let processed = inbox::InboxStatus::Processed;
            loop {
                let page = inbox::expired(c, processed, a_day_later, None, 100)?;
                let ids = page.into_iter().map(|(_, id)| id).collect();
                if inbox::remove_expired(c, processed, ids, a_day_later)? == 0 {
                    break;
                }
            }
            let left: Vec<DbUuid> = dsl::inbox_events.select(dsl::conversation_id).load(c)?;
            Ok::<_, DatabaseError>(left.into_iter().map(|id| id.0.to_string()).collect())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_whose_agent_a_purge_kept_for_a_hold_survives_the_inbox_clean_up() {
    let p = pipeline().await;
    let [kept, _ages_out] = two_processed(&p).await;
    let (forget, _) = on_the_agent(&p, "forget").await;
    let agent = agent();
    // A legal hold names the interaction of one of them: the agent on that event is kept.
    let hold = json!([{
        "holdId": Uuid::now_v7(),
        "subject": { "interactionIds": [kept] },
        "interactionIds": [kept],
        "basis": "legal_claims"
    }]);
    let purged = call(&p, forget, "purge", &agent, hold).await;
    assert_eq!(
        purged["retained"],
        json!([{ "category": "agentWebhookResults", "basis": "legal_claims", "count": 1 }]),
        "{purged}"
    );

    assert_eq!(
        cleaned_up(&p).await,
        vec![kept.clone()],
        "the other event ages out as before"
    );
    // The kept agent is still the request's: the purge after the hold ended finds it.
    let purged = call(&p, forget, "purge", &agent, json!([])).await;
    assert!(purged.get("retained").is_none(), "{purged}");
    assert_eq!(cleaned_up(&p).await, Vec::<String>::new(), "then it ages out");
}

#[tokio::test]
async fn an_event_whose_agent_is_restricted_survives_the_inbox_clean_up_until_lifted() {
    let p = pipeline().await;
    let [first, second] = two_processed(&p).await;
    let (restrict, report) = on_the_agent(&p, "restrict").await;
    assert_eq!(report["counts"]["agentWebhookResults"], 2, "{report}");

    let mut left = cleaned_up(&p).await;
    left.sort();
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(left, both, "a restriction erases nothing, age or not");
    call(&p, restrict, "undo", &agent(), json!([])).await;
    assert_eq!(cleaned_up(&p).await, Vec::<String>::new(), "lifted, they age out");
}
