//! A record's body from Genesys (`[ingest.content]`): the record is written first with an empty
//! body; the content queue then asks the gateway for the conversation's transcript or e-mail text
//! (genesys-sim holds it once a test posts it), cuts it to its size and sets it at the writer.
//! The queue's runner is driven by `drain(now)`: time is moved, never slept.

use crate::helpers::{example, pipeline_with, pipeline_with_gateway, Pipeline};
use crate::sweep::{conversation, shifted, JANA};
use domain::Timestamp;
use result_ingest::content::{ContentQueue, ContentRunner, Ended};
use serde_json::{json, Value};
use service_kit::database::DatabaseError;
use service_kit::queue::{Status, Storage as _};
use uuid::Uuid;

/// What the customer said: personal data, never logged.
const SAID: &str = "I would like to block my card, it was stolen yesterday";
const ANSWERED: &str = "Of course, the card is blocked now";

/// How long a transcript not there yet is waited for.
const WAIT_FOR_SECONDS: i64 = 3600;

fn settings(channels: &'static str, max_body_chars: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("ingest.content.channels", channels),
        ("ingest.content.first_ask_after", "1 second"),
        ("ingest.content.wait_for", "1 hour"),
        ("ingest.content.max_body_chars", max_body_chars),
        ("ingest.content.backoff_min_ms", "1000"),
        ("ingest.content.backoff_max_ms", "2000"),
        ("ingest.content.retry_budget", "2 hours"),
    ]
}

struct Content {
    p: Pipeline,
    runner: ContentRunner,
}

async fn start(channels: &'static str, max_body_chars: &'static str) -> Content {
    with_pipeline(pipeline_with(&settings(channels, max_body_chars), None).await)
}

fn with_pipeline(p: Pipeline) -> Content {
    let ingest = result_ingest::ingest_settings(&p.ingest.settings).unwrap();
    let runner =
        result_ingest::content::runner(p.ingest.pool().clone(), &ingest, &prometheus::Registry::new()).unwrap();
    Content { p, runner }
}

fn later(at: Timestamp, seconds: i64) -> Timestamp {
    shifted(at, seconds * 1000)
}

/// Past a job's first ask (`first_ask_after`, a second here) from now.
fn due() -> Timestamp {
    later(Timestamp::now(), 2)
}

impl Content {
    /// A voice call genesys-sim knows, its result delivered to the webhook and written; answers
    /// its conversation id.
    async fn call_written(&self) -> String {
        let id = Uuid::new_v4().to_string();
        let now = Timestamp::now();
        self.p
            .record_conversation(&conversation(&id, shifted(now, -60_000), now, &[JANA]))
            .await;
        let mut result = example("support-result-voice-inbound.json");
        result["conversationId"] = id.clone().into();
        assert_eq!(self.p.deliver(&result).await.status().as_u16(), 202);
        self.p.drain(10).await;
        id
    }

    /// A call written and transcribed: its id, and a GDPR call's body for it as the subject.
    async fn transcribed_call(&self) -> (String, Value) {
        let id = self.call_written().await;
        self.said(&id).await;
        let subject = json!({ "interactionIds": [id] });
        let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": [] });
        (id, body)
    }

