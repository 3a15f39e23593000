//! `GET /conversations/{conversationId}/content` against genesys-sim: transcripts flattened in
//! time order, e-mail text without HTML, 404 content-not-available until Genesys has content,
//! the Genesys token never sent to the transcript storage, transcript URLs off the allow-list or
//! too large refused and counted, a transcript that does not parse counted by field and
//! answered without its text, control characters dropped, the text in no log line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use genesys_sim::{Faults, Malformed};
use helpers::{Harness, INGEST, JANA, ORCHESTRATOR, SALE_COMPLETED};
use serde_json::{json, Value};
use std::sync::OnceLock;
use test_support::{assert_problem, CapturedLogs};

const VOICE: &str = "00000000-0000-4000-8000-0000000000c1";
const EMAIL: &str = "00000000-0000-4000-8000-0000000000c2";
/// Words of the customer's that must reach the caller and no log line.
const SECRET_WORDS: &str = "my PIN is four two four two";

/// One capture for the whole binary (a global subscriber can be installed once).
fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| CapturedLogs::install_global().expect("no other subscriber"))
}

/// The sim and a gateway that may fetch transcripts from the sim's host, with `overrides`.
async fn harness(overrides: &[(&str, &str)]) -> Harness {
    logs();
    let mut all = vec![("content.transcript_hosts", "127.0.0.1")];
    all.extend_from_slice(overrides);
    helpers::start(genesys_sim::Seed::default_seed().unwrap(), |_| {}, &all).await
}

async fn admin(h: &Harness, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", h.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "{path}");
    response.json().await.unwrap()
}

