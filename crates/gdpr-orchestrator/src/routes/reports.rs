//! `GET /gdpr/reports/monthly`: the accountability report (issue #31), as JSON or CSV. Scope
//! `dpo`: its readers are the data protection officers (the console in their name, the `gdpr`
//! command), who hold it already; an operator's `gdpr:operate` is kept from everything of the
//! requests but their queue, and `gdpr:retentions` is the participants' expiry's. The report
//! names no one, so it needs nothing more than `dpo`; a scope of its own would narrow no caller
//! there is (one for a reporting-only client is the step when such a client appears).

use crate::report::scan::{self, ScanError};
use crate::scopes::Dpo;
use crate::Orchestrator;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};
use contracts::report::{Month, MonthlyReport, ReportFormat, CSV, MAX_MONTHS, MONTHLY_ROUTE};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::problem::{ApiError, FieldProblem, Problem, ProblemResponse};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(MONTHLY_ROUTE).route(web::get().to(monthly).wrap(from_fn(require::<Dpo>))));
}

/// What a report asks for, read from the query and `Accept`.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    from: Month,
    to: Month,
    format: ReportFormat,
}

/// The query's parameters, each named in a problem when it is wrong (unknown or repeated ones
/// too: a misspelt `form` must not silently give another report).
fn asked(query: &str, accept: Option<&str>, current: Month) -> Result<Asked, Vec<FieldProblem>> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| vec![FieldProblem::parameter("query", "not a URL-encoded query string")])?
        .into_inner();
    let mut problems = Vec::new();
    let (mut from, mut to, mut format) = (None, None, None);
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "from" => &mut from,
            "to" => &mut to,
            "format" => &mut format,
            _ => {
                problems.push(FieldProblem::parameter(
                    name,
                    "not a parameter of this report (from, to, format)",
                ));
                continue;
            }
        };
        if slot.replace(value).is_some() {
            problems.push(FieldProblem::parameter(name, "given more than once"));
        }
    }
    let to = read_month("to", to.as_deref(), &mut problems);
    let from = read_month("from", from.as_deref(), &mut problems);
    let format = match format {
        Some(text) => {
            let format = ReportFormat::parse(&text);
            if format.is_none() {
                problems.push(FieldProblem::parameter("format", "must be json or csv"));
            }
            format
        }
        None => Some(negotiated(accept)),
    };
    let (Some(to), Some(from), Some(format)) = (to, from, format) else {
        return Err(problems);
    };
    let to_given = to.is_some();
    let to = to.unwrap_or(current);
    // The twelve months to `to` by default; none before 1970-01, so a `to` in 1970 needs a `from`.
    let Some(from) = from.or_else(|| (0..11).try_fold(to, |m, _| m.previous())) else {
        problems.push(FieldProblem::parameter(
            "from",
            "has no default: eleven months before to is before 1970-01; give from",
        ));
        return Err(problems);
    };
    if from > to && !to_given {
        problems.push(FieldProblem::parameter(
            "from",
            "must not be after this month (to's default)",
        ));
    } else if from > to {
        problems.push(FieldProblem::parameter("to", "must not be before from"));
    } else if from.months_to(to) > MAX_MONTHS {
        problems.push(FieldProblem::parameter(
            "to",
            format!("at most {MAX_MONTHS} months after from, both counted"),
        ));
    }
    if problems.is_empty() {
        Ok(Asked { from, to, format })
    } else {
        Err(problems)
    }
}

/// A month parameter: `Some(None)` when absent, `None` (and its problem) when not a month.
fn read_month(name: &str, value: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<Option<Month>> {
    match value.map(Month::parse) {
        None => Some(None),
        Some(Some(month)) => Some(Some(month)),
        Some(None) => {
            problems.push(FieldProblem::parameter(
                name,
                "must be a month written YYYY-MM (1970-01 to 9999-12)",
            ));
            None
        }
    }
}

/// CSV when `Accept` prefers `text/csv` to JSON; JSON otherwise (no `Accept`, `*/*`, JSON).
fn negotiated(accept: Option<&str>) -> ReportFormat {
    let Some(accept) = accept else {
        return ReportFormat::Json;
    };
    let quality = |wanted: &[&str]| {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .find_map(|p| p.strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
                wanted.contains(&media.as_str()).then_some(q)
            })
            .fold(0.0_f32, f32::max)
    };
    if quality(&["text/csv"]) > quality(&["application/json", "application/*", "*/*"]) {
        ReportFormat::Csv
    } else {
        ReportFormat::Json
    }
}

