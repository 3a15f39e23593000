//! `gdpr`: Export Me, Forget Me and Undo Forget from the command line, for operators and
//! schedulers, against gdpr-orchestrator's API.
//!
//! `gdpr exportme|forgetme|undoforget -i INPUT -o OUTDIR [--count] [--confirm]
//!  [--issuer URL | --as NAME] [--token T | --client-id ID --client-secret S] [--url URL]`
//! `gdpr confirm -i REQUEST_ID -o OUTDIR --issuer URL …`
//!
//! INPUT is a JSON file with the subject (`customerIds`, `phoneNumbers`, `emailAddresses`,
//! `genesysUserIds`), the same JSON inline, or a comma-separated list of customer ids; phone
//! numbers in national form are read with the orchestrator's `handles.default_region`.
//!
//! The options of Genesys' voicemail GDPR script are taken too: `-p/--operation OPERATION`,
//! `-u/--user TOKEN` (with `--basic`: `NAME:TOKEN` as HTTP Basic), `-c/--client ID:SECRET`,
//! and `-count`, `-confirm` with one dash. Without `--confirm`, `forgetme`
//! only reports what would be erased. With four eyes (the default), another person confirms it:
//! `gdpr confirm -i <request id>`, signed in as them.
//!
//! The person the command acts for signs in at the bank's identity provider (`--issuer`) with the
//! OAuth 2.0 device authorization grant (RFC 8628): the command prints where to go and the code
//! to enter, waits, and sends the person's access token to the orchestrator (`X-Person-Token`),
//! which verifies it and records them in the audit log (the caller must be allowed to delegate).
//! `--as NAME` names a person without signing them in: accepted by an orchestrator in development
//! only. Writes `output.json` (and for exportme the bundle) and `execution.log` (no identifiers)
//! to OUTDIR; exits non-zero with the reason on failure.
//!
//! `--url` and `--issuer` are `https` (plain `http` only to a loopback address); the certificates
//! are checked against the public roots and `--ca-bundle` (the bank's internal CA), and no
//! redirect is followed (the caller's token and the person's would go with it).

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Operation {
    /// Collect the subject's data from every system.
    Exportme,
    /// Erase the subject's data (only with --confirm; otherwise a count).
    Forgetme,
    /// Restore what a forgetme hid, within its grace window.
    Undoforget,
    /// Confirm a forgetme another person filed (INPUT: its request id).
    Confirm,
}

/// The spellings of Genesys' voicemail GDPR script this command also takes.
const SCRIPT_SPELLINGS: &str = "Genesys' voicemail GDPR script spellings are taken too:
  gdpr -p exportme -i ids -o dir -u TOKEN      is   gdpr exportme -i ids -o dir --token TOKEN
  -u NAME:TOKEN --basic                        is   --client-id NAME --client-secret TOKEN
  -c ID:SECRET                                 is   --client-id ID --client-secret SECRET
  -count, -confirm                             are  --count, --confirm";

