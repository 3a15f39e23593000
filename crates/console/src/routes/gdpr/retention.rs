//! The Retention page (role `dpo`, issue #30): what keeps data and what goes next — the
//! statutory retention rules and how many legal holds are in force (gdpr-orchestrator), and per
//! channel the records' retention with how many records fall due within a day and a week and
//! what the last expiry round did (comm-history-writer). Counts and settings only: no service
//! serves a subject or a record here. Both calls in the signed-in person's name.

use super::super::{page, reason};
use super::call_failed;
use crate::bank_time::BankTime;
use crate::services::{CallError, Services};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use contracts::participant::StatutoryRule;
use contracts::retention::{RecordsRetention, RetentionSchedule, RoundOutcome, RECORDS_ROUTE, SCHEDULE_ROUTE};

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show));
}

const PATH: &str = "/gdpr/retention";

/// A rule's list of channels, directions or domains in words: empty is every one.
fn any_of<'a, T>(items: &'a [T], name: impl Fn(&'a T) -> &'a str) -> String {
    if items.is_empty() {
        "any".to_owned()
    } else {
        items.iter().map(name).collect::<Vec<_>>().join(", ")
    }
}

struct RuleRow {
    name: String,
    channels: String,
    directions: String,
    domains: String,
    keep_days: u32,
    basis: &'static str,
}

impl From<&StatutoryRule> for RuleRow {
    fn from(rule: &StatutoryRule) -> Self {
        Self {
            name: rule.name.clone(),
            channels: any_of(&rule.channels, |c| c.as_str()),
            directions: any_of(&rule.directions, |d| d.as_str()),
            domains: any_of(&rule.domains, |d| d.as_str()),
            keep_days: rule.keep_days,
            basis: rule.basis.as_str(),
        }
    }
}

struct ChannelRow {
    channel: &'static str,
    days: u32,
    /// "own" or "default".
    set_by: &'static str,
    due_within_day: u64,
    due_within_week: u64,
}

/// The records' part of the page, or why comm-history-writer could not give it (the rules still
/// show).
enum Records {
    Shown {
        at: String,
        default_days: u32,
        channels: Vec<ChannelRow>,
        last_round: String,
    },
    Unavailable(String),
}

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    person: Option<Person>,
    rules: Vec<RuleRow>,
    holds_in_force: u64,
    records: Records,
}

/// What the last round did, in words.
fn last_round(records: &RecordsRetention, time: &BankTime) -> String {
    match records.last_round {
        None => "none yet".to_owned(),
        Some(round) => match round.outcome {
            RoundOutcome::Ran => format!(
                "{}: {} expired, {} kept by a hold or a rule",
                time.at(round.ran_at),
                round.expired,
                round.kept
            ),
            RoundOutcome::Skipped => format!(
                "{}: skipped, gdpr-orchestrator could not be asked for the holds in force (nothing expired)",
                time.at(round.ran_at)
            ),
        },
    }
}

fn records_part(answer: Result<RecordsRetention, CallError>, time: &BankTime) -> Records {
    match answer {
        Ok(records) => Records::Shown {
            at: time.at(records.at),
            default_days: records.default_days,
            last_round: last_round(&records, time),
            channels: records
                .channels
                .iter()
                .map(|c| ChannelRow {
                    channel: c.channel.as_str(),
                    days: c.days,
                    set_by: if c.own { "own" } else { "default" },
                    due_within_day: c.due_within_day,
                    due_within_week: c.due_within_week,
                })
                .collect(),
        },
        Err(error) => {
            let status = error.status().map(|status| status.as_u16());
            tracing::warn!(status, "comm-history-writer's records retention could not be read");
            Records::Unavailable(match error.problem() {
                Some(problem) => format!("comm-history-writer refused: {}", reason(problem)),
                None => "comm-history-writer is not available. Try again in a moment.".to_owned(),
            })
        }
    }
}

async fn show(
    services: web::Data<Services>,
    time: web::Data<BankTime>,
    session: Session,
) -> Result<HttpResponse, Refusal> {
    let person = session::require_role(&session, PATH, Role::Dpo)?;
    let (schedule, records) = tokio::join!(
        services.gdpr.get(SCHEDULE_ROUTE).send::<RetentionSchedule>(),
        services.history.get(RECORDS_ROUTE).send::<RecordsRetention>(),
    );
    let schedule = match schedule {
        Ok(schedule) => schedule,
        Err(error) => return Ok(call_failed(&error, person)),
    };
    Ok(page(
        RetentionPage {
            person: Some(person),
            rules: schedule.rules.iter().map(RuleRow::from).collect(),
            holds_in_force: schedule.legal_holds_in_force,
            records: records_part(records, &time),
        }
        .render(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{any_of, last_round, RuleRow};
    use contracts::legal_hold::LegalBasis;
    use contracts::participant::StatutoryRule;
    use contracts::retention::{ExpiryRound, RecordsRetention, RoundOutcome};
    use domain::{Channel, Direction, Timestamp};

    #[test]
    fn a_rule_reads_every_one_where_it_lists_none() {
        let rule = RuleRow::from(&StatutoryRule {
            name: "mifid2".to_owned(),
            channels: vec![Channel::Voice, Channel::Chat],
            directions: vec![Direction::Outbound],
            domains: Vec::new(),
            keep_days: 1826,
            basis: LegalBasis::LegalObligation,
        });
        assert_eq!(
            (rule.channels.as_str(), rule.directions.as_str(), rule.domains.as_str()),
            ("VOICE, CHAT", "OUTBOUND", "any")
        );
        assert_eq!(any_of::<Channel>(&[], |c| c.as_str()), "any");
    }

    #[test]
    fn the_last_round_says_what_it_did_or_why_it_did_nothing() {
        let at = Timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let mut records = RecordsRetention {
            at,
            default_days: 3650,
            channels: Vec::new(),
            last_round: None,
        };
        let prague = crate::bank_time::BankTime::named("Europe/Prague").unwrap();
        assert_eq!(last_round(&records, &prague), "none yet");
        records.last_round = Some(ExpiryRound {
            ran_at: at,
            outcome: RoundOutcome::Ran,
            expired: 12,
            kept: 3,
        });
        assert_eq!(
            last_round(&records, &prague),
            "6 Dec 2026 at 11:00 CET: 12 expired, 3 kept by a hold or a rule"
        );
        records.last_round = Some(ExpiryRound {
            outcome: RoundOutcome::Skipped,
            expired: 0,
            kept: 0,
            ran_at: at,
        });
        assert!(last_round(&records, &prague).contains("skipped, gdpr-orchestrator could not be asked"));
    }
}
