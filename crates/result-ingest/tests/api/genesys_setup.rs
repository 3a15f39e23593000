//! `deploy/genesys/`: the data action Genesys Cloud calls the webhook with. Its request template,
//! rendered as Genesys renders it from the example after-call-work event (through the
//! workflow's inputs) and the participant data the workflow read first, is a body the webhook
//! accepts, with every field escaped.

use crate::helpers::{pipeline_with, records_in, GENESYS};
use serde_json::Value;
use std::collections::BTreeMap;

const DATA_ACTION: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/genesys/data-action.json"
));
const PARTICIPANT_DATA_ACTION: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/genesys/participant-data-action.json"
));
const ACW_EVENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/genesys/example-acw-event.json"
));

/// The customer's attribute the shipped files read (apply.sh writes one `pd_<name>` a name of
/// `PARTICIPANT_ATTRIBUTES`).
const ATTRIBUTE: &str = "bankCustomerId";

/// The workflow's inputs of the data action from an after-call-work event (workflow.yaml):
/// eventTime as text, the customer's e-mail address for an e-mail, an absent subject empty, and
/// the customer participant's attribute as the read action gave it (empty when not set).
fn workflow_inputs(event: &Value, attribute: &str) -> BTreeMap<String, String> {
    let text = |field: &str| match &event[field] {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let ani = match (text("mediaType").as_str(), text("direction").as_str()) {
        ("EMAIL", "INBOUND") => text("addressFrom"),
        ("EMAIL", _) => text("addressTo"),
        _ => text("ani"),
    };
    BTreeMap::from([
        ("conversationId".to_owned(), text("conversationId")),
        ("eventTime".to_owned(), text("eventTime")),
        ("direction".to_owned(), text("direction")),
        ("mediaType".to_owned(), text("mediaType")),
        ("ani".to_owned(), ani),
        ("subject".to_owned(), text("subject")),
        ("wrapupCode".to_owned(), text("wrapupCode")),
        ("userId".to_owned(), text("userId")),
        (format!("pd_{ATTRIBUTE}"), attribute.to_owned()),
    ])
}

/// Velocity as the data action uses it: `$esc.jsonString(${input.X})` is X escaped for a JSON
/// string. Any other reference to an input is refused: every field must be escaped.
fn render(template: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut rendered = template.to_owned();
    for (name, value) in inputs {
        let escaped = serde_json::to_string(value).unwrap();
        rendered = rendered.replace(
            &format!("$esc.jsonString(${{input.{name}}})"),
            &escaped[1..escaped.len() - 1],
        );
    }
    assert!(
        !rendered.contains("${input."),
        "an input left unescaped or unknown: {rendered}"
    );
    rendered
}

fn data_action() -> Value {
    serde_json::from_str(DATA_ACTION).unwrap()
}

#[test]
fn the_data_action_names_exactly_the_inputs_it_sends() {
    let action = data_action();
    let schema = &action["contract"]["input"]["inputSchema"];
    let declared: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let event: Value = serde_json::from_str(ACW_EVENT).unwrap();
    let sent: Vec<String> = workflow_inputs(&event, "").into_keys().collect();
    assert_eq!(declared, sent.iter().collect::<Vec<_>>());
    let template = action["config"]["request"]["requestTemplate"].as_str().unwrap();
    for name in &sent {
        assert!(
            template.contains(&format!("$esc.jsonString(${{input.{name}}})")),
            "{name}"
        );
    }
    assert_eq!(action["config"]["request"]["requestType"], "POST");
    assert!(action["config"]["request"]["requestUrlTemplate"]
        .as_str()
        .unwrap()
        .ends_with("/customers/supportResult"));
    let timeout = action["config"]["timeoutSeconds"].as_u64().unwrap();
    assert!((1..=60).contains(&timeout), "Genesys allows 1 to 60 s");
}

/// The read action reads the customer participant's attribute from the conversation, with an
/// empty default, and the send action passes it on as `participantData.<name>`, escaped.
#[test]
fn the_participant_data_action_reads_what_the_data_action_sends() {
    let reader: Value = serde_json::from_str(PARTICIPANT_DATA_ACTION).unwrap();
    let request = &reader["config"]["request"];
    assert_eq!(request["requestType"], "GET");
    assert_eq!(
        request["requestUrlTemplate"],
        "/api/v2/conversations/${input.conversationId}"
    );
    assert_eq!(reader["integrationType"], "purecloud-data-actions");
    let response = &reader["config"]["response"];
    assert_eq!(
        response["translationMap"][ATTRIBUTE],
        format!("$.participants[?(@.purpose == 'customer')].attributes['{ATTRIBUTE}']")
    );
    assert_eq!(response["translationMapDefaults"][ATTRIBUTE], "[]");
    let template = response["successTemplate"].as_str().unwrap();
    assert!(template.contains(&format!(
        "\"{ATTRIBUTE}\": $successTemplateUtils.firstFromArray(\"${{{ATTRIBUTE}}}\""
    )));
    let outputs = reader["contract"]["output"]["successSchema"]["properties"]
        .as_object()
        .unwrap();
    assert_eq!(outputs.keys().collect::<Vec<_>>(), [ATTRIBUTE]);
    let sent = data_action()["config"]["request"]["requestTemplate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains(&format!(
        "\"participantData\": {{\"{ATTRIBUTE}\": \"$esc.jsonString(${{input.pd_{ATTRIBUTE}}})\"}}"
    )));
}

