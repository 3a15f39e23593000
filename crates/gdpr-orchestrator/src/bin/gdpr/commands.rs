//! The operations against gdpr-orchestrator: file a request, wait for it, confirm it, download an
//! export's bundle; every call and answer typed by `contracts::gdpr` over `contracts::Client`.

use crate::holds;
use crate::sign_in::{self, Session};
use crate::{causes, checked_url, http_client, Cli, Operation};
use base64::Engine as _;
use contracts::gdpr::{
    AllowedAction, Bundle, FileRequest, FiledRequest, GdprRequest, LiftRestriction, Manifest, RecordVerification,
    ReplacementInput, RequestStatus, RequestType, SubjectInput,
};
use contracts::{Client, ClientError};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// `execution.log`: what was done, when; ids, statuses and counts only (none without `-o`).
pub(crate) struct ExecutionLog(Option<std::fs::File>);

impl ExecutionLog {
    pub(crate) fn new(file: std::fs::File) -> Self {
        Self(Some(file))
    }

    pub(crate) fn none() -> Self {
        Self(None)
    }

    pub(crate) fn line(&mut self, message: &str) {
        let Some(file) = &mut self.0 else {
            return;
        };
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let _ = writeln!(file, "{now} {message}");
    }
}

/// How the command authenticates as the caller.
pub(crate) enum Auth {
    Bearer(String),
    Basic(String, String),
}

/// How the command names its person.
enum PersonHeader {
    /// None: the caller acts as itself.
    Nobody,
    /// `X-Acting-User` (development only).
    Named(String),
    /// `X-Person-Token`: the person's access token from the identity provider.
    SignedIn(Box<Session>),
}

/// gdpr-orchestrator, as the command calls it.
pub(crate) struct Orchestrator {
    client: Client,
    /// `Authorization: Basic …` when the caller authenticates with a name and secret (a bearer
    /// token is the client's own).
    basic: Option<String>,
    /// Behind a lock: a signed-in person's token is renewed as it runs out.
    person: tokio::sync::Mutex<PersonHeader>,
}

impl Orchestrator {
    /// A call to the orchestrator, naming the person (their token renewed when it runs out).
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str) -> Result<contracts::client::Request, String> {
        let mut request = self.client.request(method, path);
        if let Some(basic) = &self.basic {
            request = request.header("Authorization", basic);
        }
        Ok(match &mut *self.person.lock().await {
            PersonHeader::Nobody => request,
            PersonHeader::Named(person) => request.header("X-Acting-User", person),
            PersonHeader::SignedIn(session) => request.person_token(session.token().await?),
        })
    }

    /// The request `id` as it stands.
    async fn request(&self, id: &str) -> Result<GdprRequest, String> {
        let call = self.call(reqwest::Method::GET, &format!("/gdpr/requests/{id}")).await?;
        call.send().await.map_err(|e| self.failed(e))
    }

    /// Records how the requester of `id` was verified, as `cli` says (`--method`, `--evidence`).
    async fn record_verification(&self, id: &str, cli: &Cli) -> Result<Option<GdprRequest>, String> {
        let (Some(method), Some(evidence)) = (cli.method, &cli.evidence) else {
            return Ok(None);
        };
        let call = self
            .call(reqwest::Method::POST, &format!("/gdpr/requests/{id}/verification"))
            .await?
            .json(&RecordVerification {
                method: method.as_str().to_owned(),
                evidence_reference: evidence.clone(),
            });
        call.send().await.map(Some).map_err(|e| self.failed(e))
    }

    /// The bundle of the EXPORT `id`, written to `output` (its manifest, files and the subject's
    /// answer).
    async fn download(&self, id: &str, output: &Path, log: &mut ExecutionLog) -> Result<Bundle, String> {
        let bundle: Bundle = self
            .call(reqwest::Method::GET, &format!("/gdpr/requests/{id}/export"))
            .await?
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        write_bundle(output, &bundle)?;
        log.line(&format!("bundle written: {} files", bundle.manifest.files.len()));
        Ok(bundle)
    }

    async fn confirm(&self, id: &str) -> Result<GdprRequest, String> {
        let call = self
            .call(reqwest::Method::POST, &format!("/gdpr/requests/{id}/confirm"))
            .await?;
        call.send().await.map_err(|e| self.failed(e))
    }

    /// What went wrong, on one line: the orchestrator's problem (its detail and each field it
    /// names), a redirect not followed, or why it could not be reached.
    pub(crate) fn failed(&self, error: ClientError) -> String {
        let base = self.client.base();
        match &error {
            ClientError::Problem { status, problem, .. } => {
                let detail = problem.detail.as_deref().unwrap_or(&problem.title);
                let fields: Vec<String> = problem
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.location(), e.detail))
                    .collect();
                format!("gdpr-orchestrator answered {status}: {detail} {}", fields.join("; "))
                    .trim()
                    .to_owned()
            }
            ClientError::UnexpectedStatus { status, .. } if status.is_redirection() => format!(
                "gdpr-orchestrator answered {status} (a redirect): not followed, the credentials stay here; check --url"
            ),
            ClientError::Transport { .. } => format!("gdpr-orchestrator is unreachable at {base}: {}", causes(&error)),
            ClientError::UnexpectedStatus { .. }
            | ClientError::UnexpectedBody { .. }
            | ClientError::InvalidPath { .. }
            | ClientError::InvalidHeader { .. } => {
                format!("gdpr-orchestrator {error}")
            }
        }
    }
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

