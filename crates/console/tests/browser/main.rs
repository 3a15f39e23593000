//! The console in a real browser: headless Chromium through WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed when missing), signing in against a real OpenID provider
//! (panva's `oidc-provider` from npm, installed into the tools cache on first use), on a running
//! devstack. Screenshots of each page go to `target/console-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accessibility;
mod harness;
mod legal_holds;
mod rectification;
mod rectify_evidence;
mod reports;
mod restriction;
mod retention;
mod security;
mod verification;

use fantoccini::Locator;
use harness::{Browser, Page, CLIENT_ID};
use std::sync::OnceLock;
use test_support::CapturedLogs;

static LOGS: OnceLock<CapturedLogs> = OnceLock::new();

fn logs() -> &'static CapturedLogs {
    LOGS.get_or_init(|| CapturedLogs::install_global().expect("no other subscriber in this test binary"))
}

/// The provider's login page.
fn provider_login(stack: &harness::Stack) -> Page {
    Page::elsewhere(&stack.provider.issuer, "input[name=prompt][value=login]")
}

/// The provider's consent page.
fn provider_consent(stack: &harness::Stack) -> Page {
    Page::elsewhere(&stack.provider.issuer, "input[name=prompt][value=consent]")
}

/// A console page with its own mark (`<main data-page=…>`).
pub(crate) fn console_page(path: &str, name: &str) -> Page {
    Page::console(path, name)
}

/// A request's page (`/gdpr/requests/{id}`).
pub(crate) fn request_page() -> Page {
    Page::console_under("/gdpr/requests/", "#request-id")
}

