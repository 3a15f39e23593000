//! The Reports page (role `dpo`, issue #31): gdpr-orchestrator's monthly accountability report
//! for one request type, as two charts drawn on the server (what became of each month's
//! requests; how long answers took) each with a table of its numbers, and the whole report as
//! CSV. Counts and durations only. The call is made in the signed-in person's name.

use super::{call_failed, words};
use crate::bank_time::BankTime;
use crate::charts::{self, Chart, Series};
use crate::routes::page;
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::gdpr::RequestType;
use contracts::report::{MonthlyQuery, MonthlyReport, MonthlyRow, CSV, MONTHLY_ROUTE};
use serde::Deserialize;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show)).route(CSV_PATH, web::get().to(csv));
}

const PATH: &str = "/gdpr/reports";
const CSV_PATH: &str = "/gdpr/reports/monthly.csv";

/// The page's form: months as `<input type="month">` sends them (`YYYY-MM`, empty for the
/// default), and the request type.
#[derive(Debug, Default, Deserialize)]
struct ReportForm {
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    request_type: Option<String>,
}

impl ReportForm {
    /// What gdpr-orchestrator is asked: an empty month is its default.
    fn query(&self) -> MonthlyQuery {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        MonthlyQuery {
            from: given(&self.from),
            to: given(&self.to),
            format: None,
        }
    }
}

struct TypeOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// One month of the chosen type, as the tables read it.
struct MonthLine {
    month: String,
    received: u64,
    in_time: u64,
    late: u64,
    expired: u64,
    withdrawn: u64,
    overdue: u64,
    pending: u64,
    extended: u64,
    extension_reasons: u64,
    retained: u64,
    answered: u64,
    median_days: String,
    p95_days: String,
}

/// Seconds as days with one decimal; a dash where no request was answered.
fn days(seconds: Option<u64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| format!("{:.1}", s as f64 / 86_400.0))
}

impl From<&MonthlyRow> for MonthLine {
    fn from(row: &MonthlyRow) -> Self {
        Self {
            month: row.month.to_string(),
            received: row.received,
            in_time: row.completed_in_time,
            late: row.completed_late,
            expired: row.expired,
            withdrawn: row.withdrawn,
            overdue: row.overdue,
            pending: row.pending,
            extended: row.extended,
            extension_reasons: row.extension_reasons,
            retained: row.retained,
            answered: row.completed_in_time + row.completed_late,
            median_days: days(row.median_seconds_to_completion),
            p95_days: days(row.p95_seconds_to_completion),
        }
    }
}

/// The report as the page shows it, or why gdpr-orchestrator refused the months asked for.
enum Shown {
    Report {
        time_zone: String,
        /// When the orchestrator counted, in the bank's time.
        counted_at: String,
        from: String,
        to: String,
        kind: &'static str,
        months: Vec<MonthLine>,
        outcomes_chart: String,
        times_chart: String,
        csv_link: String,
    },
    Refused(String),
}

#[derive(Template)]
#[template(path = "gdpr_reports.html")]
struct ReportsPage {
    person: Option<Person>,
    from: String,
    to: String,
    types: Vec<TypeOption>,
    shown: Shown,
}

