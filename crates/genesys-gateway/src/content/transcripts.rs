//! A communication's transcript from Speech and Text Analytics: its pre-signed URL (one Genesys
//! request), the file there (one download, [`crate::content::download`]), flattened to one
//! `agent: …` / `customer: …` line per phrase in time order.

use crate::body::{self, BodyKind};
use crate::content::budget::ContentBudget;
use crate::content::download::{self, TranscriptDownloads};
use crate::content::models::{TranscriptDocument, TranscriptUrl};
use crate::content::text;
use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use crate::upstream::GenesysApi;

/// The endpoint word (metrics, logs) of the URL request.
const URL_ENDPOINT: &str = "speechandtextanalytics.transcripturl";

/// The flattened transcript of `communication`, or `None` while Speech and Text Analytics has
/// none (Genesys answers 404: not transcribed yet, or never).
pub async fn transcript(
    api: &GenesysApi,
    budget: &ContentBudget,
    downloads: &TranscriptDownloads,
    metrics: &GatewayMetrics,
    conversation: uuid::Uuid,
    communication: uuid::Uuid,
) -> Result<Option<String>, UpstreamError> {
    let path = format!(
        "/api/v2/speechandtextanalytics/conversations/{conversation}/communications/{communication}/transcripturl"
    );
    let located: TranscriptUrl = match budget.get(api, URL_ENDPOINT, &path, &[]).await {
        Ok(located) => located,
        Err(UpstreamError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    let file = downloads.fetch(&located.url).await?;
    let document: TranscriptDocument = body::parse(metrics, download::ENDPOINT, BodyKind::Answer, &file)?;
    if document.conversation_id != conversation || document.communication_id != communication {
        let at = if document.conversation_id == conversation {
            "communicationId"
        } else {
            "conversationId"
        };
        return Err(body::unparsed(
            metrics,
            download::ENDPOINT,
            BodyKind::Answer,
            at.to_owned(),
            "the transcript is another communication's",
        ));
    }
    Ok(Some(flatten(&document)))
}

/// Every phrase of every transcript, oldest first (phrases that started together in the order
/// Genesys lists them), one line each; a phrase with no words is left out.
fn flatten(document: &TranscriptDocument) -> String {
    let mut phrases: Vec<_> = document
        .transcripts
        .iter()
        .flat_map(|transcript| &transcript.phrases)
        .collect();
    phrases.sort_by_key(|phrase| phrase.start_time_ms);
    phrases
        .iter()
        .filter_map(|phrase| {
            let words = text::one_line(&phrase.text);
            (!words.is_empty()).then(|| format!("{}: {words}", phrase.participant_purpose.speaker()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::flatten;
    use crate::content::models::TranscriptDocument;
    use serde_json::json;

    #[test]
    fn phrases_of_every_transcript_in_time_order_one_line_each() {
        let document: TranscriptDocument = serde_json::from_value(json!({
            "conversationId": "5773eca4-0874-4617-a6e8-85591aa94609",
            "communicationId": "1ccb1c09-9495-4034-b377-b809f58d17da",
            "transcripts": [
                { "phrases": [
                    { "text": "I lost my card", "participantPurpose": "external", "startTimeMs": 3000 },
                    { "text": "Good morning,\nhow can I help?", "participantPurpose": "internal", "startTimeMs": 1000 },
                ]},
                { "phrases": [
                    { "text": " \u{7} ", "participantPurpose": "external", "startTimeMs": 4000 },
                    { "text": "I have blocked it", "participantPurpose": "internal", "startTimeMs": 5000 },
                ]},
            ],
        }))
        .unwrap();
        assert_eq!(
            flatten(&document),
            "agent: Good morning, how can I help?\ncustomer: I lost my card\nagent: I have blocked it"
        );
    }

    #[test]
    fn a_phrase_of_nobodys_does_not_parse() {
        for phrase in [
            json!({ "text": "x", "participantPurpose": "acd", "startTimeMs": 1 }),
            json!({ "text": "x", "startTimeMs": 1 }),
            json!({ "text": "x", "participantPurpose": "external" }),
        ] {
            let body = json!({ "conversationId": "5773eca4-0874-4617-a6e8-85591aa94609",
                "communicationId": "1ccb1c09-9495-4034-b377-b809f58d17da", "transcripts": [{ "phrases": [phrase] }] });
            assert!(
                serde_json::from_value::<TranscriptDocument>(body.clone()).is_err(),
                "{body}"
            );
        }
    }
}
