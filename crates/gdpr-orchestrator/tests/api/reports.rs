//! The monthly accountability report (issue #31): requests filed and carried out through the API,
//! then placed at chosen times (their receipt, due date and answer moved in the database as the
//! months they stand for would have left them), and the report's numbers, CSV and refusals
//! asserted. Months are Europe/Prague's (`gdpr.time_zone`'s default).

use crate::helpers::{after, stack, Person, Stack, DPO, OPERATOR};
use contracts::gdpr::RequestType;
use contracts::report::{MonthlyReport, MonthlyRow};
use diesel::prelude::*;
use domain::gdpr::due_after_months;
use domain::Timestamp;
use gdpr_orchestrator::schema::gdpr_requests;
use serde_json::{json, Value};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Moves request `id` to `received` (its due date with it, extensions kept) and, when given, to
/// the answer at `answered`: as if it had been filed and answered then.
async fn place(s: &Stack, id: &str, received: &str, answered: Option<&str>) {
    let request = s.request(id).await;
    let months = u8::try_from(1 + request["extensionMonths"].as_i64().unwrap()).unwrap();
    let received = at(received);
    let due = due_after_months(received, months).unwrap();
    let answered = answered.map(at);
    let id = DbUuid(uuid::Uuid::parse_str(id).unwrap());
    s.orchestrator
        .pool()
        .run(move |c| {
            use gdpr_requests::dsl;
            diesel::update(dsl::gdpr_requests.find(id))
                .set((
                    dsl::received_at.eq(DbTimestamp::from(received)),
                    dsl::due_at.eq(DbTimestamp::from(due)),
                    dsl::completed_at.eq(answered.map(DbTimestamp::from)),
                ))
                .execute(c)
                .map_err(service_kit::problem::ApiError::from)
        })
        .await
        .unwrap();
}