    /// The sim's transcript of the customer's call `id` from now on.
    async fn transcribe(&self, id: &str, phrases: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/admin/conversations/{id}/transcript", self.p.sim_url))
            .json(&json!({ "phrases": phrases }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }

    async fn said(&self, id: &str) {
        let phrases = json!([
            { "speaker": "customer", "text": SAID },
            { "speaker": "agent", "text": ANSWERED },
        ]);
        self.transcribe(id, phrases).await;
    }

    /// The record of conversation `id` (one).
    async fn record(&self, id: &str) -> Value {
        let records = self.p.records_of_interaction(id).await;
        assert_eq!(records.len(), 1, "{records:?}");
        records[0].clone()
    }

    /// The id of conversation `id`'s record (one).
    async fn record_id(&self, id: &str) -> Uuid {
        self.record(id).await["id"].as_str().unwrap().parse().unwrap()
    }

    /// Puts conversation `id`'s processed inbox events back to be done again, due now; answers
    /// how many.
    async fn reopen_events_of(&self, id: &str) -> usize {
        use diesel::prelude::*;
        use result_ingest::schema::inbox_events::dsl;
        use service_kit::database::sql_types::{DbTimestamp, DbUuid};
        let conversation = DbUuid(id.parse().unwrap());
        self.p
            .ingest
            .pool()
            .run(move |c| {
                diesel::update(dsl::inbox_events.filter(dsl::conversation_id.eq(conversation)))
                    .set((
                        dsl::status.eq("pending"),
                        dsl::processed_at.eq(None::<DbTimestamp>),
                        dsl::record_id.eq(None::<DbUuid>),
                        dsl::next_attempt_at.eq(DbTimestamp::from(Timestamp::now())),
                    ))
                    .execute(c)
                    .map_err(DatabaseError::from)
            })
            .await
            .unwrap()
    }

    async fn jobs(&self, status: &str) -> Vec<Value> {
        let response = self
            .p
            .ingest
            .get(
                &format!("/ingest/content-jobs?status={status}"),
                crate::helpers::OPERATOR,
            )
            .await;
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Where record `id`'s job stands (done ones are not listed to operators).
    async fn status_of(&self, id: Uuid) -> Option<Status> {
        self.p
            .ingest
            .pool()
            .run(move |c| ContentQueue.status_of(c, id).map_err(DatabaseError::from))
            .await
            .unwrap()
    }

    fn ended(&self, outcome: Ended) -> u64 {
        self.runner.job().metrics().ended(outcome)
    }

    /// No log line holds what was said.
    fn assert_nothing_said_logged(&self) {
        if let Some(logs) = self.p.logs() {
            for words in [SAID, ANSWERED, "block my card"] {
                assert!(!logs.contains(words), "a log line holds what was said");
            }
        }
        self.p.assert_no_personal_data_logged();
    }
}

#[tokio::test]
async fn the_record_is_written_first_and_gets_its_transcript_once_genesys_has_it() {
    let c = start("VOICE,CHAT,SMS,EMAIL", "100000").await;
    let id = c.call_written().await;
    let record = c.record(&id).await;
    assert_eq!(record["body"], "", "written without waiting for its content");
    assert_eq!(c.jobs("pending").await.len(), 1);
    assert_eq!(c.jobs("pending").await[0]["id"], record["id"], "keyed by the record");

    c.said(&id).await;
    let early = c.runner.drain(Timestamp::now()).await.unwrap();
    assert_eq!(early.claimed, 0, "not asked before first_ask_after");
    let drained = c.runner.drain(due()).await.unwrap();
    assert_eq!((drained.claimed, drained.done), (1, 1));
    assert_eq!(
        c.record(&id).await["body"],
        format!("customer: {SAID}\nagent: {ANSWERED}")
    );
    assert_eq!(c.ended(Ended::Added), 1);
    assert!(c.jobs("pending").await.is_empty() && c.jobs("dead").await.is_empty());
    // Nothing more to do: the job is done, never run again.
    assert_eq!(c.runner.drain(later(Timestamp::now(), 7200)).await.unwrap().claimed, 0);
    c.assert_nothing_said_logged();
}

#[tokio::test]
async fn a_transcript_that_appears_later_is_added_then() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    let t0 = due();
    let first = c.runner.drain(t0).await.unwrap();
    assert_eq!(
        (first.claimed, first.retried),
        (1, 1),
        "not there yet: asked again later"
    );
    let pending = c.jobs("pending").await;
    assert_eq!(pending[0]["lastError"], "no content in Genesys yet");
    assert_eq!(c.record(&id).await["body"], "");

    c.said(&id).await;
    // Due again after the backoff (at most backoff_max_ms, 2 s): a drain then takes it.
    let again = c.runner.drain(later(t0, 3)).await.unwrap();
    assert_eq!((again.claimed, again.done), (1, 1));
    assert!(c.record(&id).await["body"].as_str().unwrap().contains(SAID));
    assert_eq!(c.ended(Ended::Added), 1);
    assert_eq!(c.ended(Ended::None), 0);
}

#[tokio::test]
async fn a_transcript_that_never_appears_ends_without_a_body_after_wait_for_counted_not_dead() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    let t0 = due();
    // Asked again with the backoff while wait_for has not passed since the record.
    let mut at = t0;
    for _ in 0..3 {
        at = later(at, 3);
        let pass = c.runner.drain(at).await.unwrap();
        assert_eq!((pass.claimed, pass.retried), (1, 1));
    }
    assert_eq!(c.ended(Ended::None), 0);
    // wait_for has passed: the next attempt ends the job, without a body.
    let last = c.runner.drain(later(t0, WAIT_FOR_SECONDS + 3)).await.unwrap();
    assert_eq!((last.claimed, last.done, last.dead), (1, 1, 0));
    assert_eq!(c.ended(Ended::None), 1);
    assert!(c.jobs("pending").await.is_empty() && c.jobs("dead").await.is_empty());
    assert_eq!(c.record(&id).await["body"], "");
    // A transcript after the end is not fetched: the job is over.
    c.said(&id).await;
    assert_eq!(
        c.runner.drain(later(t0, 2 * WAIT_FOR_SECONDS)).await.unwrap().claimed,
        0
    );
    assert_eq!(c.record(&id).await["body"], "");
}

#[tokio::test]
async fn an_e_mail_gets_its_text() {
    let c = start("EMAIL", "100000").await;
    let id = Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let mut email = conversation(&id, shifted(now, -60_000), now, &[JANA]);
    email["direction"] = "outbound".into();
    email["mediaType"] = "email".into();
    email["ani"] = "client@example.com".into();
    c.p.record_conversation(&email).await;
    let mut result = example("support-result-email-outbound.json");
    result["conversationId"] = id.clone().into();
    assert_eq!(c.p.deliver(&result).await.status().as_u16(), 202);
    c.p.drain(10).await;
    assert_eq!(c.record(&id).await["body"], "");
    let messages = json!({ "messages": [
        { "from": "agent", "text": "Your new card is on its way." },
        { "from": "customer", "text": SAID },
    ]});
    let response = reqwest::Client::new()
        .post(format!("{}/admin/conversations/{id}/emails", c.p.sim_url))
        .json(&messages)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    c.runner.drain(due()).await.unwrap();
    let body = c.record(&id).await["body"].as_str().unwrap().to_owned();
    assert!(
        body.contains("Your new card is on its way.") && body.contains(SAID),
        "{body}"
    );
    assert_eq!(c.ended(Ended::Added), 1);
    c.assert_nothing_said_logged();
}

#[tokio::test]
async fn a_body_is_cut_to_its_size_at_a_character_boundary() {
    let c = start("VOICE", "20").await;
    let id = c.call_written().await;
    c.transcribe(
        &id,
        json!([{ "speaker": "customer", "text": "Dobrý den, ztratil jsem kartu" }]),
    )
    .await;
    c.runner.drain(due()).await.unwrap();
    let body = c.record(&id).await["body"].as_str().unwrap().to_owned();
    assert_eq!(body.chars().count(), 20, "{body}");
    assert_eq!(body, "customer: Dobrý den…");
}

#[tokio::test]
async fn a_channel_whose_content_is_off_gets_no_job() {
    let c = start("EMAIL", "100000").await;
    let id = c.call_written().await;
    c.said(&id).await;
    assert_eq!(c.runner.drain(due()).await.unwrap().claimed, 0);
    assert!(c.jobs("pending").await.is_empty());
    assert_eq!(c.record(&id).await["body"], "");
}

#[tokio::test]
async fn content_is_off_by_default() {
    let p = crate::helpers::pipeline().await;
    let ingest = result_ingest::ingest_settings(&p.ingest.settings).unwrap();
    assert!(ingest.content.channels.is_empty());
}

#[tokio::test]
async fn an_inbox_event_settled_again_queues_no_job_twice() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    let record_id = c.record_id(&id).await;
    c.said(&id).await;
    assert_eq!(c.runner.drain(due()).await.unwrap().done, 1);
    // Its event to do again (as an operator's replay of one whose record was written): the
    // writer answers the record from its idempotency key, and the settlement finds its job.
    assert_eq!(c.reopen_events_of(&id).await, 1);
    c.p.drain(10).await;
    assert!(c.p.events("pending").await.is_empty());
    assert_eq!(c.record(&id).await["id"], record_id.to_string(), "the same record");
    assert_eq!(c.status_of(record_id).await, Some(Status::Done), "its job as it was");
    assert_eq!(c.runner.drain(later(Timestamp::now(), 7200)).await.unwrap().claimed, 0);
    assert_eq!(c.ended(Ended::Added), 1);
}