/// Signs `login` in through the provider's own login and consent pages, from wherever the
/// console sent the browser; returns once the browser has left the provider (callers wait for
/// the console page they mean).
pub(crate) async fn sign_in_at_provider(browser: &Browser, stack: &harness::Stack, login: &str) {
    let client = &browser.client;
    browser.wait_for(&provider_login(stack)).await;
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
    let submit = client.find(Locator::Css("button[type=submit]")).await.unwrap();
    browser.click_away(&submit).await;
    // The provider asks for consent to share the profile with the console when it has none yet.
    let consent = provider_consent(stack);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let url = client.current_url().await.unwrap();
        if !url.as_str().starts_with(&stack.provider.issuer) {
            return;
        }
        if client
            .find(Locator::Css("input[name=prompt][value=consent]"))
            .await
            .is_ok()
        {
            browser.wait_for(&consent).await;
            let allow = client
                .find(Locator::Css("form:has(input[name=prompt][value=consent]) button"))
                .await
                .unwrap();
            browser.click_away(&allow).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider kept the browser at {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A stack and a browser that visited `/status` and signed `login` in at the provider, back at
/// the status page.
pub(crate) async fn visit_and_sign_in(login: &str) -> (harness::Stack, Browser) {
    logs();
    let stack = harness::Stack::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.console_url("/status")).await.unwrap();
    sign_in_at_provider(&browser, &stack, login).await;
    (stack, browser)
}

/// Counts a `kind` request of `customer`, files it, and waits on its page until it is in
/// `status`; answers the page's URL.
pub(crate) async fn file_request(
    browser: &Browser,
    stack: &harness::Stack,
    kind: &str,
    customer: &str,
    status: &str,
) -> String {
    count_request(browser, &stack.console_url("/gdpr/new"), kind, customer).await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = browser.client.current_url().await.unwrap().to_string();
    reload_until_status(browser, &url, status).await;
    url
}

/// `login`, another DPO than the filer, opens request `url` in a browser of their own, is
/// offered "confirm" (exactly the buttons the orchestrator allows them) and confirms it; answers
/// their browser, at the request's page.
pub(crate) async fn confirmed_by_another(stack: &harness::Stack, url: &str, login: &str) -> Browser {
    confirmed_by_another_reading(stack, url, login).await.0
}

/// As [`confirmed_by_another`], answering also the words of the button they clicked.
pub(crate) async fn confirmed_by_another_reading(stack: &harness::Stack, url: &str, login: &str) -> (Browser, String) {
    let browser = Browser::start().await;
    browser.client.goto(url).await.unwrap();
    sign_in_at_provider(&browser, stack, login).await;
    browser.wait_for(&request_page()).await;
    let answer = stack.gdpr_request_as(login, &request_id(url)).await;
    assert!(answer.allows(contracts::gdpr::AllowedAction::Confirm), "{answer:?}");
    assert_buttons_follow(&browser, &answer).await;
    let label = browser.text_of(Locator::Id("confirm")).await;
    browser.click_on(Locator::Id("confirm"), &request_page()).await;
    (browser, label)
}

/// Types `text` into the field `id` of the page shown.
pub(crate) async fn type_into(browser: &Browser, id: &str, text: &str) {
    let field = browser.client.find(Locator::Id(id)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Dana (a DPO) signed in at the status page, and a record of a new customer (their id).
pub(crate) async fn dana_with_a_customer() -> (harness::Stack, Browser, String) {
    let (stack, browser) = visit_and_sign_in("dana").await;
    browser.wait_for(&console_page("/status", "status")).await;
    let customer = stack.record_for_a_customer().await;
    (stack, browser, customer)
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
    sign_in_at_provider(&browser, &stack, "dana").await;

    // Back where the visit began.
    browser.wait_for(&console_page("/status", "status")).await;
    let signed_in_as = browser.text_of(Locator::Id("signed-in-as")).await;
    assert_eq!(signed_in_as, "Dana Dpo");
    let rows = client.find_all(Locator::Css("tr.service")).await.unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let text = row.text().await.unwrap();
        assert!(text.ends_with("ready") && !text.contains("not ready"), "{text}");
    }
    let overdue = browser.text_of(Locator::Id("overdue")).await;
    assert_eq!(
        overdue, "0",
        "the orchestrator's overdue requests, read from its metrics"
    );
    // Every figure is read from a metric the service exports (a renamed metric shows "unknown").
    // Not the deliveries: devstack's comm-history-writer delivers nowhere, so it has no delivery
    // queue to count.
    for figure in ["pending-events", "dead-events", "unassigned"] {
        let shown = browser.text_of(Locator::Id(figure)).await;
        assert!(shown.parse::<f64>().is_ok(), "{figure}: {shown}");
    }
    // How long, in words ("less than a minute", "5 minutes"): read from a metric too.
    let oldest = browser.text_of(Locator::Id("oldest-pending")).await;
    assert!(oldest != "unknown" && !oldest.is_empty(), "oldest-pending: {oldest}");
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
    browser
        .click_on(
            Locator::Css("form.signout button"),
            &Page::console_under("/signout", "#signed-out"),
        )
        .await;
    assert_eq!(browser.text_of(Locator::Css("h1")).await, "Signed out");
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
    browser.wait_for(&console_page("/status", "status")).await;
    let status_page = client.find(Locator::Css("html")).await.unwrap();

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
    browser.wait_until_gone(&status_page).await;
    browser
        .wait_for(&Page::console_under("/signout", "p[role=alert]"))
        .await;
    let alert = client.find(Locator::Css("p[role=alert]")).await.unwrap();
    let text = alert.text().await.unwrap();
    assert!(text.contains("The form was refused"), "{text}");
    browser.screenshot("form-refused").await;

    // Still signed in: the refused form changed nothing.
    browser
        .open(&stack.console_url("/status"), &console_page("/status", "status"))
        .await;
    let signed_in_as = browser.text_of(Locator::Id("signed-in-as")).await;
    assert_eq!(signed_in_as, "Otto Operator");
    browser.close().await;
}

#[tokio::test]
async fn a_person_without_a_console_role_is_not_signed_in() {
    let (_stack, browser) = visit_and_sign_in("nora").await;
    let client = &browser.client;
    browser
        .wait_for(&Page::console_under("/signin/callback", "p[role=alert]"))
        .await;
    let heading = browser.text_of(Locator::Css("h1")).await;
    assert_eq!(heading, "Sign-in failed");
    assert!(client.find(Locator::Id("signed-in-as")).await.is_err());
    browser.close().await;
}

/// Waits (bounded) until the request page shows `status`, reloading it as a person would.
pub(crate) async fn reload_until_status(browser: &Browser, url: &str, status: &str) {
    reload_until_status_within(browser, url, status, std::time::Duration::from_secs(60)).await;
}

/// Waits until the request page shows `status`, for at most `wait`, reloading it.
pub(crate) async fn reload_until_status_within(browser: &Browser, url: &str, status: &str, wait: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        browser.open(url, &request_page()).await;
        let shown = browser.text_of(Locator::Id("status")).await;
        if shown == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request stayed {shown}, not {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A count's page while it counts (it refreshes itself).
fn counting_page() -> Page {
    Page::console_under("/gdpr/counts/", "#counting")
}

/// A count's page once counted, with the filing form.
fn counted_page() -> Page {
    Page::console_under("/gdpr/counts/", "#file")
}

/// Fills the new-request form (`kind`, `customer`, and `phone` when given) and sends it to be
/// counted: the browser is at the count's page after (counting or counted).
async fn start_count(browser: &Browser, new_request_url: &str, kind: &str, customer: &str, phone: Option<&str>) {
    let client = &browser.client;
    browser
        .open(new_request_url, &console_page("/gdpr/new", "gdpr-new"))
        .await;
    client
        .find(Locator::Css(&format!("#kind option[value={kind}]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Id("reference"))
        .await
        .unwrap()
        .send_keys("CASE-1")
        .await
        .unwrap();
    client
        .find(Locator::Id("customer_ids"))
        .await
        .unwrap()
        .send_keys(customer)
        .await
        .unwrap();
    if let Some(phone) = phone {
        client
            .find(Locator::Id("phone_numbers"))
            .await
            .unwrap()
            .send_keys(phone)
            .await
            .unwrap();
    }
    browser
        .click_on(
            Locator::Id("count"),
            &Page::console_under("/gdpr/counts/", "main[data-page='gdpr-count']"),
        )
        .await;
}

/// Fills the new-request form and counts; answers the count page's figures once counted (the
/// page refreshes itself until then).
pub(crate) async fn count_request(
    browser: &Browser,
    new_request_url: &str,
    kind: &str,
    customer: &str,
) -> Vec<(String, String)> {
    start_count(browser, new_request_url, kind, customer, None).await;
    browser.wait_for(&counted_page()).await;
    assert_eq!(browser.text_of(Locator::Id("count-status")).await, "Counted");
    count_cells(browser).await
}

/// The count tables' cells of the page shown: `({system}.{category}, count)`, from the rows'
/// and cells' marks (the words a person reads stand beside them).
pub(crate) async fn count_cells(browser: &Browser) -> Vec<(String, String)> {
    let mut counts = Vec::new();
    for row in browser.client.find_all(Locator::Css("tr.count")).await.unwrap() {
        let system = row.attr("data-system").await.unwrap().unwrap();
        for cell in row.find_all(Locator::Css("td")).await.unwrap() {
            let category = cell.attr("data-category").await.unwrap().unwrap();
            counts.push((format!("{system}.{category}"), cell.text().await.unwrap()));
        }
    }
    counts
}

#[tokio::test]
async fn a_dpo_counts_then_files_an_export_and_downloads_its_zip_with_checksums() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;

    let counts = count_request(&browser, &stack.console_url("/gdpr/new"), "EXPORT", &customer).await;
    assert!(
        counts.contains(&("comm-history-writer.communications".to_owned(), "1".to_owned())),
        "{counts:?}"
    );
    browser.screenshot("gdpr-count").await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Done").await;
    browser.screenshot("gdpr-request").await;
    browser.screenshot_of("reaches", "gdpr-request-counts").await;
    browser.screenshot_of("history", "gdpr-request-history").await;

    // The zip, fetched in the page's session as its form (or, before, its link) would.
    let zip_base64 = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const form = document.getElementById('download-form');
             const download = form
               ? fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) })
               : fetch(document.getElementById('download').href);
             download
               .then(r => r.arrayBuffer())
               .then(b => { let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); done(btoa(s)); });",
            vec![],
        )
        .await
        .unwrap();
    let bytes = base64_decode(zip_base64.as_str().unwrap());
    let files = harness::unzip(&bytes);
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let listed = manifest["files"].as_array().unwrap();
    // Every file the manifest lists, and the answer the subject reads.
    assert_eq!(sums.lines().count(), listed.len() + 1);
    let answer = manifest["answer"]["path"].as_str().unwrap();
    let page = String::from_utf8(files[answer].clone()).unwrap();
    assert!(
        page.starts_with("<!doctype html>") || page.starts_with("<!DOCTYPE html>"),
        "{answer}"
    );
    assert_eq!(
        harness::sha256_hex(&files[answer]),
        manifest["answer"]["sha256"].as_str().unwrap()
    );
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(harness::sha256_hex(&files[name]), sum, "{name}");
    }
    let communications: serde_json::Value =
        serde_json::from_slice(&files["comm-history-writer/communications.json"]).unwrap();
    assert_eq!(communications.as_array().unwrap().len(), 1);
    browser.close().await;
}

/// Sends, from the page shown, a form that page does not offer its person (another person's:
/// the page's token, `fields`) to the page's path and `suffix`; waits for the page (under
/// `prefix`) that says why it was refused, and answers its words.
pub(crate) async fn forge_form(browser: &Browser, suffix: &str, fields: &[(&str, &str)], prefix: &str) -> String {
    browser
        .client
        .execute(
            "const form = document.createElement('form');
             form.method = 'post';
             form.action = location.pathname + arguments[0];
             form.appendChild(document.querySelector('input[name=csrf]').cloneNode());
             for (const [name, value] of arguments[1]) {
               const input = document.createElement('input');
               input.name = name;
               input.value = value;
               form.appendChild(input);
             }
             const button = document.createElement('button');
             button.id = 'forged';
             form.appendChild(button);
             document.body.appendChild(form);",
            vec![suffix.into(), serde_json::json!(fields)],
        )
        .await
        .unwrap();
    browser
        .click_on(Locator::Id("forged"), &Page::console_under(prefix, "#refusal"))
        .await;
    browser.text_of(Locator::Id("refusal")).await
}

/// Chooses the option `value` of the select `id` on the page shown.
pub(crate) async fn choose(browser: &Browser, id: &str, value: &str) {
    let option = format!("#{id} option[value='{value}']");
    browser
        .client
        .find(Locator::Css(&option))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The request's id, from the request page's URL.
pub(crate) fn request_id(url: &str) -> String {
    url.trim_end_matches('/').rsplit('/').next().unwrap().to_owned()
}

/// The request page shown has exactly the buttons of the actions `answer` allows (what the
/// orchestrator answers the same person): no more, no fewer.
pub(crate) async fn assert_buttons_follow(browser: &Browser, answer: &contracts::gdpr::GdprRequest) {
    use contracts::gdpr::AllowedAction;
    let buttons = [
        (AllowedAction::Confirm, "confirm"),
        (AllowedAction::Extend, "extend"),
        (AllowedAction::Undo, "undo"),
        (AllowedAction::Lift, "lift"),
        (AllowedAction::Download, "download"),
        (AllowedAction::RecordVerification, "record-verification"),
    ];
    assert_buttons_are(browser, &buttons, &answer.allowed_actions, answer.status.as_str()).await;
}

/// The page shown has exactly the buttons (`(action, id)`) of the actions in `allowed`, in
/// `state` (what the orchestrator answers the same person): no more, no fewer.
pub(crate) async fn assert_buttons_are<A: Copy + PartialEq + std::fmt::Debug>(
    browser: &Browser,
    buttons: &[(A, &str)],
    allowed: &[A],
    state: &str,
) {
    let mut shown = Vec::new();
    for &(action, button) in buttons {
        let on_page = browser.client.find(Locator::Id(button)).await.is_ok();
        assert_eq!(
            on_page,
            allowed.contains(&action),
            "{button}: the page {} it, the orchestrator answered {allowed:?} ({state})",
            if on_page { "shows" } else { "does not show" },
        );
        if on_page {
            shown.push(action);
        }
    }
    assert_eq!(shown, allowed);
}

#[tokio::test]
async fn a_forget_offers_confirm_only_to_another_dpo_and_extend_and_undo_in_grace_as_the_orchestrator_says() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let url = file_request(&browser, &stack, "FORGET", &customer, "Awaiting confirmation").await;
    let id = request_id(&url);

    // Dana filed it: four eyes give her no "confirm", and her page has none.
    let to_dana = stack.gdpr_request_as("dana", &id).await;
    println!("to its filer: {:?} {:?}", to_dana.status, to_dana.allowed_actions);
    assert!(!to_dana.allows(contracts::gdpr::AllowedAction::Confirm));
    assert_buttons_follow(&browser, &to_dana).await;
    // Her confirmation sent anyway (the form a page of another DPO has): the orchestrator
    // refuses it, and her page says its reason.
    let reason = forge_form(&browser, "/confirm", &[], "/gdpr/requests/").await;
    assert!(reason.contains("four eyes"), "{reason}");
    browser.screenshot("gdpr-confirm-refused").await;
    browser.close().await;

    // Bob, another DPO, in a browser of his own: the orchestrator offers him "confirm".
    let bob = confirmed_by_another(&stack, &url, "bob").await;
    reload_until_status(&bob, &url, "In the grace period").await;
    let confirmed_by = bob.text_of(Locator::Id("confirmed-by")).await;
    assert!(confirmed_by.starts_with("bob, "), "{confirmed_by}");
    // What happens next, in the bank's time (devstack's console.time_zone: Europe/Prague).
    let purge_after = stack
        .gdpr_request_as("bob", &request_id(&url))
        .await
        .purge_after
        .unwrap();
    let prague = console::bank_time::BankTime::named("Europe/Prague").unwrap();
    let next = bob.text_of(Locator::Id("next")).await;
    println!("in grace: {next}");
    assert_eq!(
        next,
        format!("Erased on {}; can be undone until then.", prague.at(purge_after))
    );
    let mut audited = Vec::new();
    for row in bob.client.find_all(Locator::Css("li.audit")).await.unwrap() {
        let actor = row.find(Locator::Css(".actor")).await.unwrap().text().await.unwrap();
        let event = row.find(Locator::Css(".event")).await.unwrap().text().await.unwrap();
        audited.push((actor, event));
    }
    assert!(audited.iter().any(|(actor, _)| actor == "dana"), "{audited:?}");
    assert!(audited.iter().any(|(actor, _)| actor == "bob"), "{audited:?}");
    bob.screenshot("gdpr-forget-confirmed").await;

    // In its grace window the orchestrator allows extending and undoing it: both are offered.
    let in_grace = stack.gdpr_request_as("bob", &id).await;
    println!("in grace: {:?}", in_grace.allowed_actions);
    assert!(in_grace.allows(contracts::gdpr::AllowedAction::Extend), "{in_grace:?}");
    assert_buttons_follow(&bob, &in_grace).await;

    // Bob undoes it from its page: the FORGET is undone.
    bob.client
        .find(Locator::Id("undo-reference"))
        .await
        .unwrap()
        .send_keys("CASE-1-UNDO")
        .await
        .unwrap();
    bob.click_on(Locator::Id("undo"), &request_page()).await;
    assert_ne!(
        request_id(bob.client.current_url().await.unwrap().as_str()),
        id,
        "the undo's own page"
    );
    assert_eq!(bob.text_of(Locator::Css("h1")).await, "Undo of a forget");
    reload_until_status(&bob, &url, "Undone").await;
    let undone = stack.gdpr_request_as("bob", &id).await;
    assert_buttons_follow(&bob, &undone).await;
    bob.close().await;
}

#[tokio::test]
async fn a_dpo_extends_a_requests_deadline_with_a_reason() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;
    count_request(&browser, &stack.console_url("/gdpr/new"), "FORGET", &customer).await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Awaiting confirmation").await;
    let due_at = |browser: &Browser| {
        let browser = browser.client.clone();
        async move {
            let due = browser.find(Locator::Css("#due time")).await.unwrap();
            let at = due.attr("datetime").await.unwrap().unwrap();
            (domain::Timestamp::parse(&at).unwrap(), due.text().await.unwrap())
        }
    };
    let (due_before, due_words) = due_at(&browser).await;
    println!("due: {due_words}");
    assert!(due_words.contains("(due in "), "{due_words}");

    choose(&browser, "months", "2").await;
    client
        .find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("Complex request: records in three systems")
        .await
        .unwrap();
    browser.click_on(Locator::Id("extend"), &request_page()).await;
    let extension = browser.text_of(Locator::Id("extension")).await;
    assert_eq!(extension, "by 2 months: Complex request: records in three systems");
    let (due_after, _) = due_at(&browser).await;
    assert!(due_after > due_before, "{due_before} then {due_after}");
    assert!(
        client.find(Locator::Id("extend")).await.is_err(),
        "two months in all: no more"
    );
    let id = request_id(&url);
    assert_buttons_follow(&browser, &stack.gdpr_request_as("dana", &id).await).await;
    browser.close().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// Bea signed in, at the unassigned page listing an e-mail nobody paired from the address of a
/// customer with three earlier records (suggested); answers that customer and the interaction.
async fn back_office_with_an_unassigned_email() -> (harness::Stack, Browser, String, String) {
    let (stack, browser) = visit_and_sign_in("bea").await;
    browser.wait_for(&console_page("/status", "status")).await;
    let customer = uuid::Uuid::new_v4().to_string();
    let address = format!("client-{}@example.com", uuid::Uuid::new_v4().simple());
    for _ in 0..3 {
        stack
            .write_record(Some(&customer), &address, &uuid::Uuid::new_v4().to_string())
            .await;
    }
    let interaction = uuid::Uuid::new_v4().to_string();
    stack.write_record(None, &address, &interaction).await;
    browser
        .open(
            &stack.console_url("/unassigned"),
            &console_page("/unassigned", "unassigned"),
        )
        .await;
    (stack, browser, customer, interaction)
}

#[tokio::test]
async fn a_back_office_user_assigns_an_unassigned_email_to_the_suggested_customer() {
    let (stack, browser, customer, interaction) = back_office_with_an_unassigned_email().await;
    let client = &browser.client;
    let unassigned = console_page("/unassigned", "unassigned");
    let row = Locator::Css(&format!("tr.unassigned[data-interaction='{interaction}']"));
    let row_css = format!("tr.unassigned[data-interaction='{interaction}']");
    let found = client.find(Locator::Css(&row_css)).await.unwrap();
    let suggestion = found
        .find(Locator::Css(&format!("button.assign[data-customer='{customer}']")))
        .await
        .unwrap();
    let label = suggestion.text().await.unwrap();
    assert!(label.contains(&customer), "{label}");
    browser.screenshot("unassigned").await;
    browser.click_to(&suggestion, &unassigned).await;
    client.find(Locator::Id("notice")).await.unwrap();

    // The pairing reaches comm-history-writer through interaction-pairing's outbox.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let records = stack.records_of(&interaction).await;
        if records.first().is_some_and(|r| r["customerId"] == customer.as_str()) {
            assert_eq!(records[0]["customerSource"], "late_pairing");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never assigned: {records:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.open(&stack.console_url("/unassigned"), &unassigned).await;
    assert!(client.find(row).await.is_err(), "no longer listed as unassigned");
    browser.close().await;
}

/// Waits (bounded) until `check` holds, asking again every 200 ms.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_operator_replays_a_dead_letter_and_sees_it_processed() {
    logs();
    // A budget of one attempt: the first failure kills a result, so a dead letter is made in
    // seconds.
    let stack = harness::Stack::start_with(vec![(
        "result-ingest",
        "ingest.retry_budget".to_owned(),
        "1 attempts".to_owned(),
    )])
    .await;
    stack.genesys_faults(serde_json::json!({ "outageSeconds": 600 })).await;
    let interaction = uuid::Uuid::new_v4().to_string();
    let event = stack.deliver_webhook(&interaction).await;
    eventually("the result's death", || async {
        stack.events("dead").await.contains(&event)
    })
    .await;
    stack.genesys_faults(serde_json::json!({})).await;

    let browser = Browser::start().await;
    let client = &browser.client;
    client.goto(&stack.console_url("/inbox")).await.unwrap();
    sign_in_at_provider(&browser, &stack, "otto").await;
    let inbox = console_page("/inbox", "inbox");
    browser.wait_for(&inbox).await;
    let row_css = format!("tr.dead[data-event='{event}']");
    let row = client.find(Locator::Css(&row_css)).await.unwrap();
    let page = client.source().await.unwrap();
    assert!(!page.contains("+420601123456"), "no personal data in the inbox");
    browser.screenshot("inbox").await;
    let retry = row.find(Locator::Css("button.retry")).await.unwrap();
    browser.click_to(&retry, &inbox).await;
    client.find(Locator::Id("notice")).await.unwrap();

    eventually("the replayed result's record", || async {
        !stack.records_of(&interaction).await.is_empty()
    })
    .await;
    browser.open(&stack.console_url("/inbox"), &inbox).await;
    assert!(client.find(Locator::Css(&row_css)).await.is_err(), "no longer dead");
    let pending = format!("tr.pending[data-event='{event}']");
    assert!(
        client.find(Locator::Css(&pending)).await.is_err(),
        "nor pending: processed"
    );
    browser.close().await;
}

#[tokio::test]
async fn an_operator_sees_the_outboxes_dead_letters_without_personal_data_and_retries_them() {
    logs();
    // interaction-pairing's outbox calls comm-history-writer with a token it does not know: a 401
    // is the outbox's own configuration to fix, retried within the budget, which here is one
    // attempt, so each pairing is a dead letter after its first.
    let stack = harness::Stack::start_with(vec![
        (
            "interaction-pairing",
            "pairing.internal_token".to_owned(),
            "a-token-comm-history-writer-does-not-know".to_owned(),
        ),
        (
            "interaction-pairing",
            "pairing.retry_budget".to_owned(),
            "1 attempt".to_owned(),
        ),
    ])
    .await;
    let (interaction, customer) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    stack.pair_as_back_office(&interaction, &customer).await;

    let browser = Browser::start().await;
    let client = &browser.client;
    client.goto(&stack.console_url("/queues/pairing-outbox")).await.unwrap();
    sign_in_at_provider(&browser, &stack, "otto").await;
    let outbox = console_page("/queues/pairing-outbox", "queue-pairing-outbox");
    browser.wait_for(&outbox).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while client.find(Locator::Css("tr.dead")).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "no dead letter came");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        browser
            .open(&stack.console_url("/queues/pairing-outbox"), &outbox)
            .await;
    }
    let page = client.source().await.unwrap();
    assert!(
        !page.contains(&customer) && !page.contains(&interaction),
        "no customer or interaction on the operator's page"
    );
    let why = browser.text_of(Locator::Css("tr.dead td:nth-child(5)")).await;
    assert!(why.contains("401"), "{why}");
    browser.screenshot("pairing-outbox").await;
    browser.click_on(Locator::Id("retry-dead"), &outbox).await;
    assert_eq!(
        browser.text_of(Locator::Id("notice")).await,
        "Back to pending: the worker takes it up again."
    );

    // The delivery outbox has its page too (devstack delivers nowhere: it is empty).
    let deliveries = console_page("/queues/deliveries", "queue-deliveries");
    browser
        .open(&stack.console_url("/queues/deliveries"), &deliveries)
        .await;
    assert_eq!(browser.text_of(Locator::Css("h1")).await, "Deliveries");
    browser.close().await;
}

