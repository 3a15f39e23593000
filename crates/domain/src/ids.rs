//! Typed identifiers: a `CustomerId` can never be passed where an `InteractionId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// An identifier that failed to parse; says which kind was expected, never echoes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}: expected a UUID such as 5773eca4-0874-4617-a6e8-85591aa94609")]
pub struct InvalidId {
    kind: &'static str,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// Parses the hyphenated (or simple) UUID form; braces, URNs and other forms are refused.
            pub fn parse(input: &str) -> Result<Self, InvalidId> {
                let looks_like_uuid = matches!(input.len(), 32 | 36)
                    && input.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
                match Uuid::try_parse(input) {
                    Ok(uuid) if looks_like_uuid => Ok(Self(uuid)),
                    _ => Err(InvalidId { kind: $kind }),
                }
            }

            /// Wraps a UUID already known to be valid (from our own database or generator).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0.hyphenated().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(
    /// A bank customer, as the back office knows them.
    CustomerId,
    "customer id"
);
uuid_id!(
    /// A Genesys Cloud conversation (the "interaction" BOFE pairs with a customer).
    InteractionId,
    "interaction id"
);
uuid_id!(
    /// A Genesys Cloud user (the agent who handled the interaction).
    GenesysUserId,
    "Genesys user id"
);
uuid_id!(
    /// A stored communication record.
    CommunicationRecordId,
    "communication record id"
);

impl CommunicationRecordId {
    /// A new, time-ordered id (UUIDv7), so ids of records inserted together sort together.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

/// A back-office user id. The back office owns its format, so it is opaque text: trimmed,
/// non-empty, at most 128 characters, no control characters.
pub type BankUserId = crate::text::BoundedText<1, 128>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_hyphenated_and_simple_forms_and_normalises_to_lower_case() {
        let id = CustomerId::parse("2B0E4C55-7D1F-4A2E-9C61-3F8E2D9A1B07").unwrap();
        assert_eq!(id.to_string(), "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
        let simple = CustomerId::parse("2b0e4c557d1f4a2e9c613f8e2d9a1b07").unwrap();
        assert_eq!(simple, id);
    }

    #[test]
    fn refuses_non_uuids_without_echoing_them() {
        for bad in [
            "",
            "42",
            "not-a-uuid",
            "{2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07}",
            "urn:uuid:2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
            "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b0g",
        ] {
            let err = InteractionId::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("not a valid interaction id"));
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad));
            }
        }
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let id = InteractionId::parse("5773eca4-0874-4617-a6e8-85591aa94609").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"5773eca4-0874-4617-a6e8-85591aa94609\""
        );
        let back: InteractionId = serde_json::from_str("\"5773eca4-0874-4617-a6e8-85591aa94609\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<InteractionId>("42").is_err());
    }

    #[test]
    fn generated_record_ids_are_time_ordered() {
        let first = CommunicationRecordId::generate();
        let second = CommunicationRecordId::generate();
        assert!(first < second);
    }

    proptest! {
        #[test]
        fn any_uuid_round_trips_through_its_text(bytes in any::<[u8; 16]>()) {
            let uuid = Uuid::from_bytes(bytes);
            let id = CustomerId::parse(&uuid.to_string()).unwrap();
            prop_assert_eq!(id.as_uuid(), &uuid);
            prop_assert_eq!(CustomerId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn arbitrary_text_never_panics(input in ".{0,64}") {
            let _ = GenesysUserId::parse(&input);
        }
    }
}