#[tokio::test]
async fn a_record_an_earlier_attempt_wrote_with_other_content_gets_its_job_with_that_records_id() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    let record_id = c.record_id(&id).await;
    // As after an attempt that wrote the record and never settled: no job, its event to do
    // again; and the record it would write now differs (a customer was paired since).
    let interactions = [domain::InteractionId::parse(&id).unwrap()].into();
    let removed =
        c.p.ingest
            .pool()
            .run(move |c| result_ingest::content::forget(c, Uuid::now_v7(), &interactions).map_err(DatabaseError::from))
            .await
            .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(c.reopen_events_of(&id).await, 1);
    c.p.pair(&json!({ "customerId": "33333333-3333-4333-8333-333333333333", "interactionId": id }))
        .await;
    c.p.drain(10).await;
    assert!(c.p.events("pending").await.is_empty());
    assert_eq!(c.record_id(&id).await, record_id, "no second record");
    assert!(
        c.p.processed_events()
            .await
            .iter()
            .any(|event| event.1 == Some(record_id)),
        "the writer's conflict named the record the event became"
    );
    assert_eq!(
        c.status_of(record_id).await,
        Some(Status::Pending),
        "its job, by that record"
    );
    c.said(&id).await;
    assert_eq!(c.runner.drain(due()).await.unwrap().done, 1);
    assert!(c.record(&id).await["body"].as_str().unwrap().contains(SAID));
}

