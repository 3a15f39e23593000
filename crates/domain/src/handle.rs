//! How a customer was reached (an ANI, an e-mail address, …) and the normalised key that finds
//! every record of the same person whatever form Genesys wrote the address in.

use crate::text::{BoundedText, InvalidText};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The customer's address exactly as the source sent it (`tel:+420…`, `sip:+420…@host;user=phone`,
/// `client@example.com`, …), trimmed, 1 to 512 characters. Personal data: never log it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerHandle(BoundedText<1, 512>);

impl CustomerHandle {
    pub fn parse(input: &str) -> Result<Self, InvalidText> {
        BoundedText::parse(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The search key stored beside the handle, national numbers read in `normaliser`'s region.
    pub fn key(&self, normaliser: &HandleNormaliser) -> HandleKey {
        normaliser.key(self.as_str())
    }
}

// Personal data: keep it out of `{:?}` so a stray debug log cannot leak it.
impl fmt::Debug for CustomerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomerHandle(<redacted>)")
    }
}

impl TryFrom<String> for CustomerHandle {
    type Error = InvalidText;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerHandle> for String {
    fn from(value: CustomerHandle) -> Self {
        value.0.into()
    }
}

/// A normalised form of a handle, so that `tel:+420 601 123 456`, `sip:+420601123456@10.0.0.7`
/// and `+420601123456` all find the same records.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum HandleKey {
    /// E.164, e.g. `+420601123456`.
    Phone(String),
    /// Lower-case e-mail address.
    Email(String),
    /// Anything else, trimmed and lower-cased.
    Other(String),
}

impl HandleKey {
    /// The key of `handle` when no default region is configured: a number without a country code
    /// is no phone number.
    pub fn of(handle: &str) -> Self {
        HandleNormaliser::default().key(handle)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Phone(key) | Self::Email(key) | Self::Other(key) => key,
        }
    }
}

impl fmt::Debug for HandleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Phone(_) => "Phone",
            Self::Email(_) => "Email",
            Self::Other(_) => "Other",
        };
        write!(f, "HandleKey::{kind}(<redacted>)")
    }
}

/// Turns handles into [`HandleKey`]s, reading national numbers (`tel:601123456`, no country
/// code) in a configured default region. Without one such a number is not guessed into a country:
/// guessing wrong would merge strangers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandleNormaliser {
    default_region: Option<phonenumber::country::Id>,
}

impl HandleNormaliser {
    /// `""` for none, else an ISO 3166 region code such as `CZ` (any letter case).
    pub fn with_region(code: &str) -> Result<Self, String> {
        let code = code.trim();
        if code.is_empty() {
            return Ok(Self::default());
        }
        code.to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(|id| Self {
                default_region: Some(id),
            })
            .map_err(|_| "not a region code the phone number library knows (e.g. CZ, SK, DE)".to_owned())
    }

    pub fn key(&self, handle: &str) -> HandleKey {
        let trimmed = handle.trim();
        let address = strip_scheme(trimmed);
        if let Some(e164) = phone_e164(address, self.default_region) {
            return HandleKey::Phone(e164);
        }
        if let Some(email) = email(address) {
            return HandleKey::Email(email);
        }
        HandleKey::Other(trimmed.to_lowercase())
    }
}

/// `tel:X;params` → `X`; `sip:user@host;params` / `sips:` → `user`; `mailto:X` → `X`.
fn strip_scheme(handle: &str) -> &str {
    let lower_prefix = |prefix: &str| {
        handle
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if lower_prefix("tel:") {
        let rest = &handle[4..];
        rest.split(';').next().unwrap_or(rest)
    } else if lower_prefix("sip:") || lower_prefix("sips:") {
        let rest = handle.split_once(':').map_or(handle, |(_, rest)| rest);
        let user = rest.split(';').next().unwrap_or(rest);
        user.split('@').next().unwrap_or(user)
    } else if lower_prefix("mailto:") {
        &handle[7..]
    } else {
        handle
    }
}

fn phone_e164(address: &str, default_region: Option<phonenumber::country::Id>) -> Option<String> {
    // Digits and the punctuation people write numbers with; no letters, which the phone number
    // parser would read as keypad digits (`+1-800-FLOWERS`), turning text into numbers.
    if !address.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        return None;
    }
    // Without a leading `+` the country is the configured region's, or unknown: guessing one
    // would merge strangers. A national number must be a valid one of that region.
    if !address.starts_with('+') {
        let region = default_region?;
        let number = phonenumber::parse(Some(region), address).ok()?;
        if !number.is_valid() {
            return None;
        }
        let key = number.format().mode(phonenumber::Mode::E164).to_string();
        return phone_e164(&key, None);
    }
    let e164 = |text: &str| {
        phonenumber::parse(None, text)
            .ok()
            .map(|number| number.format().mode(phonenumber::Mode::E164).to_string())
    };
    let key = e164(address)?;
    // Already in E.164 (what Genesys sends): parsing the key again is parsing the address again.
    if key == address {
        return Some(key);
    }
    // Some garbage parses into a number that parses differently again (`+(x*-0000000008` →
    // `+9000000008` → `+90000008`, found by `just fuzz`): a key must be its own key, or two forms
    // of one address would not meet.
    (e164(&key).as_deref() == Some(key.as_str())).then_some(key)
}

