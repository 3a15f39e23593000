//! What a person may do to a request, decided on the request alone (and whether its requester's
//! identity was verified): confirm a FORGET, a RECTIFY or a LIFT_RESTRICTION (four eyes), undo a FORGET (or
//! cancel it), lift a RESTRICT, extend a deadline, download an export, record how the requester
//! was verified. No I/O: the routes load, decide here, save.

use crate::audit::Actor;
use crate::settings::RequesterVerificationRule;
use crate::store::{Request, Vouching};
use contracts::gdpr::AllowedAction;
use contracts::gdpr::{RequestStatus, RequestType};
use domain::gdpr::due_after_months;
use domain::Timestamp;
use serde_json::{json, Value};
use std::time::Duration;

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not possible in the request's state (409).
    Conflict(String),
    /// Not by this person (403).
    Forbidden(String),
    /// What was asked for is no longer kept (410).
    Gone(String),
    /// The stored request contradicts itself: an error, never guessed around.
    Impossible(String),
}

fn later(at: Timestamp, by: Duration) -> Result<Timestamp, Refusal> {
    Timestamp::from_offset_date_time(at.as_offset_date_time() + by)
        .ok_or_else(|| Refusal::Impossible("the date would pass year 9999".to_owned()))
}

/// How a FORGET's confirmation is checked (`gdpr.four_eyes`, and the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FourEyes {
    /// `gdpr.four_eyes = false`, development only: whoever may confirm, confirms.
    Off,
    /// Development: a person other than the filer confirms; a name (`X-Acting-User`) counts.
    Named,
    /// Outside development: two persons, each signed in by the bank's identity provider and
    /// verified here, the confirmer another than the filer.
    Verified,
}

/// Who confirms: the actor, and what vouched for them.
#[derive(Debug, Clone, Copy)]
pub struct Confirmer<'a> {
    pub actor: Actor<'a>,
    pub vouched_by: Vouching,
}

/// Whether a request's requester was verified, as `gdpr.requester_verification` weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequesterGate {
    pub rule: RequesterVerificationRule,
    /// How the requester was verified is recorded.
    pub recorded: bool,
}

impl RequesterGate {
    /// Handing a customer's history to an impostor, or erasing it at their word, is a breach:
    /// while required, `what` waits for the verification.
    fn check(self, id: uuid::Uuid, what: &str) -> Result<(), Refusal> {
        if self.rule == RequesterVerificationRule::Required && !self.recorded {
            return Err(Refusal::Conflict(format!(
                "the requester's identity is not verified yet: record how it was verified (POST /gdpr/requests/{id}/verification) before {what}"
            )));
        }
        Ok(())
    }
}