/// An event a pod of the previous version accepted during a roll (its insert names no channel):
/// the settlement queues its job by the channel of the record the worker wrote, not by the
/// inbox's column.
#[tokio::test]
async fn an_event_accepted_without_its_channel_by_a_previous_versions_pod_gets_its_job() {
    use diesel::prelude::*;
    use result_ingest::schema::inbox_events::dsl;
    let c = start("VOICE", "100000").await;
    let id = Uuid::new_v4().to_string();
    let now = Timestamp::now();
    c.p.record_conversation(&conversation(&id, shifted(now, -60_000), now, &[JANA]))
        .await;
    let mut result = example("support-result-voice-inbound.json");
    result["conversationId"] = id.clone().into();
    assert_eq!(c.p.deliver(&result).await.status().as_u16(), 202);
    let conversation_id = service_kit::database::sql_types::DbUuid(id.parse().unwrap());
    let unnamed =
        c.p.ingest
            .pool()
            .run(move |c| {
                diesel::update(dsl::inbox_events.filter(dsl::conversation_id.eq(conversation_id)))
                    .set(dsl::channel.eq(None::<String>))
                    .execute(c)
                    .map_err(DatabaseError::from)
            })
            .await
            .unwrap();
    assert_eq!(unnamed, 1, "accepted, pending, without its channel");
    c.p.drain(10).await;
    assert!(c.p.events("pending").await.is_empty(), "settled");
    let record_id = c.record_id(&id).await;
    assert_eq!(c.status_of(record_id).await, Some(Status::Pending), "its job, queued");
    c.said(&id).await;
    assert_eq!(c.runner.drain(due()).await.unwrap().done, 1);
    assert!(c.record(&id).await["body"].as_str().unwrap().contains(SAID));
}

