//! The accountability report (GDPR Art. 5(2), 12(3)): per month of receipt and request type, how
//! the bank answered its GDPR requests. Counts and durations only: never a subject, a case
//! number or a reason's text.
//!
//! gdpr-orchestrator `GET /gdpr/reports/monthly?from=YYYY-MM&to=YYYY-MM` (scope `dpo`) answers
//! [`MonthlyReport`] as JSON, or as CSV ([`MonthlyReport::to_csv`]) with `format=csv` or
//! `Accept: text/csv`. Months are calendar months in the orchestrator's `gdpr.time_zone`.

use crate::gdpr::RequestType;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// gdpr-orchestrator's `GET /gdpr/reports/monthly`.
pub const MONTHLY_ROUTE: &str = "/gdpr/reports/monthly";

/// The most months one report covers (three years: a supervisory authority's look back).
pub const MAX_MONTHS: u32 = 36;

/// The media type of the CSV answer.
pub const CSV: &str = "text/csv; charset=utf-8";

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    year: u16,
    /// 1 to 12.
    month: u8,
}

impl Month {
    /// Years 1970 to 9999: a GDPR request predates neither.
    pub fn new(year: u16, month: u8) -> Option<Self> {
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// `YYYY-MM` exactly (four digits, a dash, two digits).
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 || !(year.chars().chain(month.chars())).all(|c| c.is_ascii_digit()) {
            return None;
        }
        Self::new(year.parse().ok()?, month.parse().ok()?)
    }

    pub const fn year(self) -> u16 {
        self.year
    }

    /// 1 to 12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The month after this one (`None` after 9999-12).
    pub fn next(self) -> Option<Self> {
        if self.month == 12 {
            Self::new(self.year.checked_add(1)?, 1)
        } else {
            Self::new(self.year, self.month + 1)
        }
    }

    /// The month before this one (`None` before 1970-01).
    pub fn previous(self) -> Option<Self> {
        if self.month == 1 {
            Self::new(self.year.checked_sub(1)?, 12)
        } else {
            Self::new(self.year, self.month - 1)
        }
    }

    /// How many months from `self` to `to`, both counted (0 when `to` is earlier).
    pub fn months_to(self, to: Self) -> u32 {
        let index = |m: Self| u32::from(m.year) * 12 + u32::from(m.month);
        (index(to) + 1).saturating_sub(index(self))
    }

    /// Every month from `self` to `to`, both included.
    pub fn through(self, to: Self) -> impl Iterator<Item = Self> {
        std::iter::successors(Some(self), |m| m.next()).take_while(move |m| *m <= to)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for Month {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| "a month is written YYYY-MM (1970-01 to 9999-12)".to_owned())
    }
}

impl From<Month> for String {
    fn from(month: Month) -> Self {
        month.to_string()
    }
}

/// `GET /gdpr/reports/monthly`'s parameters. Anything else is refused naming it (400).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthlyQuery {
    /// The first month, `YYYY-MM` (default: eleven months before `to`, so the twelve months to
    /// `to`; refused naming `from` when that would be before 1970-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The last month, `YYYY-MM` (default: the current month); `from` to `to` is 36 months at
    /// most, both counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `json` or `csv`; without it, `Accept: text/csv` asks for CSV and anything else gets JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// What a report is answered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
}

impl ReportFormat {
    pub const ALL: [Self; 2] = [Self::Json, Self::Csv];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(text))
    }
}

/// How the bank answered its GDPR requests, per month of receipt and request type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyReport {
    #[schema(value_type = String, example = "2026-01")]
    pub from: Month,
    #[schema(value_type = String, example = "2026-12")]
    pub to: Month,
    /// The IANA time zone the months are calendar months of (`gdpr.time_zone`).
    pub time_zone: String,
    /// When it was computed: `overdue` and `pending` are as of this instant.
    pub generated_at: Timestamp,
    /// Every month from `from` to `to`, each with every request type (zeros included), months in
    /// order, types in the order the orchestrator knows them.
    pub rows: Vec<MonthlyRow>,
}

/// One month's requests of one type: those received in the month (counts excluded: they answer
/// the DPO, not a subject). Each is in exactly one outcome:
/// `completedInTime + completedLate + expired + withdrawn + overdue + pending = received`.
///
/// Answered ("completed") means the subject has the answer: `completed`,
/// `completed_with_retention`, and a RESTRICT `restricted` or since `lifted` (answered when it
/// was restricted; the lift is the subject's next request, not this one's answer). A request
/// closed without an answer is never "completed": `expired` and `withdrawn` are counted apart
/// and kept out of the durations, so an abandoned request neither hides as late nor stretches
/// the 95th percentile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyRow {
    #[schema(value_type = String, example = "2026-01")]
    pub month: Month,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub received: u64,
    /// Answered by its due date, extensions included.
    pub completed_in_time: u64,
    /// Answered after its due date.
    pub completed_late: u64,
    /// Closed unanswered: nobody confirmed it within `gdpr.confirmation_timeout_days`
    /// (status `expired`; a FORGET's subject is erased then, a LIFT_RESTRICTION's RESTRICT
    /// stays).
    pub expired: u64,
    /// Withdrawn by an UNDO_FORGET: cancelled before its confirmation or undone within the
    /// grace window (status `cancelled` or `undone`).
    pub withdrawn: u64,
    /// Not answered nor closed, and past its due date now.
    pub overdue: u64,
    /// Not answered nor closed, and not yet due.
    pub pending: u64,
    /// Requests whose deadline was extended (GDPR Art. 12(3)).
    pub extended: u64,
    /// Extensions granted, each with its reason told to the subject (a request may have two).
    pub extension_reasons: u64,
    /// Requests answered while a legal hold or a statutory rule kept some of the subject's data
    /// (`completed_with_retention`, even if erased since).
    pub retained: u64,
    /// Half of the answered requests (in time or late) were answered within this (receipt to
    /// answer, seconds; nearest rank). Null when none was answered.
    pub median_seconds_to_completion: Option<u64>,
    /// 95 % of the answered requests were answered within this (nearest rank). Null when none
    /// was answered.
    pub p95_seconds_to_completion: Option<u64>,
}

