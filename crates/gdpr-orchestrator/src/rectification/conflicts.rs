//! A RECTIFY's conflicts (GDPR Art. 16: a correction reaches exactly its subject). The
//! participants' counts say, per field of the correction, who else holds a value it touches:
//! rows not the subject's already carrying a `to` (an export by that value would then hand the
//! subject's rows to its holder), other Genesys Cloud subjects holding a `from` (a GDPR_UPDATE
//! corrects a value for everyone who has it: a household's line) or a `to`. While any is counted
//! the confirmation is refused (409 [`RECTIFICATION_CONFLICT`], naming each field) and never
//! offered; the DPO files a corrected RECTIFY instead. Counts and field pointers only, never a
//! value.

use crate::schema::gdpr_steps;
use crate::store::{Request, Step};
use contracts::gdpr::{AllowedAction, RequestStatus, RequestType, RECTIFICATION_CONFLICT, RECTIFICATION_NOT_COUNTED};
use contracts::participant::{ConflictAt, ParticipantAction, ValueSide};
use contracts::problem::{FieldProblem, Problem};
use diesel::prelude::*;
use domain::Timestamp;
use serde::Serialize;
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Conflicts by the pointer of the field in the filed request (`/replacement/phoneNumbers/0/to`),
/// summed over the participants.
pub type Conflicts = BTreeMap<String, u64>;

/// Where a participant's key (`/phoneNumbers/0/to`, a pointer into the correction it was sent)
/// is in the filed request.
pub fn filed(key: &str) -> String {
    format!("/replacement{key}")
}

/// What a RECTIFY's count steps say of its confirmation: the conflicts they found, or that one
/// of them carries no check at all (`None`: counted by a participant of a version before the
/// check, or not counted yet). "None found" and "never looked" are two answers: only the first
/// lets a confirmation through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// `None` unless every count step checked; then their conflicts above zero, summed.
    pub conflicts: Option<Conflicts>,
}

/// A confirmation refused by a [`Check`], as audited: the reason and the counts by field.
#[derive(Debug, Serialize)]
pub struct Refused<'a> {
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Conflicts::is_empty")]
    pub conflicts: &'a Conflicts,
}

impl Check {
    /// What the count steps among `steps` found.
    pub fn of_steps<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Self {
        Self::of_counts(
            steps
                .into_iter()
                .filter(|s| s.phase == ParticipantAction::Count)
                .map(|s| s.conflicts.as_ref()),
        )
    }