#[tokio::test]
async fn with_content_off_the_settlement_queues_nothing() {
    let c = with_pipeline(crate::helpers::pipeline().await);
    let id = c.call_written().await;
    let record_id = c.record_id(&id).await;
    assert!(c.p.events("pending").await.is_empty(), "settled");
    assert_eq!(c.status_of(record_id).await, None);
    let depth =
        c.p.ingest
            .pool()
            .run(|c| ContentQueue.depth(c).map_err(DatabaseError::from))
            .await
            .unwrap();
    assert_eq!((depth.pending, depth.dead), (0, 0));
    assert_eq!(c.runner.drain(later(Timestamp::now(), 7200)).await.unwrap().claimed, 0);
}

#[tokio::test]
async fn a_forget_after_the_record_and_before_the_transcript_keeps_the_body_out() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    let subject = json!({ "interactionIds": [id] });
    let forget = Uuid::now_v7();
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": [] });
    c.p.writer.participant_call(forget, "forget", &body).await;

    c.said(&id).await;
    let drained = c.runner.drain(due()).await.unwrap();
    assert_eq!((drained.claimed, drained.done), (1, 1), "refused: settled, not retried");
    assert_eq!(c.ended(Ended::Refused), 1);
    assert_eq!(c.ended(Ended::Added), 0);
    // Undone, the record is back as it was, without what was said.
    c.p.writer.participant_call(forget, "undo", &body).await;
    assert_eq!(c.record(&id).await["body"], "");
    c.assert_nothing_said_logged();
}

#[tokio::test]
async fn the_writers_export_holds_the_body() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    c.said(&id).await;
    c.runner.drain(due()).await.unwrap();
    let subject = json!({ "interactionIds": [id] });
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": [] });
    let export = c.p.writer.participant_call(Uuid::now_v7(), "export", &body).await;
    let records = export["data"]["communications"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0]["body"].as_str().unwrap().contains(SAID), "{export}");
}

