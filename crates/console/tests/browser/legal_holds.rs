//! The legal holds pages in the browser: a DPO places a hold from the form, sees it listed, asks
//! to release it and gets no button to confirm her own ask (her forged confirmation is refused
//! with the orchestrator's reason); a second DPO confirms it, and it is released. And a FORGET
//! over a held customer: its page shows what the hold kept and why, and it completes once the
//! hold is released.

use crate::harness::{self, Browser, Page};
use crate::{
    assert_buttons_are, choose, confirmed_by_another, console_page, dana_with_a_customer, file_request, forge_form,
    reload_until_status, reload_until_status_within, sign_in_at_provider, signed_in_on, type_into,
};
use contracts::legal_hold::{LegalHold, LegalHoldAction};
use fantoccini::Locator;

/// A hold's page (`/gdpr/legal-holds/{id}`).
fn hold_page() -> Page {
    Page::console_under("/gdpr/legal-holds/", "main[data-page='legal-hold']")
}

fn list_page() -> Page {
    console_page("/gdpr/legal-holds", "legal-holds")
}

/// The hold page shown has exactly the buttons of the actions `hold` allows.
async fn assert_buttons_follow(browser: &Browser, hold: &LegalHold) {
    let buttons = [
        (LegalHoldAction::RequestRelease, "request-release"),
        (LegalHoldAction::ConfirmRelease, "confirm-release"),
        (LegalHoldAction::WithdrawRelease, "withdraw-release"),
    ];
    assert_buttons_are(browser, &buttons, &hold.allowed_actions, hold.status.as_str()).await;
}

/// From the navigation to the list of holds and on to its form, filled to place a hold on
/// `customer` for legal claims under case `reference`.
async fn fill_hold_form(browser: &Browser, reference: &str, customer: &str) {
    browser
        .click_on(Locator::Css("nav a[href='/gdpr/legal-holds']"), &list_page())
        .await;
    browser
        .click_on(
            Locator::Id("new-hold"),
            &console_page("/gdpr/legal-holds/new", "legal-hold-new"),
        )
        .await;
    type_into(browser, "reference", reference).await;
    type_into(browser, "reason", "Complaint before the court").await;
    choose(browser, "basis", "legal_claims").await;
    type_into(browser, "customer_ids", customer).await;
}

/// Sets a date-time input (what a person picks; typing into one follows the browser's locale).
pub(crate) async fn pick_date_time(browser: &Browser, id: &str, value: &str) {
    browser
        .client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![id.into(), value.into()],
        )
        .await
        .unwrap();
}

/// The hold's id, from its page's URL.
async fn hold_id(browser: &Browser) -> String {
    let url = browser.client.current_url().await.unwrap();
    url.path().rsplit('/').next().unwrap().to_owned()
}

/// The hold as the orchestrator answers it to `login`.
async fn hold_as(stack: &harness::Stack, login: &str, id: &str) -> LegalHold {
    stack.gdpr_as(login, &format!("/gdpr/legal-holds/{id}")).await
}