#[derive(Debug, Parser)]
#[command(
    name = "gdpr",
    version,
    about = "GDPR requests against ccbridge's gdpr-orchestrator",
    after_help = SCRIPT_SPELLINGS
)]
struct Cli {
    #[arg(required_unless_present = "operation_option", conflicts_with = "operation_option")]
    operation: Option<Operation>,
    /// The operation as an option, as Genesys' voicemail GDPR script takes it.
    #[arg(short = 'p', long = "operation", value_name = "OPERATION")]
    operation_option: Option<Operation>,
    /// A JSON file with the subject, the same JSON inline, or a comma-separated list of customer
    /// ids (confirm: the request id).
    #[arg(short = 'i', long = "input")]
    input: String,
    /// Development only: the person this command acts for, named without signing in (sent as
    /// X-Acting-User; an orchestrator outside development refuses it). Use --issuer instead.
    #[arg(long = "as", value_name = "NAME", conflicts_with = "issuer")]
    acting_user: Option<String>,
    /// The bank's identity provider (its OpenID issuer URL, https or http to a loopback address):
    /// the person this command acts for signs in there (device authorization grant) and the
    /// orchestrator verifies their token.
    #[arg(long, env = "GDPR_ISSUER")]
    issuer: Option<String>,
    /// This command's client at the identity provider (a public client allowed the device
    /// authorization grant).
    #[arg(long, env = "GDPR_OIDC_CLIENT_ID", default_value = "ccbridge-gdpr")]
    oidc_client_id: String,
    /// The resource (RFC 8707) the access token is asked for: the orchestrator's audience at the
    /// provider, when the provider takes resource indicators.
    #[arg(long, env = "GDPR_RESOURCE")]
    resource: Option<String>,
    /// The scopes asked for at sign-in, space-separated.
    #[arg(long, default_value = "openid profile")]
    oidc_scope: String,
    /// Where output.json, execution.log (and for exportme the bundle) are written.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Only count what would be exported or erased (also `-count`).
    #[arg(long)]
    count: bool,
    /// forgetme: carry the erasure out (without it, forgetme only reports what it would erase;
    /// also `-confirm`).
    #[arg(long)]
    confirm: bool,
    /// Bearer token of a caller with the `dpo` scope (`-u/--user`, as the script spells it).
    #[arg(
        short = 'u',
        long,
        visible_alias = "user",
        env = "GDPR_TOKEN",
        hide_env_values = true,
        conflicts_with_all = ["client_id", "client_secret", "client"]
    )]
    token: Option<String>,
    /// With -u/--user: the token is NAME:TOKEN, sent as HTTP Basic.
    #[arg(long, requires = "token")]
    basic: bool,
    /// Caller name and token as ID:SECRET, sent as HTTP Basic (the script's -c).
    #[arg(short = 'c', long, value_name = "ID:SECRET", conflicts_with_all = ["client_id", "client_secret"])]
    client: Option<String>,
    /// Caller name, with --client-secret (HTTP Basic).
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    /// The caller's token, with --client-id (HTTP Basic).
    #[arg(long, env = "GDPR_CLIENT_SECRET", hide_env_values = true, requires = "client_id")]
    client_secret: Option<String>,
    /// gdpr-orchestrator's base URL: https, or http to a loopback address only.
    #[arg(long, env = "GDPR_URL", default_value = "http://127.0.0.1:8085")]
    url: String,
    /// A PEM file of CA certificates (the bank's internal CA) trusted besides the public roots,
    /// for the orchestrator and the identity provider.
    #[arg(long, env = "GDPR_CA_BUNDLE", value_name = "PATH")]
    ca_bundle: Option<PathBuf>,
    /// The case number in the bank's ticketing.
    #[arg(long, default_value = "gdpr-cli")]
    reference: String,
    /// How often to ask for the request's status, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
    /// Give up waiting after this many seconds (the request carries on in the orchestrator).
    #[arg(long, default_value_t = 3600)]
    timeout_seconds: u64,
}

/// `execution.log`: what was done, when; ids, statuses and counts only.
struct ExecutionLog(std::fs::File);