/// Whether `by` may confirm `request` now (see [`confirm`]); changes nothing. A FORGET, a RECTIFY
/// and a LIFT_RESTRICTION are confirmed by the same four eyes; a FORGET and a RECTIFY only once
/// their requester's identity is verified (`gate`): erasing or correcting a subject's data at an
/// impostor's word is a breach too.
pub fn may_confirm(
    request: &Request,
    by: Confirmer<'_>,
    four_eyes: FourEyes,
    gate: RequesterGate,
) -> Result<(), Refusal> {
    let kind = request.request_type.as_str();
    let confirmable = matches!(
        request.request_type,
        RequestType::Forget | RequestType::Rectify | RequestType::LiftRestriction
    );
    if !confirmable || request.status != RequestStatus::AwaitingConfirmation {
        return Err(Refusal::Conflict(format!(
            "only a FORGET, a RECTIFY or a LIFT_RESTRICTION awaiting confirmation can be confirmed; this request is {kind} {}",
            request.status.as_str()
        )));
    }
    let gated = match request.request_type {
        RequestType::Forget => Some("confirming the erasure"),
        RequestType::Rectify => Some("confirming the correction"),
        _ => None,
    };
    if four_eyes == FourEyes::Off {
        return if let Some(what) = gated {
            gate.check(request.id, what)
        } else {
            Ok(())
        };
    }
    if !by.vouched_by.is_person() {
        return Err(Refusal::Forbidden(format!(
            "four eyes: a {kind} is confirmed by a signed-in person, not by a client acting as itself"
        )));
    }
    if four_eyes == FourEyes::Verified && by.vouched_by != Vouching::Provider {
        return Err(Refusal::Forbidden(format!(
            "four eyes: a {kind} is confirmed by a person the identity provider signed in"
        )));
    }
    if four_eyes == FourEyes::Verified && request.requested_vouched_by != Some(Vouching::Provider) {
        let instead = match request.request_type {
            RequestType::LiftRestriction => "file the lift again signed in",
            RequestType::Rectify => "file it again signed in (this one expires unconfirmed)",
            _ => "cancel it (UNDO_FORGET) and file it again signed in",
        };
        return Err(Refusal::Forbidden(format!(
            "four eyes: this {kind} was not filed by a person the identity provider signed in, so no second person can confirm it; {instead}"
        )));
    }
    let same_person = match request.requested_vouched_by {
        Some(filer) => filer == by.vouched_by && request.requested_by == by.actor.person,
        // Filed before what vouched was recorded: the name is all there is.
        None => request.requested_by == by.actor.person,
    };
    if same_person {
        return Err(Refusal::Forbidden(format!(
            "four eyes: a {kind} is confirmed by another person than the one who filed it"
        )));
    }
    if let Some(what) = gated {
        gate.check(request.id, what)?;
    }
    Ok(())
}

/// Confirms a FORGET awaiting confirmation: it is carried out now and purged after `grace`; a
/// RECTIFY: it is applied now; or a LIFT_RESTRICTION: its RESTRICT is lifted now (`grace` is used
/// by a FORGET alone). With four eyes, a client acting as itself may not confirm, nor the person who filed it
/// (persons are compared by what vouched for them and their subject, never by a bare name);
/// outside development ([`FourEyes::Verified`]) both the filer and the confirmer are persons the
/// identity provider signed in. Returns the audit detail.
pub fn confirm(
    request: &mut Request,
    by: Confirmer<'_>,
    four_eyes: FourEyes,
    gate: RequesterGate,
    grace: Duration,
    now: Timestamp,
) -> Result<Value, Refusal> {
    may_confirm(request, by, four_eyes, gate)?;
    let (to, purge_after) = match request.request_type {
        RequestType::LiftRestriction => (RequestStatus::Undoing, None),
        RequestType::Rectify => (RequestStatus::Rectifying, None),
        _ => (RequestStatus::Forgetting, Some(later(now, grace)?)),
    };
    request.status = to;
    request.confirmed_at = Some(now);
    request.confirmed_by = Some(by.actor.person.to_owned());
    request.confirmed_via = Some(by.actor.caller.to_owned());
    request.purge_after = purge_after;
    request.next_attempt_at = now;
    request.updated_at = now;
    let mut detail = json!({
        "from": RequestStatus::AwaitingConfirmation.as_str(),
        "to": to.as_str(),
        "fourEyes": four_eyes != FourEyes::Off,
        "requesterVerified": gate.recorded,
    });
    if let Some(purge_after) = purge_after {
        detail["purgeAfter"] = json!(purge_after);
    }
    Ok(detail)
}

/// Whether `by` may file a LIFT_RESTRICTION of `restrict` now: a RESTRICT (not a count) that is
/// `restricted`; with four eyes outside development ([`FourEyes::Verified`]), by a person the
/// identity provider signed in (or no second person could confirm it). The lift then waits for a
/// second person's confirmation ([`confirm`]); GDPR Art. 18(3): the DPO tells the subject before
/// confirming it.
pub fn may_lift(restrict: &Request, by: Confirmer<'_>, four_eyes: FourEyes) -> Result<(), Refusal> {
    let id = restrict.id;
    if restrict.request_type != RequestType::Restrict || restrict.count_only {
        return Err(Refusal::Conflict(format!(
            "only a RESTRICT that is not a count can be lifted; request {id} is {}{}",
            restrict.request_type.as_str(),
            if restrict.count_only { " (a count)" } else { "" }
        )));
    }
    match restrict.status {
        RequestStatus::Restricted if four_eyes == FourEyes::Verified && by.vouched_by != Vouching::Provider => {
            Err(Refusal::Forbidden(
                "four eyes: a LIFT_RESTRICTION is filed by a person the identity provider signed in".to_owned(),
            ))
        }
        RequestStatus::Restricted => Ok(()),
        RequestStatus::Lifted => Err(Refusal::Conflict(format!("RESTRICT {id} is already lifted"))),
        status => Err(Refusal::Conflict(format!(
            "RESTRICT {id} is {}: it can be lifted once it is restricted",
            status.as_str()
        ))),
    }
}