#[tokio::test]
async fn devstacks_console_signs_in_a_picked_name_and_roles_and_the_providers_console_has_no_such_form() {
    logs();
    let stack = harness::Stack::start().await;
    let browser = Browser::start().await;
    let client = &browser.client;

    // devstack's console: a signed-out visit gets the development sign-in form.
    browser
        .open(
            &stack.devstack_console_url("/gdpr"),
            &Page::console_under("/signin", "#development-sign-in"),
        )
        .await;
    browser.screenshot("development-sign-in").await;
    // No role picked: the form comes back saying so.
    client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Dana Dev")
        .await
        .unwrap();
    browser
        .click_on(Locator::Id("sign-in"), &Page::console_under("/signin", "#problem"))
        .await;
    let problem = client.find(Locator::Id("problem")).await.unwrap();
    assert_eq!(problem.text().await.unwrap(), "Roles: pick at least one.");
    client
        .find(Locator::Id("role-dpo"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click_on(Locator::Id("sign-in"), &console_page("/gdpr", "gdpr-list"))
        .await;
    let signed_in_as = client.find(Locator::Id("signed-in-as")).await.unwrap();
    assert_eq!(signed_in_as.text().await.unwrap(), "Dana Dev");
    assert!(client.find(Locator::Id("development-banner")).await.is_ok());

    // Its pages call the services in that person's name: a request filed here is audited so.
    let customer = stack.record_for_a_customer().await;
    let counts = count_request(&browser, &stack.devstack_console_url("/gdpr/new"), "EXPORT", &customer).await;
    assert!(
        counts.contains(&("comm-history-writer.communications".to_owned(), "1".to_owned())),
        "{counts:?}"
    );
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let mut actors = Vec::new();
    for cell in client.find_all(Locator::Css("li.audit .actor")).await.unwrap() {
        actors.push(cell.text().await.unwrap());
    }
    assert!(actors.iter().any(|a| a == "development:dana-dev"), "{actors:?}");
    // Neither the picked name nor the subject it makes reached the logs.
    let text = logs().text();
    assert!(text.contains("development sign-in"), "the sign-in itself is logged");
    for identifier in ["Dana Dev", "dana-dev"] {
        assert!(!text.contains(identifier), "{identifier} was logged");
    }

    // The console with the bank's identity provider has no development sign-in.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let posted = http
        .post(stack.console_url("/signin/development"))
        .form(&[("name", "Mallory"), ("dpo", "on"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 404);
    let sign_in = http.get(stack.console_url("/signin")).send().await.unwrap();
    assert_eq!(sign_in.status().as_u16(), 303);
    let location = sign_in.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&stack.provider.issuer), "{location}");
    browser.close().await;
}

/// Signs `login` in at a stack of its own (with `overrides` for devstack's services), back at
/// the status page.
pub(crate) async fn signed_in_on(
    overrides: Vec<(&'static str, String, String)>,
    login: &str,
) -> (harness::Stack, Browser) {
    logs();
    let stack = harness::Stack::start_with(overrides).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.console_url("/status")).await.unwrap();
    sign_in_at_provider(&browser, &stack, login).await;
    browser.wait_for(&console_page("/status", "status")).await;
    (stack, browser)
}

/// The id at the end of the browser's URL.
async fn id_in_url(browser: &Browser) -> String {
    let url = browser.client.current_url().await.unwrap();
    url.path().rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_count_comes_back_at_once_shows_itself_when_counted_and_its_filing_is_a_new_forget_even_with_a_count_open() {
    // Genesys Cloud, in an outage, holds a count of a phone number back until it ends; retried
    // every second.
    let (stack, browser) = signed_in_on(
        vec![
            ("gdpr-orchestrator", "gdpr.backoff_min_ms".to_owned(), "200".to_owned()),
            ("gdpr-orchestrator", "gdpr.backoff_max_ms".to_owned(), "1000".to_owned()),
        ],
        "dana",
    )
    .await;
    let client = &browser.client;
    let customer = stack.record_for_a_customer().await;
    let new_request = stack.console_url("/gdpr/new");
    stack.genesys_faults(serde_json::json!({ "outageSeconds": 600 })).await;

    // The count's page comes back while it counts: a count, with nothing to file yet.
    let started = tokio::time::Instant::now();
    start_count(&browser, &new_request, "FORGET", &customer, Some("+420601123456")).await;
    browser.wait_for(&counting_page()).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the count's page waited for the count: {:?}",
        started.elapsed()
    );
    let count = id_in_url(&browser).await;
    let heading = browser.text_of(Locator::Css("h1")).await;
    assert!(heading.starts_with("Count"), "{heading}");
    assert!(
        client.find(Locator::Id("file")).await.is_err(),
        "nothing to file before the count"
    );
    browser.screenshot("gdpr-counting").await;

    // The outage ends: the page, refreshing itself, shows the count and its filing form.
    stack.genesys_faults(serde_json::json!({})).await;
    browser.wait_for(&counted_page()).await;
    assert_eq!(id_in_url(&browser).await, count);
    assert_eq!(browser.text_of(Locator::Id("count-status")).await, "Counted");

    // Another count of the same subject, left open by a new outage.
    stack.genesys_faults(serde_json::json!({ "outageSeconds": 600 })).await;
    start_count(&browser, &new_request, "FORGET", &customer, Some("+420601123456")).await;
    browser.wait_for(&counting_page()).await;
    let open_count = id_in_url(&browser).await;
    assert_ne!(open_count, count);

    // Filing the first count's FORGET files a FORGET: not the open count, nor the first.
    browser
        .open(&stack.console_url(&format!("/gdpr/counts/{count}")), &counted_page())
        .await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let filed = id_in_url(&browser).await;
    assert!(
        filed != count && filed != open_count,
        "the filing went to a count: {filed}"
    );
    let heading = browser.text_of(Locator::Css("h1")).await;
    assert_eq!(heading, "Forget (Art. 17)");

    // Filed, the count's subject (phone number included) has left the session: its page offers
    // no filing any more.
    browser
        .open(
            &stack.console_url(&format!("/gdpr/counts/{count}")),
            &Page::console_under("/gdpr/counts/", "#not-fileable"),
        )
        .await;
    println!(
        "the filed count's page: {}",
        browser.text_of(Locator::Id("not-fileable")).await
    );
    assert!(client.find(Locator::Id("file")).await.is_err());
    // A count opened as a request is shown as the count it is.
    browser
        .open(
            &stack.console_url(&format!("/gdpr/requests/{open_count}")),
            &counting_page(),
        )
        .await;
    assert_eq!(id_in_url(&browser).await, open_count);
    assert!(browser.text_of(Locator::Css("h1")).await.starts_with("Count"));

    // The list shows the counts as counts, and the FORGET as a FORGET.
    browser
        .open(&stack.console_url("/gdpr"), &console_page("/gdpr", "gdpr-list"))
        .await;
    for (id, kind) in [
        (&count, "Count for a Forget (Art. 17)"),
        (&open_count, "Count for a Forget (Art. 17)"),
        (&filed, "Forget (Art. 17)"),
    ] {
        let row = client
            .find(Locator::Css(&format!("tr.request[data-request='{id}'] td.kind")))
            .await
            .unwrap();
        assert_eq!(row.text().await.unwrap(), kind, "{id}");
    }
    stack.genesys_faults(serde_json::json!({})).await;
    browser.close().await;
}

#[tokio::test]
async fn a_back_office_user_assigns_only_what_is_unassigned_and_reassigns_with_a_reason_in_their_name() {
    let (stack, browser, suggested, interaction) = back_office_with_an_unassigned_email().await;
    let client = &browser.client;
    let unassigned = console_page("/unassigned", "unassigned");

    // Meanwhile the back-office front end pairs it with another customer.
    let other = uuid::Uuid::new_v4().to_string();
    stack.pair_as_back_office(&interaction, &other).await;

    // Assigning it from the list as it was shown does not pair it: the page shows who has it.
    let suggestion = client
        .find(Locator::Css(&format!(
            "tr.unassigned[data-interaction='{interaction}'] button.assign[data-customer='{suggested}']"
        )))
        .await
        .unwrap();
    browser
        .click_to(&suggestion, &console_page("/unassigned/assign", "unassigned-reassign"))
        .await;
    let paired_by = browser
        .text_of(Locator::Css(&format!(
            "tr.paired[data-customer='{other}'] td.paired-by"
        )))
        .await;
    assert_eq!(paired_by, "bofe (no person)");
    browser.screenshot("unassigned-paired-meanwhile").await;
    let pairing = stack.pairing(&interaction).await;
    assert_eq!(pairing["customers"].as_array().unwrap().len(), 1, "{pairing}");
    assert_eq!(pairing["customerId"], other.as_str());

    // Re-assigned with a reason: in Bea's name, the other pairing removed in her name too.
    let reason = "The e-mail came from the suggested customer's address";
    client
        .find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys(reason)
        .await
        .unwrap();
    browser.click_on(Locator::Id("reassign"), &unassigned).await;
    client.find(Locator::Id("notice")).await.unwrap();
    let pairing = stack.pairing(&interaction).await;
    assert_eq!(pairing["customerId"], suggested.as_str(), "{pairing}");
    let customers = pairing["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1, "{pairing}");
    assert_eq!(customers[0]["pairedBy"]["caller"], "console");
    assert_eq!(customers[0]["pairedBy"]["subject"], "bea");
    assert_eq!(customers[0]["reason"], reason);
    let removed = &pairing["removedCustomers"][0];
    assert_eq!(removed["customerId"], other.as_str(), "{pairing}");
    assert_eq!(removed["pairedBy"]["caller"], "bofe");
    assert_eq!(removed["removedBy"]["subject"], "bea");
    assert_eq!(removed["removalReason"], reason);
    browser.close().await;
}
