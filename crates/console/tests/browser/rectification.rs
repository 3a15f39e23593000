//! A RECTIFY (Art. 16) from the console: counted first, filed, confirmed by a second DPO, and the
//! record carries the new number; a replacement that is no phone number is refused at the door
//! with the orchestrator's words naming the field, never the value.

use crate::harness::{self, Browser, Page};
use crate::{choose, console_page, reload_until_status, request_page, type_into};
use fantoccini::Locator;

const OLD: &str = "+420601555111";
const NEW: &str = "+420601555222";

/// Fills the new-request form for a RECTIFY of `customer` replacing [`OLD`] with `to`, and
/// sends it to be counted.
async fn count_a_rectify(browser: &Browser, stack: &harness::Stack, customer: &str, to: &str, page: &Page) {
    browser
        .open(&stack.console_url("/gdpr/new"), &console_page("/gdpr/new", "gdpr-new"))
        .await;
    choose(browser, "kind", "RECTIFY").await;
    type_into(browser, "reference", "CASE-16").await;
    type_into(browser, "customer_ids", customer).await;
    type_into(browser, "phone_numbers", OLD).await;
    type_into(browser, "phone_from", OLD).await;
    type_into(browser, "phone_to", to).await;
    browser.click_on(Locator::Id("count"), page).await;
}

#[tokio::test]
async fn a_rectify_is_counted_filed_confirmed_by_another_and_the_record_has_the_new_number() {
    let (stack, browser) = crate::signed_in_on(vec![polled_every_second()], "dana").await;
    let customer = uuid::Uuid::new_v4().to_string();
    let interaction = uuid::Uuid::new_v4().to_string();
    stack
        .write_record(Some(&customer), &format!("tel:{OLD}"), &interaction)
        .await;

    // Not a phone number: refused at the door, naming the field, not the value.
    count_a_rectify(
        &browser,
        &stack,
        &customer,
        "call me",
        &Page::console_under("/gdpr/count", "[role=alert]"),
    )
    .await;
    let refusal = browser.text_of(Locator::Css("[role=alert]")).await;
    println!("refused: {refusal}");
    assert!(refusal.contains("/replacement/phoneNumbers/0/to"), "{refusal}");
    assert!(!refusal.contains("call me"), "{refusal}");

    count_a_rectify(
        &browser,
        &stack,
        &customer,
        NEW,
        &Page::console_under("/gdpr/counts/", "#file"),
    )
    .await;
    assert_eq!(
        browser.text_of(Locator::Css("h1")).await,
        "Count: what a Rectification (Art. 16) would reach"
    );
    let counts = crate::count_cells(&browser).await;
    println!("counted: {counts:?}");
    assert!(
        counts.contains(&("comm-history-writer.communications".to_owned(), "1".to_owned())),
        "{counts:?}"
    );
    browser.click_on(Locator::Id("file"), &request_page()).await;
    assert_eq!(browser.text_of(Locator::Css("h1")).await, "Rectification (Art. 16)");
    let url = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Awaiting confirmation").await;
    crate::accessibility::assert_accessible(&browser, "a RECTIFY awaiting confirmation").await;

    // Dana filed it: not hers to confirm, and the requester's verification comes first.
    let next = browser.text_of(Locator::Id("next")).await;
    println!("awaiting confirmation: {next}");
    assert_eq!(
        next,
        "Record how the requester was verified first; then another data protection officer can confirm it. \
         Another data protection officer must confirm it; until then nothing is corrected."
    );

    let (bob, confirm) = crate::confirmed_by_another_reading(&stack, &url, "bob").await;
    assert_eq!(confirm, "Confirm the correction");
    reload_until_status(&bob, &url, "Done").await;
    println!("done: {}", bob.text_of(Locator::Id("next")).await);
    // The history says the confirmation came without the requester's identity recorded.
    let mut events = Vec::new();
    for event in bob.client.find_all(Locator::Css("li.audit .event")).await.unwrap() {
        events.push(event.text().await.unwrap());
    }
    println!("history: {events:?}");
    assert!(
        events.contains(&"Confirmed (requester's identity not recorded)".to_owned()),
        "{events:?}"
    );
    let records = stack.records_of(&interaction).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["customerHandle"], NEW);
    let page = bob.client.source().await.unwrap();
    assert!(
        !page.contains(OLD) && !page.contains(NEW),
        "the request's page names no identifier"
    );
    bob.close().await;
    browser.close().await;
}