/// What `output.json` holds: the request as it ended, and an export's manifest.
#[derive(Serialize)]
struct Output<'a> {
    request: &'a GdprRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<&'a Manifest>,
}

/// Runs the command line's operation; answers the one-line summary.
pub(crate) async fn run(cli: &Cli, log: &mut ExecutionLog) -> Result<String, String> {
    let operation = cli.operation()?;
    let auth = cli.auth()?;
    let base = checked_url("--url", &cli.url)?;
    if let Some(issuer) = &cli.issuer {
        checked_url("--issuer", issuer)?;
    }
    let http = http_client(cli)?;
    let person = tokio::sync::Mutex::new(person(cli, &http, log).await?);
    let client = Client::plain(http, base);
    let api = match auth {
        Auth::Bearer(token) => Orchestrator {
            client: client.with_token(SecretString::from(token)),
            basic: None,
            person,
        },
        Auth::Basic(user, secret) => Orchestrator {
            client,
            basic: Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
            )),
            person,
        },
    };
    if operation.on_holds() {
        return holds::run(operation, cli, &api, log).await;
    }
    let output = cli
        .output
        .as_deref()
        .ok_or_else(|| "-o/--output is required for the operations on requests".to_owned())?;
    let input = cli
        .input
        .as_deref()
        .ok_or_else(|| "-i/--input is required for the operations on requests".to_owned())?;
    let request_type = match operation {
        Operation::Exportme => RequestType::Export,
        Operation::Forgetme => RequestType::Forget,
        Operation::Undoforget => RequestType::UndoForget,
        Operation::Restrict => RequestType::Restrict,
        Operation::Rectify => RequestType::Rectify,
        Operation::Confirm => return confirm(cli, &api, input, output, log).await,
        Operation::Verify => return verify(cli, &api, input, output, log).await,
        Operation::Lift => {
            let id = request_id(input, "lift takes the RESTRICT's request id as INPUT")?;
            return lift(cli, &api, &id, output, log).await;
        }
        Operation::Hold | Operation::Holds | Operation::Release => {
            return Err("not an operation on requests".to_owned())
        }
    };
    let subject = read_subject(input)?;
    let reference = cli.reference.clone().unwrap_or_else(|| "gdpr-cli".to_owned());
    let mut filing = match (request_type, cli.replacement.as_deref()) {
        (RequestType::Rectify, Some(replacement)) => {
            FileRequest::rectify(subject, read_replacement(replacement)?, reference, cli.count)
        }
        (RequestType::Rectify, None) => return Err("rectify needs --replacement: what to correct".to_owned()),
        (_, Some(_)) => return Err("--replacement is for rectify only".to_owned()),
        (_, None) => FileRequest::new(request_type, subject, reference, cli.count),
    };
    if let Some(language) = cli.language {
        filing = filing.in_language(language);
    }
    let filed: FiledRequest = api
        .call(reqwest::Method::POST, "/gdpr/requests")
        .await?
        .json(&filing)
        .send()
        .await
        .map_err(|e| api.failed(e))?;
    let id = filed.request.id.to_string();
    log.line(&format!(
        "{} request {id} filed (countOnly={})",
        request_type.as_str(),
        cli.count
    ));
    // An open duplicate may have its verification already (it is recorded once).
    if filed.request.requester_verification.is_some() {
        log.line(&format!(
            "request {id}: how the requester was verified was recorded before"
        ));
    } else if api.record_verification(&id, cli).await?.is_some() {
        log.line(&format!("request {id}: how the requester was verified is recorded"));
    }

    let final_states: &[RequestStatus] = match operation {
        Operation::Forgetme | Operation::Rectify if !cli.count => &[
            RequestStatus::AwaitingConfirmation,
            RequestStatus::Completed,
            RequestStatus::Undone,
            RequestStatus::Cancelled,
        ],
        // Restricted is where a restriction stands (a count completes).
        Operation::Restrict => &[RequestStatus::Restricted, RequestStatus::Completed],
        _ => &[
            RequestStatus::Completed,
            RequestStatus::Undone,
            RequestStatus::Cancelled,
        ],
    };
    let mut request = wait_for(cli, &api, &id, final_states, log).await?;
    if matches!(operation, Operation::Forgetme) && request.status == RequestStatus::AwaitingConfirmation {
        if cli.confirm {
            api.confirm(&id).await.map_err(|reason| {
                format!(
                    "{reason} (request {id} waits for confirmation: gdpr confirm -i {id}, signed in as another person)"
                )
            })?;
            log.line(&format!("request {id} confirmed"));
            request = wait_for(cli, &api, &id, &[RequestStatus::InGrace, RequestStatus::Completed], log).await?;
        } else {
            log.line(&format!(
                "not confirmed: nothing was erased (confirm with: gdpr confirm -i {id}, signed in as another person)"
            ));
        }
    }
    if matches!(operation, Operation::Rectify) && request.status == RequestStatus::AwaitingConfirmation {
        log.line(&format!(
            "counted; nothing corrected yet: another person confirms it (gdpr confirm -i {id}, signed in)"
        ));
    }
    let mut bundle = None;
    if matches!(operation, Operation::Exportme) && !cli.count {
        let unverified = !request.allows(AllowedAction::Download) && request.allows(AllowedAction::RecordVerification);
        if request.status == RequestStatus::Completed && unverified {
            write_request(output, &request)?;
            return Err(format!(
                "request {id} is completed, but its bundle is handed over only once the requester's identity is verified: gdpr verify -i {id} --method METHOD --evidence REF (signed in) records it and writes the bundle"
            ));
        }
        if !request.allows(AllowedAction::Download) {
            return Err(format!(
                "request {id} is {} and its bundle cannot be downloaded",
                request.status.as_str()
            ));
        }
        bundle = Some(api.download(&id, output, log).await?);
    }
    write_json(
        &output.join("output.json"),
        &Output {
            request: &request,
            manifest: bundle.as_ref().map(|b| &b.manifest),
        },
    )?;
    let elsewhere = request.to_erase_elsewhere();
    if request.status == RequestStatus::InGrace {
        // Copies outside ccbridge are listed by the purge, for what it erased (never for what a
        // legal hold keeps): none yet.
        log.line("copies delivered outside ccbridge are listed once the purge erased their records (participants[].toEraseElsewhere of the completed request)");
    }
    if elsewhere > 0 {
        log.line(&format!(
            "{elsewhere} copies delivered outside ccbridge to erase there (participants[].toEraseElsewhere in output.json)"
        ));
    }
    // A restriction's copies: the recipient is told to restrict them, never to erase (Art. 19).
    let restrict_there = request.to_restrict_elsewhere();
    if restrict_there > 0 {
        log.line(&format!(
            "{restrict_there} copies delivered outside ccbridge to restrict there, not to erase (participants[].toRestrictElsewhere in output.json)"
        ));
    }
    Ok(format!(
        "{}{}{}",
        summary(&request)?,
        if elsewhere > 0 {
            format!("; {elsewhere} to erase in the communication-history-manager (output.json)")
        } else {
            String::new()
        },
        if restrict_there > 0 {
            format!("; {restrict_there} to restrict in the communication-history-manager (output.json)")
        } else {
            String::new()
        }
    ))
}