#[tokio::test]
async fn the_rendered_example_event_is_a_body_the_webhook_accepts() {
    let p = pipeline_with(&[("ingest.participant_data.customer_id_attributes", ATTRIBUTE)], None).await;
    let customer = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";
    let action = data_action();
    let template = action["config"]["request"]["requestTemplate"].as_str().unwrap();
    let voice: Value = serde_json::from_str(ACW_EVENT).unwrap();
    let mut email = voice.clone();
    email["conversationId"] = "9d2f7a61-0c3b-4e8e-b1d4-6a5c2e7f9013".into();
    email["mediaType"] = "EMAIL".into();
    email["direction"] = "OUTBOUND".into();
    email["ani"] = "".into();
    email["addressTo"] = "client@example.com".into();
    email["subject"] = "Re: \"card\" C:\\cards \u{2014} new\nline".into();
    let token = p.ingest.token(GENESYS).to_owned();
    // The caller was identified by the IVR; the e-mail's customer participant has no attribute.
    for (event, attribute) in [(&voice, customer), (&email, "")] {
        let body = render(template, &workflow_inputs(event, attribute));
        let response = p
            .ingest
            .client
            .post(p.ingest.url("/customers/supportResult"))
            .basic_auth(GENESYS, Some(&token))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "{body}");
    }
    p.drain(30).await;
    let records = records_in(&p.writer, "5773eca4-0874-4617-a6e8-85591aa94609").await;
    assert_eq!(
        records[0]["communicatedAt"], "2026-11-20T09:41:07.512Z",
        "epoch milliseconds, read"
    );
    assert_eq!(records[0]["customerHandle"], "tel:+420601123456");
    assert_eq!(records[0]["customerId"], customer);
    assert_eq!(records[0]["customerSource"], "participant_data");
    let records = records_in(&p.writer, "9d2f7a61-0c3b-4e8e-b1d4-6a5c2e7f9013").await;
    assert_eq!(records[0]["customerHandle"], "client@example.com");
    assert_eq!(records[0]["channel"], "EMAIL");
    assert_eq!(records[0]["customerId"], Value::Null, "no attribute: no customer");
    let title = records[0]["title"].as_str().unwrap();
    assert!(title.starts_with("Re: \"card\" C:\\cards \u{2014} new"), "{title}");
}
