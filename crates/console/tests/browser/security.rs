//! The console against a hostile browser (issue #28): sessions end on the server, every page's
//! security headers, `next` never leaves the console, an export downloads only through its form.

use super::harness::{self, Browser, Page};
use super::{
    console_page, count_request, dana_with_a_customer, logs, reload_until_status, request_page, visit_and_sign_in,
};
use diesel::prelude::*;
use fantoccini::Locator;
use service_kit::database::sql_types::DbTimestamp;

/// The cookie named `name` in a response's `Set-Cookie` headers, as `name=value`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

/// A client that shows redirects instead of following them.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A hidden form field's value on an HTML page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} on {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A console with the development sign-in and no services (pages that need one say it is not
/// reachable): what the session and header tests need, with the console's own database.
async fn development_console(extra: &[(&str, &str)]) -> test_support::TestApp {
    let nowhere = "http://127.0.0.1:9";
    let mut overrides = vec![
        ("console.development_sign_in", "true"),
        ("console.oidc.issuer", ""),
        ("console.services.interaction_pairing_url", nowhere),
        ("console.services.comm_history_writer_url", nowhere),
        ("console.services.genesys_gateway_url", nowhere),
        ("console.services.result_ingest_url", nowhere),
        ("console.services.gdpr_orchestrator_url", nowhere),
    ];
    overrides.extend_from_slice(extra);
    test_support::spawn_app_with(&console::SERVICE, &[], &overrides).await
}

/// Signs a person with every role in through the development sign-in, asking to go to `next`;
/// answers the session cookie (`name=value`) and where the console sent the browser.
async fn development_sign_in(console: &test_support::TestApp, cookie_name: &str, next: &str) -> (String, String) {
    let (_, cookie, location) = development_sign_in_from(console, cookie_name, next).await;
    (cookie, location)
}