#[tokio::test]
async fn result_ingests_forget_removes_the_subjects_jobs_whatever_their_state() {
    let c = start("VOICE", "100000").await;
    // One of the subject's jobs done before the forget: its ids go with the forget too.
    let done = c.call_written().await;
    c.said(&done).await;
    assert_eq!(c.runner.drain(due()).await.unwrap().done, 1);
    let done_job = c.record(&done).await["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(c.status_of(done_job).await, Some(Status::Done));
    let forgotten = c.call_written().await;
    let other = c.call_written().await;
    let subject = json!({ "interactionIds": [forgotten, done] });
    let body = json!({ "subject": subject, "forgottenAt": Timestamp::now(), "retain": [] });
    c.p.ingest.participant_call(Uuid::now_v7(), "forget", &body).await;
    let pending = c.jobs("pending").await;
    assert_eq!(pending.len(), 1, "the other conversation's job stays: {pending:?}");
    assert_eq!(pending[0]["id"], c.record(&other).await["id"]);
    assert_eq!(c.status_of(done_job).await, None, "no id of the subject's is left");
    assert!(c.jobs("dead").await.is_empty());

    // Both transcribed: only the other's is fetched (the writer, not told of the forget here,
    // would have taken the forgotten one's).
    c.said(&forgotten).await;
    c.said(&other).await;
    let drained = c.runner.drain(due()).await.unwrap();
    assert_eq!((drained.claimed, drained.done), (1, 1));
    assert_eq!(c.record(&forgotten).await["body"], "");
    assert!(c.record(&other).await["body"].as_str().unwrap().contains(SAID));
}

#[tokio::test]
async fn a_spent_genesys_budget_costs_one_call_a_batch_the_others_given_back_untried() {
    // Content's share: half of 4 a minute (one back every 30 s), 2 at once; the records' two name
    // lookups take the global limiter's first permits.
    let gateway = [
        ("genesys.rate_limit_per_minute", "4"),
        ("genesys.rate_limit_burst", "4"),
    ];
    let c = with_pipeline(pipeline_with_gateway(&settings("VOICE", "100000"), &gateway).await);
    for _ in 0..3 {
        c.call_written().await;
    }
    // The first job spends content's two requests (not there yet); the others meet the 503.
    let t0 = due();
    let first = c.runner.drain(t0).await.unwrap();
    assert_eq!((first.claimed, first.retried, first.postponed), (3, 3, 0), "{first:?}");
    // Spent (the clock the gateway's limiter keeps is the real one: no permit comes back within
    // the test): once all are due again, past the longest Retry-After honoured, the batch's first
    // job meets the 503 and the other two are given back without a call.
    let second = c.runner.drain(later(t0, 301)).await.unwrap();
    assert_eq!(
        (second.claimed, second.retried, second.postponed),
        (3, 1, 2),
        "{second:?}"
    );
    let pending = c.jobs("pending").await;
    assert_eq!(pending.len(), 3);
    let busy: Vec<&Value> = pending
        .iter()
        .filter(|job| job["lastError"] == "genesys-gateway: 503")
        .collect();
    assert!(!busy.is_empty(), "{pending:?}");
    assert!(c.jobs("dead").await.is_empty());
}

/// How many times result-ingest asked the gateway for a conversation's content.
async fn content_asked(c: &Content) -> u64 {
    let metrics = c.p._gateway.metrics().await;
    crate::helpers::requests_counted(&metrics, "/conversations/{conversationId}/content", None)
}

/// Whether the one pending job is parked (due only once woken), as the operators' listing shows
/// it: no next attempt, and why.
fn parked(pending: &[Value]) -> bool {
    pending.len() == 1
        && pending[0].get("nextAttemptAt").is_none_or(Value::is_null)
        && pending[0]["lastError"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("parked: a GDPR restriction"))
}

impl Content {
    /// The queue's depth, and its gauges after a housekeeping at `now`: (pending, parked, the
    /// oldest pending's age in seconds).
    async fn depth_at(&self, now: Timestamp) -> (i64, i64, i64) {
        let depth = self
            .p
            .ingest
            .pool()
            .run(|c| ContentQueue.depth(c).map_err(DatabaseError::from))
            .await
            .unwrap();
        self.runner.housekeeping(now).await.unwrap();
        let metrics = self.runner.metrics();
        assert_eq!(
            (metrics.depth.get(), metrics.parked.get()),
            (depth.pending, depth.parked),
            "the gauges say what the depth does"
        );
        (depth.pending, depth.parked, metrics.oldest_pending_age_seconds.get())
    }
}

#[tokio::test]
async fn under_a_restriction_the_job_is_parked_never_claimed_until_the_lift_and_the_body_comes_after_it() {
    let c = start("VOICE", "100000").await;
    let (id, body) = c.transcribed_call().await;
    let restrict = Uuid::now_v7();
    c.p.ingest.participant_call(restrict, "restrict", &body).await;
    c.p.writer.participant_call(restrict, "restrict", &body).await;

    let t0 = due();
    let held = c.runner.drain(t0).await.unwrap();
    assert_eq!(held.claimed, 0, "a restricted subject's job is not run");
    assert!(
        parked(&c.jobs("pending").await),
        "it waits, parked: {:?}",
        c.jobs("pending").await
    );
    // However late, no claim takes it while the hold lasts (and housekeeping leaves it parked);
    // it is reported apart from the pending jobs, no backlog however long it waits.
    let month = c.runner.drain(later(t0, 30 * 86_400)).await.unwrap();
    assert_eq!(month.claimed, 0);
    assert!(parked(&c.jobs("pending").await));
    assert_eq!(
        c.depth_at(later(t0, 30 * 86_400)).await,
        (0, 1, 0),
        "parked, not pending"
    );
    assert_eq!(content_asked(&c).await, 0, "nothing of theirs was fetched");
    assert_eq!(c.ended(Ended::Refused), 0);

    c.p.ingest.participant_call(restrict, "undo", &body).await;
    c.p.writer.participant_call(restrict, "undo", &body).await;
    assert!(!parked(&c.jobs("pending").await), "the lift woke it");
    let (pending, parked_jobs, _) = c.depth_at(Timestamp::now()).await;
    assert_eq!((pending, parked_jobs), (1, 0), "pending again");
    let t1 = due();
    let lifted = c.runner.drain(t1).await.unwrap();
    assert_eq!((lifted.claimed, lifted.done), (1, 1));
    assert_eq!(content_asked(&c).await, 1);
    assert!(c.record(&id).await["body"].as_str().unwrap().contains(SAID));
    assert_eq!(c.ended(Ended::Added), 1);
    c.assert_nothing_said_logged();
}

#[tokio::test]
async fn a_restriction_the_writer_alone_answers_postpones_the_job_it_does_not_end_it() {
    let c = start("VOICE", "100000").await;
    let (id, body) = c.transcribed_call().await;
    let restrict = Uuid::now_v7();
    // Restricted at the writer after result-ingest claimed the job (here: not told at all).
    c.p.writer.participant_call(restrict, "restrict", &body).await;
    let t0 = due();
    let refused = c.runner.drain(t0).await.unwrap();
    assert_eq!(
        (refused.claimed, refused.done, refused.postponed),
        (1, 0, 1),
        "{refused:?}"
    );
    assert_eq!(c.ended(Ended::Refused), 0, "a restriction is not the end");
    assert_eq!(c.jobs("pending").await.len(), 1);
    // Not asked again before wait_for; after the lift, then, the body is set.
    assert_eq!(c.runner.drain(later(t0, 60)).await.unwrap().claimed, 0);
    c.p.writer.participant_call(restrict, "undo", &body).await;
    let lifted = c.runner.drain(later(t0, WAIT_FOR_SECONDS + 1)).await.unwrap();
    assert_eq!((lifted.claimed, lifted.done), (1, 1));
    assert!(c.record(&id).await["body"].as_str().unwrap().contains(SAID));
    assert_eq!(c.ended(Ended::Added), 1);
}

#[tokio::test]
async fn a_404_that_is_not_the_contracts_kind_is_a_failure_then_a_dead_letter_never_a_quiet_none() {
    let c = start("VOICE", "100000").await;
    let id = c.call_written().await;
    // result-ingest pointed at a path the gateway has no route under (a wrong prefix).
    let mut ingest = result_ingest::ingest_settings(&c.p.ingest.settings).unwrap();
    ingest.gateway_url = ingest.gateway_url.join("wrong-prefix/").unwrap();
    let runner =
        result_ingest::content::runner(c.p.ingest.pool().clone(), &ingest, &prometheus::Registry::new()).unwrap();
    let t0 = due();
    let first = runner.drain(t0).await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1));
    let pending = c.jobs("pending").await;
    let reason = pending[0]["lastError"].as_str().unwrap().to_owned();
    assert!(reason.starts_with("genesys-gateway: 404"), "{reason}");
    assert_ne!(reason, "no content in Genesys yet");
    // Past wait_for (a quiet none for content not there yet) and the retry budget (2 hours): dead.
    let last = runner.drain(later(t0, 2 * 3600 + 10)).await.unwrap();
    assert_eq!((last.claimed, last.dead), (1, 1), "{last:?}");
    let dead = c.jobs("dead").await;
    assert!(
        dead[0]["lastError"].as_str().unwrap().contains("genesys-gateway: 404"),
        "{dead:?}"
    );
    assert_eq!(runner.job().metrics().ended(Ended::None), 0);
    assert_eq!(c.record(&id).await["body"], "");
}
