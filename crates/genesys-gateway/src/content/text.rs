//! What of a transcript's phrase is passed on: the text as `domain::text::without_controls`
//! leaves it (the one filter of text from outside), on one line.

/// `text` on one line: without control and invisible format characters, each run of whitespace
/// (line breaks and tabs included) one space, trimmed. A transcript's phrase, which is one line
/// of its own.
pub fn one_line(text: &str) -> String {
    let kept = domain::text::without_controls(text);
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_is_one_line_without_controls_or_bidi_overrides() {
        assert_eq!(one_line("  my card\n is\tlost\u{0} "), "my card is lost");
        assert_eq!(one_line("call\u{2028}me \u{202E}5421\u{202C}\u{200B}"), "call me 5421");
    }
}
