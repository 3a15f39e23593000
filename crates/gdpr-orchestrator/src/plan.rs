//! What a request needs next, decided on the request and its steps alone (no I/O), and in which
//! order the participants run a phase.

use crate::settings::{Participant, GENESYS_CLOUD, PAIRING};
use crate::store::{Request, Step};
use contracts::gdpr::{RequestType, StepState};
use contracts::participant::ParticipantAction;
use domain::Timestamp;

/// What a request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Run(ParticipantAction),
    AwaitConfirmation,
    GraceUntil(Timestamp),
    Finish,
}

/// The stored request contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request {0} cannot be planned: {1}")]
pub struct Unplannable(pub uuid::Uuid, pub &'static str);

fn phase_done(steps: &[Step], participants: &[Participant], phase: ParticipantAction) -> bool {
    participants.iter().all(|p| {
        steps
            .iter()
            .any(|s| s.phase == phase && s.participant == p.name && s.state == StepState::Done)
    })
}

/// The next thing `request` needs, given its steps, at `now`.
pub fn next(
    request: &Request,
    steps: &[Step],
    participants: &[Participant],
    now: Timestamp,
) -> Result<Next, Unplannable> {
    let done = |phase| phase_done(steps, participants, phase);
    Ok(match request.request_type {
        // A lift waits for a second person; then it lifts the RESTRICT's holds (under its id).
        RequestType::LiftRestriction if request.confirmed_at.is_none() => Next::AwaitConfirmation,
        RequestType::UndoForget | RequestType::LiftRestriction if done(ParticipantAction::Undo) => Next::Finish,
        RequestType::UndoForget | RequestType::LiftRestriction => Next::Run(ParticipantAction::Undo),
        RequestType::Export | RequestType::Restrict => {
            let then = match request.request_type {
                RequestType::Restrict => ParticipantAction::Restrict,
                _ => ParticipantAction::Export,
            };
            match (done(ParticipantAction::Count), request.count_only) {
                (false, _) => Next::Run(ParticipantAction::Count),
                (true, true) => Next::Finish,
                (true, false) if done(then) => Next::Finish,
                (true, false) => Next::Run(then),
            }
        }
        // Counted, then confirmed by a second person (four eyes), then applied.
        RequestType::Forget | RequestType::Rectify if request.confirmed_at.is_none() => {
            match (done(ParticipantAction::Count), request.count_only) {
                (false, _) => Next::Run(ParticipantAction::Count),
                (true, true) => Next::Finish,
                (true, false) => Next::AwaitConfirmation,
            }
        }
        RequestType::Rectify if done(ParticipantAction::Rectify) => Next::Finish,
        RequestType::Rectify => Next::Run(ParticipantAction::Rectify),
        RequestType::Forget => {
            if !done(ParticipantAction::Forget) {
                return Ok(Next::Run(ParticipantAction::Forget));
            }
            let purge_after = request
                .purge_after
                .ok_or(Unplannable(request.id, "a confirmed FORGET has no purge time"))?;
            if now < purge_after {
                Next::GraceUntil(purge_after)
            } else if done(ParticipantAction::Purge) {
                Next::Finish
            } else {
                Next::Run(ParticipantAction::Purge)
            }
        }
    })
}

/// The participants of a phase, in the order they run: the configured order, except that
/// counting asks interaction-pairing first (it tells which interactions are the subject's, so
/// the others can find what carries no customer id), undo runs backwards, and Genesys Cloud
/// counts, purges and rectifies last: it deletes or corrects a whole person at once, so it
/// holds back while any other participant kept (or left unchanged) something of theirs
/// (`ParticipantCall::kept_elsewhere`).
pub fn order(phase: ParticipantAction, mut participants: Vec<Participant>) -> Vec<Participant> {
    match phase {
        ParticipantAction::Count => participants.sort_by_key(|p| (p.name != PAIRING, p.name == GENESYS_CLOUD)),
        ParticipantAction::Purge | ParticipantAction::Rectify => participants.sort_by_key(|p| p.name == GENESYS_CLOUD),
        ParticipantAction::Undo => participants.reverse(),
        ParticipantAction::Export | ParticipantAction::Forget | ParticipantAction::Restrict => {}
    }
    participants
}

/// Whether a phase's call carries the legal holds in force and the statutory rules: a purge keeps
/// what they cover, and a RECTIFY's count and rectify leave it as it was (evidence: the
/// correction stays with the request as the subject's statement beside it).
pub fn keeps_evidence(request_type: RequestType, phase: ParticipantAction) -> bool {
    match phase {
        ParticipantAction::Purge => true,
        ParticipantAction::Count | ParticipantAction::Rectify => request_type == RequestType::Rectify,
        ParticipantAction::Export
        | ParticipantAction::Forget
        | ParticipantAction::Undo
        | ParticipantAction::Restrict => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::gdpr::RequestStatus;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn participants() -> Vec<Participant> {
        [
            "result-ingest",
            "comm-history-writer",
            "interaction-pairing",
            "genesys-cloud",
        ]
        .into_iter()
        .map(|name| Participant {
            name: match name {
                "result-ingest" => crate::settings::RESULT_INGEST,
                "comm-history-writer" => crate::settings::COMM_HISTORY,
                "interaction-pairing" => PAIRING,
                _ => crate::settings::GENESYS_CLOUD,
            },
            url: format!("http://{name}"),
        })
        .collect()
    }

    fn request(request_type: RequestType) -> Request {
        Request::example(request_type, RequestStatus::Received, at("2026-11-20T10:00:00Z"))
    }

    fn done(request: &Request, phase: ParticipantAction) -> Vec<Step> {
        participants()
            .iter()
            .enumerate()
            .map(|(position, p)| {
                let mut step = Step::new(request.id, phase, p.name, position, request.received_at);
                step.state = StepState::Done;
                step
            })
            .collect()
    }

    #[test]
    fn a_forget_counts_waits_for_confirmation_forgets_waits_out_the_grace_then_purges() {
        let mut forget = request(RequestType::Forget);
        let now = at("2026-11-21T10:00:00Z");
        let all = participants();
        assert_eq!(next(&forget, &[], &all, now), Ok(Next::Run(ParticipantAction::Count)));
        let mut steps = done(&forget, ParticipantAction::Count);
        // One participant not done yet: the phase is not done.
        steps[1].state = StepState::PendingExternal;
        assert_eq!(
            next(&forget, &steps, &all, now),
            Ok(Next::Run(ParticipantAction::Count))
        );
        steps[1].state = StepState::Done;
        assert_eq!(next(&forget, &steps, &all, now), Ok(Next::AwaitConfirmation));
        forget.confirmed_at = Some(now);
        assert!(next(&forget, &steps, &all, now).is_ok());
        steps.extend(done(&forget, ParticipantAction::Forget));
        assert!(
            next(&forget, &steps, &all, now).is_err(),
            "confirmed without a purge time"
        );
        forget.purge_after = Some(at("2026-11-22T10:00:00Z"));
        assert_eq!(
            next(&forget, &steps, &all, now),
            Ok(Next::GraceUntil(at("2026-11-22T10:00:00Z")))
        );
        let later = at("2026-11-22T10:00:00Z");
        assert_eq!(
            next(&forget, &steps, &all, later),
            Ok(Next::Run(ParticipantAction::Purge))
        );
        steps.extend(done(&forget, ParticipantAction::Purge));
        assert_eq!(next(&forget, &steps, &all, later), Ok(Next::Finish));
    }

    #[test]
    fn an_export_counts_then_exports_and_a_count_only_stops_after_counting() {
        let mut export = request(RequestType::Export);
        let now = at("2026-11-21T10:00:00Z");
        let all = participants();
        let mut steps = done(&export, ParticipantAction::Count);
        assert_eq!(
            next(&export, &steps, &all, now),
            Ok(Next::Run(ParticipantAction::Export))
        );
        export.count_only = true;
        assert_eq!(next(&export, &steps, &all, now), Ok(Next::Finish));
        export.count_only = false;
        steps.extend(done(&export, ParticipantAction::Export));
        assert_eq!(next(&export, &steps, &all, now), Ok(Next::Finish));
    }

    #[test]
    fn a_restrict_counts_then_restricts_and_a_lift_waits_for_its_confirmation_then_undoes() {
        let mut restrict = request(RequestType::Restrict);
        let now = at("2026-11-21T10:00:00Z");
        let all = participants();
        assert_eq!(next(&restrict, &[], &all, now), Ok(Next::Run(ParticipantAction::Count)));
        let mut steps = done(&restrict, ParticipantAction::Count);
        assert_eq!(
            next(&restrict, &steps, &all, now),
            Ok(Next::Run(ParticipantAction::Restrict))
        );
        steps.extend(done(&restrict, ParticipantAction::Restrict));
        assert_eq!(next(&restrict, &steps, &all, now), Ok(Next::Finish));
        restrict.count_only = true;
        assert_eq!(
            next(&restrict, &done(&restrict, ParticipantAction::Count), &all, now),
            Ok(Next::Finish)
        );

        let mut lift = request(RequestType::LiftRestriction);
        assert_eq!(next(&lift, &[], &all, now), Ok(Next::AwaitConfirmation));
        lift.confirmed_at = Some(now);
        assert_eq!(next(&lift, &[], &all, now), Ok(Next::Run(ParticipantAction::Undo)));
        let steps = done(&lift, ParticipantAction::Undo);
        assert_eq!(next(&lift, &steps, &all, now), Ok(Next::Finish));
    }

    #[test]
    fn a_rectify_counts_waits_for_confirmation_then_rectifies_without_a_grace() {
        let mut rectify = request(RequestType::Rectify);
        let now = at("2026-11-21T10:00:00Z");
        let all = participants();
        assert_eq!(next(&rectify, &[], &all, now), Ok(Next::Run(ParticipantAction::Count)));
        let mut steps = done(&rectify, ParticipantAction::Count);
        assert_eq!(next(&rectify, &steps, &all, now), Ok(Next::AwaitConfirmation));
        rectify.count_only = true;
        assert_eq!(next(&rectify, &steps, &all, now), Ok(Next::Finish));
        rectify.count_only = false;
        rectify.confirmed_at = Some(now);
        assert_eq!(
            next(&rectify, &steps, &all, now),
            Ok(Next::Run(ParticipantAction::Rectify))
        );
        steps.extend(done(&rectify, ParticipantAction::Rectify));
        steps[5].state = StepState::PendingExternal;
        assert_eq!(
            next(&rectify, &steps, &all, now),
            Ok(Next::Run(ParticipantAction::Rectify))
        );
        steps[5].state = StepState::Done;
        assert_eq!(next(&rectify, &steps, &all, now), Ok(Next::Finish));
    }

    #[test]
    fn counting_asks_pairing_first_and_undo_runs_backwards() {
        let names = |phase| -> Vec<&str> { order(phase, participants()).iter().map(|p| p.name).collect() };
        assert_eq!(names(ParticipantAction::Count)[0], PAIRING);
        assert_eq!(
            names(ParticipantAction::Undo),
            [
                "genesys-cloud",
                "interaction-pairing",
                "comm-history-writer",
                "result-ingest"
            ]
        );
        assert_eq!(names(ParticipantAction::Forget)[0], "result-ingest");
    }

    #[test]
    fn genesys_cloud_counts_purges_and_rectifies_after_everyone_else_whatever_the_configured_order() {
        let mut configured = participants();
        configured.rotate_right(1);
        assert_eq!(configured[0].name, GENESYS_CLOUD, "configured first");
        for phase in [
            ParticipantAction::Count,
            ParticipantAction::Purge,
            ParticipantAction::Rectify,
        ] {
            let names: Vec<&str> = order(phase, configured.clone()).iter().map(|p| p.name).collect();
            assert_eq!(names.last(), Some(&GENESYS_CLOUD), "{phase:?}");
            assert_eq!(names.len(), 4, "{phase:?}");
        }
        let counted: Vec<&str> = order(ParticipantAction::Count, configured.clone())
            .iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(counted[0], PAIRING);
        // The rest keep the configured order (result-ingest before comm-history-writer).
        let purged: Vec<&str> = order(ParticipantAction::Purge, configured)
            .iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(
            purged,
            [
                "result-ingest",
                "comm-history-writer",
                "interaction-pairing",
                "genesys-cloud"
            ]
        );
    }
}