/// 400 naming each parameter that is wrong.
fn bad_parameters(problems: Vec<FieldProblem>) -> HttpResponse {
    Problem {
        problem_type: "urn:ccbridge:problem:bad-request".to_owned(),
        title: "The request could not be read".to_owned(),
        status: 400,
        detail: Some(
            problems
                .iter()
                .map(|p| format!("{}: {}", p.location(), p.detail))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        errors: problems,
    }
    .to_response()
}

/// `GET /gdpr/reports/monthly?from=YYYY-MM&to=YYYY-MM&format=json|csv`.
#[utoipa::path(
    get,
    path = "/gdpr/reports/monthly",
    tag = "gdpr",
    params(contracts::report::MonthlyQuery),
    description = "Needs scope `dpo`. Per calendar month of receipt in `gdpr.time_zone` and request type (every one, zeros included): received; answered (completed, completed with retention, restricted, or lifted: counted from its restriction) by the due date or after it; expired (never confirmed in time) and withdrawn (cancelled or undone by an UNDO_FORGET), closed unanswered and never timed; overdue and pending now (the six add up to received); extended and the extensions' reasons counted, answered while a legal hold or a statutory rule kept data, and the median and 95th percentile (nearest rank) of the seconds from receipt to answer. Without `from`, the twelve months to `to`; without `to`, to this month. Counts (count-only requests) are left out. Counts and durations only: never a subject, a case number or a reason's text. JSON, or CSV with `format=csv` or `Accept: text/csv`.",
    responses(
        (status = 200, description = "The report", content(
            (MonthlyReport = "application/json"),
            (String = "text/csv", example = "month,type,received,completed_in_time,completed_late,expired,withdrawn,overdue,pending,extended,extension_reasons,retained,median_seconds_to_completion,p95_seconds_to_completion\r\n2026-01,EXPORT,4,3,1,0,0,0,0,1,1,0,172800,2764800\r\n")
        )),
        (status = 400, description = "A parameter is wrong, unknown or repeated (each named in `errors`): a month not YYYY-MM, `to` before `from` or more than 36 months after it, no `from` with a `to` in 1970 (its default would be before 1970-01), a format other than json or csv", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn monthly(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = Timestamp::now();
    let months = orchestrator.settings.time_zone.clone();
    let current = months
        .month_of(now)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("today has no month in {}", months.name())))?;
    let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Asked { from, to, format } = match asked(request.query_string(), accept, current) {
        Ok(asked) => asked,
        Err(problems) => return Ok(bad_parameters(problems)),
    };
    let zone = months.clone();
    let rows = pool
        .run(move |c| {
            scan::monthly(c, &zone, from, to, now).map_err(|error| match error {
                ScanError::Database(error) => ApiError::from(error),
                other => ApiError::Unexpected(other.into()),
            })
        })
        .await?;
    let report = MonthlyReport {
        from,
        to,
        time_zone: months.name().to_owned(),
        generated_at: now,
        rows,
    };
    Ok(match format {
        ReportFormat::Json => HttpResponse::Ok().insert_header((header::VARY, "Accept")).json(report),
        ReportFormat::Csv => HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"gdpr-requests-{from}-to-{to}.csv\""),
            ))
            .content_type(CSV)
            .body(report.to_csv()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn month(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    fn named(problems: Vec<FieldProblem>) -> Vec<String> {
        problems.into_iter().filter_map(|p| p.parameter).collect()
    }

    #[test]
    fn the_twelve_months_to_this_month_by_default_in_json() {
        let got = asked("", None, month("2026-12")).unwrap();
        assert_eq!(
            got,
            Asked {
                from: month("2026-01"),
                to: month("2026-12"),
                format: ReportFormat::Json
            }
        );
        let got = asked("to=2027-02&format=CSV", None, month("2026-12")).unwrap();
        assert_eq!((got.from, got.format), (month("2026-03"), ReportFormat::Csv));
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let now = month("2026-12");
        assert_eq!(named(asked("from=2026-13", None, now).unwrap_err()), ["from"]);
        assert_eq!(named(asked("from=2026-01&to=2025-12", None, now).unwrap_err()), ["to"]);
        assert_eq!(named(asked("from=2027-01", None, now).unwrap_err()), ["from"]);
        assert_eq!(named(asked("from=2020-01&to=2026-12", None, now).unwrap_err()), ["to"]);
        assert_eq!(
            named(asked("format=xml&to=26-1", None, now).unwrap_err()),
            ["to", "format"]
        );
        assert_eq!(
            named(asked("form=csv&from=2026-01&from=2026-02", None, now).unwrap_err()),
            ["form", "from"]
        );
        // Eleven months before 1970-05 is no month: from is asked for, never silently to.
        assert_eq!(named(asked("to=1970-05", None, now).unwrap_err()), ["from"]);
        assert_eq!(asked("to=1970-12", None, now).unwrap().from, month("1970-01"));
        // 36 months, both counted, is the most.
        assert!(asked("from=2024-01&to=2026-12", None, now).is_ok());
    }

    #[test]
    fn accept_chooses_csv_only_when_it_prefers_it() {
        assert_eq!(negotiated(None), ReportFormat::Json);
        assert_eq!(negotiated(Some("*/*")), ReportFormat::Json);
        assert_eq!(negotiated(Some("text/csv")), ReportFormat::Csv);
        assert_eq!(negotiated(Some("text/csv, application/json;q=0.5")), ReportFormat::Csv);
        assert_eq!(negotiated(Some("text/csv;q=0.5, application/json")), ReportFormat::Json);
        assert_eq!(negotiated(Some("text/html")), ReportFormat::Json);
        // A format parameter wins over Accept.
        let got = asked("format=json", Some("text/csv"), month("2026-12")).unwrap();
        assert_eq!(got.format, ReportFormat::Json);
    }
}
