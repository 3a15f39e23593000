//! `gdpr`: Export Me, Forget Me and Undo Forget from the command line, for operators and
//! schedulers, against gdpr-orchestrator's API.
//!
//! `gdpr exportme|forgetme|undoforget -i INPUT -o OUTDIR [--count] [--confirm]
//!  [--issuer URL | --as NAME] [--token T | --client-id ID --client-secret S] [--url URL]`
//! `gdpr confirm -i REQUEST_ID -o OUTDIR --issuer URL …`
//!
//! Restriction (GDPR Art. 18): `gdpr restrict -i INPUT -o OUTDIR [--count] [--reference CASE]`
//! restricts the subject's data (hidden from every back-office use, kept, still exported) and
//! waits until it is `restricted`; `gdpr lift -i RESTRICT_ID -o OUTDIR --reference CASE` asks to
//! lift it, and another person confirms the lift (`gdpr confirm -i <lift id>`), once the subject
//! was told (Art. 18(3)).
//!
//! Legal holds (issue #30): `gdpr hold --customer-id ID --phone NUMBER --email ADDRESS --agent
//! GENESYS_USER_ID --interaction ID (each repeatable, or -i INPUT) --reference CASE --reason TEXT
//! --basis legal_claims|legal_obligation|authority_request [--from T --to T] [--ends-at T]` places
//! one; `gdpr holds [--status S]` lists them; `gdpr release HOLD_ID --reason TEXT` asks for a
//! hold's release, and `gdpr release HOLD_ID --confirm --reason TEXT`, by a second person,
//! confirms it (four eyes, as a FORGET's confirmation).
//! Times are RFC 3339. `-o OUTDIR` is optional for these (output.json and execution.log).
//!
//! Rectification (GDPR Art. 16): `gdpr rectify -i INPUT --replacement REPLACEMENT -o OUTDIR
//! [--count]` files a RECTIFY of the subject (REPLACEMENT: a JSON file, or the same JSON inline:
//! `phoneNumbers`/`emailAddresses` as `[{"from": …, "to": …}]`, each `from` one of the subject's,
//! and/or `customer: {"interactionIds": […], "to": CUSTOMER_ID}`), waits for its count, and another
//! person confirms it (`gdpr confirm -i <request id>`); then every system, Genesys Cloud and the
//! communication-history-manager are corrected.
//!
//! A verified requester (issue #31): `gdpr verify -i REQUEST_ID -o OUTDIR --method METHOD
//! --evidence REF` records how the requester's identity was verified (in_person_id_document,
//! online_banking_login, qualified_electronic_signature, signed_letter, video_call; REF is the
//! evidence's id in the bank's records, never the evidence), signed in at `--issuer`; for a
//! completed EXPORT it then writes the bundle. `exportme`, `forgetme` and `restrict` take `--method`
//! and `--evidence` too (recorded right after filing), and `--language cs|en` for the subject's
//! answer.
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
//! Its calls and their answers are gdpr-orchestrator's contract (`contracts::gdpr`) over the one
//! typed client (`contracts::Client`); `sign_in` is the device flow, `commands` the operations.
//!
//! `--url` and `--issuer` are `https` (plain `http` only to a loopback address); the certificates
//! are checked against the public roots and `--ca-bundle` (the bank's internal CA), and no
//! redirect is followed (the caller's token and the person's would go with it).

mod commands;
mod holds;
mod sign_in;