/// As [`development_sign_in`], answering first the cookie of the session before sign-in.
async fn development_sign_in_from(
    console: &test_support::TestApp,
    cookie_name: &str,
    next: &str,
) -> (String, String, String) {
    let form = http()
        .get(console.url("/signin"))
        .query(&[("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    let pending = set_cookie(&form, cookie_name).expect("the sign-in form's session");
    let html = form.text().await.unwrap();
    let signed_in = http()
        .post(console.url("/signin/development"))
        .header(reqwest::header::COOKIE, &pending)
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("next", hidden(&html, "next").as_str()),
            ("name", "Sam Session"),
            ("dpo", "on"),
            ("operator", "on"),
            ("backoffice", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = set_cookie(&signed_in, cookie_name).expect("a new session at sign-in");
    let location = signed_in.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    (pending, cookie, location)
}

/// `GET path` with `cookie`: the status and, for a redirect, where to.
async fn visit(console: &test_support::TestApp, path: &str, cookie: &str) -> (u16, String) {
    let response = http()
        .get(console.url(path))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

/// Moves every live session's `column` back by `by`, as if that much time had passed.
async fn age_sessions(console: &test_support::TestApp, column: &'static str, by: time::Duration) {
    use console::schema::console_sessions::dsl;
    let then = DbTimestamp(time::OffsetDateTime::now_utc() - by);
    let changed = console
        .pool()
        .run(move |connection| {
            let live = dsl::console_sessions.filter(dsl::ended_at.is_null());
            match column {
                "created_at" => diesel::update(live).set(dsl::created_at.eq(then)).execute(connection),
                _ => diesel::update(live).set(dsl::last_seen_at.eq(then)).execute(connection),
            }
            .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    assert!(changed > 0, "a live session to age");
}

/// The console's session store on its database (for housekeeping), sessions idle after
/// `idle_minutes`.
fn store_of(console: &test_support::TestApp, idle_minutes: i64) -> console::session_store::DbSessionStore {
    let settings = console
        .settings
        .section::<console::settings::ConsoleSettings>("console")
        .unwrap();
    console::session_store::DbSessionStore::new(
        console.pool().clone(),
        settings.session_key().unwrap().master(),
        console::session_store::Lifetimes {
            session: time::Duration::minutes(480),
            idle: time::Duration::minutes(idle_minutes),
        },
    )
    .unwrap()
}

/// The session rows: (a person signed in, ended).
async fn session_rows(console: &test_support::TestApp) -> Vec<(bool, bool)> {
    use console::schema::console_sessions::dsl;
    console
        .pool()
        .run(|connection| {
            dsl::console_sessions
                .select((dsl::signed_in, dsl::ended_at.is_not_null()))
                .load::<(bool, bool)>(connection)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_copied_session_cookie_opens_nothing_once_its_person_signed_out() {
    let (stack, browser) = visit_and_sign_in("dana").await;
    let client = &browser.client;
    browser.wait_for(&console_page("/status", "status")).await;
    let copied = client.get_named_cookie("ccbridge_console").await.unwrap();
    let copied = format!("ccbridge_console={}", copied.value());
    let with_copy = |path: &str| {
        http()
            .get(stack.console_url(path))
            .header(reqwest::header::COOKIE, copied.clone())
            .send()
    };
    let before = with_copy("/status").await.unwrap();
    assert_eq!(before.status().as_u16(), 200, "the copy opens the page while signed in");

    browser
        .click_on(
            Locator::Css("form.signout button"),
            &Page::console_under("/signout", "#signed-out"),
        )
        .await;
    let after = with_copy("/status").await.unwrap();
    let location = after
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    println!("the copied cookie after sign-out: {} {location:?}", after.status());
    assert_eq!(after.status().as_u16(), 303);
    assert_eq!(location.as_deref(), Some("/signin?next=%2Fstatus"));
    browser.close().await;
}

#[tokio::test]
async fn a_session_ends_on_the_server_after_its_lifetime_and_after_its_idle_time() {
    logs();
    let console = development_console(&[]).await;
    let (cookie, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    let rows = session_rows(&console).await;
    assert!(rows.contains(&(true, false)), "a signed-in session: {rows:?}");

    // Idle for 14 minutes (console.idle_minutes is 15): still on, and seen again now.
    age_sessions(&console, "last_seen_at", time::Duration::minutes(14)).await;
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    // Idle for 16: over, and it stays over.
    age_sessions(&console, "last_seen_at", time::Duration::minutes(16)).await;
    let idle = visit(&console, "/status", &cookie).await;
    println!("idle 16 minutes: {idle:?}");
    assert_eq!(idle, (303, "/signin?next=%2Fstatus".to_owned()));
    assert_eq!(visit(&console, "/status", &cookie).await.0, 303);

    // Signed in 481 minutes ago (console.session_minutes is 480), busy all along: over too.
    let (cookie, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    age_sessions(&console, "created_at", time::Duration::minutes(479)).await;
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    age_sessions(&console, "created_at", time::Duration::minutes(481)).await;
    let old = visit(&console, "/status", &cookie).await;
    println!("signed in 481 minutes ago: {old:?}");
    assert_eq!(old, (303, "/signin?next=%2Fstatus".to_owned()));

    // Housekeeping deletes the ended and expired sessions and keeps the live one.
    let (live, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    let store = store_of(&console, 15);
    let deleted = store.housekeeping().await.unwrap();
    assert!(deleted >= 2, "{deleted}");
    assert_eq!(session_rows(&console).await.len(), 1);
    assert_eq!(visit(&console, "/status", &live).await.0, 200);
}

#[tokio::test]
async fn the_cookie_of_the_session_before_sign_in_opens_nothing_after_it() {
    logs();
    let console = development_console(&[]).await;
    // An attacker who planted the sign-in form's cookie in the victim's browser keeps a copy; the
    // victim signs in.
    let (pending, cookie, _) = development_sign_in_from(&console, "ccbridge_console", "/status").await;
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    let planted = visit(&console, "/status", &pending).await;
    println!("the cookie from before sign-in, after it: {planted:?}");
    assert_eq!(planted, (303, "/signin?next=%2Fstatus".to_owned()));
}

#[tokio::test]
async fn a_pages_own_refresh_is_not_activity_and_does_not_hold_the_session_open() {
    logs();
    let console = development_console(&[]).await;
    let (cookie, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    let last_seen = || async {
        use console::schema::console_sessions::dsl;
        console
            .pool()
            .run(|connection| {
                dsl::console_sessions
                    .filter(dsl::ended_at.is_null())
                    .select(dsl::last_seen_at)
                    .first::<DbTimestamp>(connection)
                    .map_err(service_kit::database::DatabaseError::from)
            })
            .await
            .unwrap()
            .0
    };
    // Idle for 14 minutes; the count page's refresh comes (marked as the page marks it).
    age_sessions(&console, "last_seen_at", time::Duration::minutes(14)).await;
    assert_eq!(visit(&console, "/status?refresh=auto", &cookie).await.0, 200);
    let idle = time::OffsetDateTime::now_utc() - last_seen().await;
    println!("after a page's own refresh the session is idle for {idle}");
    assert!(idle >= time::Duration::minutes(14), "{idle}");
    // At 16 minutes idle it is over, refreshes or not.
    age_sessions(&console, "last_seen_at", time::Duration::minutes(16)).await;
    assert_eq!(visit(&console, "/status?refresh=auto", &cookie).await.0, 303);
    // A request of the person's is activity.
    let (cookie, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    age_sessions(&console, "last_seen_at", time::Duration::minutes(14)).await;
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    assert!(time::OffsetDateTime::now_utc() - last_seen().await < time::Duration::minutes(1));
}

#[tokio::test]
async fn a_sign_in_left_under_way_is_deleted_after_ten_minutes() {
    logs();
    let console = development_console(&[]).await;
    let form = http().get(console.url("/signin")).send().await.unwrap();
    assert!(set_cookie(&form, "ccbridge_console").is_some());
    assert_eq!(session_rows(&console).await, [(false, false)]);
    let store = store_of(&console, 600);
    age_sessions(&console, "created_at", time::Duration::minutes(9)).await;
    assert_eq!(store.housekeeping().await.unwrap(), 0);
    age_sessions(&console, "created_at", time::Duration::minutes(11)).await;
    let deleted = store.housekeeping().await.unwrap();
    println!("a sign-in under way for 11 minutes: {deleted} row(s) deleted");
    assert_eq!(deleted, 1);
    assert!(session_rows(&console).await.is_empty());
}

#[tokio::test]
async fn a_second_replica_and_a_restarted_console_know_the_session_and_its_sign_out() {
    logs();
    let first = development_console(&[]).await;
    let database = first.settings.database.url.expose_secret();
    let second = development_console(&[("database.url", &database)]).await;
    let (cookie, _) = development_sign_in(&first, "ccbridge_console", "/status").await;
    assert_eq!(
        visit(&second, "/status", &cookie).await.0,
        200,
        "the other replica knows it"
    );
    first.stop().await;
    let restarted = development_console(&[("database.url", &database)]).await;
    assert_eq!(visit(&restarted, "/status", &cookie).await.0, 200, "a restart keeps it");

    // Signed out at one replica: over at the other.
    let page = http()
        .get(second.url("/status"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed_out = http()
        .post(second.url("/signout"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status().as_u16(), 200);
    let elsewhere = visit(&restarted, "/status", &cookie).await;
    println!("after sign-out at the other replica: {elsewhere:?}");
    assert_eq!(elsewhere.0, 303);
}

/// The headers every page must carry.
fn assert_security_headers(path: &str, response: &reqwest::Response, https: bool) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{path}: {directive} missing from {csp:?}");
    }
    assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    if path != "/static/console.css" {
        assert_eq!(header("cache-control"), "no-store", "{path}");
    }
    let hsts = header("strict-transport-security");
    assert_eq!(!hsts.is_empty(), https, "{path}: HSTS {hsts:?}");
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_https_adds_hsts_and_the_host_cookie() {
    logs();
    for https in [false, true] {
        let public_url = if https {
            "https://console.bank.example"
        } else {
            "http://127.0.0.1:8086"
        };
        let console = development_console(&[("console.public_url", public_url)]).await;
        let name = if https {
            "__Host-ccbridge_console"
        } else {
            "ccbridge_console"
        };
        let (cookie, _) = development_sign_in(&console, name, "/status").await;
        let mut seen = Vec::new();
        for path in [
            "/",
            "/status",
            "/gdpr",
            "/gdpr/new",
            "/gdpr/requests/00000000-0000-4000-8000-000000000000",
            "/gdpr/legal-holds",
            "/gdpr/legal-holds/new",
            "/gdpr/legal-holds/00000000-0000-4000-8000-000000000000",
            "/gdpr/retention",
            "/inbox",
            "/queues/deliveries",
            "/queues/pairing-outbox",
            "/unassigned",
            "/no-such-page",
            "/static/console.css",
        ] {
            let response = http()
                .get(console.url(path))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_security_headers(path, &response, https);
            seen.push(format!("{path} {}", response.status().as_u16()));
        }
        let signed_out = http().get(console.url("/signin")).send().await.unwrap();
        assert_security_headers("/signin", &signed_out, https);
        let cookie_header = signed_out.headers()[reqwest::header::SET_COOKIE].to_str().unwrap();
        assert!(cookie_header.starts_with(&format!("{name}=")), "{cookie_header}");
        assert!(
            cookie_header.contains("Path=/") && cookie_header.contains("Secure") && !cookie_header.contains("Domain"),
            "{cookie_header}"
        );
        println!("https {https}: {seen:?}, cookie {name}");
    }
}

#[tokio::test]
async fn next_is_followed_only_to_a_path_of_the_console() {
    logs();
    let console = development_console(&[]).await;
    for (next, expected) in [
        ("/gdpr?x=1", "/gdpr?x=1"),
        ("/\t/evil.example", "/"),
        ("\t//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("//evil.example", "/"),
        ("/.//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("https:\\\\evil.example", "/"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
    ] {
        let (_, location) = development_sign_in(&console, "ccbridge_console", next).await;
        println!("next {next:?} → {location:?}");
        assert_eq!(location, expected, "{next:?}");
    }
}

#[tokio::test]
async fn a_signed_in_dpo_sent_to_sign_in_with_a_tab_before_two_slashes_stays_on_the_console() {
    logs();
    let stack = harness::Stack::start().await;
    let browser = Browser::start().await;
    let client = &browser.client;
    // A link another site sends a DPO: sign in, then (today) on to evil.example.
    client
        .goto(&stack.console_url("/signin?next=%2F%09%2Fevil.example"))
        .await
        .unwrap();
    super::sign_in_at_provider(&browser, &stack, "dana").await;
    browser.wait_for(&console_page("/status", "status")).await;
    let url = client.current_url().await.unwrap();
    println!("after sign-in: {url}");
    assert_eq!(url.origin(), url::Url::parse(&stack.console_url("/")).unwrap().origin());
    browser.close().await;
}

#[tokio::test]
async fn a_form_sent_after_the_session_ended_goes_on_to_sign_in_at_the_provider() {
    let (stack, browser) = visit_and_sign_in("dana").await;
    let client = &browser.client;
    browser.wait_for(&console_page("/status", "status")).await;
    // The session ends elsewhere (signed out in another tab).
    let cookie = client.get_named_cookie("ccbridge_console").await.unwrap();
    let csrf = client
        .find(Locator::Css("form.signout input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let ended = http()
        .post(stack.console_url("/signout"))
        .header(reqwest::header::COOKIE, format!("ccbridge_console={}", cookie.value()))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status().as_u16(), 200);
    // This page's form is posted: the console sends it to sign-in, which is at the provider (the
    // page's form-action must allow that redirect, or the browser stops it there). The provider
    // still knows Dana: it sends her straight back, signed in again, to where the form led.
    let submit = client.find(Locator::Css("form.signout button")).await.unwrap();
    browser.click_away(&submit).await;
    browser.wait_for(&console_page("/status", "status")).await;
    let signed_in_as = client
        .find(Locator::Id("signed-in-as"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!(
        "after the form: {} as {signed_in_as}",
        client.current_url().await.unwrap()
    );
    assert_eq!(signed_in_as, "Dana Dpo");
    browser.close().await;
}

/// The request page's `bundle_downloaded` audit entries ("Export downloaded …" in its history).
async fn downloads(browser: &Browser, url: &str) -> usize {
    reload_until_status(browser, url, "Done").await;
    let mut count = 0;
    for cell in browser.client.find_all(Locator::Css("li.audit .event")).await.unwrap() {
        // Advisory here (the harness): downloaded without the requester's identity recorded.
        if cell.text().await.unwrap() == "Export downloaded (requester's identity not recorded)" {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn an_export_downloads_only_through_its_form_and_a_link_writes_nothing_into_the_audit() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;
    count_request(&browser, &stack.console_url("/gdpr/new"), "EXPORT", &customer).await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let url = client.current_url().await.unwrap().to_string();
    reload_until_status(&browser, &url, "Done").await;

    // A link on another site, followed in the DPO's browser (a top-level GET carries the
    // SameSite=Lax cookie): nothing downloads.
    client.goto(&format!("{url}/bundle.zip")).await.unwrap();
    let source = client.source().await.unwrap();
    assert!(!source.contains("SHA256SUMS"), "no bundle by a link");
    let after_link = downloads(&browser, &url).await;
    println!("bundle_downloaded entries after the link: {after_link}");
    assert_eq!(after_link, 0);

    // The page's form downloads it, and that is audited.
    let zip_base64 = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const form = document.getElementById('download-form');
             fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) })
               .then(r => r.arrayBuffer())
               .then(b => { let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); done(btoa(s)); });",
            vec![],
        )
        .await
        .unwrap();
    let files = harness::unzip(&super::base64_decode(zip_base64.as_str().unwrap()));
    assert!(files.contains_key("SHA256SUMS"));
    let after_form = downloads(&browser, &url).await;
    println!("bundle_downloaded entries after the form: {after_form}");
    assert_eq!(after_form, 1);
    browser.close().await;
}

/// The provider's login and consent, as a person at the browser takes them, from wherever the
/// console sent the browser (a provider of a test's own: `sign_in_at_provider` is the stack's).
async fn sign_in_at(browser: &Browser, issuer: &str, login: &str) {
    let client = &browser.client;
    browser
        .wait_for(&Page::elsewhere(issuer, "input[name=prompt][value=login]"))
        .await;
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
    browser
        .wait_for(&Page::elsewhere(issuer, "input[name=prompt][value=consent]"))
        .await;
    let allow = client
        .find(Locator::Css("form:has(input[name=prompt][value=consent]) button"))
        .await
        .unwrap();
    browser.click_away(&allow).await;
}

/// A console signing in at a provider of the test's own (`options`, the console's redirect URI
/// filled in), with no services.
async fn console_with_provider(
    options: test_support::oidc::ProviderOptions,
    extra: &[(&str, &str)],
) -> (test_support::oidc::Provider, test_support::TestApp) {
    let port = test_support::ReservedPort::new();
    let public_url = port.url();
    let provider = test_support::oidc::Provider::spawn(test_support::oidc::ProviderOptions {
        console_redirect_uri: Some(format!("{public_url}/signin/callback")),
        ..options
    })
    .await;
    let nowhere = "http://127.0.0.1:9";
    let mut overrides = vec![
        ("console.public_url", public_url.as_str()),
        ("console.oidc.issuer", provider.issuer.as_str()),
        ("console.oidc.client_id", test_support::oidc::CONSOLE_CLIENT_ID),
        ("console.oidc.client_secret", test_support::oidc::CONSOLE_CLIENT_SECRET),
        ("console.services.interaction_pairing_url", nowhere),
        ("console.services.comm_history_writer_url", nowhere),
        ("console.services.genesys_gateway_url", nowhere),
        ("console.services.result_ingest_url", nowhere),
        ("console.services.gdpr_orchestrator_url", nowhere),
    ];
    overrides.extend_from_slice(extra);
    let console = test_support::spawn_app_on(&console::SERVICE, &[], &overrides, port).await;
    (provider, console)
}

/// A console whose provider's access tokens last `seconds`, and a browser in which Otto (an
/// operator) signed in there, asking for `path`.
async fn otto_signed_in_with_tokens_of(
    seconds: u64,
    path: &str,
) -> (test_support::oidc::Provider, test_support::TestApp, Browser) {
    let (provider, console) = console_with_provider(
        test_support::oidc::ProviderOptions {
            access_token_ttl: std::time::Duration::from_secs(seconds),
            ..test_support::oidc::ProviderOptions::default()
        },
        &[],
    )
    .await;
    let browser = Browser::start().await;
    browser.client.goto(&console.url(path)).await.unwrap();
    sign_in_at(&browser, &provider.issuer, "otto").await;
    (provider, console, browser)
}

#[tokio::test]
async fn a_renewal_reads_the_roles_again_and_a_renewal_that_fails_ends_the_session() {
    logs();
    // Access tokens of 30 seconds: each request renews (the console renews within 60 of expiry).
    let (provider, console, browser) = otto_signed_in_with_tokens_of(30, "/gdpr").await;
    let client = &browser.client;
    browser.wait_for(&Page::console_under("/gdpr", "p[role=alert]")).await;
    // Otto is an operator: not the GDPR pages.
    let alert = client
        .find(Locator::Css("p[role=alert]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(alert.contains("not for your role"), "{alert}");
    browser
        .open(&console.url("/status"), &console_page("/status", "status"))
        .await;
    assert!(client.find(Locator::Css("nav a[href='/gdpr']")).await.is_err());

    // The bank makes Otto a DPO as well: the next renewal reads it.
    provider
        .set_person("otto", "Otto Operator", &["ccbridge-operator", "ccbridge-dpo"])
        .await;
    browser
        .open(&console.url("/status"), &console_page("/status", "status"))
        .await;
    let pages = client.find(Locator::Css("nav a[href='/gdpr']")).await;
    println!(
        "after the renewal Otto's pages include the GDPR requests: {}",
        pages.is_ok()
    );
    assert!(pages.is_ok(), "the renewal read the new role");
    assert!(session_rows(&console).await.contains(&(true, false)));

    // The provider goes: the next renewal fails and the session ends for good.
    let cookie = client.get_named_cookie("ccbridge_console").await.unwrap();
    let cookie = format!("ccbridge_console={}", cookie.value());
    drop(provider);
    let ended = visit(&console, "/status", &cookie).await;
    println!("after a failed renewal: {ended:?}");
    assert_eq!(ended, (303, "/signin?next=%2Fstatus".to_owned()));
    assert!(session_rows(&console).await.iter().all(|(_, ended)| *ended));
    browser.close().await;
}

#[tokio::test]
async fn concurrent_requests_at_renewal_time_refresh_once_and_all_succeed() {
    logs();
    // Access tokens of 62 seconds: due for renewal (within 60 s of expiry) 2 s after they are
    // issued, and a renewed one is not due again for 2 s.
    let (provider, console, browser) = otto_signed_in_with_tokens_of(62, "/status").await;
    browser.wait_for(&console_page("/status", "status")).await;
    let cookie = browser.client.get_named_cookie("ccbridge_console").await.unwrap();
    let cookie = format!("ccbridge_console={}", cookie.value());
    browser.close().await;
    let before = provider.refreshes().await;
    // Until the token is due (a clock, not a guess: 62 - 60 s after it was issued, and then some).
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    // The page refreshing itself and a click, and two more, at once.
    let (a, b, c, d) = tokio::join!(
        visit(&console, "/status", &cookie),
        visit(&console, "/status", &cookie),
        visit(&console, "/status", &cookie),
        visit(&console, "/status", &cookie)
    );
    let visits = [a, b, c, d];
    let refreshed = provider.refreshes().await - before;
    println!("4 concurrent requests at renewal time: {visits:?}, {refreshed} refresh(es) at the provider");
    assert!(visits.iter().all(|(status, _)| *status == 200), "{visits:?}");
    assert_eq!(refreshed, 1);
    // The session goes on with the renewed tokens.
    assert_eq!(visit(&console, "/status", &cookie).await.0, 200);
    assert!(session_rows(&console).await.contains(&(true, false)));
}

#[tokio::test]
async fn a_forget_filed_in_the_console_is_audited_with_the_providers_subject_and_name() {
    let (stack, browser, customer) = dana_with_a_customer().await;
    let client = &browser.client;
    count_request(&browser, &stack.console_url("/gdpr/new"), "FORGET", &customer).await;
    browser.click_on(Locator::Id("file"), &request_page()).await;
    let mut filed = Vec::new();
    for row in client.find_all(Locator::Css("li.audit")).await.unwrap() {
        let cell = |class: &'static str| {
            let row = row.clone();
            async move {
                row.find(Locator::Css(&format!(".{class}")))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        filed.push((
            cell("event").await,
            cell("actor").await,
            cell("actor-name").await,
            cell("caller").await,
        ));
    }
    println!("audit trail: {filed:?}");
    assert!(
        !filed.is_empty()
            && filed
                .iter()
                .all(|(_, actor, name, caller)| actor == "dana" && name == "Dana Dpo" && caller == "console"),
        "the orchestrator names the person its token vouches for: {filed:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_console_asks_the_provider_for_the_services_resource_and_a_resource_it_does_not_serve_fails() {
    logs();
    let browser = Browser::start().await;
    let client = &browser.client;
    for (resource, signed_in) in [
        (test_support::oidc::AUDIENCE, true),
        ("https://not-the-services.example", false),
    ] {
        let (provider, console) = console_with_provider(
            test_support::oidc::ProviderOptions::default(),
            &[("console.oidc.resource", resource)],
        )
        .await;
        client.goto(&console.url("/status")).await.unwrap();
        if signed_in {
            sign_in_at(&browser, &provider.issuer, "dana").await;
            browser.wait_for(&console_page("/status", "status")).await;
        } else {
            // The provider refuses to issue a token for it (invalid_target): no sign-in.
            browser
                .wait_for(&Page::console_under("/signin/callback", "p[role=alert]"))
                .await;
            let url = client.current_url().await.unwrap();
            assert!(
                url.query().unwrap_or_default().contains("error=invalid_target"),
                "{url}"
            );
            let heading = client.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
            assert_eq!(heading, "Sign-in failed");
        }
        println!("resource {resource}: at {}", client.current_url().await.unwrap());
        client.delete_all_cookies().await.unwrap();
    }
    browser.close().await;
}

#[tokio::test]
async fn the_legal_holds_forms_are_refused_without_the_pages_token() {
    logs();
    let console = development_console(&[]).await;
    let (cookie, _) = development_sign_in(&console, "ccbridge_console", "/status").await;
    let form = http()
        .get(console.url("/gdpr/legal-holds/new"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf");
    let hold = "/gdpr/legal-holds/00000000-0000-4000-8000-000000000000";
    let place = [
        ("reference", "LIT-1"),
        ("reason", "a claim"),
        ("basis", "legal_claims"),
        ("customer_ids", "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c"),
    ];
    let forms: [(String, &[(&str, &str)]); 3] = [
        ("/gdpr/legal-holds".to_owned(), &place),
        (format!("{hold}/release"), &[("step", "ask"), ("reason", "closed")]),
        (format!("{hold}/release/withdraw"), &[]),
    ];
    for (path, fields) in &forms {
        for (csrf, refused) in [
            (None, true),
            (Some("not-the-token"), true),
            (Some(token.as_str()), false),
        ] {
            let mut sent: Vec<(&str, &str)> = fields.to_vec();
            sent.extend(csrf.map(|csrf| ("csrf", csrf)));
            let response = http()
                .post(console.url(path))
                .header(reqwest::header::COOKIE, &cookie)
                .form(&sent)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            if refused {
                assert_eq!(status, 403, "{path} {csrf:?}");
                assert!(page.contains("The form was refused"), "{path} {csrf:?}: {page}");
            } else {
                // The token passes: the console calls gdpr-orchestrator (not reachable here).
                assert_eq!(status, 502, "{path}: {page}");
                assert!(page.contains("gdpr-orchestrator is not available"), "{path}: {page}");
            }
        }
    }
}
