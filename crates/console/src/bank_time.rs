//! Dates and times as the bank's people read them: in the bank's time zone
//! (`console.time_zone`), in words ("7 Dec 2026 at 10:00 CET"), with the time left ("in 12
//! days"); and a date-time picker's value (`<input type="datetime-local">`, which has no zone)
//! read in that zone.

use domain::Timestamp;
use jiff::tz::TimeZone;

/// The bank's time zone, parsed at start-up from its IANA name (`Europe/Prague`).
#[derive(Debug, Clone)]
pub struct BankTime {
    zone: TimeZone,
}

/// A name that is no IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a time zone of the IANA database (such as Europe/Prague)")]
pub struct UnknownZone;

/// A picker's value that is no date and time (or one the zone skips, or that lies outside years
/// 1..=9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a date and time")]
pub struct NotADateTime;

impl BankTime {
    pub fn named(name: &str) -> Result<Self, UnknownZone> {
        // The database is compiled in (jiff's `tzdb-bundle-always`): a container without
        // /usr/share/zoneinfo reads the same zones.
        TimeZone::get(name.trim())
            .map(|zone| Self { zone })
            .map_err(|_| UnknownZone)
    }

    /// The zone's IANA name, as configured.
    pub fn name(&self) -> &str {
        self.zone.iana_name().unwrap_or("UTC")
    }

    fn zoned(&self, at: Timestamp) -> jiff::Zoned {
        jiff_instant(at).to_zoned(self.zone.clone())
    }

    /// `7 Dec 2026 at 10:00 CET`.
    pub fn at(&self, at: Timestamp) -> String {
        self.zoned(at).strftime("%-d %b %Y at %H:%M %Z").to_string()
    }

    /// `7 Dec 2026`.
    pub fn day(&self, at: Timestamp) -> String {
        self.zoned(at).strftime("%-d %b %Y").to_string()
    }

    /// What a `<input type="datetime-local">` shows for `at`: `2026-12-07T10:00:00`.
    pub fn picker_value(&self, at: Timestamp) -> String {
        self.zoned(at).strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }

    /// A picker's value (`2026-12-07T10:00`, seconds optional) as the instant it names in the
    /// bank's zone. A time the zone repeats (the autumn's last hour of summer time) is its first
    /// occurrence; a time it skips (the spring's lost hour) is refused.
    pub fn from_picker(&self, text: &str) -> Result<Timestamp, NotADateTime> {
        let local: jiff::civil::DateTime = text.trim().parse().map_err(|_| NotADateTime)?;
        let zoned = self
            .zone
            .to_ambiguous_zoned(local)
            .disambiguate(jiff::tz::Disambiguation::Earlier)
            .map_err(|_| NotADateTime)?;
        if zoned.datetime() != local {
            return Err(NotADateTime);
        }
        let nanos = zoned.timestamp().as_nanosecond();
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(Timestamp::from_offset_date_time)
            .ok_or(NotADateTime)
    }
}

fn jiff_instant(at: Timestamp) -> jiff::Timestamp {
    let nanos = at.as_offset_date_time().unix_timestamp_nanos();
    // Every `Timestamp` lies within years 1..=9999, inside jiff's range.
    jiff::Timestamp::from_nanosecond(nanos).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// How far `at` is from `now` in the unit a person would say: `12 days`, `5 hours`, `20 minutes`
/// (whole units, rounded down; under a minute is `less than a minute`).
fn span(now: Timestamp, at: Timestamp) -> String {
    duration(
        (at.as_offset_date_time() - now.as_offset_date_time())
            .whole_seconds()
            .unsigned_abs(),
    )
}

/// `seconds` in the unit a person would say: `12 days`, `5 hours`, `20 minutes`.
pub fn duration(seconds: u64) -> String {
    let (count, unit) = match seconds {
        s if s >= 2 * 86_400 => (s / 86_400, "day"),
        s if s >= 2 * 3_600 => (s / 3_600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        _ => return "less than a minute".to_owned(),
    };
    format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
}

/// `in 12 days` or `3 hours ago`.
pub fn relative(now: Timestamp, at: Timestamp) -> String {
    if at >= now {
        format!("in {}", span(now, at))
    } else {
        format!("{} ago", span(now, at))
    }
}

/// A deadline's time left: `due in 12 days`, or `overdue by 3 days`.
pub fn due(now: Timestamp, at: Timestamp) -> String {
    if at >= now {
        format!("due in {}", span(now, at))
    } else {
        format!("overdue by {}", span(now, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn an_unknown_zone_is_refused_and_a_known_one_keeps_its_name() {
        assert_eq!(BankTime::named("Europe/Atlantis").unwrap_err(), UnknownZone);
        assert_eq!(BankTime::named("").unwrap_err(), UnknownZone);
        assert_eq!(BankTime::named("Europe/Prague").unwrap().name(), "Europe/Prague");
    }

    #[test]
    fn times_are_shown_in_the_banks_zone_winter_and_summer() {
        let prague = BankTime::named("Europe/Prague").unwrap();
        assert_eq!(prague.at(t("2026-12-07T09:00:00Z")), "7 Dec 2026 at 10:00 CET");
        assert_eq!(prague.at(t("2026-07-01T09:00:00.484203Z")), "1 Jul 2026 at 11:00 CEST");
        // Just before midnight UTC is the next day in Prague.
        assert_eq!(prague.day(t("2026-12-28T23:30:00Z")), "29 Dec 2026");
        assert_eq!(prague.picker_value(t("2026-12-07T09:00:00Z")), "2026-12-07T10:00:00");
    }

    #[test]
    fn a_pickers_value_is_read_in_the_banks_zone() {
        let prague = BankTime::named("Europe/Prague").unwrap();
        let read = |text: &str| prague.from_picker(text).map(|t| t.to_string());
        assert_eq!(read("2026-12-07T10:00").as_deref(), Ok("2026-12-07T09:00:00Z"));
        assert_eq!(read("2026-07-01T11:00:30").as_deref(), Ok("2026-07-01T09:00:30Z"));
        // 02:30 on 25 Oct 2026 happens twice in Prague: the first, still summer time.
        assert_eq!(read("2026-10-25T02:30").as_deref(), Ok("2026-10-25T00:30:00Z"));
        // 02:30 on 29 Mar 2026 never happens there.
        assert_eq!(read("2026-03-29T02:30"), Err(NotADateTime));
        assert_eq!(read("29.3.2026 10:00"), Err(NotADateTime));
        assert_eq!(read(""), Err(NotADateTime));
    }

    #[test]
    fn the_time_left_is_said_in_the_unit_a_person_would_use() {
        let now = t("2026-12-06T10:00:00Z");
        assert_eq!(due(now, t("2026-12-18T11:00:00Z")), "due in 12 days");
        assert_eq!(due(now, t("2026-12-07T09:00:00Z")), "due in 23 hours");
        assert_eq!(due(now, t("2026-12-06T10:20:00Z")), "due in 20 minutes");
        assert_eq!(due(now, t("2026-12-06T10:00:30Z")), "due in less than a minute");
        assert_eq!(due(now, t("2026-12-03T09:00:00Z")), "overdue by 3 days");
        assert_eq!(relative(now, t("2026-12-06T09:59:00Z")), "1 minute ago");
        assert_eq!(relative(now, t("2026-12-08T10:00:00Z")), "in 2 days");
        assert_eq!(duration(7_200), "2 hours");
    }
}