/// Records an ended conversation; answers the customer's communication id.
async fn record(h: &Harness, id: &str, media_type: &str, ani: &str) -> String {
    let recorded = admin(
        h,
        "/admin/conversations",
        json!({
            "conversationId": id, "start": "2026-11-28T10:00:00Z", "end": "2026-11-28T10:05:00Z",
            "direction": "inbound", "mediaType": media_type, "ani": ani, "subject": "My card",
            "agents": [{ "userId": JANA, "wrapupCode": SALE_COMPLETED }],
        }),
    )
    .await;
    recorded["conversation"]["participants"][0]["sessions"][0]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn transcribe(h: &Harness, id: &str, phrases: Value) {
    admin(
        h,
        &format!("/admin/conversations/{id}/transcript"),
        json!({ "phrases": phrases }),
    )
    .await;
}

async fn content(h: &Harness, id: &str) -> reqwest::Response {
    h.gateway.get(&format!("/conversations/{id}/content"), INGEST).await
}

fn metric(metrics: &str, line: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn a_voice_transcript_in_time_order_fetched_without_the_genesys_token() {
    let h = harness(&[]).await;
    let communication = record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(
        &h,
        VOICE,
        json!([
            { "speaker": "customer", "text": format!("I lost my card\u{7}, {SECRET_WORDS}"), "offsetMs": 4000 },
            { "speaker": "agent", "text": "Good morning,\u{1b}[2J how can I help?", "offsetMs": 1000 },
            { "speaker": "agent", "text": "I have blocked it.", "offsetMs": 9000 },
        ]),
    )
    .await;
    let response = content(&h, VOICE).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({ "conversationId": VOICE, "parts": [{
            "communicationId": communication, "mediaType": "voice", "kind": "transcript",
            "text": format!("agent: Good morning,[2J how can I help?\ncustomer: I lost my card, {SECRET_WORDS}\nagent: I have blocked it."),
        }]})
    );
    assert_eq!(
        h.sim.transcript_download_authorizations(),
        [None],
        "the storage saw no Authorization header"
    );
    assert_eq!(h.sim.calls_to("analytics.conversations.details"), 1);
    assert_eq!(h.sim.calls_to("speechandtextanalytics.transcripturl"), 1);
    assert_eq!(h.sim.calls_to("speechandtextanalytics.transcript"), 1);
    // Asked again: the communications are kept, the transcript is fetched anew (nothing of it is kept).
    let again: Value = content(&h, VOICE).await.json().await.unwrap();
    assert_eq!(again, answer);
    assert_eq!(h.sim.calls_to("analytics.conversations.details"), 1);
    assert_eq!(h.sim.calls_to("speechandtextanalytics.transcripturl"), 2);
    let text = logs().text();
    assert!(text.contains("obtained a Genesys OAuth token"), "the capture works");
    assert!(!text.contains(SECRET_WORDS), "a log line holds the transcript");
    assert!(!text.contains("X-Amz-Signature"), "a log line holds a pre-signed URL");
}

#[tokio::test]
async fn an_e_mails_plain_text_oldest_message_first_never_its_html() {
    let h = harness(&[]).await;
    let communication = record(&h, EMAIL, "email", "client@example.com").await;
    admin(
        &h,
        &format!("/admin/conversations/{EMAIL}/emails"),
        json!({ "messages": [
            { "from": "agent", "text": "Your card is blocked.\r\nBank", "time": "2026-11-28T10:30:00Z" },
            { "from": "customer", "text": format!("I lost my card\u{0}; {SECRET_WORDS}"), "time": "2026-11-28T10:01:00Z" },
            { "from": "customer", "html": "<p>Thanks, HTML only</p>", "time": "2026-11-28T10:40:00Z" },
        ]}),
    )
    .await;
    let answer: Value = content(&h, EMAIL).await.json().await.unwrap();
    assert_eq!(
        answer["parts"],
        json!([{
            "communicationId": communication, "mediaType": "email", "kind": "email",
            "text": format!("I lost my card; {SECRET_WORDS}\n\nYour card is blocked.\nBank"),
        }])
    );
    assert_eq!(h.sim.calls_to("conversations.emails.messages"), 1);
    assert_eq!(h.sim.calls_to("conversations.emails.message"), 3);
    assert_eq!(h.sim.calls_to("speechandtextanalytics.transcripturl"), 0);
}

#[tokio::test]
async fn content_not_available_until_genesys_has_it() {
    let h = harness(&[]).await;
    let not_available = |problem: Value| {
        assert_eq!(
            problem["type"], "urn:ccbridge:problem:content-not-available",
            "{problem}"
        );
    };
    not_available(assert_problem(content(&h, VOICE).await, 404).await);
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    not_available(assert_problem(content(&h, VOICE).await, 404).await);
    record(&h, EMAIL, "email", "client@example.com").await;
    not_available(assert_problem(content(&h, EMAIL).await, 404).await);

    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": "Hello" }])).await;
    let answer: Value = content(&h, VOICE).await.json().await.unwrap();
    assert_eq!(answer["parts"][0]["text"], "customer: Hello");
    assert_eq!(
        h.sim.calls_to("analytics.conversations.details"),
        3,
        "the unknown conversation (not kept), then the voice and the e-mail conversation once each: the voice one's communications kept while its transcript was missing"
    );

    // Analytics not showing a conversation yet is the same "not yet".
    h.sim.set_faults(Faults {
        analytics_delay_seconds: 3600,
        ..Faults::default()
    });
    let late = "00000000-0000-4000-8000-0000000000c3";
    record(&h, late, "voice", "tel:+420601123456").await;
    transcribe(&h, late, json!([{ "speaker": "customer", "text": "Hello" }])).await;
    not_available(assert_problem(content(&h, late).await, 404).await);
}

#[tokio::test]
async fn a_transcript_url_off_the_allow_list_is_refused_and_counted_before_any_request() {
    let h = harness(&[(
        "content.transcript_hosts",
        "*.s3.amazonaws.com, transcripts.bank.example",
    )])
    .await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": SECRET_WORDS }])).await;
    let problem = assert_problem(content(&h, VOICE).await, 502).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("\"127.0.0.1\" is not on content.transcript_hosts"),
        "{problem}"
    );
    assert_eq!(
        h.sim.calls_to("speechandtextanalytics.transcript"),
        0,
        "nothing fetched"
    );
    let metrics = h.gateway.metrics().await;
    assert_eq!(
        metric(&metrics, r#"ccbridge_genesys_transcript_refusals_total{reason="host"}"#),
        1
    );
}

#[tokio::test]
async fn a_transcript_larger_than_the_limit_is_refused_and_counted() {
    let h = harness(&[("content.transcript_max_bytes", "4096")]).await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    let long = "word ".repeat(1000);
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": long }])).await;
    let problem = assert_problem(content(&h, VOICE).await, 502).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("content.transcript_max_bytes (4096 bytes)"),
        "{problem}"
    );
    assert_eq!(h.sim.calls_to("speechandtextanalytics.transcript"), 1);
    let metrics = h.gateway.metrics().await;
    assert_eq!(
        metric(&metrics, r#"ccbridge_genesys_transcript_refusals_total{reason="size"}"#),
        1
    );

    // Under the limit the same transcript is read whole.
    let h = harness(&[("content.transcript_max_bytes", "1048576")]).await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": long }])).await;
    let answer: Value = content(&h, VOICE).await.json().await.unwrap();
    assert_eq!(answer["parts"][0]["text"], format!("customer: {}", long.trim_end()));
}

#[tokio::test]
async fn a_transcript_that_does_not_parse_is_counted_by_field_and_answered_without_its_text() {
    let h = harness(&[]).await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": SECRET_WORDS }])).await;
    h.sim.set_faults(Faults {
        malformed: Some(Malformed::Transcript),
        ..Faults::default()
    });
    let response = content(&h, VOICE).await;
    let problem = assert_problem(response, 502).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("transcripts[0].phrases[0].startTimeMs"), "{problem}");
    assert!(!problem.to_string().contains("four two"), "{problem}");
    let metrics = h.gateway.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            r#"ccbridge_genesys_unparsed_bodies_total{body="answer",endpoint="speechandtextanalytics.transcript"}"#
        ),
        1
    );
    let text = logs().text();
    assert!(
        text.contains("transcripts[0].phrases[0].startTimeMs"),
        "logged by field"
    );
    assert!(!text.contains(SECRET_WORDS), "a log line holds the transcript");
}

