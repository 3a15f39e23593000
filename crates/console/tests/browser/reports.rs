//! The Reports page in the browser (issue #31): a DPO files an EXPORT (answered) and a FORGET
//! (awaiting its confirmation), opens the accountability report for this month, and reads per
//! type the same numbers gdpr-orchestrator's report gives, in tables beside two charts drawn on
//! the server: well-formed SVG with a title and a description, no script anywhere on the page.

use crate::accessibility::assert_accessible;
use crate::harness::{Browser, Page};
use crate::{file_request, sign_in_at_provider, signed_in_on};
use contracts::gdpr::RequestType;
use contracts::report::{MonthlyReport, MonthlyRow};
use fantoccini::Locator;

/// The text of the cell `class` in the row of `month` of the table `table`.
async fn cell(browser: &Browser, table: &str, month: &str, class: &str) -> String {
    browser
        .text_of(Locator::Css(&format!("#{table} tr[data-month='{month}'] td.{class}")))
        .await
}

fn reports_page() -> Page {
    Page::console_under("/gdpr/reports", "main[data-page='reports']")
}

/// Shows the report for `kind` (chosen in the form, as a person does).
async fn show(browser: &Browser, kind: RequestType) {
    browser
        .client
        .find(Locator::Css(&format!("#type option[value={}]", kind.as_str())))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click_on(Locator::Css("form.report-form button[type=submit]"), &reports_page())
        .await;
}

