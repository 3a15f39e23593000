//! A real OpenID provider for tests: panva's oidc-provider on node (`oidc/provider.mjs`), on a
//! free port of 127.0.0.1, stopped when dropped. Its people sign in with the provider's
//! development login (any name, any password): `dana` and `bob` (DPOs), `otto`, `bea`, `nora`.
//!
//! It serves the console's client (authorization code with PKCE, refresh tokens), the `gdpr`
//! command's public client (device authorization grant, RFC 8628), and issues JWT access tokens
//! (RFC 9068) for the services' audience ([`AUDIENCE`]) with the person's `name` and `roles`.
//! A test can rotate its signing key ([`Provider::rotate_key`]), sign any claims with its current
//! key ([`Provider::sign`]) and shorten token lifetimes ([`ProviderOptions`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The console's client at the provider.
pub const CONSOLE_CLIENT_ID: &str = "ccbridge-console-test";
pub const CONSOLE_CLIENT_SECRET: &str = "a-client-secret-of-the-tests";
/// The `gdpr` command's public client (device authorization grant).
pub const CLI_CLIENT_ID: &str = "ccbridge-gdpr";
/// The resource (audience) the provider's access tokens are for.
pub const AUDIENCE: &str = "https://ccbridge.test";

fn repository() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Installs what the browser tests and the provider need when it is missing
/// (scripts/browser-tools.sh: Chromium, chromedriver, node, npm, oidc-provider) and answers
/// oidc-provider's module. Once per test binary.
pub fn ensure_tools() -> PathBuf {
    static READY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            let output = Command::new(repository().join("scripts/browser-tools.sh"))
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "Chromium, chromedriver, node, npm and oidc-provider are needed"
            );
            PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
        })
        .clone()
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How a provider is started.
#[derive(Debug, Clone)]
pub struct ProviderOptions {
    /// The console's redirect URI; without it the provider has no console client.
    pub console_redirect_uri: Option<String>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub session_ttl: Duration,
    /// The issuer it names instead of its own URL: a rogue provider claiming another's name.
    pub claimed_issuer: Option<String>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        Self {
            console_redirect_uri: None,
            access_token_ttl: Duration::from_secs(600),
            refresh_token_ttl: Duration::from_secs(86_400),
            id_token_ttl: Duration::from_secs(600),
            session_ttl: Duration::from_secs(86_400),
            claimed_issuer: None,
        }
    }
}

/// panva's oidc-provider, with the people of `oidc/provider.mjs`.
pub struct Provider {
    /// The issuer its tokens name (its URL unless it claims another's).
    pub issuer: String,
    /// Where it listens.
    pub url: String,
    _process: Process,
}

impl Provider {
    /// A provider with the console's client redirecting to `redirect_uri` (blocks until it listens).
    pub fn start(redirect_uri: &str) -> Self {
        Self::start_with(&ProviderOptions {
            console_redirect_uri: Some(redirect_uri.to_owned()),
            ..ProviderOptions::default()
        })
    }

