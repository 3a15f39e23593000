//! What of a text is passed on: control characters are dropped (a NUL, an escape sequence or a
//! bell has no place in a record's body and can harm what displays it), except line feeds and
//! tabs, which shape the text.

/// `text` without control characters other than `\n` and `\t`; a `\r\n` becomes `\n`.
pub fn without_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// `text` on one line: without control characters, each run of whitespace (line breaks and tabs
/// included) one space, trimmed. A transcript's phrase, which is one line of its own.
pub fn one_line(text: &str) -> String {
    let kept = without_controls(text);
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_dropped_but_line_feeds_and_tabs_kept() {
        assert_eq!(
            without_controls("Dear\u{7} bank,\r\n\tmy card\u{0}\u{1b}[31m is lost.\u{85}\u{9f}"),
            "Dear bank,\n\tmy card[31m is lost."
        );
        assert_eq!(without_controls("čeština – ok ✓"), "čeština – ok ✓");
    }

    #[test]
    fn a_phrase_is_one_line() {
        assert_eq!(one_line("  my card\n is\tlost\u{0} "), "my card is lost");
    }
}
