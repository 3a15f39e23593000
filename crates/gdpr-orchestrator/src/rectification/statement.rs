//! How long a finished RECTIFY keeps its correction (`Request.rectification`): where its rectify
//! left rows unchanged as evidence (`keptUnchanged`), the correction is the subject's
//! supplementary statement beside them (GDPR Art. 16), so it is not erased with the request's
//! other identifiers while anything that could keep those rows still does. An interim rule
//! (review-33 M6): the request does not know which hold or row kept what, so it keeps the
//! statement while any legal hold in force has the basis of a kept row, or a statutory rule of
//! that basis could still keep a row that was young enough at the correction; then it goes.

use crate::store::Step;
use contracts::legal_hold::LegalBasis;
use contracts::participant::{ParticipantAction, StatutoryRule};
use domain::Timestamp;
use time::Duration;

/// Whether a finished RECTIFY's correction is kept at `now`: its rectify steps (`steps`) kept rows
/// unchanged on a basis that `holds_in_force` (the bases of the holds in force) or a statutory
/// rule of `rules` may still keep, a rule at most `keep_days` after `completed_at`.
pub fn kept(
    steps: &[Step],
    completed_at: Timestamp,
    holds_in_force: &[LegalBasis],
    rules: &[StatutoryRule],
    now: Timestamp,
) -> bool {
    let completed = completed_at.as_offset_date_time();
    steps
        .iter()
        .filter(|step| step.phase == ParticipantAction::Rectify)
        .flat_map(|step| &step.kept_unchanged)
        .filter(|kept| kept.count > 0)
        .any(|kept| {
            holds_in_force.contains(&kept.basis)
                || rules.iter().any(|rule| {
                    rule.basis == kept.basis
                        && completed + Duration::days(i64::from(rule.keep_days)) > now.as_offset_date_time()
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::legal_hold::Retained;
    use uuid::Uuid;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn rectify_keeping(basis: LegalBasis, count: u64) -> Step {
        let mut step = Step::new(
            Uuid::nil(),
            ParticipantAction::Rectify,
            "comm-history-writer",
            0,
            at("2026-01-01T00:00:00Z"),
        );
        step.kept_unchanged = vec![Retained {
            category: "communications".to_owned(),
            basis,
            count,
        }];
        step
    }

    fn rule(basis: LegalBasis, keep_days: u32) -> StatutoryRule {
        StatutoryRule {
            name: "mifid2-voice".to_owned(),
            channels: Vec::new(),
            directions: Vec::new(),
            domains: Vec::new(),
            keep_days,
            basis,
        }
    }

    #[test]
    fn the_correction_is_kept_while_a_keeper_of_its_basis_may_last_and_no_longer() {
        let done = at("2026-01-01T00:00:00Z");
        let now = at("2026-03-01T00:00:00Z");
        let held = [rectify_keeping(LegalBasis::LegalClaims, 1)];
        assert!(
            kept(&held, done, &[LegalBasis::LegalClaims], &[], now),
            "a hold of its basis in force"
        );
        assert!(!kept(&held, done, &[], &[], now), "no hold in force any more");
        assert!(
            !kept(&held, done, &[LegalBasis::LegalObligation], &[], now),
            "a hold of another basis"
        );
        let ruled = [rectify_keeping(LegalBasis::LegalObligation, 2)];
        let year = [rule(LegalBasis::LegalObligation, 365)];
        assert!(
            kept(&ruled, done, &[], &year, now),
            "within keep_days of the correction"
        );
        assert!(!kept(&ruled, done, &[], &year, at("2027-01-02T00:00:00Z")), "past them");
        assert!(
            !kept(&ruled, done, &[], &[rule(LegalBasis::LegalClaims, 365)], now),
            "a rule of another basis"
        );
        // Only what a rectify kept counts: a count's report, or nothing kept, keeps nothing.
        let mut counted = rectify_keeping(LegalBasis::LegalClaims, 1);
        counted.phase = ParticipantAction::Count;
        assert!(!kept(&[counted], done, &[LegalBasis::LegalClaims], &[], now));
        assert!(!kept(
            &[rectify_keeping(LegalBasis::LegalClaims, 0)],
            done,
            &[LegalBasis::LegalClaims],
            &[],
            now
        ));
    }
}