use clap::{Parser, ValueEnum};
use commands::{Auth, ExecutionLog};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Operation {
    /// Collect the subject's data from every system.
    Exportme,
    /// Erase the subject's data (only with --confirm; otherwise a count).
    Forgetme,
    /// Restore what a forgetme hid, within its grace window.
    Undoforget,
    /// Confirm a forgetme, a rectify or a lift another person filed (INPUT: its request id).
    Confirm,
    /// Restrict the subject's data (GDPR Art. 18): hidden from every back-office use, erasing
    /// nothing, still exported, until lifted.
    Restrict,
    /// Ask to lift a restriction (INPUT: the RESTRICT's request id); another person confirms it.
    Lift,
    /// Correct the subject's data (GDPR Art. 16) as --replacement says; another person confirms
    /// it.
    Rectify,
    /// Place a legal hold: what a forgetme or a retention would erase of the subject is kept.
    Hold,
    /// List the legal holds, newest first.
    Holds,
    /// Ask for a legal hold's release (`release HOLD_ID`), or, another person, confirm the ask
    /// (`release HOLD_ID --confirm`).
    Release,
    /// Record how the requester's identity was verified (INPUT: the request id; --method,
    /// --evidence); a completed EXPORT's bundle is then written.
    Verify,
}

impl Operation {
    /// A legal hold's operation (no request filed, nothing waited for).
    fn on_holds(self) -> bool {
        matches!(self, Self::Hold | Self::Holds | Self::Release)
    }
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
    about = "GDPR requests and legal holds against ccbridge's gdpr-orchestrator",
    after_help = SCRIPT_SPELLINGS
)]
struct Cli {
    #[arg(required_unless_present = "operation_option", conflicts_with = "operation_option")]
    operation: Option<Operation>,
    /// The operation as an option, as Genesys' voicemail GDPR script takes it.
    #[arg(short = 'p', long = "operation", value_name = "OPERATION")]
    operation_option: Option<Operation>,
    /// release: the hold's id.
    #[arg(value_name = "HOLD_ID")]
    hold_id: Option<String>,
    /// A JSON file with the subject, the same JSON inline, or a comma-separated list of customer
    /// ids (confirm: the request id). Required but for hold (optional there), holds and release.
    #[arg(short = 'i', long = "input")]
    input: Option<String>,
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
    /// Where output.json, execution.log (and for exportme the bundle) are written. Required but
    /// for hold, holds and release.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Only count what would be exported or erased (also `-count`).
    #[arg(long)]
    count: bool,
    /// forgetme: carry the erasure out (without it, forgetme only reports what it would erase;
    /// also `-confirm`). release: confirm another person's ask (without it, ask).
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
    /// The case number in the bank's ticketing (a request's: gdpr-cli when not given; a hold's:
    /// required, the matter in the bank's case management).
    #[arg(long)]
    reference: Option<String>,
    /// How the requester's identity was verified: in_person_id_document, online_banking_login,
    /// qualified_electronic_signature, signed_letter or video_call (verify; exportme, forgetme,
    /// restrict: recorded right after filing, with --evidence).
    #[arg(long, value_parser = verification_method, requires = "evidence")]
    method: Option<contracts::gdpr::VerificationMethod>,
    /// With --method: where the evidence is kept in the bank's records (a document or case id,
    /// e.g. DMS-2026-00042), never the evidence itself.
    #[arg(long, value_name = "REF", requires = "method")]
    evidence: Option<String>,
    /// The language of the subject's answer in an export's bundle: cs or en (the orchestrator's
    /// gdpr.answer_language when not given).
    #[arg(long, value_parser = language)]
    language: Option<contracts::gdpr::AnswerLanguage>,
    /// rectify: what to correct, a JSON file or the same JSON inline (phoneNumbers,
    /// emailAddresses: [{"from", "to"}]; customer: {"interactionIds", "to"}).
    #[arg(long, value_name = "REPLACEMENT")]
    replacement: Option<String>,
    /// hold: a customer id the hold names (repeatable).
    #[arg(long = "customer-id", value_name = "ID")]
    customer_ids: Vec<String>,
    /// hold: a phone number (repeatable; national form read with handles.default_region).
    #[arg(long = "phone", value_name = "NUMBER")]
    phones: Vec<String>,
    /// hold: an e-mail address (repeatable).
    #[arg(long = "email", value_name = "ADDRESS")]
    emails: Vec<String>,
    /// hold: an agent, by Genesys user id (repeatable).
    #[arg(long = "agent", value_name = "GENESYS_USER_ID")]
    agents: Vec<String>,
    /// hold: an interaction held whoever it belongs to (repeatable).
    #[arg(long = "interaction", value_name = "ID")]
    interactions: Vec<uuid::Uuid>,
    /// hold, release: why, in a few words for the next DPO.
    #[arg(long)]
    reason: Option<String>,
    /// hold: the legal basis (legal_claims, legal_obligation, authority_request).
    #[arg(long, value_parser = basis)]
    basis: Option<contracts::legal_hold::LegalBasis>,
    /// hold: only communications from this time (RFC 3339, inclusive).
    #[arg(long, value_parser = timestamp)]
    from: Option<domain::Timestamp>,
    /// hold: only communications before this time (RFC 3339, exclusive).
    #[arg(long, value_parser = timestamp)]
    to: Option<domain::Timestamp>,
    /// hold: when the hold ends by itself (RFC 3339); open until released when not given.
    #[arg(long, value_parser = timestamp)]
    ends_at: Option<domain::Timestamp>,
    /// holds: only holds in this state (active, release_requested, released, ended).
    #[arg(long)]
    status: Option<String>,
    /// How often to ask for the request's status, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
    /// Give up waiting after this many seconds (the request carries on in the orchestrator).
    #[arg(long, default_value_t = 3600)]
    timeout_seconds: u64,
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
        self.operation.or(self.operation_option).ok_or_else(|| {
            "an operation is required: exportme, forgetme, undoforget, confirm, restrict, lift, verify, hold, holds or release"
                .to_owned()
        })
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

fn basis(value: &str) -> Result<contracts::legal_hold::LegalBasis, String> {
    use contracts::legal_hold::LegalBasis;
    LegalBasis::parse(value).ok_or_else(|| {
        let all: Vec<&str> = LegalBasis::ALL.iter().map(|b| b.as_str()).collect();
        format!("one of {}", all.join(", "))
    })
}

fn verification_method(value: &str) -> Result<contracts::gdpr::VerificationMethod, String> {
    contracts::gdpr::VerificationMethod::parse(value).ok_or_else(|| {
        let methods: Vec<_> = contracts::gdpr::VerificationMethod::ALL
            .iter()
            .map(|m| m.as_str())
            .collect();
        format!("must be one of {}", methods.join(", "))
    })
}

fn language(value: &str) -> Result<contracts::gdpr::AnswerLanguage, String> {
    contracts::gdpr::AnswerLanguage::parse(value).ok_or_else(|| "must be cs or en".to_owned())
}

fn timestamp(value: &str) -> Result<domain::Timestamp, String> {
    domain::Timestamp::parse(value).map_err(|_| "an RFC 3339 time, e.g. 2027-01-31T00:00:00Z".to_owned())
}

/// `url` (option `option`) as the command will call it: https, or plain http to a loopback
/// address (the caller's token and the person's would otherwise cross the network in clear).
fn checked_url(option: &str, url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{option}: not a URL ({e})"))?;
    let loopback = parsed
        .host_str()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|host| host.parse::<std::net::IpAddr>().ok())
        .is_some_and(|address| address.is_loopback());
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if loopback => Ok(parsed),
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    service_kit::tls::install();
    let cli = Cli::from_command_line();
    let mut log = match &cli.output {
        Some(output) => {
            if let Err(e) = std::fs::create_dir_all(output) {
                eprintln!("gdpr: cannot create {}: {e}", output.display());
                return ExitCode::from(2);
            }
            match std::fs::File::create(output.join("execution.log")) {
                Ok(file) => ExecutionLog::new(file),
                Err(e) => {
                    eprintln!("gdpr: cannot write the execution log: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => ExecutionLog::none(),
    };
    match commands::run(&cli, &mut log).await {
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