impl ExecutionLog {
    fn line(&mut self, message: &str) {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let _ = writeln!(self.0, "{now} {message}");
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    /// Behind a lock: a signed-in person's token is renewed as it runs out.
    person: tokio::sync::Mutex<PersonHeader>,
}

/// How the command names its person.
enum PersonHeader {
    /// None: the caller acts as itself.
    Nobody,
    /// `X-Acting-User` (development only).
    Named(String),
    /// `X-Person-Token`: the person's access token from the identity provider.
    SignedIn(Box<sign_in::Session>),
}

enum Auth {
    Bearer(String),
    Basic(String, String),
}

impl Api {
    /// A request to the orchestrator, naming the person (their token renewed when it runs out).
    async fn request(&self, method: reqwest::Method, path: &str) -> Result<reqwest::RequestBuilder, String> {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base.trim_end_matches('/')));
        match &mut *self.person.lock().await {
            PersonHeader::Nobody => {}
            PersonHeader::Named(person) => builder = builder.header("X-Acting-User", person.as_str()),
            PersonHeader::SignedIn(session) => builder = builder.header("X-Person-Token", session.token().await?),
        }
        Ok(match &self.auth {
            Auth::Bearer(token) => builder.bearer_auth(token),
            Auth::Basic(user, secret) => builder.basic_auth(user, Some(secret)),
        })
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = builder
            .send()
            .await
            .map_err(|e| format!("gdpr-orchestrator is unreachable at {}: {}", self.base, causes(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "gdpr-orchestrator answered {status} (a redirect): not followed, the credentials stay here; check --url"
            ));
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            let detail = body["detail"]
                .as_str()
                .or(body["title"].as_str())
                .unwrap_or("no detail");
            let fields: Vec<String> = body["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e["pointer"].as_str().or(e["parameter"].as_str()).unwrap_or(""),
                                e["detail"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Err(
                format!("gdpr-orchestrator answered {status}: {detail} {}", fields.join("; "))
                    .trim()
                    .to_owned(),
            )
        }
    }
}

impl Cli {
    /// Parses the command line, reading `-count` and `-confirm` as the script spells them.
    fn from_command_line() -> Self {
        Self::parse_from(std::env::args_os().map(|arg| match arg.to_str() {
            Some("-count") => "--count".into(),
            Some("-confirm") => "--confirm".into(),
            _ => arg,
        }))
    }

    /// The operation, positional or `-p` (clap lets exactly one through).
    fn operation(&self) -> Result<Operation, String> {
        self.operation
            .or(self.operation_option)
            .ok_or_else(|| "an operation is required: exportme, forgetme, undoforget or confirm".to_owned())
    }

    fn auth(&self) -> Result<Auth, String> {
        let pair = |value: &str, what: &str| {
            value
                .split_once(':')
                .filter(|(name, secret)| !name.is_empty() && !secret.is_empty())
                .map(|(name, secret)| Auth::Basic(name.to_owned(), secret.to_owned()))
                .ok_or_else(|| format!("{what} takes NAME:SECRET"))
        };
        match (
            &self.token,
            self.basic,
            &self.client,
            &self.client_id,
            &self.client_secret,
        ) {
            (Some(token), false, _, _, _) => Ok(Auth::Bearer(token.clone())),
            (Some(token), true, _, _, _) => pair(token, "-u/--user with --basic"),
            (None, _, Some(client), _, _) => pair(client, "-c/--client"),
            (None, _, None, Some(id), Some(secret)) => Ok(Auth::Basic(id.clone(), secret.clone())),
            _ => Err(
                "credentials are required: --token (-u), -c ID:SECRET, or --client-id with --client-secret".to_owned(),
            ),
        }
    }
}

/// `url` (option `option`) as the command will call it: https, or plain http to a loopback
/// address (the caller's token and the person's would otherwise cross the network in clear).
fn checked_url(option: &str, url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{option}: not a URL ({e})"))?;
    let loopback = parsed
        .host_str()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|host| host.parse::<std::net::IpAddr>().ok())
        .is_some_and(|address| address.is_loopback());
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "{option}: http is accepted only to a loopback address (127.0.0.1, [::1]); use https:// (with --ca-bundle for the bank's CA)"
        )),
        _ => Err(format!("{option}: must be an https URL")),
    }
}

