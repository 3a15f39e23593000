//! A restriction (GDPR Art. 18) in the browser: a DPO counts and files a RESTRICT, asks to lift
//! it from its page, and cannot confirm her own ask (four eyes); a second DPO confirms the
//! LIFT_RESTRICTION and the RESTRICT is lifted. Each page's buttons are the orchestrator's
//! allowedActions for the person looking.

use crate::{
    assert_buttons_follow, confirmed_by_another, dana_with_a_customer, file_request, reload_until_status, request_id,
    request_page, type_into,
};
use contracts::gdpr::AllowedAction;
use fantoccini::Locator;

#[tokio::test]
async fn a_restriction_is_filed_and_lifted_only_when_a_second_person_confirms_the_lift() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;
    let restrict_url = file_request(&browser, &stack, "RESTRICT", &customer, "Restricted").await;
    let restrict = request_id(&restrict_url);
    assert_eq!(browser.text_of(Locator::Css("h1")).await, "Restriction (Art. 18)");
    let restricted = stack.gdpr_request_as("dana", &restrict).await;
    println!("restricted: {:?}", restricted.allowed_actions);
    assert!(restricted.allows(AllowedAction::Lift), "{restricted:?}");
    assert_buttons_follow(&browser, &restricted).await;

    // Dana asks to lift it: a LIFT_RESTRICTION of its own, which she may not confirm.
    type_into(&browser, "lift-reference", "CASE-1-LIFT").await;
    browser.click_on(Locator::Id("lift"), &request_page()).await;
    let lift_url = client.current_url().await.unwrap().to_string();
    let lift = request_id(&lift_url);
    assert_ne!(lift, restrict, "the lift's own page");
    assert_eq!(browser.text_of(Locator::Css("h1")).await, "Lift of a restriction");
    reload_until_status(&browser, &lift_url, "Awaiting confirmation").await;
    let to_dana = stack.gdpr_request_as("dana", &lift).await;
    assert!(!to_dana.allows(AllowedAction::Confirm), "{to_dana:?}");
    assert_buttons_follow(&browser, &to_dana).await;
    browser.screenshot("gdpr-lift-awaiting-confirmation").await;
    browser.close().await;

    // Bob confirms it: the RESTRICT is lifted.
    let bob = confirmed_by_another(&stack, &lift_url, "bob").await;
    reload_until_status(&bob, &restrict_url, "Lifted").await;
    assert_buttons_follow(&bob, &stack.gdpr_request_as("bob", &restrict).await).await;
    bob.screenshot("gdpr-restriction-lifted").await;
    bob.close().await;
}