/// `request <id>: <status> <counts>`.
fn summary(request: &GdprRequest) -> Result<String, String> {
    let counts = serde_json::to_string(&request.counts).map_err(|e| e.to_string())?;
    Ok(format!("request {}: {} {counts}", request.id, request.status.as_str()))
}

/// `gdpr confirm`: confirms the FORGET or LIFT_RESTRICTION `--input` names, waits until it is
/// carried out.
async fn confirm(
    cli: &Cli,
    api: &Orchestrator,
    input: &str,
    output: &Path,
    log: &mut ExecutionLog,
) -> Result<String, String> {
    let id = request_id(input, "confirm takes the request id as INPUT")?;
    api.confirm(&id).await?;
    log.line(&format!("request {id} confirmed"));
    let request = wait_for(cli, api, &id, &[RequestStatus::InGrace, RequestStatus::Completed], log).await?;
    write_request(output, &request)?;
    summary(&request)
}

/// `gdpr verify`: records how the requester of the request `--input` names was verified; a
/// completed EXPORT's bundle is then written.
async fn verify(
    cli: &Cli,
    api: &Orchestrator,
    input: &str,
    output: &Path,
    log: &mut ExecutionLog,
) -> Result<String, String> {
    let id = request_id(input, "verify takes the request id as INPUT")?;
    let request = api
        .record_verification(&id, cli)
        .await?
        .ok_or_else(|| "verify needs --method and --evidence".to_owned())?;
    log.line(&format!("request {id}: how the requester was verified is recorded"));
    let bundle = if request.allows(AllowedAction::Download) {
        Some(api.download(&id, output, log).await?)
    } else {
        None
    };
    write_json(
        &output.join("output.json"),
        &Output {
            request: &request,
            manifest: bundle.as_ref().map(|b| &b.manifest),
        },
    )?;
    summary(&request)
}

