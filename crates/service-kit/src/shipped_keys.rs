//! Keys shipped in the repository: the development keys of the embedded defaults, genesys-sim's
//! and devstack's, the example and CI values of the Helm chart, the docs' examples. They are
//! public (in git history for good), so outside `application.environment = "development"` a
//! setting that holds one is refused, by value, whatever prefix was taken off or put on.
//!
//! The list is `shipped-keys.txt` (the chart holds a copy in `files/`). It is generated, never
//! kept by hand: `cargo test -p service-kit --test shipped_keys` walks the repository for every
//! secret-looking setting with a value and fails, naming each one, while the list lacks it
//! (`UPDATE_SHIPPED_KEYS=1` adds them). Lines are never removed.
//!
//! How a value is matched (the same in the chart's `ccbridge.shippedKey`): a configured value is a
//! shipped key when it, or the password of a URL it holds (`scheme://user:password@host`),
//! contains the last [`TAIL_CHARS`] characters of a shipped value; a shipped value shorter than
//! that (a placeholder database password) only when equal to it. So stripping
//! `development-only-`, `development-only-ed25519:` or any other prefix, or putting `prod-` in
//! its place, still matches; what is left after cutting all but a few characters of the end is no
//! shipped key any more (and too short for any key setting).

/// A shipped value's distinctive tail: this many characters from its end. Long enough that a key
/// of the bank's own never holds one by chance (12 base64 characters are 72 bits), short enough
/// to be inside any key setting's minimum length (16 for tokens, 32 for HMAC keys).
pub const TAIL_CHARS: usize = 12;

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

/// `shipped`'s last [`TAIL_CHARS`] characters, or `None` when it is shorter.
fn tail(shipped: &str) -> Option<&str> {
    let count = shipped.chars().count();
    if count < TAIL_CHARS {
        return None;
    }
    shipped
        .char_indices()
        .nth(count - TAIL_CHARS)
        .map(|(at, _)| &shipped[at..])
}

/// Whether `value` is (or holds) a shipped key, as the module says.
pub fn matches(value: &str, shipped: &str) -> bool {
    let candidates = [Some(value), url_password(value)];
    candidates.into_iter().flatten().any(|candidate| match tail(shipped) {
        Some(tail) => candidate.contains(tail),
        None => candidate == shipped,
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
    fn a_tail_matches_with_any_prefix_and_a_short_value_only_whole() {
        let shipped = "development-only-aes256:Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=";
        assert!(matches(shipped, shipped));
        assert!(matches("aes256:Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=", shipped));
        assert!(matches("prod-fexx+yWTpxQ=", shipped));
        assert!(!matches("aes256:AAAAwoLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQA", shipped));
        assert!(matches("postgres://u:placeholder@db/x", "placeholder"));
        assert!(!matches("postgres://u:placeholder2@db/x", "placeholder"));
        assert!(!matches("a-placeholder-name", "placeholder"));
        assert_eq!(url_password("postgres://user:pa:ss@host:5432/db?x=1"), Some("pa:ss"));
        assert_eq!(url_password("sqlite://file.db"), None);
        assert_eq!(url_password("https://host/path@x"), None);
    }
}