#[tokio::test]
async fn a_hold_is_placed_listed_and_released_by_a_second_person_and_the_asker_gets_no_confirm() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;

    fill_hold_form(&browser, "LIT-2026-17", &customer).await;
    type_into(&browser, "phone_numbers", "call me").await;
    type_into(&browser, "interaction_ids", &uuid::Uuid::new_v4().to_string()).await;
    pick_date_time(&browser, "window_from", "2026-01-01T00:00").await;
    pick_date_time(&browser, "ends_at", "2030-01-31T12:00").await;
    // Refused by the orchestrator: the form again, as typed, with its words naming the field,
    // never the value.
    browser
        .click_on(
            Locator::Id("place"),
            &Page::console_under("/gdpr/legal-holds", "#refusal"),
        )
        .await;
    let refusal = browser.text_of(Locator::Id("refusal")).await;
    println!("refused: {refusal}");
    assert!(refusal.contains("/subject/phoneNumbers/0"), "{refusal}");
    assert!(!refusal.contains("call me"), "{refusal}");
    let phone = client.find(Locator::Id("phone_numbers")).await.unwrap();
    assert_eq!(phone.prop("value").await.unwrap().as_deref(), Some("call me"));
    phone.clear().await.unwrap();
    phone.send_keys("+420 601 123 456").await.unwrap();
    browser.click_on(Locator::Id("place"), &hold_page()).await;
    let id = hold_id(&browser).await;
    assert_eq!(browser.text_of(Locator::Id("status")).await, "In force");
    assert_eq!(
        browser.text_of(Locator::Id("basis")).await,
        "Legal claims (Art. 17(3)(e))"
    );
    assert_eq!(
        browser.text_of(Locator::Id("covers")).await,
        "1 customer id, 1 phone number, 1 interaction"
    );
    // The pickers are read in the bank's time zone (Europe/Prague) and shown in it.
    assert_eq!(
        browser.text_of(Locator::Id("window")).await,
        "communications from 1 Jan 2026 at 00:00 CET on"
    );
    let ends = browser.text_of(Locator::Id("ends")).await;
    assert!(ends.starts_with("31 Jan 2030 at 12:00 CET (in "), "{ends}");
    let placed = hold_as(&stack, "dana", &id).await;
    assert_eq!(
        placed.window.and_then(|w| w.from).map(|at| at.to_string()).as_deref(),
        Some("2025-12-31T23:00:00Z")
    );
    assert_eq!(
        placed.ends_at.map(|at| at.to_string()).as_deref(),
        Some("2030-01-31T11:00:00Z")
    );
    assert_eq!(browser.text_of(Locator::Id("placed-by")).await, "dana");
    let page = client.source().await.unwrap();
    assert!(
        !page.contains(&customer) && !page.contains("601123456"),
        "the page names no identifier"
    );
    assert_buttons_follow(&browser, &hold_as(&stack, "dana", &id).await).await;

    // Listed, newest first.
    browser
        .click_on(Locator::Css("main a[href='/gdpr/legal-holds']"), &list_page())
        .await;
    let row = client
        .find(Locator::Css(&format!("tr.hold[data-hold='{id}']")))
        .await
        .unwrap();
    let cell = |class: &'static str| {
        let row = row.clone();
        async move { row.find(Locator::Css(class)).await.unwrap().text().await.unwrap() }
    };
    assert_eq!(cell(".status").await, "In force");
    assert_eq!(cell(".reference").await, "LIT-2026-17");
    assert_eq!(cell(".covers").await, "1 customer id, 1 phone number, 1 interaction");
    assert_eq!(cell(".placed-by").await, "dana");
    let ends = cell(".ends").await;
    assert!(ends.starts_with("31 Jan 2030 at 12:00 CET (in "), "{ends}");
    browser.screenshot("legal-holds").await;

    // Dana asks to release it: a second person must confirm, so she gets no "confirm".
    browser
        .click_on(Locator::Css(&format!("a[href='/gdpr/legal-holds/{id}']")), &hold_page())
        .await;
    type_into(&browser, "release-reason", "The claim was withdrawn").await;
    browser.click_on(Locator::Id("request-release"), &hold_page()).await;
    assert_eq!(browser.text_of(Locator::Id("status")).await, "In force, release asked");
    let to_dana = hold_as(&stack, "dana", &id).await;
    println!("to the asker: {:?} {:?}", to_dana.status, to_dana.allowed_actions);
    assert!(!to_dana.allowed_actions.contains(&LegalHoldAction::ConfirmRelease));
    assert!(client.find(Locator::Id("confirm-release")).await.is_err());
    assert_buttons_follow(&browser, &to_dana).await;
    // She may take her ask back (active again), and ask once more.
    browser.click_on(Locator::Id("withdraw-release"), &hold_page()).await;
    assert_eq!(browser.text_of(Locator::Id("status")).await, "In force");
    assert_buttons_follow(&browser, &hold_as(&stack, "dana", &id).await).await;
    type_into(
        &browser,
        "release-reason",
        "The claim was withdrawn, confirmed in writing",
    )
    .await;
    browser.click_on(Locator::Id("request-release"), &hold_page()).await;
    assert_eq!(browser.text_of(Locator::Id("status")).await, "In force, release asked");
    // Her confirmation sent anyway (the form a second person's page has): refused, and her page
    // says why in the orchestrator's words.
    let refusal = forge_form(
        &browser,
        "/release",
        &[("step", "confirm"), ("reason", "confirming my own ask")],
        "/gdpr/legal-holds/",
    )
    .await;
    assert!(refusal.contains("four eyes"), "{refusal}");
    assert_eq!(browser.text_of(Locator::Id("status")).await, "In force, release asked");
    browser.screenshot("legal-hold-confirm-refused").await;
    browser.close().await;

    // Bob, another DPO, in a browser of his own: he may confirm (and neither ask nor withdraw).
    let bob = Browser::start().await;
    let url = stack.console_url(&format!("/gdpr/legal-holds/{id}"));
    bob.client.goto(&url).await.unwrap();
    sign_in_at_provider(&bob, &stack, "bob").await;
    bob.wait_for(&hold_page()).await;
    let to_bob = hold_as(&stack, "bob", &id).await;
    assert_eq!(to_bob.allowed_actions, [LegalHoldAction::ConfirmRelease], "{to_bob:?}");
    assert_buttons_follow(&bob, &to_bob).await;
    type_into(&bob, "release-reason", "Checked with legal: the claim is closed").await;
    bob.click_on(Locator::Id("confirm-release"), &hold_page()).await;
    assert_eq!(bob.text_of(Locator::Id("status")).await, "Released");
    assert!(bob.text_of(Locator::Id("released")).await.starts_with("bob, "));
    assert!(bob
        .text_of(Locator::Id("release-requested"))
        .await
        .starts_with("dana, "));
    assert_buttons_follow(&bob, &hold_as(&stack, "bob", &id).await).await;
    let mut audited = Vec::new();
    for row in bob.client.find_all(Locator::Css("li.audit")).await.unwrap() {
        let actor = row.find(Locator::Css(".actor")).await.unwrap().text().await.unwrap();
        let event = row.find(Locator::Css(".event")).await.unwrap().text().await.unwrap();
        audited.push((actor, event));
    }
    println!("audited: {audited:?}");
    assert!(audited.iter().any(|(actor, _)| actor == "dana"), "{audited:?}");
    assert!(audited.iter().any(|(actor, _)| actor == "bob"), "{audited:?}");
    bob.screenshot("legal-hold-released").await;

    // Released in the list too.
    bob.open(&stack.console_url("/gdpr/legal-holds?status=released"), &list_page())
        .await;
    let status = bob
        .text_of(Locator::Css(&format!("tr.hold[data-hold='{id}'] .status")))
        .await;
    assert_eq!(status, "Released");
    bob.close().await;
}