#[tokio::test]
async fn a_conversation_id_that_is_no_uuid_is_named_and_only_result_ingest_may_ask() {
    let h = harness(&[]).await;
    let problem = assert_problem(h.gateway.get("/conversations/not-a-uuid/content", INGEST).await, 422).await;
    assert_eq!(problem["errors"][0]["parameter"], "conversationId", "{problem}");
    assert_problem(
        h.gateway
            .get(&format!("/conversations/{VOICE}/content"), ORCHESTRATOR)
            .await,
        403,
    )
    .await;
    assert_eq!(h.sim.calls_to("analytics.conversations.details"), 0);
}

#[tokio::test]
async fn with_contents_share_of_the_budget_spent_a_name_is_still_looked_up_at_once() {
    // 12 requests a minute, 6 at once; content's half: 6 a minute (nothing refills during the
    // test), 3 at once (one e-mail message + the details + the listing: content.email_max_messages 1).
    let h = harness(&[
        ("genesys.rate_limit_per_minute", "12"),
        ("genesys.rate_limit_burst", "6"),
        ("content.budget_percent", "50"),
        ("content.email_max_messages", "1"),
        ("content.communications_cache_ttl_seconds", "0"),
    ])
    .await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": "Hello" }])).await;
    assert_eq!(content(&h, VOICE).await.status().as_u16(), 200, "two of the three");
    let spent = content(&h, VOICE).await;
    let retry_after: u64 = spent.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(spent, 503).await;
    assert!(
        logs().text().contains("(content.budget_percent) is spent"),
        "the log names the key that sets the share"
    );
    assert_eq!(
        h.sim.calls_to("analytics.conversations.details"),
        2,
        "the share's last request"
    );
    assert_eq!(
        h.sim.calls_to("speechandtextanalytics.transcripturl"),
        1,
        "refused before Genesys"
    );

    let started = std::time::Instant::now();
    let name = h.gateway.get(&format!("/users/{JANA}"), INGEST).await;
    assert_eq!(name.status().as_u16(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "not held back by content"
    );
    assert_eq!(h.sim.calls_to("users"), 1);
}

/// An e-mail conversation of `n` messages, `message 1` … `message n`, a minute apart.
async fn long_thread(h: &Harness, n: usize) -> String {
    let communication = record(h, EMAIL, "email", "client@example.com").await;
    let messages: Vec<Value> = (1..=n)
        .map(|i| {
            let from = if i % 2 == 1 { "customer" } else { "agent" };
            json!({ "from": from, "text": format!("message {i}"), "time": format!("2026-11-28T10:{i:02}:00Z") })
        })
        .collect();
    admin(
        h,
        &format!("/admin/conversations/{EMAIL}/emails"),
        json!({ "messages": messages }),
    )
    .await;
    communication
}

fn texts(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("message {i}")).collect()
}

