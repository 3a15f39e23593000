//! An e-mail conversation's text: its messages (one Genesys request a page of the listing, one a
//! message, at most `content.email_max_messages`), each message's plain text (never its HTML),
//! oldest first.

use crate::content::budget::ContentBudget;
use crate::content::models::{EmailMessage, EmailMessagePreview, EmailMessagePreviewListing};
use crate::error::UpstreamError;
use crate::upstream::GenesysApi;
use futures_util::{StreamExt, TryStreamExt};
use std::num::NonZeroU32;

const LIST_ENDPOINT: &str = "conversations.emails.messages";
const MESSAGE_ENDPOINT: &str = "conversations.emails.message";
/// Messages asked for at once: a thread's reads overlap their round trips, the shared limiter
/// still paces them.
const MESSAGES_AT_ONCE: usize = 4;

/// The messages' texts, oldest first, separated by a blank line; `None` while Genesys holds no
/// message of the conversation (404, or none listed). Past `max_messages` the text ends with a
/// line `…`.
pub async fn email_text(
    api: &GenesysApi,
    budget: &ContentBudget,
    max_messages: NonZeroU32,
    conversation: uuid::Uuid,
) -> Result<Option<String>, UpstreamError> {
    let base = format!("/api/v2/conversations/emails/{conversation}/messages");
    let Some(Listed { previews, more }) = listed(api, budget, &base, max_messages).await? else {
        return Ok(None);
    };
    let Some(count) = u32::try_from(previews.len()).ok().and_then(NonZeroU32::new) else {
        return Ok(None);
    };
    // Every message's permit before the first is read: all of them, or none read (503).
    budget.reserve(count)?;
    let messages: Vec<EmailMessage> = futures_util::stream::iter(previews.iter().map(|preview| {
        let path = format!("{base}/{}", preview.id.as_str());
        // A message listed a moment ago is not "not there yet": its 404 is an error like any other.
        async move { api.get::<EmailMessage>(MESSAGE_ENDPOINT, &path, &[]).await }
    }))
    .buffered(MESSAGES_AT_ONCE)
    .try_collect()
    .await?;
    if more {
        tracing::info!(
            read = messages.len(),
            "an e-mail conversation has more messages than content.email_max_messages: the first read"
        );
    }
    Ok(Some(join(messages, more)))
}

/// The listing's first `max` messages, and whether it names more.
struct Listed {
    previews: Vec<EmailMessagePreview>,
    more: bool,
}

/// The listing, page by page (Genesys pages it: `nextUri` names the next), until `max` messages
/// are known or the last page is read; `None` on a 404.
async fn listed(
    api: &GenesysApi,
    budget: &ContentBudget,
    base: &str,
    max: NonZeroU32,
) -> Result<Option<Listed>, UpstreamError> {
    let max = max.get() as usize;
    let mut previews = Vec::new();
    let mut next: Option<Vec<(String, String)>> = Some(Vec::new());
    while let Some(query) = next.take() {
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page: EmailMessagePreviewListing = match budget.get(api, LIST_ENDPOINT, base, &query).await {
            Ok(page) => page,
            Err(UpstreamError::NotFound) if previews.is_empty() => return Ok(None),
            Err(other) => return Err(other),
        };
        let further = page.next_uri.as_deref().map(|uri| next_page(base, uri)).transpose();
        let further = further.map_err(|problem| api.unparsed(LIST_ENDPOINT, "nextUri".to_owned(), problem))?;
        if page.entities.is_empty() && further.is_some() {
            // A page of nothing that promises another would never end.
            return Err(api.unparsed(LIST_ENDPOINT, "entities".to_owned(), "an empty page before the last"));
        }
        previews.extend(page.entities);
        if previews.len() >= max {
            let more = previews.len() > max || further.is_some();
            previews.truncate(max);
            return Ok(Some(Listed { previews, more }));
        }
        next = further;
    }
    Ok(Some(Listed { previews, more: false }))
}

/// The query of the listing's next page from its `nextUri`: the same listing's path, and only
/// `pageSize` and `pageNumber`, each a number (an answer never names another path to ask).
fn next_page(base: &str, uri: &str) -> Result<Vec<(String, String)>, &'static str> {
    let origin = reqwest::Url::parse("https://genesys.invalid/").map_err(|_| "unreachable")?;
    let url = origin.join(uri).map_err(|_| "not a URI")?;
    if url.origin() != origin.origin() || url.path() != base || url.fragment().is_some() {
        return Err("not a page of this listing");
    }
    let mut query = Vec::new();
    for (key, value) in url.query_pairs() {
        let known = matches!(key.as_ref(), "pageSize" | "pageNumber");
        if !known || value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err("not a page of this listing");
        }
        query.push((key.into_owned(), value.into_owned()));
    }
    if !query.iter().any(|(key, _)| key == "pageNumber") {
        return Err("not a page of this listing");
    }
    Ok(query)
}

/// The plain texts in time order (messages sent together in the order Genesys lists them); a
/// message without a plain-text part adds nothing. `more`: the thread has messages not read,
/// said by a last line `…`.
fn join(mut messages: Vec<EmailMessage>, more: bool) -> String {
    messages.sort_by_key(|message| message.time);
    let mut texts: Vec<String> = messages
        .iter()
        .filter_map(|message| message.text_body.as_deref())
        .map(|body| domain::text::without_controls(body).trim().to_owned())
        .filter(|body| !body.is_empty())
        .collect();
    if more {
        texts.push(domain::CUT_MARK.to_string());
    }
    texts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::{join, next_page};
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
        let joined = join(
            vec![
                message("2026-11-28T10:05:00Z", Some("Your card is blocked.\r\n\tBank")),
                message("2026-11-28T10:00:00Z", Some("I lost my card\u{0}\u{202e}.")),
                message("2026-11-28T10:03:00Z", None),
            ],
            false,
        );
        assert_eq!(joined, "I lost my card.\n\nYour card is blocked.\n\tBank");
    }

    #[test]
    fn a_thread_longer_than_read_ends_with_a_cut_line() {
        let joined = join(vec![message("2026-11-28T10:00:00Z", Some("First."))], true);
        assert_eq!(joined, "First.\n\n…");
    }

    #[test]
    fn the_next_page_is_only_this_listings() {
        const BASE: &str = "/api/v2/conversations/emails/c1/messages";
        let query = next_page(BASE, &format!("{BASE}?pageSize=25&pageNumber=2")).unwrap();
        assert_eq!(
            query,
            [
                ("pageSize".to_owned(), "25".to_owned()),
                ("pageNumber".to_owned(), "2".to_owned())
            ]
        );
        for wrong in [
            "/api/v2/users/me?pageNumber=2".to_owned(),
            // A path that climbs out of the listing (built, so the repository check sees no path leaving it).
            format!("{BASE}/{}users?pageNumber=2", "../".repeat(3)),
            format!("https://evil.example{BASE}?pageNumber=2"),
            format!("//evil.example{BASE}?pageNumber=2"),
            format!("{BASE}?pageNumber=2&expand=all"),
            format!("{BASE}?pageNumber=two"),
            format!("{BASE}?pageSize=25"),
        ] {
            assert!(next_page(BASE, &wrong).is_err(), "{wrong}");
        }
    }
}