    /// Starts one (blocks until it listens; from async code use [`Provider::spawn`]).
    pub fn start_with(options: &ProviderOptions) -> Self {
        // Its helpers build reqwest clients (rustls with ring): a test may start here.
        service_kit::tls::install();
        let module = ensure_tools();
        let mut command = Command::new("node");
        command
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/oidc/provider.mjs"))
            .env("OIDC_PROVIDER_MODULE", module)
            .env("AUDIENCE", AUDIENCE)
            .env("CLI_CLIENT_ID", CLI_CLIENT_ID)
            .env("ACCESS_TOKEN_TTL", options.access_token_ttl.as_secs().to_string())
            .env("REFRESH_TOKEN_TTL", options.refresh_token_ttl.as_secs().to_string())
            .env("ID_TOKEN_TTL", options.id_token_ttl.as_secs().to_string())
            .env("SESSION_TTL", options.session_ttl.as_secs().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(redirect_uri) = &options.console_redirect_uri {
            command
                .env("CLIENT_ID", CONSOLE_CLIENT_ID)
                .env("CLIENT_SECRET", CONSOLE_CLIENT_SECRET)
                .env("REDIRECT_URI", redirect_uri);
        }
        if let Some(issuer) = &options.claimed_issuer {
            command.env("ISSUER", issuer);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = Process(child);
        // It prints warnings, then {"issuer": …, "url": …} once it listens.
        let mut lines = BufReader::new(stdout).lines();
        let started = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .filter(|v| v["issuer"].is_string())
            })
            .expect("the identity provider started");
        // Its output is read to the end: a closed pipe would stop it at its next line.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            issuer: started["issuer"].as_str().unwrap().to_owned(),
            url: started["url"].as_str().unwrap().to_owned(),
            _process: process,
        }
    }

    /// Starts one from async code.
    pub async fn spawn(options: ProviderOptions) -> Self {
        tokio::task::spawn_blocking(move || Self::start_with(&options))
            .await
            .unwrap()
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = reqwest::Client::new()
            .request(method, format!("{}/test-admin/{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// A new signing key, current from now on (the old one stays published); answers its `kid`.
    pub async fn rotate_key(&self) -> String {
        let answer = self.admin(reqwest::Method::POST, "rotate", serde_json::json!({})).await;
        answer["kid"].as_str().unwrap().to_owned()
    }

    /// `claims` signed with the provider's current key as an access token (`typ: at+jwt`).
    pub async fn sign(&self, claims: serde_json::Value) -> String {
        let answer = self.admin(reqwest::Method::POST, "sign", claims).await;
        answer["token"].as_str().unwrap().to_owned()
    }

    /// How many refresh_token grants the token endpoint answered so far (granted or refused).
    pub async fn refreshes(&self) -> u64 {
        let answer = self
            .admin(reqwest::Method::GET, "refreshes", serde_json::json!({}))
            .await;
        answer["count"].as_u64().unwrap()
    }

    /// Sets a person's display name and roles (read again at the next sign-in or renewal).
    pub async fn set_person(&self, login: &str, name: &str, roles: &[&str]) {
        self.admin(
            reqwest::Method::PUT,
            &format!("people/{login}"),
            serde_json::json!({ "name": name, "roles": roles }),
        )
        .await;
    }

    /// Signs `login` in with the device authorization grant (as the `gdpr` command does) and
    /// answers the provider's token response (`access_token`, `refresh_token`, …).
    pub async fn device_sign_in(&self, login: &str) -> serde_json::Value {
        let http = reqwest::Client::new();
        let authorization: serde_json::Value = http
            .post(format!("{}/device/auth", self.url))
            .form(&[("client_id", CLI_CLIENT_ID), ("scope", "openid profile")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user_code = authorization["user_code"].as_str().unwrap();
        self.approve_device(user_code, login).await;
        let response = http
            .post(format!("{}/token", self.url))
            .form(&[
                ("client_id", CLI_CLIENT_ID),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", authorization["device_code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "device token: {}", response.status());
        response.json().await.unwrap()
    }

    /// A JWT access token of `login` for [`AUDIENCE`], through the device authorization grant.
    pub async fn access_token(&self, login: &str) -> String {
        self.device_sign_in(login).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The user's step of the device authorization grant, as a person at a browser takes it: the
    /// verification page with `user_code`, the provider's development login as `login`, consent.
    pub async fn approve_device(&self, user_code: &str, login: &str) {
        let mut browser = FormBrowser::new(&self.url);
        let mut page = browser.get(&format!("{}/device", self.url)).await;
        // The code, its confirmation, the login, the consent: each page a form, until it says done.
        for _ in 0..8 {
            if page.contains("<h1>Sign-in Success</h1>") {
                return;
            }
            let form = Form::parse(&page).unwrap_or_else(|| panic!("a form on the page: {page}"));
            let mut fields = form.hidden.clone();
            if page.contains("name=\"user_code\"") && !fields.contains_key("user_code") {
                fields.insert("user_code".to_owned(), user_code.to_owned());
            }
            if page.contains("name=\"login\"") {
                fields.insert("login".to_owned(), login.to_owned());
                fields.insert("password".to_owned(), "any".to_owned());
            }
            page = browser.post(&form.action, &fields).await;
        }
        panic!("the device sign-in did not end: {page}");
    }
}

/// Just enough of a browser for the provider's plain pages: cookies and redirects by hand.
struct FormBrowser {
    origin: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl FormBrowser {
    fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.origin)
        } else {
            url.to_owned()
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> String {
        let request = self.http.get(self.absolute(url));
        self.follow(request).await
    }

    async fn post(&mut self, url: &str, fields: &BTreeMap<String, String>) -> String {
        let request = self.http.post(self.absolute(url)).form(fields);
        self.follow(request).await
    }

    /// Sends the request, keeps its cookies, follows its redirects; answers the last page.
    async fn follow(&mut self, request: reqwest::RequestBuilder) -> String {
        let mut response = request.header("cookie", self.cookie_header()).send().await.unwrap();
        for _ in 0..20 {
            for set in response.headers().get_all("set-cookie") {
                let set = set.to_str().unwrap();
                let pair = set.split(';').next().unwrap();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || set.to_ascii_lowercase().contains("expires=thu, 01 jan 1970") {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies.insert(name.trim().to_owned(), value.to_owned());
                    }
                }
            }
            if !response.status().is_redirection() {
                return response.text().await.unwrap();
            }
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            response = self
                .http
                .get(self.absolute(&location))
                .header("cookie", self.cookie_header())
                .send()
                .await
                .unwrap();
        }
        panic!("too many redirects");
    }
}

/// A page's first form: where it posts and its hidden fields.
struct Form {
    action: String,
    hidden: BTreeMap<String, String>,
}

impl Form {
    fn parse(page: &str) -> Option<Self> {
        let start = page.find("<form")?;
        let end = page[start..].find("</form>").map_or(page.len(), |e| start + e);
        let form = &page[start..end];
        let action = attribute(&form[..form.find('>')?], "action")?;
        let mut hidden = BTreeMap::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            if attribute(tag, "type").as_deref() == Some("hidden") {
                if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                    hidden.insert(name, value);
                }
            }
        }
        Some(Self {
            action: action.replace("&amp;", "&"),
            hidden,
        })
    }
}

/// `name="value"` of an HTML tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_owned())
}
