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
