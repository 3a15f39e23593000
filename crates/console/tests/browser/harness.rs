//! The parts a browser test runs against: the identity provider (node), chromedriver, devstack
//! and the console, each on a free port of 127.0.0.1, stopped when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use test_support::oidc::{ensure_tools, Process, CONSOLE_CLIENT_SECRET as CLIENT_SECRET};
pub use test_support::oidc::{Provider, CONSOLE_CLIENT_ID as CLIENT_ID};

fn repository() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// devstack (the five services), the identity provider, and the console pointed at both.
pub struct Stack {
    pub provider: Provider,
    console: test_support::TestApp,
    writer_url: String,
    /// Each service's URL, by name (genesys-sim's too).
    urls: std::collections::BTreeMap<String, String>,
    tokens: std::collections::BTreeMap<String, String>,
    _devstack: tempfile::TempDir,
    /// On the PostgreSQL pass, the services' databases (dropped with the stack).
    _databases: Vec<test_support::TestDatabase>,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// With more settings for devstack's services: `(service, key, value)`.
    pub async fn start_with(mut overrides: Vec<(&'static str, String, String)>) -> Self {
        let data = tempfile::tempdir().unwrap();
        // The identity provider first: the services the console calls verify the person tokens
        // it forwards (X-Person-Token) against it.
        let port = test_support::ReservedPort::new();
        let public_url = port.url();
        let provider = tokio::task::spawn_blocking({
            let redirect = format!("{public_url}/signin/callback");
            move || Provider::start(&redirect)
        })
        .await
        .unwrap();
        for service in [
            "gdpr-orchestrator",
            "comm-history-writer",
            "interaction-pairing",
            "result-ingest",
        ] {
            overrides.push((service, "auth.persons.issuer".to_owned(), provider.issuer.clone()));
            overrides.push((
                service,
                "auth.persons.audience".to_owned(),
                test_support::oidc::AUDIENCE.to_owned(),
            ));
        }
        // The requester's identity is not what these tests are about: recording it is advisory
        // here (a test about it passes its own rule).
        if !overrides
            .iter()
            .any(|(service, key, _)| *service == "gdpr-orchestrator" && key == "gdpr.requester_verification")
        {
            overrides.push((
                "gdpr-orchestrator",
                "gdpr.requester_verification".to_owned(),
                "advisory".to_owned(),
            ));
        }
        // The orchestrator acts only for people holding the provider's DPO role (as in production).
        overrides.push((
            "gdpr-orchestrator",
            "auth.persons.roles.dpo".to_owned(),
            "ccbridge-dpo".to_owned(),
        ));
        // On the PostgreSQL pass (TEST_DATABASE_URL set) each service keeps its data in a fresh
        // PostgreSQL database, as in production; otherwise in devstack's SQLite files.
        let mut databases = Vec::new();
        if test_support::backend_under_test() == service_kit::database::Backend::Postgres {
            for service in [
                "interaction-pairing",
                "comm-history-writer",
                "result-ingest",
                "gdpr-orchestrator",
            ] {
                let database = test_support::TestDatabase::create();
                overrides.push((service, "database.url".to_owned(), database.url().to_owned()));
                databases.push(database);
            }
        }
        let devstack = devstack::Devstack::start(&devstack::Options {
            data_dir: data.path().to_owned(),
            host: "127.0.0.1".to_owned(),
            ephemeral_ports: true,
            overrides,
            genesys: None,
        })
        .await
        .unwrap();
        let url_of = |name: &str| {
            devstack
                .services
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.url.clone())
                .unwrap()
        };
        let urls: Vec<(String, String)> = [
            ("interaction_pairing_url", "interaction-pairing"),
            ("comm_history_writer_url", "comm-history-writer"),
            ("genesys_gateway_url", "genesys-gateway"),
            ("result_ingest_url", "result-ingest"),
            ("gdpr_orchestrator_url", "gdpr-orchestrator"),
        ]
        .into_iter()
        .map(|(key, name)| (format!("console.services.{key}"), url_of(name)))
        .collect();
        let writer_url = url_of("comm-history-writer");
        let service_urls = devstack
            .services
            .iter()
            .map(|s| (s.name.to_owned(), s.url.clone()))
            .collect();
        let tokens = devstack.tokens.clone();
        tokio::spawn(devstack.run_until_signalled());

        let mut overrides: Vec<(String, String)> = vec![
            ("console.public_url".to_owned(), public_url),
            ("console.oidc.issuer".to_owned(), provider.issuer.clone()),
            ("console.oidc.client_id".to_owned(), CLIENT_ID.to_owned()),
            ("console.oidc.client_secret".to_owned(), CLIENT_SECRET.to_owned()),
            (
                "console.services.gdpr_orchestrator_token".to_owned(),
                tokens["console"].clone(),
            ),
            (
                "console.services.comm_history_writer_token".to_owned(),
                tokens["console"].clone(),
            ),
            (
                "console.services.interaction_pairing_token".to_owned(),
                tokens["console"].clone(),
            ),
            (
                "console.services.result_ingest_token".to_owned(),
                tokens["console"].clone(),
            ),
        ];
        overrides.extend(urls);
        let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let console = test_support::spawn_app_on(&console::SERVICE, &[], &overrides, port).await;
        Self {
            provider,
            console,
            writer_url,
            urls: service_urls,
            tokens,
            _devstack: data,
            _databases: databases,
        }
    }