async fn extend(s: &Stack, id: &str, reason: &str) {
    let response = s
        .orchestrator
        .post_json(
            &format!("/gdpr/requests/{id}/extend"),
            DPO,
            &json!({ "months": 1, "reason": reason }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

async fn report(s: &Stack, query: &str) -> MonthlyReport {
    let response = s.orchestrator.get(&format!("/gdpr/reports/monthly{query}"), DPO).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// A FORGET answered while a legal hold kept one of the subject's records.
async fn forget_under_hold(s: &Stack) -> String {
    let person = Person::new();
    let interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&person.customer_id, &interaction).await;
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    let hold = s
        .orchestrator
        .client
        .post(s.orchestrator.url("/gdpr/legal-holds"))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "alice")
        .json(&json!({
            "subject": {},
            "interactionIds": [interaction],
            "reference": "LIT-2025-007",
            "reason": "a complaint before the ombudsman",
            "basis": "legal_claims",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(hold.status().as_u16(), 201);
    let now = Timestamp::now();
    let id = s
        .forget_in_grace(json!({ "customerIds": [person.customer_id] }), now)
        .await;
    let (request, _) = s.run_while(&id, "purging", after(now, 25 * 3600), 20).await;
    assert_eq!(request["status"], "completed_with_retention", "{request}");
    id
}

/// A row with every count zero.
fn empty(month: &str, request_type: RequestType) -> MonthlyRow {
    MonthlyRow {
        month: contracts::report::Month::parse(month).unwrap(),
        request_type,
        received: 0,
        completed_in_time: 0,
        completed_late: 0,
        expired: 0,
        withdrawn: 0,
        overdue: 0,
        pending: 0,
        extended: 0,
        extension_reasons: 0,
        retained: 0,
        median_seconds_to_completion: None,
        p95_seconds_to_completion: None,
    }
}

#[tokio::test]
async fn a_quarter_of_requests_reads_back_per_month_and_type_in_json_and_csv() {
    let s = stack().await;
    let subject = || json!({ "phoneNumbers": [Person::new().phone] });

    // First (its expiry moves the worker's clock 101 days on, which would expire any FORGET then
    // awaiting confirmation): a FORGET nobody confirmed, expired after 100 days; February.
    let expired = s.file("FORGET", subject(), false).await;
    let now = Timestamp::now();
    assert_eq!(s.run(&expired, now).await["status"], "awaiting_confirmation");
    s.worker.drain(after(now, 101 * 86_400)).await.unwrap();
    assert_eq!(s.request(&expired).await["status"], "expired");
    place(&s, &expired, "2025-02-10T09:00:00Z", Some("2025-05-21T09:00:00Z")).await;
    // March: a FORGET withdrawn (an UNDO_FORGET before its confirmation) the next day.
    let withdrawn_subject = subject();
    let withdrawn = s.file("FORGET", withdrawn_subject.clone(), false).await;
    assert_eq!(
        s.run(&withdrawn, Timestamp::now()).await["status"],
        "awaiting_confirmation"
    );
    let undo = s.file("UNDO_FORGET", withdrawn_subject, false).await;
    assert_eq!(s.run(&undo, Timestamp::now()).await["status"], "completed");
    assert_eq!(s.request(&withdrawn).await["status"], "cancelled");
    place(&s, &withdrawn, "2025-03-10T09:00:00Z", Some("2025-03-11T09:00:00Z")).await;

    // January: two EXPORTs answered in time (2 days; 40 days within a deadline extended once),
    // a FORGET never confirmed and extended twice (overdue), and a count (left out).
    let (quick, _) = s.export(subject()).await;
    let quick = quick["id"].as_str().unwrap().to_owned();
    place(&s, &quick, "2025-01-10T09:00:00Z", Some("2025-01-12T09:00:00Z")).await;
    let slow = s.file("EXPORT", subject(), false).await;
    extend(&s, &slow, "three systems to search").await;
    let (answered, _) = s.run_while(&slow, "exporting", Timestamp::now(), 20).await;
    assert_eq!(answered["status"], "completed", "{answered}");
    place(&s, &slow, "2025-01-20T10:00:00Z", Some("2025-03-01T10:00:00Z")).await;
    let unconfirmed = s.file("FORGET", subject(), false).await;
    assert_eq!(
        s.run(&unconfirmed, Timestamp::now()).await["status"],
        "awaiting_confirmation"
    );
    extend(&s, &unconfirmed, "the subject's identity is being checked").await;
    extend(&s, &unconfirmed, "Genesys Cloud's erasure is still running").await;
    let count = s.file("EXPORT", subject(), true).await;
    place(&s, &count, "2025-01-16T08:00:00Z", None).await;
    // February in Prague (23:30 UTC on 31 January is 00:30 on 1 February there): an EXPORT
    // answered 33 days later, past its due date (28 February, 23:30 UTC).
    let (late, _) = s.export(subject()).await;
    let late = late["id"].as_str().unwrap().to_owned();
    place(&s, &late, "2025-01-31T23:30:00Z", Some("2025-03-05T23:30:00Z")).await;
    // March: a FORGET answered in 2 days while a legal hold kept a record.
    let held = forget_under_hold(&s).await;
    place(&s, &held, "2025-03-03T10:00:00Z", Some("2025-03-05T10:00:00Z")).await;
    // Placed last: the worker's housekeeping would let a FORGET unconfirmed since January expire.
    place(&s, &unconfirmed, "2025-01-15T08:00:00Z", None).await;

    let got = report(&s, "?from=2025-01&to=2025-03").await;
    assert_eq!(
        (got.from.to_string(), got.to.to_string()),
        ("2025-01".to_owned(), "2025-03".to_owned())
    );
    assert_eq!(got.time_zone, "Europe/Prague");
    let day = 86_400;
    let mut expected = Vec::new();
    for month in ["2025-01", "2025-02", "2025-03"] {
        for request_type in RequestType::ALL {
            let mut row = empty(month, request_type);
            match (month, request_type) {
                ("2025-01", RequestType::Export) => {
                    (row.received, row.completed_in_time, row.extended, row.extension_reasons) = (2, 2, 1, 1);
                    // Nearest rank: half within 2 days, 95 % within 40.
                    row.median_seconds_to_completion = Some(2 * day);
                    row.p95_seconds_to_completion = Some(40 * day);
                }
                ("2025-01", RequestType::Forget) => {
                    (row.received, row.overdue, row.extended, row.extension_reasons) = (1, 1, 1, 2);
                }
                ("2025-02", RequestType::Export) => {
                    (row.received, row.completed_late) = (1, 1);
                    row.median_seconds_to_completion = Some(33 * day);
                    row.p95_seconds_to_completion = Some(33 * day);
                }
                // Closed unanswered: counted apart, never timed (no 100 days in a percentile).
                ("2025-02", RequestType::Forget) => {
                    (row.received, row.expired) = (1, 1);
                }
                ("2025-03", RequestType::Forget) => {
                    (row.received, row.completed_in_time, row.withdrawn, row.retained) = (2, 1, 1, 1);
                    row.median_seconds_to_completion = Some(2 * day);
                    row.p95_seconds_to_completion = Some(2 * day);
                }
                _ => {}
            }
            expected.push(row);
        }
    }
    assert_eq!(got.rows, expected);
    // Each request in exactly one outcome.
    for row in &got.rows {
        assert_eq!(
            row.completed_in_time + row.completed_late + row.expired + row.withdrawn + row.overdue + row.pending,
            row.received,
            "{row:?}"
        );
    }

    // The same as CSV, by parameter and by Accept: its exact header and rows.
    let csv = s
        .orchestrator
        .get("/gdpr/reports/monthly?from=2025-01&to=2025-03&format=csv", DPO)
        .await;
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"gdpr-requests-2025-01-to-2025-03.csv\""
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "month,type,received,completed_in_time,completed_late,expired,withdrawn,overdue,pending,extended,extension_reasons,retained,median_seconds_to_completion,p95_seconds_to_completion"
    );
    assert_eq!(lines.len(), 1 + 3 * RequestType::ALL.len() + 1, "{text}");
    assert_eq!(lines.last(), Some(&""));
    assert!(
        lines.contains(&"2025-01,EXPORT,2,2,0,0,0,0,0,1,1,0,172800,3456000"),
        "{text}"
    );
    assert!(lines.contains(&"2025-01,FORGET,1,0,0,0,0,1,0,1,2,0,,"), "{text}");
    assert!(
        lines.contains(&"2025-02,EXPORT,1,0,1,0,0,0,0,0,0,0,2851200,2851200"),
        "{text}"
    );
    assert!(
        lines.contains(&"2025-03,FORGET,2,1,0,0,1,0,0,0,0,1,172800,172800"),
        "{text}"
    );
    assert!(lines.contains(&"2025-02,FORGET,1,0,0,1,0,0,0,0,0,0,,"), "{text}");
    assert!(lines.contains(&"2025-02,RESTRICT,0,0,0,0,0,0,0,0,0,0,,"), "{text}");
    let by_accept = s
        .orchestrator
        .client
        .get(s.orchestrator.url("/gdpr/reports/monthly?from=2025-01&to=2025-03"))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(by_accept.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(by_accept.text().await.unwrap(), text);

    // A request filed now is pending in this month's row of the default report (the twelve
    // months to this month).
    let fresh = s.file("EXPORT", subject(), false).await;
    let year = report(&s, "").await;
    assert_eq!(year.rows.len(), 12 * RequestType::ALL.len());
    let this_month = year
        .rows
        .iter()
        .find(|r| r.month == year.to && r.request_type == RequestType::Export);
    let this_month = this_month.unwrap();
    assert_eq!((this_month.received, this_month.pending), (1, 1), "{fresh}");
}

#[tokio::test]
async fn bad_parameters_are_refused_naming_them_and_operators_may_not_read_it() {
    let s = stack().await;
    for (query, parameter) in [
        ("?from=2025-13", "from"),
        ("?from=2025-01&to=2024-12", "to"),
        ("?from=2099-01", "from"),
        ("?from=2020-01&to=2025-12", "to"),
        ("?format=xml", "format"),
        ("?form=csv", "form"),
        ("?to=2025-01&to=2025-02", "to"),
    ] {
        let response = s.orchestrator.get(&format!("/gdpr/reports/monthly{query}"), DPO).await;
        assert_eq!(response.status().as_u16(), 400, "{query}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["parameter"].as_str().unwrap())
            .collect();
        assert_eq!(named, [parameter], "{query}: {problem}");
    }
    // The queue's operators see nothing of the requests but their queue.
    let operator = s.orchestrator.get("/gdpr/reports/monthly", OPERATOR).await;
    assert_eq!(operator.status().as_u16(), 403);
}

/// The months are the bank's: a time zone the IANA database does not know stops the service at
/// start, naming the key (never a silent UTC).
#[test]
fn a_time_zone_that_is_none_is_refused_at_start_naming_the_key() {
    let load = |zone: &str| {
        let sources = service_kit::configuration::SettingsSources {
            service_defaults: gdpr_orchestrator::SERVICE.default_config,
            file: None,
            environment: false,
            overrides: vec![
                ("application.environment".to_owned(), "development".to_owned()),
                (
                    "gdpr.internal_token".to_owned(),
                    "an-internal-token-of-some-length".to_owned(),
                ),
                (
                    "auth.callers.dpo.token".to_owned(),
                    "a-dpo-token-of-some-length-000".to_owned(),
                ),
                ("auth.callers.dpo.scopes".to_owned(), "dpo".to_owned()),
                ("gdpr.time_zone".to_owned(), zone.to_owned()),
            ],
        };
        let settings = service_kit::configuration::Settings::load(sources, gdpr_orchestrator::SERVICE.scopes).unwrap();
        gdpr_orchestrator::Orchestrator::new(&settings).map(|o| o.settings.time_zone.name().to_owned())
    };
    assert_eq!(load("America/New_York").unwrap(), "America/New_York");
    let refused = load("Europe/Atlantis").unwrap_err();
    assert!(
        refused.to_string().contains("gdpr.time_zone: not a time zone"),
        "{refused}"
    );
}

/// A RESTRICT was answered when it was restricted: its lift, later, moves its `completedAt`, never
/// the report's time to answer. The LIFT_RESTRICTION is a request of its own.
#[tokio::test]
async fn a_lifted_restriction_counts_from_when_it_was_restricted() {
    let s = stack().await;
    let restrict = s
        .file("RESTRICT", json!({ "phoneNumbers": [Person::new().phone] }), false)
        .await;
    assert_eq!(s.run(&restrict, Timestamp::now()).await["status"], "restricted");
    let lift = s
        .orchestrator
        .client
        .post(s.orchestrator.url(&format!("/gdpr/requests/{restrict}/lift")))
        .bearer_auth(s.orchestrator.token(DPO))
        .header("X-Acting-User", "Alice DPO")
        .json(&json!({ "reference": "CASE-4715" }))
        .send()
        .await
        .unwrap();
    assert_eq!(lift.status().as_u16(), 201);
    let lift: Value = lift.json().await.unwrap();
    let lift = lift["id"].as_str().unwrap().to_owned();
    assert_eq!(s.run(&lift, Timestamp::now()).await["status"], "awaiting_confirmation");
    assert_eq!(s.confirm(&lift).await.status().as_u16(), 200);
    assert_eq!(s.run(&lift, Timestamp::now()).await["status"], "completed");
    assert_eq!(s.request(&restrict).await["status"], "lifted");
    let restricted_at = s
        .audit(&restrict)
        .await
        .iter()
        .find(|e| e["event"] == "restricted")
        .map(|e| at(e["at"].as_str().unwrap()))
        .unwrap();

    // Received in May 2025; the lift's answer moved into September.
    place(&s, &restrict, "2025-05-05T10:00:00Z", Some("2025-09-01T00:00:00Z")).await;
    place(&s, &lift, "2025-05-20T10:00:00Z", Some("2025-05-21T10:00:00Z")).await;
    let got = report(&s, "?from=2025-05&to=2025-05").await;
    let row = |kind: RequestType| got.rows.iter().find(|r| r.request_type == kind).unwrap().clone();
    let since_receipt = restricted_at.as_offset_date_time() - at("2025-05-05T10:00:00Z").as_offset_date_time();
    let seconds = u64::try_from(since_receipt.whole_seconds()).unwrap();
    let mut expected = empty("2025-05", RequestType::Restrict);
    (expected.received, expected.completed_late) = (1, 1);
    (
        expected.median_seconds_to_completion,
        expected.p95_seconds_to_completion,
    ) = (Some(seconds), Some(seconds));
    assert_eq!(row(RequestType::Restrict), expected);
    let mut expected = empty("2025-05", RequestType::LiftRestriction);
    (expected.received, expected.completed_in_time) = (1, 1);
    (
        expected.median_seconds_to_completion,
        expected.p95_seconds_to_completion,
    ) = (Some(86_400), Some(86_400));
    assert_eq!(row(RequestType::LiftRestriction), expected);
}

/// More requests than a page of the scan, many received at the same instant (the scan pages by
/// receipt and id): each counted once, and the percentiles exact over all of them.
#[tokio::test]
async fn thousands_of_requests_across_pages_are_each_counted_once() {
    let s = stack().await;
    let (answered, _) = s.export(json!({ "phoneNumbers": [Person::new().phone] })).await;
    let id = uuid::Uuid::parse_str(answered["id"].as_str().unwrap()).unwrap();
    const COPIES: u32 = 2_500;
    s.orchestrator
        .pool()
        .run(move |c| {
            service_kit::database::write_transaction(c, |c| {
                let model = gdpr_orchestrator::store::find_request(c, id)?.unwrap();
                let base = at("2025-02-01T12:00:00Z").as_offset_date_time();
                for i in 0..COPIES {
                    // Seven received in each second; answered (i + 1) minutes after receipt.
                    let received = base + time::Duration::seconds(i64::from(i / 7));
                    let mut copy = model.clone();
                    copy.id = uuid::Uuid::new_v4();
                    copy.received_at = Timestamp::from_offset_date_time(received).unwrap();
                    copy.due_at = due_after_months(copy.received_at, 1).unwrap();
                    copy.completed_at =
                        Timestamp::from_offset_date_time(received + time::Duration::minutes(i64::from(i) + 1));
                    gdpr_orchestrator::store::insert_request(c, &copy)?;
                }
                Ok::<_, service_kit::problem::ApiError>(())
            })
        })
        .await
        .unwrap();
    let got = report(&s, "?from=2025-02&to=2025-02").await;
    let export = got.rows.iter().find(|r| r.request_type == RequestType::Export).unwrap();
    assert_eq!((export.received, export.completed_in_time), (2_500, 2_500));
    // Nearest rank over 1..=2500 minutes: the 1250th and the 2375th.
    assert_eq!(export.median_seconds_to_completion, Some(1_250 * 60));
    assert_eq!(export.p95_seconds_to_completion, Some(2_375 * 60));
}
