//! The bank's calendar months (`gdpr.time_zone`): which month an instant falls in, and the
//! instant a month begins. The IANA database is compiled in (jiff's `tzdb-bundle-always`): a
//! container without /usr/share/zoneinfo reads the same zones.

use contracts::report::Month;
use domain::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// Calendar months in one time zone.
#[derive(Debug, Clone)]
pub struct BankMonths {
    zone: TimeZone,
    name: String,
}

impl BankMonths {
    /// The zone of an IANA name (`Europe/Prague`).
    pub fn named(name: &str) -> Result<Self, String> {
        let name = name.trim();
        TimeZone::get(name)
            .map(|zone| Self {
                zone,
                name: name.to_owned(),
            })
            .map_err(|_| "not a time zone of the IANA database (such as Europe/Prague)".to_owned())
    }

    /// The IANA name, as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone itself, for whatever else reads dates in the bank's time.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The month `at` falls in, in this zone.
    pub fn month_of(&self, at: Timestamp) -> Option<Month> {
        let nanos = at.as_offset_date_time().unix_timestamp_nanos();
        let zoned = jiff::Timestamp::from_nanosecond(nanos)
            .ok()?
            .to_zoned(self.zone.clone());
        Month::new(u16::try_from(zoned.year()).ok()?, u8::try_from(zoned.month()).ok()?)
    }

    /// The instant `month` begins in this zone (its first day's first instant).
    pub fn start_of(&self, month: Month) -> Option<Timestamp> {
        let date =
            jiff::civil::Date::new(i16::try_from(month.year()).ok()?, i8::try_from(month.month()).ok()?, 1).ok()?;
        let nanos = date.to_zoned(self.zone.clone()).ok()?.timestamp().as_nanosecond();
        Timestamp::from_offset_date_time(time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?)
    }
}

/// `gdpr.time_zone`, read into its zone at start (a name that is none is refused naming the key).
pub fn time_zone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BankMonths, D::Error> {
    let name = String::deserialize(deserializer)?;
    BankMonths::named(&name).map_err(|reason| serde::de::Error::custom(format!("gdpr.time_zone: {reason}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_month_begins_at_midnight_in_the_banks_zone_summer_or_winter() {
        let prague = BankMonths::named("Europe/Prague").unwrap();
        let at = |s: &str| Timestamp::parse(s).unwrap();
        // CET (UTC+1) in January, CEST (UTC+2) in July.
        assert_eq!(
            prague.start_of(Month::new(2026, 1).unwrap()),
            Some(at("2025-12-31T23:00:00Z"))
        );
        assert_eq!(
            prague.start_of(Month::new(2026, 7).unwrap()),
            Some(at("2026-06-30T22:00:00Z"))
        );
        // 23:30 UTC on 31 January is already February in Prague; 22:59 UTC on 30 June still June.
        assert_eq!(prague.month_of(at("2026-01-31T23:30:00Z")), Month::new(2026, 2));
        assert_eq!(prague.month_of(at("2026-06-30T21:59:59Z")), Month::new(2026, 6));
        assert_eq!(prague.month_of(at("2026-06-30T22:00:00Z")), Month::new(2026, 7));
        let utc = BankMonths::named("UTC").unwrap();
        assert_eq!(utc.month_of(at("2026-01-31T23:30:00Z")), Month::new(2026, 1));
        assert!(BankMonths::named("Europe/Atlantis").is_err());
        assert_eq!(prague.name(), "Europe/Prague");
    }
}