    /// Each count step's conflicts, `None` where it carries no check.
    fn of_counts<'a>(counts: impl IntoIterator<Item = Option<&'a BTreeMap<String, u64>>>) -> Self {
        let mut conflicts = Conflicts::new();
        let mut steps = 0;
        for step in counts {
            let Some(step) = step else {
                return Self { conflicts: None };
            };
            steps += 1;
            for (key, n) in step.iter().filter(|(_, n)| **n > 0) {
                *conflicts.entry(filed(key)).or_default() += n;
            }
        }
        Self {
            conflicts: (steps > 0).then_some(conflicts),
        }
    }

    /// The checks of the requests `ids` (a list's, which serves no steps), each as
    /// [`Check::of_steps`] says.
    pub fn of_requests(connection: &mut AnyConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Self>> {
        use gdpr_steps::dsl;
        let rows: Vec<(DbUuid, Option<String>)> = dsl::gdpr_steps
            .filter(dsl::request_id.eq_any(ids.iter().copied().map(DbUuid).collect::<Vec<_>>()))
            .filter(dsl::phase.eq(ParticipantAction::Count.as_str()))
            .select((dsl::request_id, dsl::conflicts))
            .load(connection)?;
        let mut by_request: HashMap<Uuid, Vec<Option<BTreeMap<String, u64>>>> = HashMap::new();
        for (id, text) in rows {
            let step = text.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| {
                diesel::result::Error::DeserializationError(format!("gdpr_steps.conflicts: {e}").into())
            })?;
            by_request.entry(id.0).or_default().push(step);
        }
        Ok(by_request
            .into_iter()
            .map(|(id, steps)| (id, Self::of_counts(steps.iter().map(Option::as_ref))))
            .collect())
    }

    /// Why a confirmation is refused now, if it is: never counted, or conflicts found.
    pub fn refused(&self) -> Option<Refused<'_>> {
        static NONE: Conflicts = Conflicts::new();
        match &self.conflicts {
            None => Some(Refused {
                reason: RECTIFICATION_NOT_COUNTED,
                conflicts: &NONE,
            }),
            Some(conflicts) if !conflicts.is_empty() => Some(Refused {
                reason: RECTIFICATION_CONFLICT,
                conflicts,
            }),
            Some(_) => None,
        }
    }

    /// `actions` without the confirmation while the check refuses it: what is offered is what
    /// the confirmation would accept.
    pub fn withhold_confirm(&self, actions: &mut Vec<AllowedAction>) {
        if self.refused().is_some() {
            actions.retain(|action| *action != AllowedAction::Confirm);
        }
    }

    /// The 409 of a confirmation the check refuses, if it does: each conflicting field named with
    /// its count and what it means, no value; or "count again".
    pub fn refusal(&self) -> Option<Problem> {
        let refused = self.refused()?;
        let mut problem = Problem::for_status(409);
        problem.problem_type = format!("urn:ccbridge:problem:{}", refused.reason);
        if refused.reason == RECTIFICATION_NOT_COUNTED {
            problem.title = "The correction was not checked for other people's data".to_owned();
            problem.detail = Some(
                "its count ran without the check of who else holds its values (before an upgrade): nothing was \
                 changed; file it again to count it again, with the check"
                    .to_owned(),
            );
            return Some(problem);
        }
        problem.title = "The correction would reach someone else's data".to_owned();
        problem.detail = Some(
            "the count found values of this correction that people other than the subject hold: nothing was \
             changed; check the values with the subject and file a corrected RECTIFY"
                .to_owned(),
        );
        problem.errors = refused
            .conflicts
            .iter()
            .map(|(pointer, n)| FieldProblem::new(pointer.clone(), meaning(pointer, *n)))
            .collect();
        Some(problem)
    }
}

/// A RECTIFY awaiting confirmation whose count steps carry no check ([`Check`]: counted by a
/// participant of a version before it), filed again: counted again. Its count steps go and it is
/// `counting`, due now (the caller saves it); filing it anew is how the DPO counts it with the
/// check. Answers the `status_changed` audit detail when it did, `None` for any other request.
pub fn count_again(
    connection: &mut AnyConnection,
    request: &mut Request,
    steps: &[Step],
    now: Timestamp,
) -> QueryResult<Option<CountedAgain>> {
    let unchecked = request.request_type == RequestType::Rectify
        && request.status == RequestStatus::AwaitingConfirmation
        && Check::of_steps(steps).conflicts.is_none();
    if !unchecked {
        return Ok(None);
    }
    use gdpr_steps::dsl;
    diesel::delete(
        dsl::gdpr_steps
            .filter(dsl::request_id.eq(DbUuid(request.id)))
            .filter(dsl::phase.eq(ParticipantAction::Count.as_str())),
    )
    .execute(connection)?;
    request.status = RequestStatus::Counting;
    request.next_attempt_at = now;
    request.updated_at = now;
    Ok(Some(CountedAgain {
        from: RequestStatus::AwaitingConfirmation,
        to: RequestStatus::Counting,
        reason: RECTIFICATION_NOT_COUNTED,
    }))
}

/// [`count_again`]'s `status_changed`, as audited.
#[derive(Debug, Serialize)]
pub struct CountedAgain {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub reason: &'static str,
}