/// What an UNDO_FORGET does to its FORGET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undo {
    /// The FORGET's new status.
    pub forget_becomes: RequestStatus,
    /// The UNDO_FORGET's first status.
    pub undo_starts: RequestStatus,
}

/// Decides an UNDO_FORGET on the FORGET as it stands at `now` (the database's clock): an
/// unconfirmed FORGET is cancelled (nothing was hidden), one in its grace window is restored and
/// never purged, one past it (or being purged) cannot be undone. The purge, for its part, starts
/// only from `in_grace` over the version it read, so of an undo and a purge racing, one wins.
pub fn undo(forget: &Request, now: Timestamp) -> Result<Undo, Refusal> {
    let id = forget.id;
    if forget.request_type != RequestType::Forget || forget.count_only {
        // A count erased nothing: there is nothing of it to undo.
        return Err(Refusal::Conflict(format!(
            "only a FORGET that is not a count can be undone; request {id} is {}{}",
            forget.request_type.as_str(),
            if forget.count_only { " (a count)" } else { "" }
        )));
    }
    match forget.status {
        RequestStatus::Received
        | RequestStatus::Blocked
        | RequestStatus::Counting
        | RequestStatus::AwaitingConfirmation
            if forget.confirmed_at.is_none() =>
        {
            Ok(Undo {
                forget_becomes: RequestStatus::Cancelled,
                undo_starts: RequestStatus::Completed,
            })
        }
        RequestStatus::InGrace => {
            let purge_after = forget
                .purge_after
                .ok_or_else(|| Refusal::Impossible(format!("FORGET {id} is in grace without a purge time")))?;
            if now < purge_after {
                Ok(Undo {
                    forget_becomes: RequestStatus::UndoRequested,
                    undo_starts: RequestStatus::Received,
                })
            } else {
                Err(Refusal::Conflict(format!(
                    "FORGET {id} is past its grace window: its purge is due, nothing can be restored"
                )))
            }
        }
        RequestStatus::Purging | RequestStatus::Completed | RequestStatus::CompletedWithRetention => {
            Err(Refusal::Conflict(format!(
                "FORGET {id} is purged (or being purged): nothing can be restored"
            )))
        }
        RequestStatus::Undone | RequestStatus::Cancelled | RequestStatus::UndoRequested => {
            Err(Refusal::Conflict(format!("FORGET {id} is already undone")))
        }
        RequestStatus::Expired => Err(Refusal::Conflict(format!(
            "FORGET {id} expired unconfirmed: nothing was hidden"
        ))),
        RequestStatus::Rectifying => Err(Refusal::Conflict(format!(
            "request {id} is in a RECTIFY's status: there is nothing to undo"
        ))),
        RequestStatus::Restricting | RequestStatus::Restricted | RequestStatus::Lifted => Err(Refusal::Conflict(
            format!("request {id} is in a RESTRICT's status: there is nothing to undo"),
        )),
        RequestStatus::Received
        | RequestStatus::Blocked
        | RequestStatus::Counting
        | RequestStatus::AwaitingConfirmation
        | RequestStatus::Forgetting
        | RequestStatus::Exporting
        | RequestStatus::Undoing => Err(Refusal::Conflict(format!(
            "FORGET {id} is still being applied; undo it once it is in its grace window"
        ))),
    }
}

