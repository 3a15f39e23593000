//! A RECTIFY of a number whose voice call a statutory rule keeps (review-31 M7): the count's page
//! and then the request's page say in plain words which rows stay as they were and why, before
//! anyone confirms; the other record is what the count finds to correct, and Genesys Cloud, which
//! would rewrite the kept call's recording too, stays as it was. No page names a number.

use crate::harness::{self, Browser, Page};
use crate::{choose, console_page, reload_until_status, request_page, type_into};
use fantoccini::Locator;
use serde_json::json;

const OLD: &str = "+420601555311";
const NEW: &str = "+420601555322";

/// What both pages say of the kept call.
const KEPT_CALL: &str = "Communication history, Communications: 1 kept as it was, kept under a legal obligation \
                         of the bank (Art. 17(3)(b), e.g. MiFID II)";

/// What both pages say of Genesys Cloud: it corrects a number everywhere, the kept call's
/// recording too, so it is not corrected there while the call is kept.
const KEPT_IN_GENESYS: &str = "Genesys Cloud, People in Genesys Cloud: 1 kept as it was, kept under a legal \
                               obligation of the bank (Art. 17(3)(b), e.g. MiFID II)";

/// Counts a RECTIFY of `customer` replacing [`OLD`] by [`NEW`] from the new-request form.
async fn count_the_correction(browser: &Browser, stack: &harness::Stack, customer: &str) {
    browser
        .open(&stack.console_url("/gdpr/new"), &console_page("/gdpr/new", "gdpr-new"))
        .await;
    choose(browser, "kind", "RECTIFY").await;
    type_into(browser, "reference", "CASE-16-M7").await;
    type_into(browser, "customer_ids", customer).await;
    type_into(browser, "phone_numbers", OLD).await;
    type_into(browser, "phone_from", OLD).await;
    type_into(browser, "phone_to", NEW).await;
    browser
        .click_on(Locator::Id("count"), &Page::console_under("/gdpr/counts/", "#file"))
        .await;
}

/// The lines of the page's "What stays as it was".
async fn unchanged_lines(browser: &Browser) -> Vec<String> {
    let mut lines = Vec::new();
    for line in browser.client.find_all(Locator::Css("#unchanged li")).await.unwrap() {
        lines.push(line.text().await.unwrap());
    }
    lines
}

#[tokio::test]
async fn the_count_and_the_request_page_say_which_rows_stay_as_they_were_and_why() {
    let rule =
        json!([{ "name": "mifid2-voice", "channels": ["VOICE"], "keep_days": 3650, "basis": "legal_obligation" }]);
    let setting = (
        "gdpr-orchestrator",
        "gdpr.statutory_retention".to_owned(),
        rule.to_string(),
    );
    let (stack, browser) = crate::signed_in_on(vec![setting], "dana").await;
    let customer = uuid::Uuid::new_v4().to_string();
    // A voice call the rule keeps, and a chat it does not.
    let (call, chat) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    stack.write_record(Some(&customer), &format!("tel:{OLD}"), &call).await;
    let mut record = test_support::expected_voice_inbound_record();
    record["customerId"] = customer.as_str().into();
    record["customerHandle"] = format!("tel:{OLD}").into();
    record["interactionId"] = chat.as_str().into();
    record["channel"] = "CHAT".into();
    stack.write(&record).await;

    count_the_correction(&browser, &stack, &customer).await;
    let counts = crate::count_cells(&browser).await;
    println!("counted: {counts:?}");
    assert!(
        counts.contains(&("comm-history-writer.communications".to_owned(), "1".to_owned())),
        "{counts:?}"
    );
    assert_eq!(unchanged_lines(&browser).await, [KEPT_CALL, KEPT_IN_GENESYS]);

    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Awaiting confirmation").await;
    let heading = browser.text_of(Locator::Id("unchanged-heading")).await;
    assert_eq!(heading, "What stays as it was");
    assert_eq!(unchanged_lines(&browser).await, [KEPT_CALL, KEPT_IN_GENESYS]);
    crate::accessibility::assert_accessible(&browser, "a RECTIFY that leaves a kept record unchanged").await;
    let page = browser.client.source().await.unwrap();
    assert!(
        !page.contains(&OLD[4..]) && !page.contains(&NEW[4..]),
        "no page names a number"
    );
    browser.close().await;
}
