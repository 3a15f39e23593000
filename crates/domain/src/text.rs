//! Bounded free text: what a record's `source`, `title`, `purpose` and similar fields may hold;
//! and [`without_controls`], the one filter of text from outside (a transcript, an e-mail).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Text of `MIN..=MAX` characters (after trimming surrounding white space) without control
/// characters other than line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    pub fn parse(input: &str) -> Result<Self, InvalidText> {
        let trimmed = input.trim();
        let length = trimmed.chars().count();
        if length < MIN {
            return Err(InvalidText::Empty);
        }
        if length > MAX {
            return Err(InvalidText::TooLong { max: MAX });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(InvalidText::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text from outside that must fit rather than be refused (a webhook's subject, a name from
    /// Genesys): control characters other than line breaks and tabs are dropped, surrounding white
    /// space trimmed, and text longer than `MAX` characters cut to its first `MAX - 1` with `…`
    /// marking the cut. `None` when nothing of at least `MIN` characters is left.
    pub fn fitting(input: &str) -> Option<Self> {
        let cleaned: String = input
            .chars()
            .filter(|&c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .collect();
        let trimmed = cleaned.trim();
        let fitted = if trimmed.chars().count() > MAX {
            let kept: String = trimmed.chars().take(MAX.saturating_sub(1)).collect();
            format!("{}{CUT_MARK}", kept.trim_end())
        } else {
            trimmed.to_owned()
        };
        Self::parse(&fitted).ok()
    }
}

/// What ends a text [`BoundedText::fitting`] had to cut.
pub const CUT_MARK: char = '…';

/// `text` as it may be shown: without control characters (`Cc`) other than `\n` and `\t` (a
/// NUL, an escape sequence or a bell can harm what displays it; a `\r\n` becomes `\n`), without
/// the invisible format characters that reorder or hide text (bidi overrides, embeddings and
/// isolates, marks, zero-width characters, the byte-order mark: a customer's words could otherwise
/// display reversed or spoofed in the back office), and with the line and paragraph separators
/// (U+2028, U+2029) as `\n`.
pub fn without_controls(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\t' => Some(c),
            '\u{2028}' | '\u{2029}' => Some('\n'),
            c if c.is_control() || is_invisible_format(c) => None,
            c => Some(c),
        })
        .collect()
}

/// The format characters (`Cf`) that change how text around them displays, or hide: soft
/// hyphen, Arabic letter mark, Mongolian vowel separator, zero-width space/joiners and the
/// left-to-right/right-to-left marks, the bidi embeddings and overrides, word joiner and
/// invisible operators, the bidi isolates, deprecated format controls, the byte-order mark
/// (zero-width no-break space) and interlinear annotation controls.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

impl<const MIN: usize, const MAX: usize> TryFrom<String> for BoundedText<MIN, MAX> {
    type Error = InvalidText;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<const MIN: usize, const MAX: usize> From<BoundedText<MIN, MAX>> for String {
    fn from(text: BoundedText<MIN, MAX>) -> Self {
        text.0
    }
}

impl<const MIN: usize, const MAX: usize> AsRef<str> for BoundedText<MIN, MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for BoundedText<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Title = BoundedText<1, 10>;
    type Body = BoundedText<0, 10>;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(Title::parse("  hi \n").unwrap().as_str(), "hi");
        assert_eq!(Title::parse("   "), Err(InvalidText::Empty));
        assert_eq!(Body::parse("").unwrap().as_str(), "");
        assert_eq!(Title::parse("01234567890"), Err(InvalidText::TooLong { max: 10 }));
        assert_eq!(Title::parse("a\u{0}b"), Err(InvalidText::ControlCharacter));
        assert_eq!(Title::parse("a\nb").unwrap().as_str(), "a\nb");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Title::parse("ŽŽŽŽŽŽŽŽŽŽ").is_ok());
    }

    #[test]
    fn fitting_drops_control_characters_and_marks_a_cut() {
        assert_eq!(Title::fitting("a\u{0}b\u{7f}\tc").unwrap().as_str(), "ab\tc");
        assert_eq!(Title::fitting("0123456789").unwrap().as_str(), "0123456789");
        assert_eq!(Title::fitting("0123456789x").unwrap().as_str(), "012345678…");
        assert_eq!(Title::fitting("ŽŽŽŽŽŽŽŽŽŽŽŽ").unwrap().as_str(), "ŽŽŽŽŽŽŽŽŽ…");
        assert_eq!(Title::fitting(" \u{1} "), None);
    }

    #[test]
    fn without_controls_keeps_line_feeds_and_tabs_only() {
        assert_eq!(
            without_controls("Dear\u{7} bank,\r\n\tmy card\u{0}\u{1b}[31m is lost.\u{85}\u{9f}\u{7f}"),
            "Dear bank,\n\tmy card[31m is lost."
        );
        assert_eq!(without_controls("čeština – ok ✓ 👍🏽"), "čeština – ok ✓ 👍🏽");
    }

    #[test]
    fn without_controls_drops_bidi_and_invisible_format_characters() {
        // "invoice" shown reversed by a right-to-left override; isolates, marks, zero-width
        // characters and a byte-order mark around it.
        assert_eq!(
            without_controls("\u{FEFF}pay \u{202E}eciovni\u{202C} now\u{200B}\u{200C}\u{200D}\u{200E}\u{200F}"),
            "pay eciovni now"
        );
        assert_eq!(
            without_controls(
                "a\u{2066}b\u{2067}c\u{2068}d\u{2069}e\u{202A}f\u{202B}g\u{202D}h\u{061C}i\u{2060}j\u{00AD}k"
            ),
            "abcdefghijk"
        );
    }

    #[test]
    fn without_controls_makes_line_and_paragraph_separators_line_feeds() {
        assert_eq!(without_controls("one\u{2028}two\u{2029}three"), "one\ntwo\nthree");
    }

    /// A character `without_controls` may leave.
    fn shown(c: char) -> bool {
        let separator = c == '\u{2028}' || c == '\u{2029}';
        matches!(c, '\n' | '\t') || !(c.is_control() || is_invisible_format(c) || separator)
    }

    proptest! {
        #[test]
        fn without_controls_leaves_nothing_it_drops(input in "\\PC{0,30}|[\\x00-\\x20\u{200B}-\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{2028}\u{FEFF}a]{0,30}") {
            let kept = without_controls(&input);
            prop_assert!(kept.chars().all(shown), "{:?}", kept);
            prop_assert_eq!(without_controls(&kept), kept.clone(), "once is enough");
        }


        #[test]
        fn fitting_text_always_parses(input in "\\PC{0,30}|[\\x00-\\x20a]{0,30}") {
            if let Some(text) = Title::fitting(&input) {
                prop_assert_eq!(Title::parse(text.as_str()), Ok(text.clone()));
            }
        }

        #[test]
        fn accepted_text_is_trimmed_and_within_bounds(input in "\\PC{0,20}") {
            if let Ok(text) = Title::parse(&input) {
                let n = text.as_str().chars().count();
                prop_assert!((1..=10).contains(&n));
                prop_assert_eq!(text.as_str().trim(), text.as_str());
            }
        }
    }
}