/// An error and what caused it, on one line (reqwest's own text leaves out why a connection
/// failed, e.g. a certificate no trusted CA signed).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The one HTTP client of the command, for the orchestrator and the identity provider: TLS as
/// every ccbridge client (public roots plus `--ca-bundle`), no redirects followed (reqwest would
/// strip `Authorization` on a redirect to another host, but not `X-Person-Token`).
fn http_client(cli: &Cli) -> Result<reqwest::Client, String> {
    let extra_roots = match &cli.ca_bundle {
        Some(path) => service_kit::tls::ca_bundle("--ca-bundle", &path.display().to_string())?,
        None => Vec::new(),
    };
    service_kit::tls::client_builder(&extra_roots)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The person the command acts for: signed in at `--issuer`, named with `--as`, or nobody.
async fn person(cli: &Cli, http: &reqwest::Client, log: &mut ExecutionLog) -> Result<PersonHeader, String> {
    if let Some(name) = &cli.acting_user {
        return Ok(PersonHeader::Named(name.clone()));
    }
    let Some(issuer) = &cli.issuer else {
        return Ok(PersonHeader::Nobody);
    };
    let session = sign_in::device_sign_in(
        http.clone(),
        issuer,
        &cli.oidc_client_id,
        &cli.oidc_scope,
        cli.resource.as_deref(),
        Duration::from_secs(cli.timeout_seconds),
    )
    .await?;
    log.line("signed in at the identity provider");
    Ok(PersonHeader::SignedIn(Box::new(session)))
}

/// The device authorization grant (RFC 8628) at the bank's identity provider, with the `oauth2`
/// crate over the command's own client (TLS as every ccbridge client, `--ca-bundle` trusted, no
/// redirects followed).
mod sign_in {
    use oauth2::basic::{BasicClient, BasicTokenResponse};
    use oauth2::{
        AuthType, ClientId, DeviceAuthorizationUrl, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse,
        RefreshToken, Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
    };
    use std::time::{Duration, Instant};

    /// The device grant's client: device authorization and token endpoints set.
    type DeviceClient = BasicClient<EndpointNotSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

    /// A token this close to its expiry is renewed before it is sent.
    const RENEW_BEFORE: Duration = Duration::from_secs(10);

    /// One request of `oauth2` sent with the workspace's reqwest.
    async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let response = http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut answer = HttpResponse::new(Vec::new());
        *answer.status_mut() = response.status();
        *answer.headers_mut() = response.headers().clone();
        *answer.body_mut() = response.bytes().await?.to_vec();
        Ok(answer)
    }

    /// The signed-in person's tokens, renewed with the refresh token as the access token runs out
    /// (a long export outlives an access token).
    pub struct Session {
        client: DeviceClient,
        http: reqwest::Client,
        access: String,
        expires_at: Option<Instant>,
        refresh: Option<RefreshToken>,
    }

    impl Session {
        fn new(client: DeviceClient, http: reqwest::Client, tokens: &BasicTokenResponse) -> Self {
            let mut session = Self {
                client,
                http,
                access: String::new(),
                expires_at: None,
                refresh: None,
            };
            session.take(tokens);
            session
        }

        fn take(&mut self, tokens: &BasicTokenResponse) {
            self.access = tokens.access_token().secret().clone();
            self.expires_at = tokens.expires_in().map(|lifetime| Instant::now() + lifetime);
            if let Some(refresh) = tokens.refresh_token() {
                self.refresh = Some(refresh.clone());
            }
        }

        /// The access token, renewed first when it runs out within [`RENEW_BEFORE`] and the
        /// provider gave a refresh token.
        pub async fn token(&mut self) -> Result<&str, String> {
            let running_out = self
                .expires_at
                .is_some_and(|expires_at| expires_at.saturating_duration_since(Instant::now()) < RENEW_BEFORE);
            if let (true, Some(refresh)) = (running_out, &self.refresh) {
                let http = &self.http;
                let tokens = self
                    .client
                    .exchange_refresh_token(refresh)
                    .request_async(&|request| send(http, request))
                    .await
                    .map_err(|e| format!("the sign-in could not be renewed at the identity provider: {e}"))?;
                self.take(&tokens);
            }
            Ok(&self.access)
        }
    }

    /// What the provider's discovery document says about the device grant.
    #[derive(serde::Deserialize)]
    struct Discovery {
        issuer: String,
        token_endpoint: String,
        device_authorization_endpoint: Option<String>,
    }

    /// Signs the person in: prints where to go and the code to enter (standard error), waits for
    /// them, and answers their session.
    pub async fn device_sign_in(
        http: reqwest::Client,
        issuer: &str,
        client_id: &str,
        scopes: &str,
        resource: Option<&str>,
        timeout: Duration,
    ) -> Result<Session, String> {
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let fetched = http
            .get(&discovery_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| {
                format!(
                    "the identity provider is unreachable at {issuer}: {}",
                    super::causes(&e)
                )
            })?
            .bytes()
            .await
            .map_err(|e| format!("the identity provider's discovery document could not be read: {e}"))?;
        let discovery: Discovery = serde_json::from_slice(&fetched)
            .map_err(|e| format!("the identity provider's discovery document is not usable: {e}"))?;
        if discovery.issuer != issuer {
            return Err(format!(
                "the identity provider at {issuer} names another issuer in its discovery document"
            ));
        }
        let device_url = discovery
            .device_authorization_endpoint
            .ok_or("the identity provider offers no device authorization grant (RFC 8628)")?;
        // The endpoints the provider names are held to the issuer's rule: https (http on the
        // loopback only).
        super::checked_url("the provider's device_authorization_endpoint", &device_url)?;
        super::checked_url("the provider's token_endpoint", &discovery.token_endpoint)?;
        let client = BasicClient::new(ClientId::new(client_id.to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(device_url).map_err(|e| format!("device authorization endpoint: {e}"))?,
            )
            .set_token_uri(TokenUrl::new(discovery.token_endpoint).map_err(|e| format!("token endpoint: {e}"))?);
        let mut request = client.exchange_device_code();
        for scope in scopes.split_whitespace() {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        if let Some(resource) = resource {
            request = request.add_extra_param("resource", resource.to_owned());
        }
        let details: StandardDeviceAuthorizationResponse = request
            .request_async(&|request| send(&http, request))
            .await
            .map_err(|e| format!("the identity provider refused the sign-in: {e}"))?;
        eprintln!(
            "gdpr: sign in at {} and enter the code {}",
            details.verification_uri().as_str(),
            details.user_code().secret()
        );
        if let Some(complete) = details.verification_uri_complete() {
            eprintln!("gdpr: or open {}", complete.secret());
        }
        let tokens = client
            .exchange_device_access_token(&details)
            .request_async(&|request| send(&http, request), tokio::time::sleep, Some(timeout))
            .await
            .map_err(|e| format!("the sign-in did not complete: {e}"))?;
        Ok(Session::new(client, http, &tokens))
    }
}

fn read_subject(input: &str) -> Result<Value, String> {
    if input.trim_start().starts_with('{') {
        return serde_json::from_str(input).map_err(|e| format!("INPUT is not valid JSON: {e}"));
    }
    let path = Path::new(input);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {input}: {e}"))?;
        return serde_json::from_str(&text).map_err(|e| format!("{input} is not JSON: {e}"));
    }
    let ids: Vec<&str> = input.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if ids.is_empty() {
        return Err("INPUT is neither a file nor a list of customer ids".to_owned());
    }
    Ok(json!({ "customerIds": ids }))
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    service_kit::tls::install();
    let cli = Cli::from_command_line();
    if let Err(e) = std::fs::create_dir_all(&cli.output) {
        eprintln!("gdpr: cannot create {}: {e}", cli.output.display());
        return ExitCode::from(2);
    }
    let log = match std::fs::File::create(cli.output.join("execution.log")) {
        Ok(file) => ExecutionLog(file),
        Err(e) => {
            eprintln!("gdpr: cannot write the execution log: {e}");
            return ExitCode::from(2);
        }
    };
    let mut log = log;
    match run(&cli, &mut log).await {
        Ok(summary) => {
            log.line(&format!("done: {summary}"));
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            log.line(&format!("failed: {reason}"));
            eprintln!("gdpr: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli, log: &mut ExecutionLog) -> Result<String, String> {
    let operation = cli.operation()?;
    let auth = cli.auth()?;
    checked_url("--url", &cli.url)?;
    if let Some(issuer) = &cli.issuer {
        checked_url("--issuer", issuer)?;
    }
    let http = http_client(cli)?;
    let api = Api {
        person: tokio::sync::Mutex::new(person(cli, &http, log).await?),
        http,
        base: cli.url.clone(),
        auth,
    };
    let request_type = match operation {
        Operation::Exportme => "EXPORT",
        Operation::Forgetme => "FORGET",
        Operation::Undoforget => "UNDO_FORGET",
        Operation::Confirm => return confirm(cli, &api, log).await,
    };
    let subject = read_subject(&cli.input)?;
    let body = json!({ "type": request_type, "subject": subject, "reference": cli.reference, "countOnly": cli.count });
    let created = api
        .send(api.request(reqwest::Method::POST, "/gdpr/requests").await?.json(&body))
        .await?;
    let id = created["id"]
        .as_str()
        .ok_or("the orchestrator answered without a request id")?
        .to_owned();
    log.line(&format!("{request_type} request {id} filed (countOnly={})", cli.count));

    let final_states: &[&str] = match operation {
        Operation::Forgetme if !cli.count => &["awaiting_confirmation", "completed", "undone", "cancelled"],
        _ => &["completed", "undone", "cancelled"],
    };
    let mut request = wait_for(cli, &api, &id, final_states, log).await?;
    if matches!(operation, Operation::Forgetme) && request["status"] == "awaiting_confirmation" {
        if cli.confirm {
            api.send(
                api.request(reqwest::Method::POST, &format!("/gdpr/requests/{id}/confirm"))
                    .await?,
            )
            .await
            .map_err(|reason| {
                format!(
                    "{reason} (request {id} waits for confirmation: gdpr confirm -i {id}, signed in as another person)"
                )
            })?;
            log.line(&format!("request {id} confirmed"));
            request = wait_for(cli, &api, &id, &["in_grace", "completed"], log).await?;
        } else {
            log.line(&format!(
                "not confirmed: nothing was erased (confirm with: gdpr confirm -i {id}, signed in as another person)"
            ));
        }
    }
    let mut output = json!({ "request": request });
    if matches!(operation, Operation::Exportme) && !cli.count {
        let bundle = api
            .send(
                api.request(reqwest::Method::GET, &format!("/gdpr/requests/{id}/export"))
                    .await?,
            )
            .await?;
        write_bundle(&cli.output, &bundle)?;
        log.line(&format!(
            "bundle written: {} files",
            bundle["manifest"]["files"].as_array().map_or(0, Vec::len)
        ));
        output["manifest"] = bundle["manifest"].clone();
    }
    write_json(&cli.output.join("output.json"), &output)?;
    let counts = request["counts"].to_string();
    let elsewhere = to_erase_elsewhere(&request);
    if elsewhere > 0 {
        log.line(&format!(
            "{elsewhere} copies delivered outside ccbridge to erase there (participants[].toEraseElsewhere in output.json)"
        ));
    }
    Ok(format!(
        "request {id}: {} {counts}{}",
        request["status"].as_str().unwrap_or("?"),
        if elsewhere > 0 {
            format!("; {elsewhere} to erase in the communication-history-manager (output.json)")
        } else {
            String::new()
        }
    ))
}

/// How many copies of the subject's data the participants delivered outside ccbridge, which a
/// forget lists for the bank to erase there.
fn to_erase_elsewhere(request: &Value) -> usize {
    request["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|step| step["toEraseElsewhere"].as_array())
        .map(Vec::len)
        .sum()
}

/// `gdpr confirm`: confirms the FORGET `--input` names, waits until it is carried out.
async fn confirm(cli: &Cli, api: &Api, log: &mut ExecutionLog) -> Result<String, String> {
    let id = uuid::Uuid::try_parse(cli.input.trim())
        .map_err(|_| "confirm takes the request id as INPUT".to_owned())?
        .to_string();
    api.send(
        api.request(reqwest::Method::POST, &format!("/gdpr/requests/{id}/confirm"))
            .await?,
    )
    .await?;
    log.line(&format!("request {id} confirmed"));
    let request = wait_for(cli, api, &id, &["in_grace", "completed"], log).await?;
    write_json(&cli.output.join("output.json"), &json!({ "request": request }))?;
    Ok(format!(
        "request {id}: {} {}",
        request["status"].as_str().unwrap_or("?"),
        request["counts"]
    ))
}

/// Polls until the request reaches one of `states`, showing its progress.
async fn wait_for(cli: &Cli, api: &Api, id: &str, states: &[&str], log: &mut ExecutionLog) -> Result<Value, String> {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    let give_up = Instant::now() + Duration::from_secs(cli.timeout_seconds);
    let mut last_status = String::new();
    loop {
        let request = api
            .send(
                api.request(reqwest::Method::GET, &format!("/gdpr/requests/{id}"))
                    .await?,
            )
            .await?;
        let status = request["status"].as_str().unwrap_or("").to_owned();
        if status != last_status {
            let reason = request["statusReason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            log.line(&format!("request {id}: {status}{reason}"));
            progress.set_message(format!("{id}: {status}{reason}"));
            last_status = status.clone();
        }
        if states.contains(&status.as_str()) {
            progress.finish_and_clear();
            return Ok(request);
        }
        if Instant::now() >= give_up {
            progress.finish_and_clear();
            return Err(format!(
                "gave up waiting after {} s: request {id} is {status} and carries on in the orchestrator",
                cli.timeout_seconds
            ));
        }
        tokio::time::sleep(Duration::from_millis(cli.poll_ms)).await;
    }
}

/// `manifest.json` and one file per participant and category, checked against the manifest.
fn write_bundle(directory: &Path, bundle: &Value) -> Result<(), String> {
    write_json(&directory.join("manifest.json"), &bundle["manifest"])?;
    for file in bundle["manifest"]["files"].as_array().into_iter().flatten() {
        let (Some(participant), Some(category), Some(sha256)) = (
            file["participant"].as_str(),
            file["category"].as_str(),
            file["sha256"].as_str(),
        ) else {
            return Err("the manifest lists a file without participant, category or checksum".to_owned());
        };
        let bytes = serde_json::to_vec_pretty(&bundle["data"][participant][category]).map_err(|e| e.to_string())?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(format!(
                "{participant}/{category}: checksum does not match the manifest"
            ));
        }
        let folder = directory.join(participant);
        std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        std::fs::write(folder.join(format!("{category}.json")), bytes)
            .map_err(|e| format!("cannot write {participant}/{category}.json: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_to_erase_elsewhere_are_counted_over_every_participant() {
        let request = json!({ "participants": [
            { "participant": "comm-history-writer", "toEraseElsewhere": [{ "recordId": "a" }, { "recordId": "b" }] },
            { "participant": "result-ingest" },
        ]});
        assert_eq!(to_erase_elsewhere(&request), 2);
        assert_eq!(to_erase_elsewhere(&json!({ "status": "completed" })), 0);
    }

    #[test]
    fn input_is_a_file_inline_json_or_customer_ids() {
        assert_eq!(
            read_subject(r#"{"phoneNumbers": ["601123456"]}"#).unwrap(),
            json!({ "phoneNumbers": ["601123456"] })
        );
        assert_eq!(read_subject("a, b").unwrap(), json!({ "customerIds": ["a", "b"] }));
        assert!(read_subject("{not json").unwrap_err().contains("not valid JSON"));
    }
}
