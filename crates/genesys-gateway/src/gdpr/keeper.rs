//! What keeps evidence of the subject's in Genesys Cloud, and what a purge or a correction then
//! holds back (nothing is submitted; the kept subjects are reported).

use super::*;

/// A purge's GDPR_DELETE that a retention holds back: nothing is submitted, and the Genesys
/// subjects that wait are counted once, under the first basis of what holds it back
/// ([`keeper`]), as a participant counts a row several cover.
pub(super) fn held_back(action: ParticipantAction, call: &ParticipantCall) -> Option<ParticipantReport> {
    if action != ParticipantAction::Purge {
        return None;
    }
    let waiting = genesys_subjects(&call.subject).len() as u64;
    // Nothing Genesys knows of the subject: nothing to hold back (`submit` says so).
    let basis = keeper(call, None).filter(|_| waiting > 0)?;
    tracing::info!(waiting, "GDPR_DELETE held back by a retention");
    let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
    report.retained = vec![Retained {
        category: SUBJECTS.to_owned(),
        basis,
        count: waiting,
    }];
    report.detail = Some(
        "a legal hold or a statutory rule keeps the subject's data: the GDPR_DELETE to Genesys Cloud waits until it ends"
            .to_owned(),
    );
    Some(report)
}

/// What keeps evidence of the subject's in Genesys Cloud, if anything: the first basis (in
/// [`LegalBasis`] order) of what does. Genesys deletes (GDPR_DELETE) and corrects (GDPR_UPDATE)
/// per person, everything of a phone number's, an address's or an agent's in every interaction,
/// so one thing of theirs kept holds the whole request back, whatever the retention's window:
/// - a retention that names one of the subject's identifiers or interactions;
/// - anything of theirs another participant kept (a purge's `retained`) or left unchanged (a
///   RECTIFY's `keptUnchanged`): a hold on an interaction of their number's, a statutory rule on
///   their calls; Genesys holds those calls' recordings;
/// - for a correction (`rectification`), a statutory rule that may keep a conversation a
///   replaced value travels on: Genesys cannot tell which of its conversations a rule covers,
///   and a correction is not made again when the rule ends (a purge is, when the participants
///   that keep rows say their rule lets them go).
pub(super) fn keeper(call: &ParticipantCall, rectification: Option<&Rectification>) -> Option<LegalBasis> {
    let shared = call
        .retain
        .iter()
        .filter(|retention| {
            shares_identifier(&retention.subject, &call.subject)
                || !retention.interaction_ids.is_disjoint(&call.subject.interaction_ids)
        })
        .map(|retention| retention.basis);
    let kept = call.kept_elsewhere.iter().filter(|k| k.count > 0).map(|k| k.basis);
    let ruled = rectification.into_iter().flat_map(|rectification| {
        let phones = !rectification.phone_numbers.is_empty();
        let emails = !rectification.email_addresses.is_empty();
        call.rules
            .iter()
            .filter(move |rule| {
                rule.channels.is_empty()
                    || rule.channels.iter().any(|&channel| {
                        (phones && carries_phone_numbers(channel)) || (emails && carries_email_addresses(channel))
                    })
            })
            .map(|rule| rule.basis)
    });
    shared.chain(kept).chain(ruled).min()
}

/// Whether a Genesys conversation on `channel` may be found by a phone number (chats, video and
/// the rest may carry either kind of address).
pub(super) fn carries_phone_numbers(channel: Channel) -> bool {
    !matches!(channel, Channel::Email)
}

/// Whether a Genesys conversation on `channel` may be found by an e-mail address.
pub(super) fn carries_email_addresses(channel: Channel) -> bool {
    !matches!(channel, Channel::Voice | Channel::Sms)
}

/// What a RECTIFY leaves unchanged in Genesys Cloud: every replaced value's Genesys subject
/// (one GDPR_UPDATE each, none submitted), under the first basis of what keeps evidence of the
/// subject's there ([`keeper`]). None when nothing does, or nothing would be submitted.
pub(super) fn unchanged(call: &ParticipantCall, rectification: &Rectification) -> Option<Retained> {
    let waiting = rectification.handles_at().count() as u64;
    let basis = keeper(call, Some(rectification)).filter(|_| waiting > 0)?;
    Some(Retained {
        category: SUBJECTS.to_owned(),
        basis,
        count: waiting,
    })
}

/// Why a RECTIFY's count or rectify leaves Genesys Cloud as it was.
pub(super) const KEPT_UNCHANGED: &str =
    "a legal hold or a statutory rule keeps evidence of the subject's in Genesys Cloud, \
     which corrects a value everywhere it holds it: no GDPR_UPDATE is submitted; correct the subject there by hand \
     once the hold or rule ends (docs/operations.md)";

/// A rectify that evidence holds back: nothing submitted, `kept` reported.
pub(super) fn kept_unchanged_report(kept: Retained) -> ParticipantReport {
    tracing::info!(waiting = kept.count, "GDPR_UPDATE held back by a retention");
    let mut report = ParticipantReport::done([(REQUESTS.to_owned(), 0)].into());
    report.kept_unchanged = vec![kept];
    report.detail = Some(KEPT_UNCHANGED.to_owned());
    report
}

/// Whether two subjects name one identifier in common, of any kind.
pub(super) fn shares_identifier(a: &DataSubject, b: &DataSubject) -> bool {
    !a.customer_ids.is_disjoint(&b.customer_ids)
        || !a.phone_numbers.is_disjoint(&b.phone_numbers)
        || !a.email_addresses.is_disjoint(&b.email_addresses)
        || !a.genesys_user_ids.is_disjoint(&b.genesys_user_ids)
        || !a.interaction_ids.is_disjoint(&b.interaction_ids)
}