/// A RECTIFY onto a number another customer's record already carries: the request page says so in
/// plain words before its actions, offers nobody the confirmation (not even another DPO, who
/// could confirm any other), and names neither number.
#[tokio::test]
async fn a_rectify_onto_a_number_another_customer_has_shows_the_conflict_and_offers_no_confirmation() {
    let (stack, browser) = crate::signed_in_on(vec![], "dana").await;
    let (customer, neighbour) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let ours = uuid::Uuid::new_v4().to_string();
    stack.write_record(Some(&customer), &format!("tel:{OLD}"), &ours).await;
    let theirs = uuid::Uuid::new_v4().to_string();
    stack
        .write_record(Some(&neighbour), &format!("tel:{NEW}"), &theirs)
        .await;

    count_a_rectify(
        &browser,
        &stack,
        &customer,
        NEW,
        &Page::console_under("/gdpr/counts/", "#file"),
    )
    .await;
    // The count says so before anything is filed.
    let said = browser.text_of(Locator::Id("conflicts")).await;
    println!("counted: {said}");
    assert!(said.contains("could not be confirmed"), "{said}");
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Awaiting confirmation").await;

    let bob = Browser::start().await;
    bob.client.goto(&url).await.unwrap();
    crate::sign_in_at_provider(&bob, &stack, "bob").await;
    bob.wait_for(&request_page()).await;
    let answer = stack.gdpr_request_as("bob", &crate::request_id(&url)).await;
    assert_eq!(
        answer
            .conflicts
            .as_ref()
            .and_then(|c| c.get("/replacement/phoneNumbers/0/to")),
        Some(&1),
        "{answer:?}"
    );
    assert!(!answer.allows(contracts::gdpr::AllowedAction::Confirm), "{answer:?}");
    crate::assert_buttons_follow(&bob, &answer).await;
    assert!(bob.client.find(Locator::Id("confirm")).await.is_err());
    let conflict = bob.text_of(Locator::Id("conflicts")).await;
    println!("conflict: {conflict}");
    assert!(
        conflict.contains("cannot be confirmed")
            && conflict.contains("The new value of phone number 1 is already held by 1 row"),
        "{conflict}"
    );
    let page = bob.client.source().await.unwrap();
    let (said, actions) = (page.find("id=\"conflicts\""), page.find("id=\"allowed-actions\""));
    assert!(
        said.unwrap() < actions.unwrap(),
        "the conflict is said before the actions"
    );
    // Nothing changed.
    names_no_number_and_keeps_the_old_one(&bob, &stack, &ours, "a RECTIFY whose new number someone else has").await;
    bob.close().await;
    browser.close().await;
}

/// The count found nobody else on the new number, then a neighbour's record arrived under it
/// before the confirmation: the correction goes ahead where it can, and the request page says in
/// plain words which replacement was not applied in which system, and why, naming no number. The
/// subject's record keeps the old number rather than merge with the neighbour's.
#[tokio::test]
async fn a_number_someone_else_took_after_the_count_is_said_not_corrected_on_the_request_page() {
    let (stack, browser) = crate::signed_in_on(vec![polled_every_second()], "dana").await;
    let (customer, neighbour) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let ours = uuid::Uuid::new_v4().to_string();
    stack.write_record(Some(&customer), &format!("tel:{OLD}"), &ours).await;
    count_a_rectify(
        &browser,
        &stack,
        &customer,
        NEW,
        &Page::console_under("/gdpr/counts/", "#file"),
    )
    .await;
    assert!(browser.client.find(Locator::Id("conflicts")).await.is_err());
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Awaiting confirmation").await;

    let theirs = uuid::Uuid::new_v4().to_string();
    stack
        .write_record(Some(&neighbour), &format!("tel:{NEW}"), &theirs)
        .await;
    let (bob, _) = crate::confirmed_by_another_reading(&stack, &url, "bob").await;
    reload_until_status(&bob, &url, "Done").await;
    let next = bob.text_of(Locator::Id("next")).await;
    assert!(next.starts_with("Corrected, but not everywhere"), "{next}");
    let said = bob.text_of(Locator::Id("not-applied")).await;
    println!("not applied: {said}");
    assert!(
        said.contains("Phone number 1 was not corrected in Communication history")
            && said.contains("1 row or person not the subject's holds it there now"),
        "{said}"
    );
    names_no_number_and_keeps_the_old_one(&bob, &stack, &ours, "a RECTIFY a system did not apply").await;
    bob.close().await;
    browser.close().await;
}

/// The request's page `bob` reads names neither number and is accessible (`what` it shows), and
/// the subject's record `ours` still carries [`OLD`].
async fn names_no_number_and_keeps_the_old_one(bob: &Browser, stack: &harness::Stack, ours: &str, what: &str) {
    let page = bob.client.source().await.unwrap();
    assert!(
        !page.contains(OLD) && !page.contains(NEW),
        "the request's page names no identifier"
    );
    crate::accessibility::assert_accessible(bob, what).await;
    let records = stack.records_of(ours).await;
    assert_eq!(records[0]["customerHandle"], format!("tel:{OLD}"));
}

/// Genesys Cloud's GDPR_UPDATE is asked for its status every second, not every minute.
fn polled_every_second() -> (&'static str, String, String) {
    (
        "gdpr-orchestrator",
        "gdpr.external_poll_seconds".to_owned(),
        "1".to_owned(),
    )
}
