use crate::helpers::{attributes, example, pipeline};
use serde_json::Value;

#[tokio::test]
async fn the_example_webhook_with_its_pairing_yields_exactly_the_expected_record() {
    let p = pipeline().await;
    p.pair(&example("support-interaction.json")).await;
    assert_eq!(
        p.deliver(&example("support-result-voice-inbound.json"))
            .await
            .status()
            .as_u16(),
        202
    );
    p.drain(10).await;
    let records = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(records.len(), 1);
    let expected = test_support::expected_voice_inbound_record();
    assert_eq!(attributes(&records[0]), expected);
    assert!(p.events("pending").await.is_empty());
    // The inbox keeps which record its event became.
    let processed = p.processed_events().await;
    assert_eq!(processed.len(), 1);
    let record_id = records[0]["id"].as_str().unwrap();
    assert_eq!(processed[0].1.map(|id| id.to_string()).as_deref(), Some(record_id));
    assert!(processed[0].2, "processed_at is set");
    p.assert_metrics_are_labelled_by_route().await;
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn upper_case_enums_an_offset_time_and_a_subject() {
    let p = pipeline().await;
    p.deliver(&example("support-result-email-outbound.json")).await;
    p.drain(10).await;
    let records = p.records_of_interaction("9d2f7a61-0c3b-4e8e-b1d4-6a5c2e7f9013").await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["direction"], "OUTBOUND");
    assert_eq!(record["channel"], "EMAIL");
    assert_eq!(record["communicatedAt"], "2026-11-20T13:03:55Z");
    assert_eq!(record["title"], "Your card replacement");
    assert_eq!(record["customerId"], Value::Null, "no pairing");
    assert_eq!(record["customerHandle"], "client@example.com");
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn a_system_wrap_up_code_and_a_sip_ani() {
    let p = pipeline().await;
    p.deliver(&example("support-result-outbound-preview-skipped.json"))
        .await;
    p.drain(10).await;
    let records = p.records_of_interaction("c3e8b2f0-5a41-4f7d-8e29-1b6d0a9c4e52").await;
    assert_eq!(records[0]["purpose"], "Outbound preview skipped");
    assert_eq!(records[0]["channel"], "VOICE", "callback is a voice channel");
    assert_eq!(records[0]["customerHandle"], "sip:+420601123456@10.0.0.7;user=phone");
    assert_eq!(p.sim.calls_to("wrapupcodes"), 0);
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn an_agent_unknown_to_genesys_leaves_the_name_null_and_the_record_is_written() {
    let p = pipeline().await;
    let mut body = example("support-result-voice-inbound.json");
    body["userId"] = "00000000-0000-4000-8000-000000000001".into();
    p.deliver(&body).await;
    p.drain(10).await;
    let records = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["bankUserName"], Value::Null);
    assert_eq!(records[0]["purpose"], "Sale completed");
    p.assert_no_personal_data_logged();
}

#[tokio::test]
async fn every_media_type_row_maps_to_its_channel() {
    let p = pipeline().await;
    let rows = [
        ("callback", "VOICE"),
        ("chat", "CHAT"),
        ("cobrowse", "OTHER"),
        ("email", "EMAIL"),
        ("message", "SMS"),
        ("screenshare", "VIDEO"),
        ("screen share", "VIDEO"),
        ("unknown", "OTHER"),
        ("video", "VIDEO"),
        ("VOICE", "VOICE"),
        ("fax", "OTHER"),
    ];
    let mut conversations = Vec::new();
    for (media_type, _) in rows {
        let mut body = example("support-result-voice-inbound.json");
        let conversation = uuid::Uuid::new_v4().to_string();
        body["conversationId"] = conversation.clone().into();
        body["mediaType"] = media_type.into();
        assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
        conversations.push(conversation);
    }
    p.drain(20).await;
    for ((media_type, channel), conversation) in rows.iter().zip(&conversations) {
        let records = p.records_of_interaction(conversation).await;
        assert_eq!(records[0]["channel"], *channel, "{media_type}");
    }
    p.assert_no_personal_data_logged();
}

/// What is accepted can always become a record: a subject too long for the title, or with control
/// characters, is made to fit at the door, never dead-lettered later.
#[tokio::test]
async fn a_subject_that_would_not_fit_the_title_is_cut_at_the_door() {
    let p = pipeline().await;
    let mut body = example("support-result-voice-inbound.json");
    body["subject"] = format!("Re: card\u{0}\u{1b}[31m {}", "Ž".repeat(1500)).into();
    assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    p.drain(10).await;
    assert!(p.events("dead").await.is_empty());
    let records = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(records.len(), 1);
    let title = records[0]["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 1000);
    assert!(
        title.starts_with("Re: card[31m "),
        "control characters dropped: {title:.20}"
    );
    assert!(title.ends_with('…'), "marked as cut");
}

/// An empty `mediaType` is the spec's "otherwise": OTHER.
#[tokio::test]
async fn an_empty_media_type_is_other() {
    let p = pipeline().await;
    let mut body = example("support-result-voice-inbound.json");
    body["mediaType"] = "".into();
    assert_eq!(p.deliver(&body).await.status().as_u16(), 202);
    p.drain(10).await;
    let records = p.records_of_interaction("5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(records[0]["channel"], "OTHER");
}