fn email(address: &str) -> Option<String> {
    let (local, domain) = address.split_once('@')?;
    let plausible =
        !local.is_empty() && domain.contains('.') && !domain.contains('@') && !address.chars().any(char::is_whitespace);
    plausible.then(|| address.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(handle: &str) -> HandleKey {
        HandleKey::of(handle)
    }

    #[test]
    fn phone_forms_genesys_sends_share_one_e164_key() {
        let expected = HandleKey::Phone("+420601123456".into());
        assert_eq!(key("tel:+420601123456"), expected);
        assert_eq!(key("TEL:+420 601 123 456"), expected);
        assert_eq!(key("sip:+420601123456@10.0.0.7;user=phone"), expected);
        assert_eq!(key("sips:+420601123456@pbx.example.com"), expected);
        assert_eq!(key("+420601123456"), expected);
        assert_eq!(key(" +420-601-123-456 "), expected);
    }

    #[test]
    fn e_mail_is_lower_cased() {
        assert_eq!(key("Client@Example.COM"), HandleKey::Email("client@example.com".into()));
        assert_eq!(
            key("mailto:client@example.com"),
            HandleKey::Email("client@example.com".into())
        );
    }

    #[test]
    fn anything_else_is_kept_lower_cased() {
        assert_eq!(
            key("sip:IPadPhone@172.18.182.10"),
            HandleKey::Other("sip:ipadphone@172.18.182.10".into())
        );
        assert_eq!(key("601123456"), HandleKey::Other("601123456".into()));
        assert_eq!(key("@someone"), HandleKey::Other("@someone".into()));
    }

    #[test]
    fn a_number_that_does_not_parse_back_to_itself_is_no_phone_key() {
        // Found by the handle_key fuzz target.
        for input in ["+(x*-0000000008", "+(2xxX111xxX111"] {
            let key = key(input);
            assert_eq!(key, HandleKey::of(key.as_str()), "{input}");
            assert!(!matches!(key, HandleKey::Phone(_)), "{input}");
        }
        assert!(matches!(key("+1-800-FLOWERS"), HandleKey::Other(_)));
    }

    #[test]
    fn debug_output_hides_the_personal_data() {
        let handle = CustomerHandle::parse("tel:+420601123456").unwrap();
        assert!(!format!("{handle:?}").contains("420"));
        assert!(!format!("{:?}", handle.key(&HandleNormaliser::default())).contains("420"));
    }

    #[test]
    fn national_numbers_are_read_in_the_configured_region_only() {
        let czech = HandleNormaliser::with_region("cz").unwrap();
        let expected = HandleKey::Phone("+420601123456".into());
        for national in ["tel:601123456", "601 123 456", "sip:601123456@10.0.0.7;user=phone"] {
            assert_eq!(czech.key(national), expected, "{national}");
        }
        assert_eq!(czech.key("tel:+420601123456"), expected);
        // Not a valid Czech number: left as it is, never guessed into one.
        assert!(matches!(czech.key("tel:12"), HandleKey::Other(_)));
        assert!(matches!(key("tel:601123456"), HandleKey::Other(_)));
        assert!(HandleNormaliser::with_region("XX").is_err());
        assert_eq!(HandleNormaliser::with_region("").unwrap(), HandleNormaliser::default());
    }

    #[test]
    fn handle_must_not_be_empty_or_huge() {
        assert!(CustomerHandle::parse("  ").is_err());
        assert!(CustomerHandle::parse(&"1".repeat(513)).is_err());
    }

    proptest! {
        #[test]
        fn tel_sip_and_bare_forms_agree(national in "[1-9][0-9]{8}") {
            let bare = format!("+420{national}");
            let tel = key(&format!("tel:{bare}"));
            let sip = key(&format!("sip:{bare}@10.0.0.7;user=phone"));
            prop_assert_eq!(&tel, &key(&bare));
            prop_assert_eq!(&tel, &sip);
        }

        #[test]
        fn keys_are_stable_under_normalisation(input in "\\PC{1,40}") {
            for normaliser in [HandleNormaliser::default(), HandleNormaliser::with_region("CZ").unwrap()] {
                let first = normaliser.key(&input);
                // The key of a key is itself: normalising twice changes nothing.
                let second = normaliser.key(first.as_str());
                prop_assert_eq!(second.as_str(), first.as_str());
            }
        }
    }
}
