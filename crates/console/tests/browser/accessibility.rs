//! axe-core on every page of the console, empty and with data: no violation of any impact.
//! axe (vendored, `tests/axe-core/`, MPL-2.0) is injected through WebDriver's execute: the page
//! never loads it, so the console's Content-Security-Policy is the production one.

use crate::harness::{self, Browser};
use crate::{console_page, count_request, reload_until_status, request_page, sign_in_at_provider};
use fantoccini::Locator;

const AXE: &str = include_str!("../axe-core/axe.min.js");

/// The violations axe finds on the page shown, one line each: impact, rule, where.
pub(crate) async fn violations(browser: &Browser) -> Vec<String> {
    browser.client.execute(AXE, Vec::new()).await.unwrap();
    let found = browser
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations.map(v =>
                `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)))
              .catch(e => done(['axe did not run: ' + e]));"#,
            Vec::new(),
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// axe finds nothing on the page shown (`what` names it in the failure and the output).
pub(crate) async fn assert_accessible(browser: &Browser, what: &str) {
    let found = violations(browser).await;
    println!("axe on {what}: {} violation(s)", found.len());
    assert!(found.is_empty(), "{what}: {found:#?}");
}

/// Opens `path` (a page marked `name`), checks it with axe and saves its screenshot as `shot`.
async fn check(browser: &Browser, stack: &harness::Stack, path: &str, name: &str, shot: Option<&str>) {
    browser.open(&stack.console_url(path), &console_page(path, name)).await;
    assert_accessible(browser, path).await;
    if let Some(shot) = shot {
        browser.screenshot(shot).await;
    }
}

#[tokio::test]
async fn axe_finds_no_violation_on_any_page_empty_or_with_data() {
    crate::logs();
    // No grace period: a FORGET confirmed is erased at once, so the page of an erased one shows.
    let stack = harness::Stack::start_with(vec![(
        "gdpr-orchestrator",
        "gdpr.grace_hours".to_owned(),
        "0".to_owned(),
    )])
    .await;
    // Dana holds every role here: one browser sees every page.
    stack
        .provider
        .set_person(
            "dana",
            "Dana Dpo",
            &["ccbridge-dpo", "ccbridge-operator", "ccbridge-backoffice"],
        )
        .await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.console_url("/status")).await.unwrap();
    sign_in_at_provider(&browser, &stack, "dana").await;
    browser.wait_for(&console_page("/status", "status")).await;

    // The check can fail: a page with an image without a text alternative is a violation.
    browser
        .client
        .execute(
            "const img = document.createElement('img'); img.src = '/static/none.png'; document.querySelector('main').append(img);",
            Vec::new(),
        )
        .await
        .unwrap();
    let found = violations(&browser).await;
    println!("axe on a page given an image without alt: {found:?}");
    assert!(found.iter().any(|v| v.contains("image-alt")), "{found:?}");

    // Empty: every list says so.
    check(&browser, &stack, "/status", "status", None).await;
    for (path, name, empty) in [
        ("/gdpr", "gdpr-list", "no-requests"),
        ("/gdpr/legal-holds", "legal-holds", "no-holds"),
        ("/inbox", "inbox", "no-dead"),
        ("/queues/deliveries", "queue-deliveries", "no-dead"),
        ("/queues/pairing-outbox", "queue-pairing-outbox", "no-pending"),
        ("/unassigned", "unassigned", "no-unassigned"),
    ] {
        check(&browser, &stack, path, name, None).await;
        let said = browser.text_of(Locator::Id(empty)).await;
        println!("{path} empty: {said}");
        assert!(!said.is_empty(), "{path}");
    }
    check(&browser, &stack, "/gdpr/new", "gdpr-new", None).await;
    check(&browser, &stack, "/gdpr/legal-holds/new", "legal-hold-new", None).await;
    check(&browser, &stack, "/gdpr/retention", "retention", None).await;
    check(&browser, &stack, "/gdpr/reports", "reports", None).await;

    // With data: a held customer, an unassigned record, a sweep, an export, a forget.
    let customer = stack.record_for_a_customer().await;
    let held = stack.record_for_a_customer().await;
    let address = format!("client-{}@example.com", uuid::Uuid::new_v4().simple());
    stack
        .write_record(None, &address, &uuid::Uuid::new_v4().to_string())
        .await;
    check(&browser, &stack, "/unassigned", "unassigned", None).await;

    let hold_page = crate::harness::Page::console_under("/gdpr/legal-holds/", "#hold-id");
    browser
        .open(
            &stack.console_url("/gdpr/legal-holds/new"),
            &console_page("/gdpr/legal-holds/new", "legal-hold-new"),
        )
        .await;
    crate::type_into(&browser, "reference", "LIT-2026-31").await;
    crate::type_into(&browser, "reason", "A claim of the customer").await;
    crate::type_into(&browser, "customer_ids", &held).await;
    browser.click_on(Locator::Id("place"), &hold_page).await;
    assert_accessible(&browser, "a legal hold's page").await;
    check(&browser, &stack, "/gdpr/legal-holds", "legal-holds", None).await;

    browser
        .open(&stack.console_url("/inbox"), &console_page("/inbox", "inbox"))
        .await;
    // The window's pickers are read in the bank's time zone (devstack's: Europe/Prague), to the
    // second: yesterday's hour, three hours long.
    let prague = console::bank_time::BankTime::named("Europe/Prague").unwrap();
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let [from, to] = [now - time::Duration::hours(26), now - time::Duration::hours(23)]
        .map(|at| domain::Timestamp::from_offset_date_time(at).unwrap());
    for (id, at) in [("from", from), ("to", to)] {
        let picked = prague.picker_value(at);
        println!("{id}: picked {picked} (UTC {at})");
        crate::legal_holds::pick_date_time(&browser, id, &picked).await;
    }
    let sweep = browser.client.find(Locator::Id("sweep")).await.unwrap();
    browser.click_away(&sweep).await;
    if let Ok(alert) = browser.client.find(Locator::Css("[role=alert]")).await {
        panic!("the sweep was refused: {}", alert.text().await.unwrap());
    }
    browser.wait_for(&console_page("/inbox", "inbox")).await;
    let mut windows = Vec::new();
    for cell in browser
        .client
        .find_all(Locator::Css("tr.sweep td:nth-child(2)"))
        .await
        .unwrap()
    {
        windows.push(cell.text().await.unwrap());
    }
    println!("sweeps shown: {windows:?}");
    let shown = format!("{} to {}", prague.at(from), prague.at(to));
    assert!(windows.contains(&shown), "{shown} in {windows:?}");
    let swept: Vec<_> = stack.sweeps().await.into_iter().map(|s| (s.from, s.to)).collect();
    assert!(swept.contains(&(from, to)), "{swept:?}");
    assert_accessible(&browser, "/inbox with a sweep").await;
    browser.screenshot("inbox-sweep").await;

    // An export: its count, then its page once completed (a timeline, the counts by system).
    count_request(&browser, &stack.console_url("/gdpr/new"), "EXPORT", &customer).await;
    assert_accessible(&browser, "a count's page").await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let export = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &export, "Done").await;
    assert_accessible(&browser, "a completed export's page").await;

    // A forget of the held customer, confirmed by Bob: erased but for what the hold keeps.
    count_request(&browser, &stack.console_url("/gdpr/new"), "FORGET", &held).await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let forget = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &forget, "Awaiting confirmation").await;
    assert_accessible(&browser, "a forget awaiting confirmation").await;
    let bob = crate::confirmed_by_another(&stack, &forget, "bob").await;
    reload_until_status(&bob, &forget, "Erased, some kept").await;
    assert_accessible(&bob, "a forget erased but for what a hold keeps").await;
    bob.close().await;

    check(&browser, &stack, "/gdpr", "gdpr-list", Some("gdpr-list")).await;
    check(&browser, &stack, "/gdpr/reports", "reports", None).await;
    check(&browser, &stack, "/status", "status", None).await;

    // A page the console refuses (not found) and the signed-out page.
    browser
        .client
        .goto(&stack.console_url(&format!("/gdpr/requests/{}", uuid::Uuid::new_v4())))
        .await
        .unwrap();
    browser.client.find(Locator::Css("main h1")).await.unwrap();
    assert_accessible(&browser, "a request that does not exist").await;
    browser
        .open(&stack.console_url("/status"), &console_page("/status", "status"))
        .await;
    browser
        .click_on(
            Locator::Css("form.signout button"),
            &crate::harness::Page::console_under("/signout", "#signed-out"),
        )
        .await;
    assert_accessible(&browser, "the signed-out page").await;

    // devstack's own console: the development sign-in form.
    browser
        .client
        .goto(&stack.devstack_console_url("/signin"))
        .await
        .unwrap();
    browser.client.find(Locator::Id("development-sign-in")).await.unwrap();
    assert_accessible(&browser, "the development sign-in").await;
    browser.close().await;
}