#[tokio::test]
async fn a_thread_longer_than_a_listing_page_is_read_whole_page_by_page() {
    let h = harness(&[("content.email_max_messages", "40")]).await;
    let communication = long_thread(&h, 30).await;
    let response = content(&h, EMAIL).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["parts"],
        json!([{
            "communicationId": communication, "mediaType": "email", "kind": "email",
            "text": texts(1..=30).join("\n\n"),
        }])
    );
    assert_eq!(
        h.sim.calls_to("conversations.emails.messages"),
        2,
        "25 a page: two pages"
    );
    assert_eq!(h.sim.calls_to("conversations.emails.message"), 30);
}

#[tokio::test]
async fn past_email_max_messages_the_first_are_read_and_the_text_says_there_is_more() {
    let h = harness(&[("content.email_max_messages", "20")]).await;
    long_thread(&h, 30).await;
    let answer: Value = content(&h, EMAIL).await.json().await.unwrap();
    let mut expected = texts(1..=20);
    expected.push("…".to_owned());
    assert_eq!(answer["parts"][0]["text"], json!(expected.join("\n\n")));
    assert_eq!(
        h.sim.calls_to("conversations.emails.messages"),
        1,
        "the first page names 25"
    );
    assert_eq!(h.sim.calls_to("conversations.emails.message"), 20, "none past the cap");
}

#[tokio::test]
async fn an_e_mails_messages_are_reserved_before_the_first_is_read() {
    // Content's share: 1 a minute (nothing refills during the test), at once the most one
    // e-mail attempt takes: 3 messages + the details + the listing = 5.
    let h = harness(&[
        ("genesys.rate_limit_per_minute", "100"),
        ("genesys.rate_limit_burst", "10"),
        ("content.budget_percent", "1"),
        ("content.email_max_messages", "3"),
    ])
    .await;
    record(&h, VOICE, "voice", "tel:+420601123456").await;
    transcribe(&h, VOICE, json!([{ "speaker": "customer", "text": "Hello" }])).await;
    assert_eq!(content(&h, VOICE).await.status().as_u16(), 200, "two of the five");
    long_thread(&h, 3).await;
    let spent = content(&h, EMAIL).await;
    assert!(spent.headers().contains_key("retry-after"));
    assert_problem(spent, 503).await;
    assert_eq!(
        h.sim.calls_to("conversations.emails.messages"),
        1,
        "the listing, then one permit left for three"
    );
    assert_eq!(
        h.sim.calls_to("conversations.emails.message"),
        0,
        "no message read for nothing"
    );
}
