//! The console in a real browser: headless Chromium through WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed when missing), signing in against a real OpenID provider
//! (panva's `oidc-provider` from npm, installed into the tools cache on first use), on a running
//! devstack. Screenshots of each page go to `target/console-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use fantoccini::Locator;
use harness::{Browser, CLIENT_ID};
use std::sync::OnceLock;
use test_support::CapturedLogs;

static LOGS: OnceLock<CapturedLogs> = OnceLock::new();

fn logs() -> &'static CapturedLogs {
    LOGS.get_or_init(|| CapturedLogs::install_global().expect("no other subscriber in this test binary"))
}

/// Signs `login` in through the provider's own login and consent pages, from wherever the
/// console sent the browser.
async fn sign_in_at_provider(browser: &Browser, login: &str) {
    let client = &browser.client;
    client
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=login]"))
        .await
        .unwrap()
        .send_keys(login)
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any password")
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The provider asks for consent to share the profile with the console once.
    client
        .wait()
        .for_element(Locator::Css("button[type=submit]"))
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A stack and a browser that visited `/status` and signed `login` in at the provider.
async fn visit_and_sign_in(login: &str) -> (harness::Stack, Browser) {
    logs();
    let stack = harness::Stack::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.console_url("/status")).await.unwrap();
    sign_in_at_provider(&browser, login).await;
    (stack, browser)
}

#[tokio::test]
async fn a_signed_out_visit_goes_through_sign_in_and_comes_back_to_the_page() {
    let logs = logs();
    let stack = harness::Stack::start().await;
    let browser = Browser::start().await;
    let client = &browser.client;

    client.goto(&stack.console_url("/status")).await.unwrap();
    let at_provider = client.current_url().await.unwrap();
    assert!(
        at_provider.as_str().starts_with(&stack.provider.issuer),
        "a signed-out visit is sent to the identity provider: {at_provider}"
    );
    sign_in_at_provider(&browser, "dana").await;

    client.wait().for_element(Locator::Id("signed-in-as")).await.unwrap();
    let back = client.current_url().await.unwrap();
    assert_eq!(back.path(), "/status", "back where the visit began");
    let signed_in_as = client
        .find(Locator::Id("signed-in-as"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(signed_in_as, "Dana Dpo");
    let rows = client.find_all(Locator::Css("tr.service")).await.unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let text = row.text().await.unwrap();
        assert!(text.ends_with("ready") && !text.contains("not ready"), "{text}");
    }
    let overdue = client.find(Locator::Id("overdue")).await.unwrap().text().await.unwrap();
    assert_eq!(
        overdue, "0",
        "the orchestrator's overdue requests, read from its metrics"
    );
    browser.screenshot("status").await;

    // The session cookie: HttpOnly (no script reads it), Secure, SameSite=Lax.
    let cookie = client.get_named_cookie("ccbridge_console").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site().map(|s| s.to_string()), Some("Lax".to_owned()));
    let script_sees: String = client
        .execute("return document.cookie;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!script_sees.contains("ccbridge_console"));

    // Signing out ends the session: the page sends to sign-in again.
    client
        .find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(
        client.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(),
        "Signed out"
    );
    browser.screenshot("signed-out").await;
    assert!(
        client.get_named_cookie("ccbridge_console").await.is_err(),
        "the session cookie is gone"
    );

    // No personal data of the person reached the console's logs.
    let text = logs.text();
    assert!(!text.is_empty());
    for identifier in ["Dana Dpo", "\"dana\"", CLIENT_ID] {
        assert!(!text.contains(identifier), "{identifier} was logged");
    }
    browser.close().await;
}

#[tokio::test]
async fn a_form_posted_without_its_token_is_refused() {
    let (stack, browser) = visit_and_sign_in("otto").await;
    let client = &browser.client;
    client.wait().for_element(Locator::Id("signed-in-as")).await.unwrap();

    // The sign-out form, posted the way another site would post it: without the page's token.
    client
        .execute(
            "const form = document.querySelector('form.signout');
             form.querySelector('input[name=csrf]').remove();
             form.submit();",
            vec![],
        )
        .await
        .unwrap();
    let alert = client.wait().for_element(Locator::Css("p[role=alert]")).await.unwrap();
    let text = alert.text().await.unwrap();
    assert!(text.contains("The form was refused"), "{text}");
    browser.screenshot("form-refused").await;

    // Still signed in: the refused form changed nothing.
    client.goto(&stack.console_url("/status")).await.unwrap();
    let signed_in_as = client
        .find(Locator::Id("signed-in-as"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(signed_in_as, "Otto Operator");
    browser.close().await;
}

#[tokio::test]
async fn a_person_without_a_console_role_is_not_signed_in() {
    let (_stack, browser) = visit_and_sign_in("nora").await;
    let client = &browser.client;
    client.wait().for_element(Locator::Css("p[role=alert]")).await.unwrap();
    let heading = client.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Sign-in failed");
    assert!(client.find(Locator::Id("signed-in-as")).await.is_err());
    browser.close().await;
}