    /// A communication record of a new customer, written as result-ingest writes them; answers
    /// the customer's id.
    pub async fn record_for_a_customer(&self) -> String {
        let customer = uuid::Uuid::new_v4().to_string();
        self.write_record(Some(&customer), "tel:+420601123456", &uuid::Uuid::new_v4().to_string())
            .await;
        customer
    }

    /// Writes a record of `customer` (or nobody's) from `handle` (an e-mail when it holds `@`)
    /// for `interaction`.
    pub async fn write_record(&self, customer: Option<&str>, handle: &str, interaction: &str) {
        let mut record = test_support::expected_voice_inbound_record();
        record["customerId"] = customer.map_or(serde_json::Value::Null, |c| c.into());
        record["customerHandle"] = handle.into();
        record["interactionId"] = interaction.into();
        if handle.contains('@') {
            record["channel"] = "EMAIL".into();
        }
        self.write(&record).await;
    }

    /// Writes `record` to comm-history-writer as result-ingest writes them.
    pub async fn write(&self, record: &serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/communicationRecords", self.writer_url))
            .bearer_auth(&self.tokens["result_ingest"])
            .json(record)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }

    /// The back-office front end (a machine caller, no person) pairs `interaction` with
    /// `customer` at interaction-pairing.
    pub async fn pair_as_back_office(&self, interaction: &str, customer: &str) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/customers/supportInteraction",
                self.urls["interaction-pairing"]
            ))
            .bearer_auth(&self.tokens["bofe"])
            .json(&serde_json::json!({ "interactionId": interaction, "customerId": customer }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }

    /// `interaction`'s pairing as interaction-pairing serves it to the back office.
    pub async fn pairing(&self, interaction: &str) -> serde_json::Value {
        let response = reqwest::Client::new()
            .get(format!(
                "{}/customers/supportInteraction/{interaction}",
                self.urls["interaction-pairing"]
            ))
            .bearer_auth(&self.tokens["bofe"])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// Sets genesys-sim's faults (`PUT /admin/faults`).
    pub async fn genesys_faults(&self, faults: serde_json::Value) {
        let response = reqwest::Client::new()
            .put(format!("{}/admin/faults", self.urls["genesys-sim"]))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    /// Genesys' data action posts the example result for `interaction` to result-ingest; answers
    /// the inbox event's id.
    pub async fn deliver_webhook(&self, interaction: &str) -> String {
        let mut body: serde_json::Value = test_support::fixture("support-result-voice-inbound.json");
        body["conversationId"] = interaction.into();
        let response = reqwest::Client::new()
            .post(format!("{}/customers/supportResult", self.urls["result-ingest"]))
            .bearer_auth(&self.tokens["genesys"])
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let accepted: contracts::ingest::Accepted = response.json().await.unwrap();
        accepted.id.unwrap().to_string()
    }

    /// What result-ingest answers `GET {path}` to an operator.
    async fn as_operator<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        reqwest::Client::new()
            .get(format!("{}{path}", self.urls["result-ingest"]))
            .bearer_auth(&self.tokens["operator"])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The ids of result-ingest's events in `status`, as an operator lists them.
    pub async fn events(&self, status: &str) -> Vec<String> {
        let page: contracts::queue::QueuePage = self.as_operator(&format!("/ingest/events?status={status}")).await;
        page.items.into_iter().map(|entry| entry.id.to_string()).collect()
    }

    /// result-ingest's sweeps, newest first, as an operator lists them.
    pub async fn sweeps(&self) -> Vec<contracts::ingest::Sweep> {
        let page: contracts::ingest::SweepPage = self.as_operator("/ingest/sweeps").await;
        page.items
    }

    /// The records of an interaction, as the back office reads them.
    pub async fn records_of(&self, interaction: &str) -> Vec<serde_json::Value> {
        let page: serde_json::Value = reqwest::Client::new()
            .get(format!(
                "{}/communicationRecords?interactionId={interaction}",
                self.writer_url
            ))
            .bearer_auth(&self.tokens["bofe"])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// Request `id` as gdpr-orchestrator answers it to `login` (through the console's caller,
    /// with the person's access token from the provider): what the console's page must show.
    pub async fn gdpr_request_as(&self, login: &str, id: &str) -> contracts::gdpr::GdprRequest {
        self.gdpr_as(login, &format!("/gdpr/requests/{id}")).await
    }

    /// What gdpr-orchestrator answers `GET {path}` to `login`, as the console calls it.
    pub async fn gdpr_as<T: serde::de::DeserializeOwned>(&self, login: &str, path: &str) -> T {
        let token = self.provider.access_token(login).await;
        contracts::Client::plain(reqwest::Client::new(), self.urls["gdpr-orchestrator"].parse().unwrap())
            .with_token(secrecy::SecretString::from(self.tokens["console"].clone()))
            .get(path)
            .person_token(&token)
            .send()
            .await
            .unwrap()
    }

    /// The console the tests configure: signing in at the identity provider.
    pub fn console_url(&self, path: &str) -> String {
        self.console.url(path)
    }

    /// devstack's own console: the development sign-in.
    pub fn devstack_console_url(&self, path: &str) -> String {
        format!("{}{path}", self.urls["console"])
    }
}

/// How long a page is waited for.
const PAGE_WAIT: Duration = Duration::from_secs(60);

/// A page a test waits for: where it is (its URL) and a mark only it has.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL starts with this (an origin and a path, or a path alone for any origin).
    at: String,
    /// `true` when the URL's path must be `at` exactly (ignoring the query).
    exact: bool,
    /// A CSS selector only this page matches.
    mark: String,
}

impl Page {
    /// A console page, marked `<main data-page="{name}">`, at `path` exactly.
    pub fn console(path: &str, name: &str) -> Self {
        Self {
            at: path.to_owned(),
            exact: true,
            mark: format!("main[data-page='{name}']"),
        }
    }

    /// A console page under `prefix` (e.g. a request's page, `/gdpr/requests/`), marked by `mark`.
    pub fn console_under(prefix: &str, mark: &str) -> Self {
        Self {
            at: prefix.to_owned(),
            exact: false,
            mark: mark.to_owned(),
        }
    }

    /// A page of another site: its URL starts with `url_prefix`, and `mark` is its own.
    pub fn elsewhere(url_prefix: &str, mark: &str) -> Self {
        Self {
            at: url_prefix.to_owned(),
            exact: false,
            mark: mark.to_owned(),
        }
    }

    fn mark(&self) -> fantoccini::Locator<'_> {
        fantoccini::Locator::Css(&self.mark)
    }

    fn url_matches(&self, url: &url::Url) -> bool {
        if self.at.starts_with('/') {
            if self.exact {
                url.path() == self.at
            } else {
                url.path().starts_with(&self.at)
            }
        } else {
            url.as_str().starts_with(&self.at)
        }
    }
}

/// Headless Chromium through chromedriver.
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: Process,
}