impl MonthlyRow {
    /// Every outcome added up: always `received`.
    pub fn outcomes(&self) -> u64 {
        self.completed_in_time + self.completed_late + self.expired + self.withdrawn + self.overdue + self.pending
    }
}

impl MonthlyReport {
    /// The CSV's first line.
    pub const CSV_HEADER: &'static str = "month,type,received,completed_in_time,completed_late,expired,withdrawn,overdue,pending,extended,extension_reasons,retained,median_seconds_to_completion,p95_seconds_to_completion";

    /// The report as CSV (RFC 4180: CRLF line ends): [`Self::CSV_HEADER`], then a line a row in
    /// the rows' order; no value needs quoting, an unanswered month's times are empty.
    pub fn to_csv(&self) -> String {
        let optional = |value: Option<u64>| value.map(|v| v.to_string()).unwrap_or_default();
        let mut csv = format!("{}\r\n", Self::CSV_HEADER);
        for row in &self.rows {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
                row.month,
                row.request_type.as_str(),
                row.received,
                row.completed_in_time,
                row.completed_late,
                row.expired,
                row.withdrawn,
                row.overdue,
                row.pending,
                row.extended,
                row.extension_reasons,
                row.retained,
                optional(row.median_seconds_to_completion),
                optional(row.p95_seconds_to_completion),
            ));
        }
        csv
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_month_is_read_only_as_yyyy_mm() {
        assert_eq!(Month::parse("2026-01"), Month::new(2026, 1));
        assert_eq!(Month::parse("2026-12").unwrap().to_string(), "2026-12");
        for bad in [
            "2026-1",
            "2026-13",
            "2026-00",
            "26-01",
            "2026/01",
            "2026-01-01",
            "",
            "１９７０-01",
            "1969-12",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_count_and_follow_across_a_year_end() {
        let (nov, feb) = (Month::new(2026, 11).unwrap(), Month::new(2027, 2).unwrap());
        assert_eq!(nov.months_to(feb), 4);
        assert_eq!(feb.months_to(nov), 0);
        assert_eq!(nov.months_to(nov), 1);
        let months: Vec<String> = nov.through(feb).map(|m| m.to_string()).collect();
        assert_eq!(months, ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert_eq!(Month::new(2027, 1).unwrap().previous(), Month::new(2026, 12));
        assert_eq!(Month::new(9999, 12).unwrap().next(), None);
    }

    #[test]
    fn the_csv_has_its_header_and_a_line_a_row() {
        let month = Month::new(2026, 3).unwrap();
        let row = |request_type, median| MonthlyRow {
            month,
            request_type,
            received: 5,
            completed_in_time: 1,
            completed_late: 1,
            expired: 1,
            withdrawn: 1,
            overdue: 1,
            pending: 0,
            extended: 1,
            extension_reasons: 2,
            retained: 0,
            median_seconds_to_completion: median,
            p95_seconds_to_completion: median,
        };
        let report = MonthlyReport {
            from: month,
            to: month,
            time_zone: "Europe/Prague".to_owned(),
            generated_at: Timestamp::parse("2026-12-06T10:00:00Z").unwrap(),
            rows: vec![row(RequestType::Export, Some(86_400)), row(RequestType::Forget, None)],
        };
        assert_eq!(
            report.to_csv(),
            format!(
                "{}\r\n2026-03,EXPORT,5,1,1,1,1,1,0,1,2,0,86400,86400\r\n2026-03,FORGET,5,1,1,1,1,1,0,1,2,0,,\r\n",
                MonthlyReport::CSV_HEADER
            )
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["from"], "2026-03");
        assert_eq!(json["rows"][1]["type"], "FORGET");
        assert_eq!(json["rows"][1]["medianSecondsToCompletion"], serde_json::Value::Null);
        assert_eq!(
            (
                json["rows"][0]["expired"].as_u64(),
                json["rows"][0]["withdrawn"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert!(report.rows.iter().all(|r| r.outcomes() == r.received));
        assert_eq!(serde_json::from_value::<MonthlyReport>(json).unwrap(), report);
    }
}