/// The two charts of `rows` (one type's months).
fn charts_of(rows: &[&MonthlyRow], kind: &str) -> Result<(String, String), charts::Mismatch> {
    let labels: Vec<String> = rows.iter().map(|r| r.month.to_string()).collect();
    let counts = |field: fn(&MonthlyRow) -> u64| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let outcomes_title = format!("{kind}: what became of each month's requests");
    let outcomes = charts::stacked_bars(
        &Chart {
            id: "outcomes-chart",
            title: &outcomes_title,
            description: "Requests received each month, stacked by outcome: answered by the due date, answered after it, expired (never confirmed in time), withdrawn (cancelled or undone), overdue now, not yet due. The table below gives the same numbers.",
            labels: &labels,
            unit: "requests",
        },
        &[
            Series {
                name: "answered in time",
                colour: "#2e7d32",
                values: counts(|r| r.completed_in_time),
            },
            Series {
                name: "answered late",
                colour: "#b26a00",
                values: counts(|r| r.completed_late),
            },
            Series {
                name: "expired",
                colour: "#5d4037",
                values: counts(|r| r.expired),
            },
            Series {
                name: "withdrawn",
                colour: "#7e57c2",
                values: counts(|r| r.withdrawn),
            },
            Series {
                name: "overdue",
                colour: "#c62828",
                values: counts(|r| r.overdue),
            },
            Series {
                name: "not yet due",
                colour: "#78909c",
                values: counts(|r| r.pending),
            },
        ],
    )?;
    let in_days = |field: fn(&MonthlyRow) -> Option<u64>| {
        rows.iter()
            .map(|r| field(r).map(|s| s as f64 / 86_400.0))
            .collect::<Vec<_>>()
    };
    let times_title = format!("{kind}: days from receipt to answer");
    let times = charts::lines(
        &Chart {
            id: "times-chart",
            title: &times_title,
            description: "For the requests received each month and answered: the days within which half were answered (median) and within which 95 in 100 were (95th percentile). No point where none was answered. The table below gives the same numbers.",
            labels: &labels,
            unit: "days",
        },
        &[
            Series {
                name: "median",
                colour: "#1565c0",
                values: in_days(|r| r.median_seconds_to_completion),
            },
            Series {
                name: "95th percentile",
                colour: "#6a1b9a",
                values: in_days(|r| r.p95_seconds_to_completion),
            },
        ],
    )?;
    Ok((outcomes, times))
}