impl Browser {
    pub async fn start() -> Self {
        ensure_tools();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Process(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let address = format!("127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(&address).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://{address}"))
            .await
            .unwrap();
        Self {
            client,
            _driver: driver,
        }
    }

    /// Waits (bounded) until the browser shows `page`: its URL and its own mark. Never waits for
    /// an element the page before may have too.
    pub async fn wait_for(&self, page: &Page) {
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        loop {
            let url = self.client.current_url().await.unwrap();
            if page.url_matches(&url) && self.client.find(page.mark()).await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{page:?} did not come: the browser is at {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the element `locator` finds on the page shown.
    pub async fn text_of(&self, locator: fantoccini::Locator<'_>) -> String {
        self.client.find(locator).await.unwrap().text().await.unwrap()
    }

    /// Opens `url` and waits for `page` there (or where its redirects lead).
    pub async fn open(&self, url: &str, page: &Page) {
        self.client.goto(url).await.unwrap();
        self.wait_for(page).await;
    }

    /// Clicks `element` (a link or a form's button), waits until the page it was on is gone,
    /// then for `page`: an element of the page before is never taken for one of the next.
    pub async fn click_to(&self, element: &fantoccini::elements::Element, page: &Page) {
        self.click_away(element).await;
        self.wait_for(page).await;
    }

    /// Clicks `element` and waits until the page it was on is gone (the next may still load).
    pub async fn click_away(&self, element: &fantoccini::elements::Element) {
        let before = self.client.find(fantoccini::Locator::Css("html")).await.unwrap();
        element.click().await.unwrap();
        self.wait_until_gone(&before).await;
    }

    /// Finds `locator` on the page shown and clicks it: see `click_to`.
    pub async fn click_on(&self, locator: fantoccini::Locator<'_>, page: &Page) {
        let element = self.client.find(locator).await.unwrap();
        self.click_to(&element, page).await;
    }

    /// Waits (bounded) until `element`'s document is replaced by another.
    pub async fn wait_until_gone(&self, element: &fantoccini::elements::Element) {
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        loop {
            match element.tag_name().await {
                // Chromium may also answer that the element's node left the document.
                Err(error)
                    if error.is_stale_element_reference()
                        || error.is_no_such_element()
                        || error.to_string().contains("does not belong to the document") =>
                {
                    return
                }
                Err(error) => panic!("the page could not be asked: {error}"),
                Ok(_) => {}
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page did not go: {}",
                self.client.current_url().await.unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves the page as `target/console-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let folder = repository().join("target/console-screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
    }

    /// Scrolls the element `id` to the top of the window, then saves the page as
    /// [`Self::screenshot`] does: a part of a long page.
    pub async fn screenshot_of(&self, id: &str, name: &str) {
        self.client
            .execute(
                "document.getElementById(arguments[0]).scrollIntoView();",
                vec![id.into()],
            )
            .await
            .unwrap();
        self.screenshot(name).await;
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// The files of a zip, by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().to_owned(), content);
    }
    files
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
