//! Keys shipped in the repository: the development keys of the embedded defaults, genesys-sim's
//! and devstack's, the example and CI values of the Helm chart, the docs' examples. They are
//! public (in git history for good), so outside `application.environment = "development"` a
//! setting that holds one is refused, by value, whatever was cut off its head or tail or put on.
//!
//! The list is `shipped-keys.txt` (the chart holds a copy in `files/`). It is generated, never
//! kept by hand: `cargo test -p service-kit --test shipped_keys` walks the repository for every
//! secret-looking setting with a value and fails, naming each one, while the list lacks it
//! (`UPDATE_SHIPPED_KEYS=1` adds them). Lines are never removed.
//!
//! How a value is matched (the same in the chart's `ccbridge.shippedKey`): a configured value is a
//! shipped key when it, or the password of a URL it holds (`scheme://user:password@host`),
//! shares any [`WINDOW_CHARS`] consecutive characters with a shipped value; a shipped value
//! shorter than that (a placeholder database password) only when equal to it. So a shipped value
//! with its head cut (`development-only-`, `development-only-ed25519:`, any other prefix), its tail
//! cut, both, or set in the middle of a longer string is still refused, whatever was put in place
//! of what was cut: what is left of it is known text as long as it holds 12 of its characters in a
//! row.

/// The length of a shipped value's windows: a configured value that holds any run of this many of
/// a shipped value's consecutive characters is refused. Long enough that a key of the bank's own
/// never holds one by chance (12 base64 characters are 72 bits), short enough to be inside any key
/// setting's minimum length (16 for tokens, 32 for HMAC keys).
pub const WINDOW_CHARS: usize = 12;

/// The list, one value a line; `#` starts a comment.
pub const LIST: &str = include_str!("../shipped-keys.txt");

/// The shipped values.
pub fn shipped() -> impl Iterator<Item = &'static str> {
    LIST.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The password of `scheme://user:password@host…`, if the value is such a URL.
pub fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `shipped`'s windows: every run of [`WINDOW_CHARS`] consecutive characters, none when it is
/// shorter.
pub fn windows(shipped: &str) -> impl Iterator<Item = &str> {
    // Where each character starts, and the end.
    let bounds: Vec<usize> = shipped
        .char_indices()
        .map(|(at, _)| at)
        .chain([shipped.len()])
        .collect();
    let ends = bounds.clone().into_iter().skip(WINDOW_CHARS);
    bounds
        .into_iter()
        .zip(ends)
        .map(move |(start, end)| &shipped[start..end])
}

/// Whether `value` is (or holds) a shipped key, as the module says.
pub fn matches(value: &str, shipped: &str) -> bool {
    let candidates = [Some(value), url_password(value)];
    candidates.into_iter().flatten().any(|candidate| {
        if shipped.chars().count() < WINDOW_CHARS {
            candidate == shipped
        } else {
            windows(shipped).any(|window| candidate.contains(window))
        }
    })
}

/// Whether `value` is a key shipped in the repository.
pub fn is_shipped(value: &str) -> bool {
    shipped().any(|shipped| matches(value, shipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_matches_wherever_it_is_and_a_short_value_only_whole() {
        let shipped = "development-only-aes256:Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=";
        assert!(matches(shipped, shipped));
        assert!(matches("aes256:Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=", shipped));
        assert!(matches("prod-fexx+yWTpxQ=", shipped));
        // The tail cut, the head and the tail cut, in the middle of another string.
        assert!(matches("development-only-aes256:Tnx3woLd8TeJ", shipped));
        assert!(matches("aes256:Tnx3woLd8TeJcY6V6J6oZ3", shipped));
        assert!(matches("bank-prod-3woLd8TeJcY6-2026", shipped));
        // Eleven in a row are not enough.
        assert!(!matches("Q3woLd8TeJcYQ", shipped));
        assert!(!matches(
            "aes256:AAAAwoLAAATeJAAAV6JAAAZ3VAAAdA8AAAwZfAAA+yWAAAxQA",
            shipped
        ));
        assert!(matches("postgres://u:placeholder@db/x", "placeholder"));
        assert!(!matches("postgres://u:placeholder2@db/x", "placeholder"));
        assert!(!matches("a-placeholder-name", "placeholder"));
        assert_eq!(url_password("postgres://user:pa:ss@host:5432/db?x=1"), Some("pa:ss"));
        assert_eq!(url_password("sqlite://file.db"), None);
        assert_eq!(url_password("https://host/path@x"), None);
    }

    #[test]
    fn windows_are_every_run_of_twelve_characters() {
        assert_eq!(windows("0123456789a").count(), 0);
        assert_eq!(windows("0123456789ab").collect::<Vec<_>>(), ["0123456789ab"]);
        assert_eq!(
            windows("ä123456789abc").collect::<Vec<_>>(),
            ["ä123456789ab", "123456789abc"]
        );
    }
}