/// What a conflict of `pointer` means, in a sentence with its count.
fn meaning(pointer: &str, n: u64) -> String {
    let side = pointer
        .strip_prefix("/replacement")
        .and_then(ConflictAt::parse)
        .map(|at| at.side);
    if side == Some(ValueSide::From) {
        format!(
            "{n} other Genesys Cloud subject(s) hold this value too: Genesys Cloud would correct it for them as well"
        )
    } else {
        format!(
            "{n} row(s) or Genesys Cloud subject(s) not the subject's already hold this value: after the correction, \
             a request by it would reach the subject's data"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Timestamp;

    fn step(phase: ParticipantAction, participant: &str, conflicts: Option<&[(&str, u64)]>) -> Step {
        let mut step = Step::new(Uuid::nil(), phase, participant, 0, Timestamp::now());
        step.conflicts = conflicts.map(|c| c.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect());
        step
    }

    #[test]
    fn the_counts_conflicts_are_summed_by_the_filed_pointer_and_refuse_the_confirmation() {
        let steps = [
            step(
                ParticipantAction::Count,
                "comm-history-writer",
                Some(&[("/phoneNumbers/0/to", 2)]),
            ),
            step(
                ParticipantAction::Count,
                "genesys-cloud",
                Some(&[("/phoneNumbers/0/to", 1), ("/phoneNumbers/0/from", 1)]),
            ),
            step(ParticipantAction::Count, "result-ingest", Some(&[])),
            step(
                ParticipantAction::Rectify,
                "result-ingest",
                Some(&[("/phoneNumbers/0/to", 5)]),
            ),
        ];
        let check = Check::of_steps(&steps);
        assert_eq!(
            check.conflicts,
            Some(Conflicts::from([
                ("/replacement/phoneNumbers/0/from".to_owned(), 1),
                ("/replacement/phoneNumbers/0/to".to_owned(), 3),
            ]))
        );
        let problem = check.refusal().unwrap();
        assert_eq!(problem.status, 409);
        assert_eq!(problem.problem_type, "urn:ccbridge:problem:rectification-conflict");
        let pointers: Vec<&str> = problem.errors.iter().map(FieldProblem::location).collect();
        assert_eq!(
            pointers,
            ["/replacement/phoneNumbers/0/from", "/replacement/phoneNumbers/0/to"]
        );
        assert!(problem.errors[0]
            .detail
            .contains("Genesys Cloud would correct it for them"));

        let mut actions = vec![AllowedAction::Confirm, AllowedAction::Extend];
        check.withhold_confirm(&mut actions);
        assert_eq!(actions, [AllowedAction::Extend]);
        // A rectify's conflicts (what it then left out) never gate the confirmation.
        let clear = Check::of_steps(&steps[2..]);
        assert_eq!(clear.conflicts, Some(Conflicts::new()));
        let mut actions = vec![AllowedAction::Confirm];
        clear.withhold_confirm(&mut actions);
        assert_eq!(actions, [AllowedAction::Confirm]);
        assert!(clear.refusal().is_none());
    }

    /// A count step that carries no check (a participant before the check answered it) is not
    /// "no conflicts": the confirmation is refused until the RECTIFY is counted again.
    #[test]
    fn a_count_step_without_its_check_refuses_the_confirmation_as_not_counted() {
        let steps = [
            step(ParticipantAction::Count, "comm-history-writer", Some(&[])),
            step(ParticipantAction::Count, "result-ingest", None),
        ];
        let check = Check::of_steps(&steps);
        assert_eq!(check.conflicts, None);
        let problem = check.refusal().unwrap();
        assert_eq!(problem.status, 409);
        assert_eq!(problem.problem_type, "urn:ccbridge:problem:rectification-not-counted");
        assert!(problem.errors.is_empty());
        let mut actions = vec![AllowedAction::Confirm, AllowedAction::Extend];
        check.withhold_confirm(&mut actions);
        assert_eq!(actions, [AllowedAction::Extend]);
        assert_eq!(check.refused().map(|r| r.reason), Some(RECTIFICATION_NOT_COUNTED));
        // No count step at all: nothing was checked either.
        assert_eq!(Check::of_steps(&steps[..0]).conflicts, None);
    }
}
