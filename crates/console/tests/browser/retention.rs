//! The Retention page in the browser (issue #30): a DPO follows the navigation to it and reads
//! the statutory rule gdpr-orchestrator is configured with, the legal holds in force counted,
//! and per channel comm-history-writer's retention and the records that fall due, counted.

use crate::harness::{Browser, Page};
use crate::{console_page, sign_in_at_provider, signed_in_on};
use fantoccini::Locator;
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn ago(age: Duration) -> domain::Timestamp {
    domain::Timestamp::from_offset_date_time(OffsetDateTime::now_utc() - age).unwrap()
}

/// The text of the cell `class` in the row `row` (a CSS selector) of the page.
async fn cell(browser: &Browser, row: &str, class: &str) -> String {
    browser.text_of(Locator::Css(&format!("{row} td.{class}"))).await
}

#[tokio::test]
async fn a_dpo_sees_the_rules_the_holds_in_force_and_each_channels_retention_and_records_due() {
    let rule =
        json!([{ "name": "mifid2-voice", "channels": ["VOICE"], "keep_days": 1826, "basis": "legal_obligation" }]);
    let overrides = vec![
        (
            "gdpr-orchestrator",
            "gdpr.statutory_retention".to_owned(),
            rule.to_string(),
        ),
        (
            "comm-history-writer",
            "records.retention_days_by_channel.voice".to_owned(),
            "30".to_owned(),
        ),
    ];
    let (stack, browser) = signed_in_on(overrides, "dana").await;
    // Two VOICE records falling due within a day (30 days, less 2 and 5 hours, after their
    // communication), one within the week, one long before.
    let hour = Duration::hours(1);
    for age in [
        Duration::days(30) - hour * 2,
        Duration::days(30) - hour * 5,
        Duration::days(27),
        Duration::days(3),
    ] {
        let mut record = test_support::expected_voice_inbound_record();
        record["interactionId"] = uuid::Uuid::new_v4().to_string().into();
        record["customerId"] = uuid::Uuid::new_v4().to_string().into();
        record["communicatedAt"] = json!(ago(age));
        stack.write(&record).await;
    }

    browser
        .click_on(
            Locator::Css("nav a[href='/gdpr/retention']"),
            &console_page("/gdpr/retention", "retention"),
        )
        .await;
    let rule = "#rules tr[data-rule='mifid2-voice']";
    assert_eq!(cell(&browser, rule, "channels").await, "VOICE");
    assert_eq!(cell(&browser, rule, "directions").await, "any");
    assert_eq!(cell(&browser, rule, "keep-days").await, "1826");
    assert_eq!(cell(&browser, rule, "basis").await, "legal_obligation");
    assert_eq!(browser.text_of(Locator::Id("holds-in-force")).await, "0");
    let voice = "#channels tr[data-channel='VOICE']";
    assert_eq!(cell(&browser, voice, "days").await, "30");
    assert_eq!(cell(&browser, voice, "set-by").await, "own");
    assert_eq!(cell(&browser, voice, "due-day").await, "2");
    assert_eq!(cell(&browser, voice, "due-week").await, "3");
    let chat = "#channels tr[data-channel='CHAT']";
    assert_eq!(cell(&browser, chat, "days").await, "3650", "the shipped default");
    assert_eq!(cell(&browser, chat, "set-by").await, "default");
    assert_eq!(cell(&browser, chat, "due-week").await, "0");
    let last_round = browser.text_of(Locator::Id("last-round")).await;
    println!("last round: {last_round}");
    browser.screenshot("gdpr-retention").await;

    // The holds page is one link away.
    browser
        .click_on(
            Locator::Id("holds-link"),
            &console_page("/gdpr/legal-holds", "legal-holds"),
        )
        .await;
    browser.close().await;

    // Otto, an operator and no DPO, is refused the page, and his navigation has no link to it.
    let otto = Browser::start().await;
    otto.client.goto(&stack.console_url("/gdpr/retention")).await.unwrap();
    sign_in_at_provider(&otto, &stack, "otto").await;
    otto.wait_for(&Page::console_under("/gdpr/retention", "p[role=alert]"))
        .await;
    assert_eq!(otto.text_of(Locator::Css("h1")).await, "Not for your role");
    let page = otto.client.source().await.unwrap();
    assert!(!page.contains("mifid2-voice"), "nothing of the page");
    otto.client.goto(&stack.console_url("/status")).await.unwrap();
    otto.wait_for(&console_page("/status", "status")).await;
    assert!(
        otto.client
            .find(Locator::Css("nav a[href='/gdpr/retention']"))
            .await
            .is_err(),
        "no link for an operator"
    );
    otto.close().await;
}