/// Whether `request`'s deadline may be extended by `months` now (see [`extend`]).
pub fn may_extend(request: &Request, months: i32) -> Result<(), Refusal> {
    if request.status.is_answered() {
        return Err(Refusal::Conflict(format!(
            "request {} is already {}",
            request.id,
            request.status.as_str()
        )));
    }
    if !(1..=2).contains(&months) || request.extension_months + months > 2 {
        return Err(Refusal::Conflict(format!(
            "the deadline can be extended by two months at most; {} already granted",
            request.extension_months
        )));
    }
    Ok(())
}

/// Extends an unfinished request's deadline by `months` (GDPR Art. 12(3): two at most in all).
pub fn extend(request: &mut Request, months: i32, reason: String, now: Timestamp) -> Result<Value, Refusal> {
    may_extend(request, months)?;
    let total = request.extension_months + months;
    let total_months = u8::try_from(1 + total).map_err(|_| Refusal::Impossible("extension out of range".to_owned()))?;
    request.extension_months = total;
    request.extension_reason = Some(reason);
    request.due_at = due_after_months(request.received_at, total_months)
        .ok_or_else(|| Refusal::Impossible("the extended deadline would pass year 9999".to_owned()))?;
    request.updated_at = now;
    Ok(json!({ "extensionMonths": total, "dueAt": request.due_at }))
}

/// Whether `request`'s export bundle may be downloaded now: a completed EXPORT (not a count)
/// whose data is still kept, its requester's identity verified (`gate`).
pub fn may_download(request: &Request, gate: RequesterGate) -> Result<(), Refusal> {
    if request.request_type != RequestType::Export || request.count_only {
        return Err(Refusal::Conflict(
            "only an EXPORT that is not count-only has a bundle".to_owned(),
        ));
    }
    if request.identifiers_erased_at.is_some() {
        return Err(Refusal::Gone(
            "the bundle was erased after the retention period".to_owned(),
        ));
    }
    if request.status != RequestStatus::Completed {
        return Err(Refusal::Conflict(format!(
            "the export is not finished yet (status {})",
            request.status.as_str()
        )));
    }
    gate.check(request.id, "handing the bundle over")
}

