//! A verified requester and the subject's answer in the browser (issue #31): with the
//! orchestrator's default rule ("required"), a completed export offers its DPO only to record how
//! the requester was verified; the subject's answer is not shown before. Dana records it on its
//! form, in her name; then the request offers the download and its answer page: the one page the
//! subject reads, in Czech, which runs nothing and loads nothing in a real browser, its own style
//! allowed by the console's policy for it; the look is audited as `answer_viewed`, never as the
//! bundle's download.

use crate::harness::{Browser, Page, Stack};
use crate::{
    assert_buttons_follow, console_page, file_request, request_id, request_page, sign_in_at_provider, type_into,
};
use contracts::gdpr::{AllowedAction, VerificationMethod};
use fantoccini::Locator;

const EVIDENCE: &str = "DMS-2026-00042";

/// The subject's answer page (`/gdpr/requests/{id}/answer`), marked by its first section.
fn answer_page() -> Page {
    Page::console_under("/gdpr/requests/", "section#held")
}

#[tokio::test]
async fn a_dpo_records_how_the_requester_was_verified_and_then_reads_the_subjects_answer() {
    let stack = Stack::start_with(vec![(
        "gdpr-orchestrator",
        "gdpr.requester_verification".to_owned(),
        "required".to_owned(),
    )])
    .await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.console_url("/status")).await.unwrap();
    sign_in_at_provider(&browser, &stack, "dana").await;
    browser.wait_for(&console_page("/status", "status")).await;
    let customer = stack.record_for_a_customer().await;
    let url = file_request(&browser, &stack, "EXPORT", &customer, "Done").await;
    let id = request_id(&url);

    // Done, but nobody has checked who asked: the one thing offered is to record it.
    let before = stack.gdpr_request_as("dana", &id).await;
    println!("completed, unverified: {:?}", before.allowed_actions);
    assert_eq!(before.allowed_actions, [AllowedAction::RecordVerification]);
    assert_buttons_follow(&browser, &before).await;
    // The subject's answer is the bundle's: not offered either.
    assert!(browser.client.find(Locator::Id("answer")).await.is_err());

    let form = console_page(&format!("/gdpr/requests/{id}/verification"), "gdpr-verification");
    browser.click_on(Locator::Id("record-verification"), &form).await;
    browser
        .client
        .find(Locator::Id("method-video_call"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(&browser, "evidence_reference", EVIDENCE).await;
    browser.screenshot("gdpr-verification").await;
    crate::accessibility::assert_accessible(&browser, "the verification form").await;
    browser.click_on(Locator::Id("record"), &request_page()).await;

    let after = stack.gdpr_request_as("dana", &id).await;
    let verification = after.requester_verification.clone().expect("recorded");
    assert_eq!(
        (
            verification.method,
            verification.verified_by.as_str(),
            verification.evidence_reference.as_deref()
        ),
        (VerificationMethod::VideoCall, "dana", Some(EVIDENCE))
    );
    assert_eq!(after.allowed_actions, [AllowedAction::Download]);
    assert_buttons_follow(&browser, &after).await;

    // The subject's answer, as they will read it.
    browser.click_on(Locator::Id("answer"), &answer_page()).await;
    let seen = browser
        .client
        .execute(
            "return {
               lang: document.documentElement.lang,
               title: document.querySelector('h1').textContent,
               held: document.querySelector('#held').innerText,
               scripts: document.scripts.length,
               loaded: performance.getEntriesByType('resource').length,
               loading: document.querySelectorAll('[src], [srcset], link, img, iframe, object, embed, form').length,
               linksOut: [...document.querySelectorAll('a[href]')].filter(a => !a.getAttribute('href').startsWith('#')).length,
               styled: getComputedStyle(document.body).maxWidth,
             };",
            vec![],
        )
        .await
        .unwrap();
    println!("the subject's answer in Chromium: {seen}");
    assert_eq!(seen["lang"], "cs");
    assert_eq!(seen["title"], "Vaše osobní údaje v kontaktním centru banky");
    assert!(
        seen["held"]
            .as_str()
            .unwrap()
            .contains("Záznamy vaší komunikace s bankou"),
        "{seen}"
    );
    // Each item with its day and time of day in the bank's zone ("20. listopadu 2026, 10:41 CET").
    let held = seen["held"].as_str().unwrap();
    assert!(
        held.contains("Datum a čas") && (held.contains(" CET\t") || held.contains(" CEST\t")),
        "{seen}"
    );
    assert_eq!(
        (&seen["scripts"], &seen["loaded"], &seen["loading"], &seen["linksOut"]),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{seen}"
    );
    // Its own style applies: the console's policy for the page allows exactly it (by its hash).
    assert_eq!(seen["styled"], "768px", "{seen}");
    // Dana's look is audited as a look at the answer, in her name, not as the bundle's hand-over.
    let trail: contracts::gdpr::AuditTrail = stack.gdpr_as("dana", &format!("/gdpr/requests/{id}/audit")).await;
    let events: Vec<(&str, &str)> = trail
        .entries
        .iter()
        .map(|e| (e.event.as_str(), e.actor.as_str()))
        .collect();
    println!("the audit after the look: {events:?}");
    assert!(events.contains(&("answer_viewed", "dana")), "{events:?}");
    assert!(
        !events.iter().any(|(event, _)| *event == "bundle_downloaded"),
        "{events:?}"
    );
    browser.screenshot("gdpr-subject-answer").await;
    crate::accessibility::assert_accessible(&browser, "the subject's answer").await;
    browser.close().await;
}
