//! A conversation's content as Genesys serves it: analytics details by id, Speech and Text
//! Analytics transcripts behind pre-signed URLs, e-mail messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use genesys_sim::{Faults, Seed, SimConfig, SimState};
use serde_json::{json, Value};
use std::sync::Arc;

const JANA: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const CODE: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";
const VOICE: &str = "00000000-0000-4000-8000-0000000000c1";
const EMAIL: &str = "00000000-0000-4000-8000-0000000000c2";

struct Sim {
    url: String,
    state: Arc<SimState>,
    client: reqwest::Client,
    bearer: String,
}

/// The JSON body of what `request` answers.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn start() -> Sim {
    let sim = genesys_sim::start(SimConfig::development(Seed::default_seed().unwrap())).unwrap();
    let (url, state) = (sim.url.clone(), sim.state.clone());
    tokio::spawn(sim.run_until_stopped());
    let client = reqwest::Client::new();
    let grant = json_of(
        client
            .post(format!("{url}/oauth/token"))
            .basic_auth("ccbridge-dev", Some("ccbridge-dev-secret"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    let bearer = grant["access_token"].as_str().unwrap().to_owned();
    Sim {
        url,
        state,
        client,
        bearer,
    }
}

impl Sim {
    async fn admin(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn record(&self, id: &str, media_type: &str, ani: &str) -> Value {
        let (status, answer) = self
            .admin(
                "/admin/conversations",
                json!({
                    "conversationId": id, "start": "2026-11-28T10:00:00Z", "end": "2026-11-28T10:05:00Z",
                    "direction": "inbound", "mediaType": media_type, "ani": ani, "subject": "My card",
                    "agents": [{ "userId": JANA, "wrapupCode": CODE }],
                }),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        answer["conversation"].clone()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.bearer)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }
}

fn customer_session(conversation: &Value) -> String {
    conversation["participants"][0]["sessions"][0]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_transcript_is_found_once_posted_behind_a_presigned_url_that_takes_no_bearer() {
    let sim = start().await;
    let conversation = sim.record(VOICE, "voice", "tel:+420601123456").await;
    let communication = customer_session(&conversation);
    let url_path =
        format!("/api/v2/speechandtextanalytics/conversations/{VOICE}/communications/{communication}/transcripturl");
    let (status, not_yet) = sim.get(&url_path).await;
    assert_eq!((status, not_yet["code"].as_str()), (404, Some("not.found")));

    let (status, posted) = sim
        .admin(
            &format!("/admin/conversations/{VOICE}/transcript"),
            json!({ "phrases": [
                { "speaker": "customer", "text": "I lost my card", "offsetMs": 4000 },
                { "speaker": "agent", "text": "Good morning", "offsetMs": 1000 },
            ]}),
        )
        .await;
    assert_eq!(
        (status, posted["communicationId"].as_str()),
        (201, Some(communication.as_str()))
    );

    let (status, located) = sim.get(&url_path).await;
    assert_eq!(status, 200);
    let url = located["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/transcripts/", sim.url)), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");

    let file = json_of(sim.client.get(url)).await;
    assert_eq!(file["conversationId"], VOICE);
    assert_eq!(file["communicationId"], communication.as_str());
    assert_eq!(file["mediaType"], "call");
    let phrases = file["transcripts"][0]["phrases"].as_array().unwrap();
    let said: Vec<_> = phrases
        .iter()
        .map(|p| (p["participantPurpose"].as_str().unwrap(), p["text"].as_str().unwrap()))
        .collect();
    assert_eq!(said, [("external", "I lost my card"), ("internal", "Good morning")]);
    let start_ms = 1_795_860_000_000_i64; // 2026-11-28T10:00:00Z
    assert_eq!(phrases[0]["startTimeMs"], start_ms + 4000);
    assert_eq!(phrases[1]["startTimeMs"], start_ms + 1000);
    assert_eq!(phrases[0]["words"][2]["word"], "my");

    // As S3: a second credential beside the signature is refused, a URL without a valid one too.
    let with_bearer = sim.client.get(url).bearer_auth(&sim.bearer).send().await.unwrap();
    assert_eq!(with_bearer.status().as_u16(), 400);
    assert!(with_bearer
        .text()
        .await
        .unwrap()
        .contains("<Code>InvalidArgument</Code>"));
    let forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(sim.client.get(forged).send().await.unwrap().status().as_u16(), 403);
    let authorizations = sim.state.transcript_download_authorizations();
    assert_eq!(authorizations.len(), 3);
    assert_eq!(authorizations[0], None);
    assert_eq!(authorizations[1], Some(format!("Bearer {}", sim.bearer)));
    assert_eq!(sim.state.calls_to("speechandtextanalytics.transcripturl"), 2);
    assert_eq!(sim.state.calls_to("speechandtextanalytics.transcript"), 3);

    // Genesys' API still wants its bearer.
    let anonymous = sim.client.get(format!("{}{url_path}", sim.url)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn a_malformed_transcript_has_text_where_a_time_belongs() {
    let sim = start().await;
    let communication = customer_session(&sim.record(VOICE, "message", "+420601123456").await);
    sim.admin(
        &format!("/admin/conversations/{VOICE}/transcript"),
        json!({ "phrases": [{ "speaker": "customer", "text": "Hello" }] }),
    )
    .await;
    sim.state.set_faults(Faults {
        malformed: Some(genesys_sim::Malformed::Transcript),
        ..Faults::default()
    });
    let (_, located) = sim
        .get(&format!(
            "/api/v2/speechandtextanalytics/conversations/{VOICE}/communications/{communication}/transcripturl"
        ))
        .await;
    let file = json_of(sim.client.get(located["url"].as_str().unwrap())).await;
    assert_eq!(file["mediaType"], "message");
    assert!(file["transcripts"][0]["phrases"][0]["startTimeMs"].is_string());
}

#[tokio::test]
async fn the_details_of_one_conversation_once_analytics_shows_it() {
    let sim = start().await;
    let conversation = sim.record(VOICE, "voice", "tel:+420601123456").await;
    let (status, details) = sim
        .get(&format!("/api/v2/analytics/conversations/{VOICE}/details"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(details, conversation);

    sim.state.set_faults(Faults {
        analytics_delay_seconds: 3600,
        ..Faults::default()
    });
    sim.record(EMAIL, "email", "client@example.com").await;
    let (status, _) = sim
        .get(&format!("/api/v2/analytics/conversations/{EMAIL}/details"))
        .await;
    assert_eq!(status, 404, "analytics does not show it yet");
    let (status, _) = sim
        .get("/api/v2/analytics/conversations/00000000-0000-4000-8000-0000000000ff/details")
        .await;
    assert_eq!(status, 404);
    assert_eq!(sim.state.calls_to("analytics.conversations.details"), 3);
}

#[tokio::test]
async fn e_mail_messages_listed_without_bodies_each_with_its_text_and_html() {
    let sim = start().await;
    sim.record(EMAIL, "email", "client@example.com").await;
    let list = format!("/api/v2/conversations/emails/{EMAIL}/messages");
    assert_eq!(sim.get(&list).await.0, 404, "no message yet");

    let (status, posted) = sim
        .admin(
            &format!("/admin/conversations/{EMAIL}/emails"),
            json!({ "messages": [
                { "from": "agent", "text": "Your card is blocked.", "time": "2026-11-28T10:30:00Z" },
                { "from": "customer", "text": "I lost my card", "time": "2026-11-28T10:01:00+01:00" },
                { "from": "customer", "html": "<p>Thanks</p>" },
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let ids: Vec<&str> = posted["messageIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();

    let (status, listing) = sim.get(&list).await;
    assert_eq!(status, 200);
    assert_eq!(listing["total"], 3);
    let first = &listing["entities"][0];
    assert_eq!(first["id"], ids[0]);
    assert_eq!(first["textBodyPreview"], "Your card is blocked.");
    assert!(
        first.get("textBody").is_none() && first.get("htmlBody").is_none(),
        "{first}"
    );

    let (status, message) = sim.get(&format!("{list}/{}", ids[1])).await;
    assert_eq!(status, 200);
    assert_eq!(message["textBody"], "I lost my card");
    assert_eq!(message["htmlBody"], "<p>I lost my card</p>");
    assert_eq!(message["time"], "2026-11-28T09:01:00Z");
    assert_eq!(message["from"]["email"], "client@example.com");
    assert_eq!(message["to"][0]["email"], "service@bank.example");
    let (_, html_only) = sim.get(&format!("{list}/{}", ids[2])).await;
    assert!(html_only.get("textBody").is_none(), "{html_only}");
    assert_eq!(html_only["time"], "2026-11-28T10:02:00Z");
    assert_eq!(sim.get(&format!("{list}/nonexistent")).await.0, 404);
}

#[tokio::test]
async fn content_is_refused_for_a_conversation_that_cannot_hold_it() {
    let sim = start().await;
    sim.record(EMAIL, "email", "client@example.com").await;
    let phrases = json!({ "phrases": [{ "speaker": "agent", "text": "Hello" }] });
    let (status, refused) = sim
        .admin(&format!("/admin/conversations/{EMAIL}/transcript"), phrases.clone())
        .await;
    assert_eq!(status, 400, "an e-mail has no transcript: {refused}");
    let (status, _) = sim
        .admin(&format!("/admin/conversations/{VOICE}/transcript"), phrases)
        .await;
    assert_eq!(status, 404, "not recorded");
    let (status, _) = sim
        .admin(
            &format!("/admin/conversations/{EMAIL}/emails"),
            json!({ "messages": [{ "from": "bank", "text": "x" }] }),
        )
        .await;
    assert_eq!(status, 400, "an unknown writer");
}
