//! An e-mail conversation's text: its messages (one Genesys request for the list, one a
//! message), each message's plain text (never its HTML), oldest first.

use crate::content::budget::ContentBudget;
use crate::content::models::{EmailMessage, EmailMessagePreviewListing};
use crate::content::text;
use crate::error::UpstreamError;
use crate::upstream::GenesysApi;

const LIST_ENDPOINT: &str = "conversations.emails.messages";
const MESSAGE_ENDPOINT: &str = "conversations.emails.message";

/// The messages' texts, oldest first, separated by a blank line; `None` while Genesys holds no
/// message of the conversation (404, or none listed).
pub async fn email_text(
    api: &GenesysApi,
    budget: &ContentBudget,
    conversation: uuid::Uuid,
) -> Result<Option<String>, UpstreamError> {
    let base = format!("/api/v2/conversations/emails/{conversation}/messages");
    let listing: EmailMessagePreviewListing = match budget.get(api, LIST_ENDPOINT, &base).await {
        Ok(listing) => listing,
        Err(UpstreamError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    if listing.entities.is_empty() {
        return Ok(None);
    }
    let mut messages = Vec::with_capacity(listing.entities.len());
    for preview in &listing.entities {
        let path = format!("{base}/{}", preview.id.as_str());
        // A message listed a moment ago is not "not there yet": its 404 is an error like any other.
        let message: EmailMessage = budget.get(api, MESSAGE_ENDPOINT, &path).await?;
        messages.push(message);
    }
    Ok(Some(join(messages)))
}

/// The plain texts in time order (messages sent together in the order Genesys lists them); a
/// message without a plain-text part adds nothing.
fn join(mut messages: Vec<EmailMessage>) -> String {
    messages.sort_by_key(|message| message.time);
    messages
        .iter()
        .filter_map(|message| message.text_body.as_deref())
        .map(|body| text::without_controls(body).trim().to_owned())
        .filter(|body| !body.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::join;
    use crate::content::models::EmailMessage;
    use serde_json::json;

    fn message(time: &str, text: Option<&str>) -> EmailMessage {
        let mut body = json!({ "time": time, "htmlBody": "<p>never read</p>" });
        if let Some(text) = text {
            body["textBody"] = json!(text);
        }
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn plain_texts_oldest_first_without_html() {
        let joined = join(vec![
            message("2026-11-28T10:05:00Z", Some("Your card is blocked.\r\n\tBank")),
            message("2026-11-28T10:00:00Z", Some("I lost my card\u{0}.")),
            message("2026-11-28T10:03:00Z", None),
        ]);
        assert_eq!(joined, "I lost my card.\n\nYour card is blocked.\n\tBank");
    }
}
