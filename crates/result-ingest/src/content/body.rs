//! A record's body from a conversation's content: the parts of the record's kind (a transcript
//! for voice, chat and messaging, the e-mail's text for e-mail), a blank line between parts,
//! control and invisible format characters dropped ([`without_controls`]), cut to
//! `ingest.content.max_body_chars`.

use contracts::gateway::{ContentKind, ConversationContent};
use domain::text::{without_controls, CUT_MARK};
use domain::Channel;
use std::num::NonZeroU32;

/// The body of a `channel` record, at most `max_chars` characters; `None` when the content holds
/// nothing of its kind (a record's body waits for it as for a transcript not there yet).
pub fn body_of(content: &ConversationContent, channel: Channel, max_chars: NonZeroU32) -> Option<String> {
    let kind = match channel {
        Channel::Email => ContentKind::Email,
        _ => ContentKind::Transcript,
    };
    let texts: Vec<String> = content
        .parts
        .iter()
        .filter(|part| part.kind == kind)
        .map(|part| clean(&part.text))
        .filter(|text| !text.is_empty())
        .collect();
    if texts.is_empty() {
        return None;
    }
    Some(cut(&texts.join("\n\n"), max_chars))
}

/// Control and invisible format characters dropped (domain's one filter: the gateway applied it
/// already; again, as the writer checks again), surrounding white space trimmed.
fn clean(text: &str) -> String {
    without_controls(text).trim().to_owned()
}

/// `text` if it has at most `max_chars` characters; else its first `max_chars - 1` (at a
/// character's boundary, white space at the cut trimmed) and [`CUT_MARK`].
fn cut(text: &str, max_chars: NonZeroU32) -> String {
    let max = usize::try_from(max_chars.get()).unwrap_or(usize::MAX);
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let end = text.char_indices().nth(max - 1).map_or(text.len(), |(at, _)| at);
            format!("{}{CUT_MARK}", text[..end].trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use contracts::gateway::{ContentMediaType, ContentPart};

    fn content(parts: &[(ContentKind, &str)]) -> ConversationContent {
        ConversationContent {
            conversation_id: "c".to_owned(),
            parts: parts
                .iter()
                .enumerate()
                .map(|(n, (kind, text))| ContentPart {
                    communication_id: format!("s{n}"),
                    media_type: match kind {
                        ContentKind::Email => ContentMediaType::Email,
                        ContentKind::Transcript => ContentMediaType::Voice,
                    },
                    kind: *kind,
                    text: (*text).to_owned(),
                })
                .collect(),
        }
    }

    fn max(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn a_record_takes_the_parts_of_its_kind_a_blank_line_apart() {
        let both = content(&[
            (ContentKind::Transcript, "customer: hi\nagent: hello"),
            (ContentKind::Email, "Dear bank"),
            (ContentKind::Transcript, "customer: again"),
        ]);
        assert_eq!(
            body_of(&both, Channel::Voice, max(1000)).unwrap(),
            "customer: hi\nagent: hello\n\ncustomer: again"
        );
        assert_eq!(body_of(&both, Channel::Email, max(1000)).unwrap(), "Dear bank");
        let none = content(&[(ContentKind::Email, "Dear bank")]);
        assert_eq!(body_of(&none, Channel::Chat, max(1000)), None);
        let blank = content(&[(ContentKind::Transcript, " \u{7}\r ")]);
        assert_eq!(body_of(&blank, Channel::Voice, max(1000)), None);
    }

    #[test]
    fn control_characters_but_line_feeds_and_tabs_are_dropped() {
        let odd = content(&[(ContentKind::Transcript, "a\u{0}b\r\nc\td\u{1b}")]);
        assert_eq!(body_of(&odd, Channel::Voice, max(100)).unwrap(), "ab\nc\td");
        // Nor a bidi override or a zero-width space; a line separator is a line feed.
        let spoofed = content(&[(ContentKind::Transcript, "pay \u{202e}01\u{200b}\u{2028}ok")]);
        assert_eq!(body_of(&spoofed, Channel::Voice, max(100)).unwrap(), "pay 01\nok");
    }

    #[test]
    fn a_long_body_is_cut_at_a_character_boundary_and_marked() {
        let text = "žluťoučký kůň";
        let long = content(&[(ContentKind::Transcript, text)]);
        let body = body_of(&long, Channel::Voice, max(5)).unwrap();
        assert_eq!(body, "žluť…");
        assert_eq!(body.chars().count(), 5);
        // A cut at white space leaves none before the mark.
        assert_eq!(body_of(&long, Channel::Voice, max(11)).unwrap(), "žluťoučký…");
        // Exactly the size: whole.
        let exact = text.chars().count() as u32;
        assert_eq!(body_of(&long, Channel::Voice, max(exact)).unwrap(), text);
    }
}
