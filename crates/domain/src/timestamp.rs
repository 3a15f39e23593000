//! Instants in time, as RFC 3339 text on the wire and UTC with microsecond precision inside.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid timestamp: expected RFC 3339 such as 2026-11-20T09:41:07.512Z")]
pub struct InvalidTimestamp;

/// A point in time, normalised to UTC and truncated to microseconds: the precision PostgreSQL
/// keeps, so a value reads back exactly as it was written on either backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Parses RFC 3339 (`Z` or a numeric offset). Years outside 1..=9999 are refused.
    pub fn parse(input: &str) -> Result<Self, InvalidTimestamp> {
        let parsed = OffsetDateTime::parse(input, &Rfc3339).map_err(|_| InvalidTimestamp)?;
        Self::from_offset_date_time(parsed).ok_or(InvalidTimestamp)
    }

    /// Converts, or `None` when the instant lies outside years 1..=9999 (as RFC 3339 requires).
    pub fn from_offset_date_time(value: OffsetDateTime) -> Option<Self> {
        let utc = value.to_offset(UtcOffset::UTC);
        if !(1..=9999).contains(&utc.year()) {
            return None;
        }
        let micros = utc.microsecond();
        utc.replace_microsecond(micros).ok().map(Self)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z (Genesys' detail events' `eventTime`), or `None`
    /// outside years 1..=9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        let nanos = i128::from(millis).checked_mul(1_000_000)?;
        Self::from_offset_date_time(OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?)
    }

    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self(now.replace_microsecond(now.microsecond()).unwrap_or(now))
    }

    pub const fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// RFC 3339 in UTC; sub-second digits only as many as the value needs.
    pub fn to_rfc3339(&self) -> String {
        // Formatting a UTC value between years 1 and 9999 cannot fail; the fallback is unreachable.
        self.0.format(&Rfc3339).unwrap_or_default()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = InvalidTimestamp;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Timestamp> for String {
    fn from(value: Timestamp) -> Self {
        value.to_rfc3339()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_offsets_to_utc() {
        let t = Timestamp::parse("2026-11-20T14:03:55+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T13:03:55Z");
    }

    #[test]
    fn keeps_milliseconds_as_sent() {
        let t = Timestamp::parse("2026-11-20T09:41:07.512Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T09:41:07.512Z");
    }

    #[test]
    fn truncates_to_microseconds() {
        let t = Timestamp::parse("2026-11-20T09:41:07.123456789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T09:41:07.123456Z");
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-11-20",
            "2026-11-20 09:41:07",
            "1700000000",
            "2026-13-01T00:00:00Z",
            "2026-11-20T09:41:07",
            "yesterday",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(InvalidTimestamp), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_same_instant(
            seconds in -62_135_596_800i64..253_402_300_799i64, micros in 0u32..1_000_000, offset_minutes in -720i32..=720
        ) {
            let base = OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                .replace_microsecond(micros).unwrap()
                .to_offset(UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap());
            if let Some(t) = Timestamp::from_offset_date_time(base) {
                prop_assert_eq!(Timestamp::parse(&t.to_rfc3339()).unwrap(), t);
                prop_assert_eq!(t.as_offset_date_time(), base);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(input in ".{0,40}") {
            let _ = Timestamp::parse(&input);
        }
    }
}
