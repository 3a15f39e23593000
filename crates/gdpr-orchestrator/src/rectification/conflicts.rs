//! A RECTIFY's conflicts (GDPR Art. 16: a correction reaches exactly its subject). The
//! participants' counts say, per field of the correction, who else holds a value it touches:
//! rows not the subject's already carrying a `to` (an export by that value would then hand the
//! subject's rows to its holder), other Genesys Cloud subjects holding a `from` (a GDPR_UPDATE
//! corrects a value for everyone who has it: a household's line) or a `to`. While any is counted
//! the confirmation is refused (409 [`RECTIFICATION_CONFLICT`], naming each field) and never
//! offered; the DPO files a corrected RECTIFY instead. Counts and field pointers only, never a
//! value.

use crate::schema::gdpr_steps;
use crate::store::Step;
use contracts::gdpr::{AllowedAction, RECTIFICATION_CONFLICT};
use contracts::participant::ParticipantAction;
use contracts::problem::{FieldProblem, Problem};
use diesel::prelude::*;
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

/// What the count steps among `steps` found, by filed pointer. Only a RECTIFY's count reports any.
pub fn of_steps<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Conflicts {
    let mut conflicts = Conflicts::new();
    for step in steps.into_iter().filter(|s| s.phase == ParticipantAction::Count) {
        for (key, n) in &step.conflicts {
            *conflicts.entry(filed(key)).or_default() += n;
        }
    }
    conflicts.retain(|_, n| *n > 0);
    conflicts
}

/// The conflicts of the requests `ids` (a list's, which serves no steps), each request's summed
/// as [`of_steps`] does.
pub fn of_requests(connection: &mut AnyConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Conflicts>> {
    use gdpr_steps::dsl;
    let stored: Vec<Uuid> = ids.to_vec();
    let rows: Vec<(DbUuid, String)> = dsl::gdpr_steps
        .filter(dsl::request_id.eq_any(stored.into_iter().map(DbUuid).collect::<Vec<_>>()))
        .filter(dsl::phase.eq(ParticipantAction::Count.as_str()))
        .filter(dsl::conflicts.is_not_null())
        .select((dsl::request_id, dsl::conflicts.assume_not_null()))
        .load(connection)?;
    let mut found: HashMap<Uuid, Conflicts> = HashMap::new();
    for (id, text) in rows {
        let step: BTreeMap<String, u64> = serde_json::from_str(&text)
            .map_err(|e| diesel::result::Error::DeserializationError(format!("gdpr_steps.conflicts: {e}").into()))?;
        let conflicts = found.entry(id.0).or_default();
        for (key, n) in step.into_iter().filter(|(_, n)| *n > 0) {
            *conflicts.entry(filed(&key)).or_default() += n;
        }
    }
    Ok(found)
}

/// `actions` without the confirmation while `conflicts` stand: what is offered is what the
/// confirmation would accept.
pub fn withhold_confirm(actions: &mut Vec<AllowedAction>, conflicts: &Conflicts) {
    if !conflicts.is_empty() {
        actions.retain(|action| *action != AllowedAction::Confirm);
    }
}

/// The 409 of a confirmation while `conflicts` stand, if any: each field named with its count
/// and what it means, no value.
pub fn refusal(conflicts: &Conflicts) -> Option<Problem> {
    if conflicts.is_empty() {
        return None;
    }
    let errors: Vec<FieldProblem> = conflicts
        .iter()
        .map(|(pointer, n)| FieldProblem::new(pointer.clone(), meaning(pointer, *n)))
        .collect();
    let mut problem = Problem::for_status(409);
    problem.problem_type = format!("urn:ccbridge:problem:{RECTIFICATION_CONFLICT}");
    problem.title = "The correction would reach someone else's data".to_owned();
    problem.detail = Some(
        "the count found values of this correction that people other than the subject hold: nothing was \
         changed; check the values with the subject and file a corrected RECTIFY"
            .to_owned(),
    );
    problem.errors = errors;
    Some(problem)
}

/// What a conflict of `pointer` means, in a sentence with its count.
fn meaning(pointer: &str, n: u64) -> String {
    if pointer.ends_with("/from") {
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

    fn step(phase: ParticipantAction, participant: &str, conflicts: &[(&str, u64)]) -> Step {
        let mut step = Step::new(Uuid::nil(), phase, participant, 0, Timestamp::now());
        step.conflicts = conflicts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
        step
    }

    #[test]
    fn the_counts_conflicts_are_summed_by_the_filed_pointer_and_refuse_the_confirmation() {
        let steps = [
            step(
                ParticipantAction::Count,
                "comm-history-writer",
                &[("/phoneNumbers/0/to", 2)],
            ),
            step(
                ParticipantAction::Count,
                "genesys-cloud",
                &[("/phoneNumbers/0/to", 1), ("/phoneNumbers/0/from", 1)],
            ),
            step(
                ParticipantAction::Rectify,
                "result-ingest",
                &[("/phoneNumbers/0/to", 5)],
            ),
        ];
        let conflicts = of_steps(&steps);
        assert_eq!(
            conflicts,
            Conflicts::from([
                ("/replacement/phoneNumbers/0/from".to_owned(), 1),
                ("/replacement/phoneNumbers/0/to".to_owned(), 3),
            ])
        );
        let problem = refusal(&conflicts).unwrap();
        assert_eq!(problem.status, 409);
        assert_eq!(problem.problem_type, "urn:ccbridge:problem:rectification-conflict");
        let pointers: Vec<&str> = problem.errors.iter().map(FieldProblem::location).collect();
        assert_eq!(
            pointers,
            ["/replacement/phoneNumbers/0/from", "/replacement/phoneNumbers/0/to"]
        );

        let mut actions = vec![AllowedAction::Confirm, AllowedAction::Extend];
        withhold_confirm(&mut actions, &conflicts);
        assert_eq!(actions, [AllowedAction::Extend]);
        let mut actions = vec![AllowedAction::Confirm];
        withhold_confirm(&mut actions, &Conflicts::new());
        assert_eq!(actions, [AllowedAction::Confirm]);
        assert!(refusal(&of_steps(&steps[2..])).is_none());
    }
}