async fn show(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
    form: web::Query<ReportForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, PATH, Role::Dpo)?;
    // A type that is none is refused naming `type`, as the orchestrator names a month (400).
    let (chosen, bad_type) = match form.request_type.as_deref().filter(|t| !t.is_empty()) {
        None => (RequestType::ALL[0], false),
        Some(text) => RequestType::parse(text).map_or((RequestType::ALL[0], true), |t| (t, false)),
    };
    let types = RequestType::ALL
        .into_iter()
        .map(|t| TypeOption {
            value: t.as_str(),
            label: words::kind(t),
            selected: t == chosen,
        })
        .collect();
    let query = form.query();
    // The months asked for, shown again; once answered, the months the report covers.
    let (mut from, mut to) = (
        query.from.clone().unwrap_or_default(),
        query.to.clone().unwrap_or_default(),
    );
    let answer = if bad_type {
        None
    } else {
        Some(
            services
                .gdpr
                .get(MONTHLY_ROUTE)
                .query(&query)
                .send::<MonthlyReport>()
                .await,
        )
    };
    let (shown, refused) = match answer {
        None => (Shown::Refused(unknown_type()), true),
        Some(Ok(report)) => {
            let rows: Vec<&MonthlyRow> = report.rows.iter().filter(|r| r.request_type == chosen).collect();
            let (outcomes_chart, times_chart) = match charts_of(&rows, words::kind(chosen)) {
                Ok(charts) => charts,
                Err(mismatch) => return Ok(not_drawn(&mismatch, person)),
            };
            let csv_link = format!("{CSV_PATH}?from={}&to={}", report.from, report.to);
            (from, to) = (report.from.to_string(), report.to.to_string());
            (
                Shown::Report {
                    time_zone: report.time_zone.clone(),
                    from: report.from.to_string(),
                    to: report.to.to_string(),
                    kind: words::kind(chosen),
                    counted_at: time.at(report.generated_at),
                    months: rows.into_iter().map(MonthLine::from).collect(),
                    outcomes_chart,
                    times_chart,
                    csv_link,
                },
                false,
            )
        }
        Some(Err(error)) => match refusal(&error) {
            Some(reason) => (Shown::Refused(reason), true),
            None => return Ok(call_failed(&error, person)),
        },
    };
    let mut response = page(
        ReportsPage {
            person: Some(person),
            from,
            to,
            types,
            shown,
        }
        .render(),
    );
    if refused && response.status().is_success() {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// Why a `type` that is none is refused, naming the parameter and what it may be.
fn unknown_type() -> String {
    let known: Vec<&str> = RequestType::ALL.iter().map(|t| t.as_str()).collect();
    format!("type: not a request type ({})", known.join(", "))
}

/// A chart whose numbers do not match its months: an impossible report, never drawn as zeros.
fn not_drawn(mismatch: &charts::Mismatch, person: Person) -> HttpResponse {
    tracing::error!(error = %mismatch, "the report's chart could not be drawn");
    crate::routes::Notice {
        person: Some(person),
        heading: "Not available",
        reason: "The report's numbers do not match its months, so no chart was drawn.",
        back: PATH,
        back_label: "Back to the reports",
    }
    .with_status(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// The orchestrator's refusal of the months asked for, in its words (which name the field).
fn refusal(error: &CallError) -> Option<String> {
    let problem = error.problem()?;
    (error.status() == Some(reqwest::StatusCode::BAD_REQUEST)).then(|| super::super::reason(problem).to_owned())
}

/// `GET /gdpr/reports/monthly.csv?from=…&to=…`: the whole report (every type) as the
/// orchestrator's CSV is written (`MonthlyReport::to_csv`), for a spreadsheet.
async fn csv(
    services: web::Data<Services>,
    session: Session,
    form: web::Query<ReportForm>,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, PATH, Role::Dpo)?;
    let report = match services
        .gdpr
        .get(MONTHLY_ROUTE)
        .query(&form.query())
        .send::<MonthlyReport>()
        .await
    {
        Ok(report) => report,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    Ok(HttpResponse::Ok()
        .content_type(CSV)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"gdpr-requests-{}-to-{}.csv\"",
                report.from, report.to
            ),
        ))
        .body(report.to_csv()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn days_read_with_one_decimal_and_a_dash_for_none() {
        assert_eq!(days(Some(172_800)), "2.0");
        assert_eq!(days(Some(129_600)), "1.5");
        assert_eq!(days(None), "—");
    }

    #[test]
    fn an_empty_month_is_the_orchestrators_default() {
        let form = ReportForm {
            from: Some(String::new()),
            to: Some("2026-12".to_owned()),
            request_type: None,
        };
        let query = form.query();
        assert_eq!((query.from, query.to.as_deref()), (None, Some("2026-12")));
    }

    #[test]
    fn an_unknown_type_is_named_with_the_types_there_are() {
        let why = unknown_type();
        assert!(why.starts_with("type: not a request type (EXPORT, FORGET"), "{why}");
    }

    /// One series per outcome, each with exactly a value per month: a short one is refused.
    #[test]
    fn charts_have_a_value_per_month_in_every_series() {
        let row = MonthlyRow {
            month: contracts::report::Month::new(2026, 3).unwrap(),
            request_type: RequestType::Forget,
            received: 6,
            completed_in_time: 1,
            completed_late: 1,
            expired: 1,
            withdrawn: 1,
            overdue: 1,
            pending: 1,
            extended: 0,
            extension_reasons: 0,
            retained: 0,
            median_seconds_to_completion: Some(86_400),
            p95_seconds_to_completion: Some(86_400),
        };
        let (outcomes, _) = charts_of(&[&row], "Erasure").unwrap();
        for name in [
            "answered in time",
            "answered late",
            "expired",
            "withdrawn",
            "overdue",
            "not yet due",
        ] {
            assert!(
                outcomes.contains(&format!("<title>2026-03: 1 {name}</title>")),
                "{name}: {outcomes}"
            );
        }
    }
}