#[tokio::test]
async fn a_forget_over_a_held_customer_shows_what_the_hold_kept_and_completes_once_two_persons_release_it() {
    // No grace window: the purge follows the confirmation.
    let grace = ("gdpr-orchestrator", "gdpr.grace_hours".to_owned(), "0".to_owned());
    let (stack, browser) = signed_in_on(vec![grace], "dana").await;
    let customer = stack.record_for_a_customer().await;
    fill_hold_form(&browser, "LIT-2026-18", &customer).await;
    browser.click_on(Locator::Id("place"), &hold_page()).await;
    let hold_url = browser.client.current_url().await.unwrap().to_string();

    // A FORGET of the customer, confirmed by Bob: purged but for what the hold keeps.
    let url = file_request(&browser, &stack, "FORGET", &customer, "Awaiting confirmation").await;
    let bob = confirmed_by_another(&stack, &url, "bob").await;
    reload_until_status(&bob, &url, "Erased, some kept").await;
    let mut kept = Vec::new();
    for cell in bob.client.find_all(Locator::Css("tr.step td.kept")).await.unwrap() {
        kept.push(cell.text().await.unwrap());
    }
    println!("kept: {kept:?}");
    assert!(bob.text_of(Locator::Id("next")).await.contains("legal hold"));
    assert!(
        kept.iter()
            .any(|k| k == "Communications 1: Legal claims (Art. 17(3)(e))"),
        "{kept:?}"
    );
    let page = bob.client.source().await.unwrap();
    assert!(!page.contains(&customer), "the request's page names no identifier");
    bob.screenshot_of("systems", "gdpr-forget-kept-by-a-hold").await;

    // Dana asks to release the hold, Bob confirms: the worker purges again, the FORGET completes.
    browser.open(&hold_url, &hold_page()).await;
    type_into(&browser, "release-reason", "The claim is closed").await;
    browser.click_on(Locator::Id("request-release"), &hold_page()).await;
    bob.open(&hold_url, &hold_page()).await;
    type_into(&bob, "release-reason", "Checked with legal").await;
    bob.click_on(Locator::Id("confirm-release"), &hold_page()).await;
    assert_eq!(bob.text_of(Locator::Id("status")).await, "Released");
    // The worker looks at ended holds once a minute.
    reload_until_status_within(&bob, &url, "Done", std::time::Duration::from_secs(150)).await;
    browser.close().await;
    bob.close().await;
}