/// Whether `by` may record how `request`'s requester was verified: an EXPORT, FORGET, RESTRICT or
/// RECTIFY (not a count) whose identifiers are kept, not undone, cancelled, expired or lifted, with none
/// recorded yet (`recorded`), by a person the identity provider signed in (in every environment:
/// a name a header gave vouches for nobody's identity).
pub fn may_record_verification(request: &Request, by: Confirmer<'_>, recorded: bool) -> Result<(), Refusal> {
    let id = request.id;
    if !matches!(
        request.request_type,
        RequestType::Export | RequestType::Forget | RequestType::Restrict | RequestType::Rectify
    ) || request.count_only
    {
        return Err(Refusal::Conflict(format!(
            "a requester's verification is recorded on an EXPORT, FORGET, RESTRICT or RECTIFY that is not a count; request {id} is {}{}",
            request.request_type.as_str(),
            if request.count_only { " (a count)" } else { "" }
        )));
    }
    if recorded {
        return Err(Refusal::Conflict(format!(
            "request {id}: how the requester was verified is recorded already (once)"
        )));
    }
    if request.identifiers_erased_at.is_some() {
        return Err(Refusal::Gone(format!("request {id}'s identifiers are erased")));
    }
    if matches!(
        request.status,
        RequestStatus::Cancelled
            | RequestStatus::Expired
            | RequestStatus::Undone
            | RequestStatus::UndoRequested
            | RequestStatus::Lifted
    ) {
        return Err(Refusal::Conflict(format!(
            "request {id} is {}: nothing of it waits for the requester's verification",
            request.status.as_str()
        )));
    }
    if by.vouched_by != Vouching::Provider {
        return Err(Refusal::Forbidden(
            "a requester's verification is recorded by a person the identity provider signed in (X-Person-Token)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// What `by` may do to `request` at `now`: each action offered exactly when the rule its route
/// enforces ([`may_confirm`], [`may_extend`] by a month, [`undo`], [`may_lift`], [`may_download`],
/// [`may_record_verification`]) accepts it, so what is offered and what is accepted cannot
/// disagree. In [`AllowedAction`]'s order.
pub fn allowed_actions(
    request: &Request,
    gate: RequesterGate,
    by: Confirmer<'_>,
    four_eyes: FourEyes,
    now: Timestamp,
) -> Vec<AllowedAction> {
    [
        (
            AllowedAction::Confirm,
            may_confirm(request, by, four_eyes, gate).is_ok(),
        ),
        (AllowedAction::Extend, may_extend(request, 1).is_ok()),
        (AllowedAction::Undo, undo(request, now).is_ok()),
        (AllowedAction::Lift, may_lift(request, by, four_eyes).is_ok()),
        (AllowedAction::Download, may_download(request, gate).is_ok()),
        (
            AllowedAction::RecordVerification,
            may_record_verification(request, by, gate.recorded).is_ok(),
        ),
    ]
    .into_iter()
    .filter_map(|(action, allowed)| allowed.then_some(action))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn forget(status: RequestStatus) -> Request {
        Request::example(RequestType::Forget, status, at("2026-11-20T10:00:00Z"))
    }

    fn person(subject: &'static str, vouched_by: Vouching) -> Confirmer<'static> {
        Confirmer {
            actor: Actor {
                person: subject,
                name: Some(subject),
                caller: "console",
            },
            vouched_by,
        }
    }

    const GRACE: Duration = Duration::from_secs(3600);

    /// Verification recorded or not, nothing waits for it.
    const ADVISORY: RequesterGate = RequesterGate {
        rule: RequesterVerificationRule::Advisory,
        recorded: false,
    };

    #[test]
    fn the_filer_cannot_confirm_with_four_eyes_another_person_can() {
        let now = at("2026-11-21T10:00:00Z");
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        let (alice, bob) = (person("alice", Vouching::Provider), person("bob", Vouching::Provider));
        assert!(matches!(
            confirm(&mut request, alice, FourEyes::Verified, ADVISORY, GRACE, now),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(request.status, RequestStatus::AwaitingConfirmation);
        confirm(&mut request, bob, FourEyes::Verified, ADVISORY, GRACE, now).unwrap();
        assert_eq!(request.status, RequestStatus::Forgetting);
        assert_eq!(request.confirmed_by.as_deref(), Some("bob"));
        assert_eq!(request.confirmed_via.as_deref(), Some("console"));
        assert_eq!(request.purge_after, Some(at("2026-11-21T11:00:00Z")));

        let mut alone = forget(RequestStatus::AwaitingConfirmation);
        confirm(&mut alone, alice, FourEyes::Off, ADVISORY, GRACE, now).unwrap();
        let mut export = forget(RequestStatus::AwaitingConfirmation);
        export.request_type = RequestType::Export;
        assert!(matches!(
            confirm(&mut export, bob, FourEyes::Verified, ADVISORY, GRACE, now),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn with_four_eyes_a_client_acting_as_itself_cannot_confirm() {
        let now = at("2026-11-21T10:00:00Z");
        let machine = Confirmer {
            actor: Actor {
                person: "dpo",
                name: None,
                caller: "dpo",
            },
            vouched_by: Vouching::Caller,
        };
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        for four_eyes in [FourEyes::Named, FourEyes::Verified] {
            let refused = confirm(&mut request, machine, four_eyes, ADVISORY, GRACE, now);
            assert!(
                matches!(&refused, Err(Refusal::Forbidden(reason)) if reason.contains("signed-in person")),
                "{refused:?}"
            );
        }
        assert_eq!(request.status, RequestStatus::AwaitingConfirmation);
        confirm(&mut request, machine, FourEyes::Off, ADVISORY, GRACE, now).unwrap();
    }

    #[test]
    fn outside_development_four_eyes_are_two_persons_the_provider_signed_in() {
        let now = at("2026-11-21T10:00:00Z");
        let bob = person("bob", Vouching::Provider);
        // Filed by a client acting as itself (or before what vouched was recorded): no verified
        // filer, so no single person can confirm it.
        for filer in [Some(Vouching::Caller), Some(Vouching::DevelopmentHeader), None] {
            let mut request = forget(RequestStatus::AwaitingConfirmation);
            request.requested_by = "dpo".to_owned();
            request.requested_vouched_by = filer;
            let refused = confirm(&mut request, bob, FourEyes::Verified, ADVISORY, GRACE, now);
            assert!(
                matches!(&refused, Err(Refusal::Forbidden(reason)) if reason.contains("not filed by a person")),
                "{filer:?}: {refused:?}"
            );
            assert_eq!(request.status, RequestStatus::AwaitingConfirmation);
        }
        // A name only a development header vouches for confirms nothing outside development.
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        let named = person("bob", Vouching::DevelopmentHeader);
        assert!(matches!(
            confirm(&mut request, named, FourEyes::Verified, ADVISORY, GRACE, now),
            Err(Refusal::Forbidden(_))
        ));
        // In development a client acting as itself may file and a named person confirm; a named
        // "dpo" is not the client "dpo" but the filer's own name is still refused.
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        request.requested_by = "dpo".to_owned();
        request.requested_vouched_by = Some(Vouching::Caller);
        confirm(
            &mut request,
            person("dpo", Vouching::DevelopmentHeader),
            FourEyes::Named,
            ADVISORY,
            GRACE,
            now,
        )
        .unwrap();
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        request.requested_vouched_by = Some(Vouching::DevelopmentHeader);
        assert!(matches!(
            confirm(
                &mut request,
                person("alice", Vouching::DevelopmentHeader),
                FourEyes::Named,
                ADVISORY,
                GRACE,
                now
            ),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn an_undo_restores_within_the_grace_window_only() {
        let mut request = forget(RequestStatus::InGrace);
        request.confirmed_at = Some(at("2026-11-21T10:00:00Z"));
        request.purge_after = Some(at("2026-11-22T10:00:00Z"));
        let within = undo(&request, at("2026-11-22T09:59:59Z")).unwrap();
        assert_eq!(within.forget_becomes, RequestStatus::UndoRequested);
        assert_eq!(within.undo_starts, RequestStatus::Received);
        assert!(matches!(
            undo(&request, at("2026-11-22T10:00:00Z")),
            Err(Refusal::Conflict(_))
        ));
        for status in [
            RequestStatus::Purging,
            RequestStatus::Completed,
            RequestStatus::Undone,
            RequestStatus::Expired,
        ] {
            request.status = status;
            assert!(
                matches!(undo(&request, at("2026-11-21T11:00:00Z")), Err(Refusal::Conflict(_))),
                "{status:?}"
            );
        }
        request.status = RequestStatus::InGrace;
        request.purge_after = None;
        assert!(matches!(
            undo(&request, at("2026-11-21T11:00:00Z")),
            Err(Refusal::Impossible(_))
        ));
    }

    #[test]
    fn an_unconfirmed_forget_is_cancelled() {
        let request = forget(RequestStatus::AwaitingConfirmation);
        let outcome = undo(&request, at("2026-11-21T11:00:00Z")).unwrap();
        assert_eq!(outcome.forget_becomes, RequestStatus::Cancelled);
        assert_eq!(outcome.undo_starts, RequestStatus::Completed);
    }

    #[test]
    fn a_lift_is_filed_on_a_restricted_restrict_and_confirmed_by_another_person() {
        let now = at("2026-11-21T10:00:00Z");
        let (alice, bob) = (person("alice", Vouching::Provider), person("bob", Vouching::Provider));
        let mut restrict = forget(RequestStatus::Restricted);
        restrict.request_type = RequestType::Restrict;
        may_lift(&restrict, alice, FourEyes::Verified).unwrap();
        let named = person("carol", Vouching::DevelopmentHeader);
        assert!(matches!(
            may_lift(&restrict, named, FourEyes::Verified),
            Err(Refusal::Forbidden(_))
        ));
        may_lift(&restrict, named, FourEyes::Named).unwrap();
        for status in [
            RequestStatus::Restricting,
            RequestStatus::Lifted,
            RequestStatus::Completed,
        ] {
            restrict.status = status;
            let refused = may_lift(&restrict, alice, FourEyes::Verified);
            assert!(matches!(refused, Err(Refusal::Conflict(_))), "{status:?}");
        }
        restrict.status = RequestStatus::Restricted;
        restrict.count_only = true;
        assert!(matches!(
            may_lift(&restrict, alice, FourEyes::Verified),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            may_lift(&forget(RequestStatus::InGrace), alice, FourEyes::Verified),
            Err(Refusal::Conflict(_))
        ));

        let mut lift = forget(RequestStatus::AwaitingConfirmation);
        lift.request_type = RequestType::LiftRestriction;
        let refused = confirm(&mut lift, alice, FourEyes::Verified, ADVISORY, GRACE, now);
        assert!(
            matches!(&refused, Err(Refusal::Forbidden(reason)) if reason.contains("LIFT_RESTRICTION")),
            "{refused:?}"
        );
        let detail = confirm(&mut lift, bob, FourEyes::Verified, ADVISORY, GRACE, now).unwrap();
        assert_eq!(lift.status, RequestStatus::Undoing);
        assert_eq!(lift.confirmed_by.as_deref(), Some("bob"));
        assert_eq!(lift.purge_after, None, "a lift purges nothing");
        assert_eq!(detail["to"], "undoing");
    }

    #[test]
    fn deadlines_extend_by_two_months_at_most() {
        let now = at("2026-11-21T10:00:00Z");
        let mut request = forget(RequestStatus::Counting);
        extend(&mut request, 1, "complex".to_owned(), now).unwrap();
        assert_eq!(request.due_at, at("2027-01-20T10:00:00Z"));
        assert!(matches!(
            extend(&mut request, 2, "more".to_owned(), now),
            Err(Refusal::Conflict(_))
        ));
        extend(&mut request, 1, "more".to_owned(), now).unwrap();
        assert_eq!(request.extension_months, 2);
        request.status = RequestStatus::Completed;
        assert!(matches!(
            extend(&mut request, 1, "x".to_owned(), now),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn the_actions_offered_are_the_ones_each_rule_accepts_in_every_mode() {
        let now = at("2026-11-21T10:00:00Z");
        let confirmers = [
            person("alice", Vouching::Provider),
            person("bob", Vouching::Provider),
            person("bob", Vouching::DevelopmentHeader),
            Confirmer {
                actor: Actor {
                    person: "dpo",
                    name: None,
                    caller: "dpo",
                },
                vouched_by: Vouching::Caller,
            },
        ];
        for status in RequestStatus::ALL {
            for request_type in RequestType::ALL {
                for (count_only, erased, extension_months) in
                    [(false, false, 0), (true, false, 0), (false, true, 0), (false, false, 2)]
                {
                    let mut request = forget(status);
                    request.request_type = request_type;
                    request.count_only = count_only;
                    request.extension_months = extension_months;
                    request.identifiers_erased_at = erased.then_some(now);
                    request.confirmed_at = Some(at("2026-11-21T09:00:00Z"));
                    request.purge_after = Some(at("2026-11-22T09:00:00Z"));
                    for (four_eyes, by, gate) in modes(&confirmers) {
                        let offered = allowed_actions(&request, gate, by, four_eyes, now);
                        let mut copy = request.clone();
                        let accepted = [
                            (
                                AllowedAction::Confirm,
                                confirm(&mut copy, by, four_eyes, gate, GRACE, now).is_ok(),
                            ),
                            (
                                AllowedAction::Extend,
                                extend(&mut request.clone(), 1, "x".to_owned(), now).is_ok(),
                            ),
                            (AllowedAction::Undo, undo(&request, now).is_ok()),
                            (AllowedAction::Lift, may_lift(&request, by, four_eyes).is_ok()),
                            (AllowedAction::Download, may_download(&request, gate).is_ok()),
                            (
                                AllowedAction::RecordVerification,
                                may_record_verification(&request, by, gate.recorded).is_ok(),
                            ),
                        ]
                        .into_iter()
                        .filter_map(|(action, ok)| ok.then_some(action))
                        .collect::<Vec<_>>();
                        assert_eq!(offered, accepted, "{request_type:?} {status:?} {four_eyes:?} {gate:?}");
                    }
                }
            }
        }
        // Four eyes: the filer is never offered the confirmation of their own FORGET.
        let request = forget(RequestStatus::AwaitingConfirmation);
        let alice = person("alice", Vouching::Provider);
        assert!(!allowed_actions(&request, ADVISORY, alice, FourEyes::Verified, now).contains(&AllowedAction::Confirm));
        assert!(allowed_actions(
            &request,
            ADVISORY,
            person("bob", Vouching::Provider),
            FourEyes::Verified,
            now
        )
        .contains(&AllowedAction::Confirm));
    }

    /// Every combination of four eyes, viewer and requester gate.
    fn modes<'a>(
        confirmers: &'a [Confirmer<'static>],
    ) -> impl Iterator<Item = (FourEyes, Confirmer<'static>, RequesterGate)> + 'a {
        let gates = [RequesterVerificationRule::Required, RequesterVerificationRule::Advisory]
            .into_iter()
            .flat_map(|rule| [false, true].map(|recorded| RequesterGate { rule, recorded }));
        [FourEyes::Off, FourEyes::Named, FourEyes::Verified]
            .into_iter()
            .flat_map(move |four_eyes| confirmers.iter().map(move |by| (four_eyes, *by)))
            .flat_map(move |(four_eyes, by)| gates.clone().map(move |gate| (four_eyes, by, gate)))
    }

    #[test]
    fn while_required_a_forget_is_confirmed_and_a_bundle_downloaded_only_once_the_requester_is_verified() {
        let now = at("2026-11-21T10:00:00Z");
        let bob = person("bob", Vouching::Provider);
        let required = |recorded| RequesterGate {
            rule: RequesterVerificationRule::Required,
            recorded,
        };
        let mut request = forget(RequestStatus::AwaitingConfirmation);
        let refused = confirm(&mut request, bob, FourEyes::Verified, required(false), GRACE, now);
        assert!(
            matches!(&refused, Err(Refusal::Conflict(reason)) if reason.contains("not verified yet")),
            "{refused:?}"
        );
        assert_eq!(request.status, RequestStatus::AwaitingConfirmation);
        let offered = allowed_actions(&request, required(false), bob, FourEyes::Verified, now);
        assert!(!offered.contains(&AllowedAction::Confirm));
        assert!(offered.contains(&AllowedAction::RecordVerification));
        let detail = confirm(&mut request, bob, FourEyes::Verified, required(true), GRACE, now).unwrap();
        assert_eq!(detail["requesterVerified"], true);

        // A lift is the bank's own step: its confirmation does not wait for the subject.
        let mut lift = forget(RequestStatus::AwaitingConfirmation);
        lift.request_type = RequestType::LiftRestriction;
        confirm(&mut lift, bob, FourEyes::Verified, required(false), GRACE, now).unwrap();

        let mut export = forget(RequestStatus::Completed);
        export.request_type = RequestType::Export;
        assert!(matches!(
            may_download(&export, required(false)),
            Err(Refusal::Conflict(_))
        ));
        may_download(&export, required(true)).unwrap();
        may_download(&export, ADVISORY).unwrap();
        // Recorded by a signed-in person only, once.
        assert!(matches!(
            may_record_verification(&export, person("bob", Vouching::DevelopmentHeader), false),
            Err(Refusal::Forbidden(_))
        ));
        may_record_verification(&export, bob, false).unwrap();
        assert!(matches!(
            may_record_verification(&export, bob, true),
            Err(Refusal::Conflict(_))
        ));
    }
}