/// The request id INPUT names, or `refusal`.
fn request_id(input: &str, refusal: &str) -> Result<String, String> {
    uuid::Uuid::try_parse(input.trim())
        .map(|id| id.to_string())
        .map_err(|_| refusal.to_owned())
}

/// `output.json` with `request` alone.
fn write_request(output: &Path, request: &GdprRequest) -> Result<(), String> {
    write_json(
        &output.join("output.json"),
        &Output {
            request,
            manifest: None,
        },
    )
}

/// `gdpr lift`: files a LIFT_RESTRICTION of the RESTRICT `--input` names; it waits for another
/// person's confirmation (`gdpr confirm -i <lift id>`), which the DPO gives once the subject was
/// told (GDPR Art. 18(3)).
async fn lift(cli: &Cli, api: &Orchestrator, id: &str, out: &Path, log: &mut ExecutionLog) -> Result<String, String> {
    let filed: FiledRequest = api
        .call(reqwest::Method::POST, &format!("/gdpr/requests/{id}/lift"))
        .await?
        .json(&LiftRestriction {
            reference: cli.reference.clone().unwrap_or_else(|| "gdpr-cli".to_owned()),
        })
        .send()
        .await
        .map_err(|e| api.failed(e))?;
    let lift = filed.request.id;
    log.line(&format!("LIFT_RESTRICTION request {lift} filed for RESTRICT {id}"));
    write_request(out, &filed.request)?;
    Ok(format!(
        "{}; another person confirms it once the subject was told: gdpr confirm -i {lift}",
        summary(&filed.request)?
    ))
}