/// Whether the chart `id` parses as XML on its own (the browser's own parser), and how many
/// script elements the whole page holds.
async fn chart_parses(browser: &Browser, id: &str) -> (bool, u64) {
    let answer = browser
        .client
        .execute(
            "const svg = document.getElementById(arguments[0]);
             const parsed = new DOMParser().parseFromString(svg.outerHTML, 'image/svg+xml');
             return [parsed.getElementsByTagName('parsererror').length === 0 && parsed.documentElement.localName === 'svg',
                     document.getElementsByTagName('script').length];",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
    (answer[0].as_bool().unwrap(), answer[1].as_u64().unwrap())
}

#[tokio::test]
async fn a_dpo_reads_this_months_requests_in_charts_and_tables_that_match_the_orchestrators_report() {
    let (stack, browser) = signed_in_on(Vec::new(), "dana").await;
    let customer = stack.record_for_a_customer().await;
    file_request(&browser, &stack, "EXPORT", &customer, "Done").await;
    let other = stack.record_for_a_customer().await;
    file_request(&browser, &stack, "FORGET", &other, "Awaiting confirmation").await;

    // The navigation leads a DPO there.
    browser
        .click_on(Locator::Css("nav a[href='/gdpr/reports']"), &reports_page())
        .await;
    let report: MonthlyReport = stack.gdpr_as("dana", "/gdpr/reports/monthly").await;
    let month = report.to.to_string();
    assert_eq!(browser.text_of(Locator::Id("time-zone")).await, report.time_zone);
    let row_of = |kind: RequestType| -> &MonthlyRow {
        report
            .rows
            .iter()
            .find(|r| r.month == report.to && r.request_type == kind)
            .unwrap()
    };

    // The FORGET waits for a second person: received and not yet due.
    show(&browser, RequestType::Forget).await;
    assert_eq!(cell(&browser, "outcomes-table", &month, "received").await, "1");
    assert_eq!(cell(&browser, "outcomes-table", &month, "pending").await, "1");
    assert_eq!(cell(&browser, "outcomes-table", &month, "in-time").await, "0");
    // Neither expired nor withdrawn: those are columns of their own, never "answered".
    assert_eq!(cell(&browser, "outcomes-table", &month, "expired").await, "0");
    assert_eq!(cell(&browser, "outcomes-table", &month, "withdrawn").await, "0");
    assert_eq!(cell(&browser, "times-table", &month, "median").await, "—");
    assert_eq!(
        (
            row_of(RequestType::Forget).received,
            row_of(RequestType::Forget).pending
        ),
        (1, 1)
    );

    // The EXPORT was answered today: in time, within a day, as the orchestrator says.
    show(&browser, RequestType::Export).await;
    let export = row_of(RequestType::Export);
    assert_eq!((export.received, export.completed_in_time), (1, 1));
    assert_eq!(cell(&browser, "outcomes-table", &month, "received").await, "1");
    assert_eq!(cell(&browser, "outcomes-table", &month, "in-time").await, "1");
    assert_eq!(cell(&browser, "times-table", &month, "answered").await, "1");
    let median_days = format!("{:.1}", export.median_seconds_to_completion.unwrap() as f64 / 86_400.0);
    assert_eq!(cell(&browser, "times-table", &month, "median").await, median_days);
    // Every month of the year to now has its row in both tables.
    let rows = browser
        .client
        .find_all(Locator::Css("#outcomes-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);

    // The charts: titled and described images, their marks titled with the numbers, parsed as
    // XML on their own; nothing on the page is a script.
    for id in ["outcomes-chart", "times-chart"] {
        let chart = browser.client.find(Locator::Id(id)).await.unwrap();
        assert_eq!(chart.attr("role").await.unwrap().as_deref(), Some("img"));
        let labelled = chart.attr("aria-labelledby").await.unwrap().unwrap();
        assert_eq!(labelled, format!("{id}-title {id}-desc"));
        assert_eq!(chart_parses(&browser, id).await, (true, 0), "{id}");
    }
    let part = browser
        .client
        .find(Locator::Css("#outcomes-chart rect title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert_eq!(part, format!("{month}: 1 answered in time"));
    let link = browser.client.find(Locator::Id("csv-link")).await.unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().unwrap(),
        format!("/gdpr/reports/monthly.csv?from={}&to={}", report.from, report.to)
    );
    assert_accessible(&browser, "the Reports page").await;
    browser.screenshot("gdpr-reports").await;

    // A month that is none: the orchestrator's refusal, naming the field, and no chart.
    browser
        .open(
            &stack.console_url("/gdpr/reports?from=2026-13"),
            &Page::console_under("/gdpr/reports", "#report-refused"),
        )
        .await;
    assert!(browser
        .text_of(Locator::Id("report-refused"))
        .await
        .starts_with("from:"));
    assert!(browser.client.find(Locator::Id("outcomes-chart")).await.is_err());

    // A request type that is none: 400, naming `type`, and no chart.
    browser
        .open(
            &stack.console_url("/gdpr/reports?type=ERASE"),
            &Page::console_under("/gdpr/reports", "#report-refused"),
        )
        .await;
    let why = browser.text_of(Locator::Id("report-refused")).await;
    assert!(why.starts_with("type: not a request type (EXPORT, "), "{why}");
    assert!(browser.client.find(Locator::Id("outcomes-chart")).await.is_err());
    let status = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/gdpr/reports?type=ERASE').then(r => done(r.status), e => done(String(e)));",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(status, serde_json::json!(400));
    browser.close().await;

    // Otto, an operator and no DPO, is refused the page.
    let otto = Browser::start().await;
    otto.client.goto(&stack.console_url("/gdpr/reports")).await.unwrap();
    sign_in_at_provider(&otto, &stack, "otto").await;
    otto.wait_for(&Page::console_under("/gdpr/reports", "p[role=alert]"))
        .await;
    assert_eq!(otto.text_of(Locator::Css("h1")).await, "Not for your role");
    otto.close().await;
}

/// The charts go into the page as they are drawn (`|safe`): a label, title or unit holding markup
/// and quotes must stay text there. Drawn by the console's own chart code and put into an HTML
/// page as the template does, then read by Chromium: nothing ran, no element or attribute came
/// from the text, and each title reads back the text exactly.
#[tokio::test]
async fn a_chart_label_with_script_or_quotes_stays_inert_in_the_page() {
    use base64::Engine as _;
    use console::charts::{self, Chart, Series};
    let hostile = r#"<script>window.ran = 1</script>"><img src=x onerror="window.ran = 2">"#;
    let labels = vec![hostile.to_owned()];
    let chart = |id: &'static str| Chart {
        id,
        title: hostile,
        description: hostile,
        labels: &labels,
        unit: hostile,
    };
    let bars = charts::stacked_bars(
        &chart("bars"),
        &[Series {
            name: "answered in time",
            colour: "#2e7d32",
            values: vec![3],
        }],
    )
    .unwrap();
    let line = charts::lines(
        &chart("line"),
        &[Series {
            name: "median",
            colour: "#1565c0",
            values: vec![Some(2.0)],
        }],
    )
    .unwrap();
    let page = format!(
        "<!doctype html><html lang=en><head><title>charts</title></head><body><figure>{bars}</figure><figure>{line}</figure></body></html>"
    );
    let browser = Browser::start().await;
    let url = format!(
        "data:text/html;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(page)
    );
    browser.client.goto(&url).await.unwrap();
    let read = browser
        .client
        .execute(
            "const handlers = [...document.querySelectorAll('*')]
                 .flatMap(e => [...e.attributes].map(a => a.name))
                 .filter(n => n.startsWith('on'));
             const texts = [...document.querySelectorAll('svg title, svg desc')].map(t => t.textContent);
             return [window.ran === undefined, document.getElementsByTagName('script').length,
                     document.getElementsByTagName('img').length, handlers.length,
                     document.querySelectorAll('svg').length, texts];",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(read[0], true, "nothing ran: {read}");
    assert_eq!(
        (read[1].as_u64(), read[2].as_u64(), read[3].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{read}"
    );
    assert_eq!(read[4].as_u64(), Some(2), "{read}");
    let texts = read[5].as_array().unwrap();
    // Each chart's title and description, and its mark's title naming the label.
    assert!(
        texts.iter().filter(|t| t.as_str() == Some(hostile)).count() >= 4,
        "{read}"
    );
    assert!(
        texts.contains(&serde_json::json!(format!("{hostile}: 3 answered in time"))),
        "{read}"
    );
    browser.close().await;
}
