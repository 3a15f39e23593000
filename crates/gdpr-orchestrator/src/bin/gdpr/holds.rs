//! `gdpr hold`, `gdpr holds`, `gdpr release`: legal holds against gdpr-orchestrator, every call and
//! answer typed by `contracts::legal_hold` over `contracts::Client`. What a hold covers is shown
//! as counts, as the orchestrator serves it; the command never prints an identifier.

use crate::commands::{read_subject, write_json, ExecutionLog, Orchestrator};
use crate::{Cli, Operation};
use contracts::gdpr::SubjectInput;
use contracts::legal_hold::{
    LegalHold, LegalHoldPage, LegalHoldStatus, PlaceLegalHold, ReleaseLegalHold, ReleaseStep, TimeWindow,
};

/// Runs a hold `operation`; answers what to print.
pub(crate) async fn run(
    operation: Operation,
    cli: &Cli,
    api: &Orchestrator,
    log: &mut ExecutionLog,
) -> Result<String, String> {
    match operation {
        Operation::Hold => place(cli, api, log).await,
        Operation::Holds => list(cli, api, log).await,
        Operation::Release => release(cli, api, log).await,
        Operation::Exportme
        | Operation::Forgetme
        | Operation::Undoforget
        | Operation::Confirm
        | Operation::Restrict
        | Operation::Lift
        | Operation::Rectify
        | Operation::Verify => Err("not an operation on legal holds".to_owned()),
    }
}

/// The subject the options name, with `-i` (a file, inline JSON or customer ids) when given.
fn subject(cli: &Cli) -> Result<SubjectInput, String> {
    let mut subject = match &cli.input {
        Some(input) => read_subject(input)?,
        None => SubjectInput::default(),
    };
    subject.customer_ids.extend(cli.customer_ids.iter().cloned());
    subject.phone_numbers.extend(cli.phones.iter().cloned());
    subject.email_addresses.extend(cli.emails.iter().cloned());
    subject.genesys_user_ids.extend(cli.agents.iter().cloned());
    Ok(subject)
}

/// `output.json` of a hold operation, when `-o` was given.
fn write_output(cli: &Cli, value: &impl serde::Serialize) -> Result<(), String> {
    match &cli.output {
        Some(output) => write_json(&output.join("output.json"), value),
        None => Ok(()),
    }
}

/// `hold <id>: <status>, <basis>, <reference>; covers …` (counts only); once its particulars are
/// erased, when. A hold with neither is off the orchestrator's contract: an error.
fn summary(hold: &LegalHold) -> Result<String, String> {
    let head = format!("hold {}: {}, {}", hold.id, hold.status.as_str(), hold.basis.as_str());
    let (reference, covers) = match (&hold.reference, hold.covers, hold.identifiers_erased_at) {
        (Some(reference), Some(covers), None) => (reference, covers),
        (None, None, Some(at)) => return Ok(format!("{head}; its particulars erased on {at}")),
        _ => {
            return Err(format!(
                "hold {}: gdpr-orchestrator's answer is off its contract (its reference and counts, or when they were erased)",
                hold.id
            ))
        }
    };
    let counted: Vec<String> = [
        (covers.customer_ids, "customer ids"),
        (covers.phone_numbers, "phone numbers"),
        (covers.email_addresses, "e-mail addresses"),
        (covers.genesys_user_ids, "agents"),
        (covers.interaction_ids, "interactions"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let ends = hold.ends_at.map(|at| format!("; ends {at}")).unwrap_or_default();
    Ok(format!("{head}, {reference}; covers {}{ends}", counted.join(", ")))
}

/// `gdpr hold …`: places a hold.
async fn place(cli: &Cli, api: &Orchestrator, log: &mut ExecutionLog) -> Result<String, String> {
    let (Some(reference), Some(reason), Some(basis)) = (&cli.reference, &cli.reason, cli.basis) else {
        return Err("hold needs --reference, --reason and --basis".to_owned());
    };
    let window = (cli.from.is_some() || cli.to.is_some()).then_some(TimeWindow {
        from: cli.from,
        to: cli.to,
    });
    let body = PlaceLegalHold {
        subject: subject(cli)?,
        interaction_ids: cli.interactions.clone(),
        window,
        reference: reference.clone(),
        reason: reason.clone(),
        basis,
        ends_at: cli.ends_at,
    };
    let hold: LegalHold = api
        .call(reqwest::Method::POST, "/gdpr/legal-holds")
        .await?
        .json(&body)
        .send()
        .await
        .map_err(|e| api.failed(e))?;
    log.line(&format!("hold {} placed ({})", hold.id, hold.basis.as_str()));
    write_output(cli, &hold)?;
    summary(&hold)
}

/// `gdpr holds [--status S]`: every hold, newest first, a line each.
async fn list(cli: &Cli, api: &Orchestrator, log: &mut ExecutionLog) -> Result<String, String> {
    if let Some(status) = &cli.status {
        if LegalHoldStatus::parse(status).is_none() {
            let all: Vec<&str> = LegalHoldStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(format!("--status: one of {}", all.join(", ")));
        }
    }
    let mut holds = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "200".to_owned())];
        query.extend(cli.status.clone().map(|status| ("status", status)));
        query.extend(cursor.take().map(|next| ("cursor", next)));
        let page: LegalHoldPage = api
            .call(reqwest::Method::GET, "/gdpr/legal-holds")
            .await?
            .query(&query)
            .send()
            .await
            .map_err(|e| api.failed(e))?;
        holds.extend(page.holds);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    log.line(&format!("{} holds listed", holds.len()));
    write_output(cli, &holds)?;
    let mut lines: Vec<String> = holds.iter().map(summary).collect::<Result<_, _>>()?;
    lines.push(format!("{} holds", holds.len()));
    Ok(lines.join("\n"))
}

/// `gdpr release HOLD_ID --reason …`: asks for the release; with `--confirm`, confirms another
/// person's ask.
async fn release(cli: &Cli, api: &Orchestrator, log: &mut ExecutionLog) -> Result<String, String> {
    let id = cli
        .hold_id
        .as_deref()
        .and_then(|id| uuid::Uuid::try_parse(id.trim()).ok())
        .ok_or_else(|| "release takes the hold's id: gdpr release HOLD_ID --reason …".to_owned())?;
    let reason = cli.reason.clone().ok_or_else(|| "release needs --reason".to_owned())?;
    let hold: LegalHold = api
        .call(reqwest::Method::POST, &format!("/gdpr/legal-holds/{id}/release"))
        .await?
        .json(&ReleaseLegalHold {
            step: if cli.confirm {
                ReleaseStep::Confirm
            } else {
                ReleaseStep::Ask
            },
            reason,
        })
        .send()
        .await
        .map_err(|e| api.failed(e))?;
    log.line(&format!("hold {id}: {}", hold.status.as_str()));
    write_output(cli, &hold)?;
    let next = match hold.status {
        LegalHoldStatus::ReleaseRequested => {
            format!(" (another person confirms: gdpr release {id} --confirm --reason …, signed in as them)")
        }
        LegalHoldStatus::Active | LegalHoldStatus::Released | LegalHoldStatus::Ended => String::new(),
    };
    Ok(format!("{}{next}", summary(&hold)?))
}