/// Polls until the request reaches one of `states`, showing its progress.
async fn wait_for(
    cli: &Cli,
    api: &Orchestrator,
    id: &str,
    states: &[RequestStatus],
    log: &mut ExecutionLog,
) -> Result<GdprRequest, String> {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    let give_up = Instant::now() + Duration::from_secs(cli.timeout_seconds);
    let mut last_status = None;
    loop {
        let request = api.request(id).await?;
        if last_status != Some(request.status) {
            let reason = request
                .status_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let status = request.status.as_str();
            log.line(&format!("request {id}: {status}{reason}"));
            progress.set_message(format!("{id}: {status}{reason}"));
            last_status = Some(request.status);
        }
        if states.contains(&request.status) {
            progress.finish_and_clear();
            return Ok(request);
        }
        if Instant::now() >= give_up {
            progress.finish_and_clear();
            return Err(format!(
                "gave up waiting after {} s: request {id} is {} and carries on in the orchestrator",
                cli.timeout_seconds,
                request.status.as_str()
            ));
        }
        tokio::time::sleep(Duration::from_millis(cli.poll_ms)).await;
    }
}

/// A RECTIFY's replacement: a JSON file or the same JSON inline. One that does not read is named
/// by where it failed, never by what it held.
pub(crate) fn read_replacement(input: &str) -> Result<ReplacementInput, String> {
    let (text, what) = if input.trim_start().starts_with('{') {
        (input.to_owned(), "--replacement")
    } else {
        let text = std::fs::read_to_string(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        (text, input)
    };
    serde_json::from_str::<ReplacementInput>(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!(
            "{what} is not a replacement (phoneNumbers, emailAddresses: lists of {{from, to}}; customer: {{interactionIds, to}}; line {} column {})",
            e.line(),
            e.column()
        ),
        _ => format!("{what} is not valid JSON (line {} column {})", e.line(), e.column()),
    })
}

/// The subject: a JSON file, the same JSON inline, or a comma-separated list of customer ids.
/// A subject that does not read is named by where it failed, never by what it held.
pub(crate) fn read_subject(input: &str) -> Result<SubjectInput, String> {
    let parse = |text: &str, what: &str| {
        serde_json::from_str::<SubjectInput>(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => format!(
                "{what} is not a subject (customerIds, phoneNumbers, emailAddresses, genesysUserIds: lists of strings; line {} column {})",
                e.line(),
                e.column()
            ),
            _ => format!("{what} is not valid JSON (line {} column {})", e.line(), e.column()),
        })
    };
    if input.trim_start().starts_with('{') {
        return parse(input, "INPUT");
    }
    let path = Path::new(input);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {input}: {e}"))?;
        return parse(&text, input);
    }
    let ids: Vec<String> = input
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err("INPUT is neither a file nor a list of customer ids".to_owned());
    }
    Ok(SubjectInput {
        customer_ids: ids,
        ..SubjectInput::default()
    })
}

pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `manifest.json`, one file per participant and category, each checked against the manifest
/// (`Bundle::verified_files`), and the answer the subject reads (`answer.<language>.html`,
/// checked too).
fn write_bundle(directory: &Path, bundle: &Bundle) -> Result<(), String> {
    write_json(&directory.join("manifest.json"), &bundle.manifest)?;
    let answer = &bundle.manifest.answer.path;
    std::fs::write(directory.join(answer), bundle.verified_answer()?)
        .map_err(|e| format!("cannot write {answer}: {e}"))?;
    for (file, bytes) in bundle.verified_files()? {
        let (participant, category) = (&file.participant, &file.category);
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
    fn input_is_a_file_inline_json_or_customer_ids() {
        assert_eq!(
            read_subject(r#"{"phoneNumbers": ["601123456"]}"#).unwrap(),
            SubjectInput {
                phone_numbers: vec!["601123456".to_owned()],
                ..SubjectInput::default()
            }
        );
        assert_eq!(
            read_subject("a, b").unwrap(),
            SubjectInput {
                customer_ids: vec!["a".to_owned(), "b".to_owned()],
                ..SubjectInput::default()
            }
        );
        assert!(read_subject("{not json").unwrap_err().contains("not valid JSON"));
        // A subject of the wrong shape is refused here, without repeating what it held.
        let refused = read_subject(r#"{"phoneNumbers": "+420601123456"}"#).unwrap_err();
        assert!(
            refused.contains("not a subject") && !refused.contains("601123456"),
            "{refused}"
        );
    }
}
