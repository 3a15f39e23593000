//! Which way a communication went.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown direction: expected INBOUND or OUTBOUND")]
pub struct UnknownDirection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// Genesys `inbound`→INBOUND, `outbound`→OUTBOUND in any letter case; anything else (Genesys'
    /// own `UNKNOWN` included) is an error, as the integration spec says to throw.
    pub fn parse(input: &str) -> Result<Self, UnknownDirection> {
        if input.eq_ignore_ascii_case("inbound") {
            Ok(Self::Inbound)
        } else if input.eq_ignore_ascii_case("outbound") {
            Ok(Self::Outbound)
        } else {
            Err(UnknownDirection)
        }
    }

    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Inbound => "INBOUND",
            Self::Outbound => "OUTBOUND",
        }
    }
}

impl TryFrom<String> for Direction {
    type Error = UnknownDirection;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Direction> for &'static str {
    fn from(value: Direction) -> Self {
        value.as_str()
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn inbound_maps_to_inbound() {
        assert_eq!(Direction::parse("inbound"), Ok(Direction::Inbound));
        assert_eq!(Direction::parse("INBOUND"), Ok(Direction::Inbound));
    }

    #[test]
    fn outbound_maps_to_outbound() {
        assert_eq!(Direction::parse("outbound"), Ok(Direction::Outbound));
        assert_eq!(Direction::parse("OutBound"), Ok(Direction::Outbound));
    }

    #[test]
    fn anything_else_is_an_error() {
        for other in ["", "unknown", "UNKNOWN", "sideways", " inbound", "inbound ", "in"] {
            assert_eq!(Direction::parse(other), Err(UnknownDirection), "{other:?}");
        }
    }

    #[test]
    fn serialises_upper_case() {
        assert_eq!(serde_json::to_string(&Direction::Outbound).unwrap(), "\"OUTBOUND\"");
    }

    proptest! {
        #[test]
        fn any_letter_case_of_inbound_parses(mask in proptest::collection::vec(any::<bool>(), 7)) {
            let word: String = "inbound".chars().zip(mask)
                .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c }).collect();
            prop_assert_eq!(Direction::parse(&word), Ok(Direction::Inbound));
        }

        #[test]
        fn only_the_two_words_parse(input in "[a-zA-Z ]{0,12}") {
            let lower = input.to_ascii_lowercase();
            prop_assert_eq!(Direction::parse(&input).is_ok(), lower == "inbound" || lower == "outbound");
        }
    }
}
