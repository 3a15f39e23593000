//! What a person may do to a legal hold, decided on the hold alone: ask for its release, confirm
//! the release (four eyes, as a FORGET's confirmation: [`FourEyes`]), withdraw the ask. No I/O:
//! the routes load, decide here, save. A hold whose `ends_at` has passed is `ended` whatever is
//! stored ([`status_at`]): nothing can be done to it any more.

use crate::lifecycle::{Confirmer, FourEyes, Refusal};
use crate::store::legal_holds::{Act, Hold, Particulars, ReleaseAct};
use crate::store::Vouching;
use contracts::legal_hold::{LegalHoldAction, LegalHoldStatus, ReleaseStep};
use domain::Timestamp;
use serde_json::{json, Value};

/// Where `hold` stands at `now`: as stored, but `ended` once its `ends_at` has passed (while it
/// was still in force).
pub fn status_at(hold: &Hold, now: Timestamp) -> LegalHoldStatus {
    match hold.ends_at {
        Some(ends_at) if hold.status.in_force() && ends_at <= now => LegalHoldStatus::Ended,
        _ => hold.status,
    }
}

/// When `hold` stopped keeping data, as of `now`: its release, or its end.
pub fn released_at(hold: &Hold, now: Timestamp) -> Option<Timestamp> {
    match status_at(hold, now) {
        LegalHoldStatus::Released => hold.released.as_ref().map(|r| r.act.at),
        LegalHoldStatus::Ended => hold.ends_at,
        LegalHoldStatus::Active | LegalHoldStatus::ReleaseRequested => None,
    }
}

/// Whether `step` is the release's next step for `hold` at `now`: asking while it is active,
/// confirming while a release is asked for. Any other state is for [`release`] to refuse.
pub fn is_next_step(hold: &Hold, step: ReleaseStep, now: Timestamp) -> Result<(), Refusal> {
    match (status_at(hold, now), step) {
        (LegalHoldStatus::ReleaseRequested, ReleaseStep::Ask) => Err(Refusal::Conflict(
            "another person asked to release this hold already: confirm their ask (step confirm), or leave it"
                .to_owned(),
        )),
        (LegalHoldStatus::Active, ReleaseStep::Confirm) => Err(Refusal::Conflict(
            "nobody asked to release this hold: there is nothing to confirm (step ask asks)".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Erases `hold`'s particulars (its subject, its reason and the release reasons) at `now` when it
/// stopped keeping data before `stopped_before` (`gdpr.identifier_retention_days` ago) and they
/// are still kept. Returns the audit detail (no particulars in it), or `None`: not due.
pub fn erase_particulars(hold: &mut Hold, stopped_before: Timestamp, now: Timestamp) -> Option<Value> {
    let stopped = released_at(hold, now)?;
    if stopped >= stopped_before || matches!(hold.particulars, Particulars::Erased { .. }) {
        return None;
    }
    hold.particulars = Particulars::Erased { at: now };
    for act in [&mut hold.release_requested, &mut hold.released].into_iter().flatten() {
        act.reason = None;
    }
    hold.updated_at = now;
    Some(json!({
        "hold": hold.id,
        "basis": hold.basis,
        "status": status_at(hold, now),
        "stoppedAt": stopped,
    }))
}

fn in_state(hold: &Hold, now: Timestamp, wanted: LegalHoldStatus, what: &str) -> Result<(), Refusal> {
    let status = status_at(hold, now);
    if status == wanted {
        return Ok(());
    }
    Err(Refusal::Conflict(format!(
        "{what} only a hold that is {}; this hold is {}",
        wanted.as_str(),
        status.as_str()
    )))
}

/// Whether `by` is the person who did `act`: the same subject vouched for the same way (a name a
/// development header gave is not the person a token of the identity provider named).
fn same_person(act: &Act, by: Confirmer<'_>) -> bool {
    act.vouched_by == by.vouched_by && act.by == by.actor.person
}

/// The four-eyes rule for the second of two persons, `by`, after `first` (the release's ask).
fn second_person(first: &Act, by: Confirmer<'_>, four_eyes: FourEyes) -> Result<(), Refusal> {
    if four_eyes == FourEyes::Off {
        return Ok(());
    }
    if !by.vouched_by.is_person() {
        return Err(Refusal::Forbidden(
            "four eyes: a hold is released by a signed-in person, not by a client acting as itself".to_owned(),
        ));
    }
    if four_eyes == FourEyes::Verified && by.vouched_by != Vouching::Provider {
        return Err(Refusal::Forbidden(
            "four eyes: a hold is released by a person the identity provider signed in".to_owned(),
        ));
    }
    if four_eyes == FourEyes::Verified && first.vouched_by != Vouching::Provider {
        return Err(Refusal::Forbidden(
            "four eyes: this release was not asked for by a person the identity provider signed in, so no second person can confirm it; withdraw it and ask again signed in"
                .to_owned(),
        ));
    }
    if same_person(first, by) {
        return Err(Refusal::Forbidden(
            "four eyes: a hold is released by another person than the one who asked for its release".to_owned(),
        ));
    }
    Ok(())
}

/// Whether `by` may ask for `hold`'s release now: an active hold; outside development
/// ([`FourEyes::Verified`]) the asker is a person the identity provider signed in (else no second
/// person could confirm it).
pub fn may_request_release(hold: &Hold, by: Confirmer<'_>, four_eyes: FourEyes, now: Timestamp) -> Result<(), Refusal> {
    in_state(hold, now, LegalHoldStatus::Active, "a release can be asked for")?;
    if four_eyes == FourEyes::Verified && by.vouched_by != Vouching::Provider {
        return Err(Refusal::Forbidden(
            "four eyes: a hold's release is asked for by a person the identity provider signed in".to_owned(),
        ));
    }
    Ok(())
}

/// Who asked for `hold`'s release, when the hold is `release_requested` at `now` (`what` names
/// the action refused otherwise).
fn asker<'h>(hold: &'h Hold, now: Timestamp, what: &str) -> Result<&'h Act, Refusal> {
    in_state(hold, now, LegalHoldStatus::ReleaseRequested, what)?;
    hold.release_requested
        .as_ref()
        .map(|asked| &asked.act)
        .ok_or_else(|| Refusal::Impossible(format!("hold {} is release_requested without who asked", hold.id)))
}

/// Whether `by` may confirm `hold`'s release now: its release asked for by another person
/// ([`FourEyes`] as for a FORGET's confirmation).
pub fn may_confirm_release(hold: &Hold, by: Confirmer<'_>, four_eyes: FourEyes, now: Timestamp) -> Result<(), Refusal> {
    second_person(asker(hold, now, "a release can be confirmed for")?, by, four_eyes)
}

/// Whether `by` may withdraw the ask for `hold`'s release now: only the person who asked.
pub fn may_withdraw(hold: &Hold, by: Confirmer<'_>, now: Timestamp) -> Result<(), Refusal> {
    if !same_person(asker(hold, now, "a release can be withdrawn for")?, by) {
        return Err(Refusal::Forbidden(
            "only the person who asked for the release may withdraw it".to_owned(),
        ));
    }
    Ok(())
}

fn act(by: Confirmer<'_>, now: Timestamp) -> Act {
    Act {
        by: by.actor.person.to_owned(),
        via: by.actor.caller.to_owned(),
        vouched_by: by.vouched_by,
        at: now,
    }
}

/// What an audit entry of `hold` says: its id, basis, the change and what vouched for the person;
/// never its subject, nor free text (its reference and reasons: the chain is never erased, they
/// are, with the hold's particulars).
fn detail(hold: &Hold, from: LegalHoldStatus, by: Confirmer<'_>) -> Value {
    json!({
        "hold": hold.id,
        "basis": hold.basis,
        "from": from,
        "to": hold.status,
        "vouchedBy": by.vouched_by.as_str(),
    })
}

/// The audit detail of a hold just placed by `by`.
pub fn placed_detail(hold: &Hold, by: Confirmer<'_>) -> Value {
    let mut detail = detail(hold, hold.status, by);
    if let Some(object) = detail.as_object_mut() {
        object.remove("from");
        object.insert("endsAt".to_owned(), json!(hold.ends_at));
        object.insert("window".to_owned(), json!(hold.window));
    }
    detail
}

/// What `POST …/release` does to `hold` now, by `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The first person asked: `release_requested`.
    Requested,
    /// The second person confirmed: `released`.
    Released,
}

impl Release {
    pub fn event(self) -> &'static str {
        match self {
            Self::Requested => "hold_release_requested",
            Self::Released => "hold_released",
        }
    }
}

/// `POST …/release` by `by` with `reason`: on an active hold the first person's ask, on a hold
/// whose release another person asked for its confirmation. Returns which, and the audit detail.
pub fn release(
    hold: &mut Hold,
    by: Confirmer<'_>,
    reason: String,
    four_eyes: FourEyes,
    now: Timestamp,
) -> Result<(Release, Value), Refusal> {
    let from = status_at(hold, now);
    let step = match from {
        LegalHoldStatus::Active => {
            may_request_release(hold, by, four_eyes, now)?;
            hold.status = LegalHoldStatus::ReleaseRequested;
            hold.release_requested = Some(ReleaseAct {
                act: act(by, now),
                reason: Some(reason),
            });
            Release::Requested
        }
        LegalHoldStatus::ReleaseRequested => {
            may_confirm_release(hold, by, four_eyes, now)?;
            hold.status = LegalHoldStatus::Released;
            hold.released = Some(ReleaseAct {
                act: act(by, now),
                reason: Some(reason),
            });
            Release::Released
        }
        LegalHoldStatus::Released | LegalHoldStatus::Ended => {
            return Err(Refusal::Conflict(format!(
                "this hold is {} already: nothing is left to release",
                from.as_str()
            )))
        }
    };
    hold.updated_at = now;
    let mut detail = detail(hold, from, by);
    if step == Release::Released {
        if let Some(object) = detail.as_object_mut() {
            object.insert("fourEyes".to_owned(), json!(four_eyes != FourEyes::Off));
        }
    }
    Ok((step, detail))
}

/// `POST …/release/withdraw` by `by`: the asker takes the ask back; the hold is active again.
/// Returns the audit detail.
pub fn withdraw(hold: &mut Hold, by: Confirmer<'_>, now: Timestamp) -> Result<Value, Refusal> {
    may_withdraw(hold, by, now)?;
    hold.status = LegalHoldStatus::Active;
    hold.release_requested = None;
    hold.updated_at = now;
    Ok(detail(hold, LegalHoldStatus::ReleaseRequested, by))
}

/// What `by` may do to `hold` at `now`: each action offered exactly when the rule its route
/// enforces accepts it. In [`LegalHoldAction`]'s order.
pub fn allowed_actions(hold: &Hold, by: Confirmer<'_>, four_eyes: FourEyes, now: Timestamp) -> Vec<LegalHoldAction> {
    [
        (
            LegalHoldAction::RequestRelease,
            may_request_release(hold, by, four_eyes, now).is_ok(),
        ),
        (
            LegalHoldAction::ConfirmRelease,
            may_confirm_release(hold, by, four_eyes, now).is_ok(),
        ),
        (LegalHoldAction::WithdrawRelease, may_withdraw(hold, by, now).is_ok()),
    ]
    .into_iter()
    .filter_map(|(action, allowed)| allowed.then_some(action))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Actor;
    use contracts::legal_hold::LegalBasis;
    use domain::gdpr::DataSubject;
    use uuid::Uuid;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
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

    const TOOL: Confirmer<'static> = Confirmer {
        actor: Actor {
            person: "dpo",
            name: None,
            caller: "dpo",
        },
        vouched_by: Vouching::Caller,
    };

    fn hold(ends_at: Option<Timestamp>) -> Hold {
        Hold {
            id: Uuid::now_v7(),
            status: LegalHoldStatus::Active,
            basis: LegalBasis::LegalClaims,
            particulars: Particulars::Kept {
                reference: "LIT-7".to_owned(),
                reason: "litigation".to_owned(),
                subject: DataSubject::default(),
            },
            window: None,
            ends_at,
            placed: Act {
                by: "carol".to_owned(),
                via: "console".to_owned(),
                vouched_by: Vouching::Provider,
                at: at("2026-11-01T10:00:00Z"),
            },
            release_requested: None,
            released: None,
            updated_at: at("2026-11-01T10:00:00Z"),
            version: 0,
        }
    }

    const NOW: &str = "2026-11-21T10:00:00Z";

    #[test]
    fn a_release_takes_two_persons_and_the_asker_cannot_confirm() {
        let now = at(NOW);
        let (alice, bob) = (person("alice", Vouching::Provider), person("bob", Vouching::Provider));
        let mut h = hold(None);
        let (step, detail) = release(&mut h, alice, "settled".to_owned(), FourEyes::Verified, now).unwrap();
        assert_eq!(
            (step, h.status),
            (Release::Requested, LegalHoldStatus::ReleaseRequested)
        );
        assert_eq!(detail["from"], "active");
        assert_eq!(detail["to"], "release_requested");
        assert!(detail.get("reference").is_none(), "{detail}");
        let before = h.clone();
        let refused = release(&mut h, alice, "again".to_owned(), FourEyes::Verified, now);
        assert!(
            matches!(&refused, Err(Refusal::Forbidden(r)) if r.contains("another person")),
            "{refused:?}"
        );
        // The same name, vouched for by a development header, is not alice either way.
        let named = person("alice", Vouching::DevelopmentHeader);
        assert!(matches!(
            release(&mut h, named, "x".to_owned(), FourEyes::Verified, now),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(h, before, "a refusal changes nothing");
        let (step, _) = release(&mut h, bob, "settled".to_owned(), FourEyes::Verified, now).unwrap();
        assert_eq!((step, h.status), (Release::Released, LegalHoldStatus::Released));
        assert_eq!(released_at(&h, now), Some(now));
        assert!(matches!(
            release(&mut h, alice, "x".to_owned(), FourEyes::Verified, now),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn outside_development_both_persons_are_signed_in_by_the_provider() {
        let now = at(NOW);
        for asker in [TOOL, person("alice", Vouching::DevelopmentHeader)] {
            let mut h = hold(None);
            assert!(matches!(
                release(&mut h, asker, "x".to_owned(), FourEyes::Verified, now),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(h.status, LegalHoldStatus::Active);
        }
        // Asked in development by the tool itself, a named person confirms there, nobody here.
        let mut h = hold(None);
        release(&mut h, TOOL, "x".to_owned(), FourEyes::Named, now).unwrap();
        assert!(matches!(
            may_confirm_release(&h, person("bob", Vouching::Provider), FourEyes::Verified, now),
            Err(Refusal::Forbidden(r)) if r.contains("not asked for by a person")
        ));
        assert!(matches!(
            may_confirm_release(&h, TOOL, FourEyes::Named, now),
            Err(Refusal::Forbidden(r)) if r.contains("client acting as itself")
        ));
        may_confirm_release(&h, person("dpo", Vouching::DevelopmentHeader), FourEyes::Named, now).unwrap();
        may_confirm_release(&h, TOOL, FourEyes::Off, now).unwrap();
    }

    #[test]
    fn only_the_asker_withdraws_and_the_hold_is_active_again() {
        let now = at(NOW);
        let (alice, bob) = (person("alice", Vouching::Provider), person("bob", Vouching::Provider));
        let mut h = hold(None);
        assert!(matches!(withdraw(&mut h, alice, now), Err(Refusal::Conflict(_))));
        release(&mut h, alice, "x".to_owned(), FourEyes::Verified, now).unwrap();
        assert!(matches!(withdraw(&mut h, bob, now), Err(Refusal::Forbidden(_))));
        let detail = withdraw(&mut h, alice, now).unwrap();
        assert_eq!(
            (detail["from"].as_str(), detail["to"].as_str()),
            (Some("release_requested"), Some("active"))
        );
        assert_eq!(h.status, LegalHoldStatus::Active);
        assert_eq!(h.release_requested, None);
    }

    #[test]
    fn a_hold_past_its_end_is_ended_and_nothing_more_can_be_done() {
        let ends = at("2026-11-21T10:00:00Z");
        let mut h = hold(Some(ends));
        let alice = person("alice", Vouching::Provider);
        assert_eq!(status_at(&h, at("2026-11-21T09:59:59Z")), LegalHoldStatus::Active);
        assert_eq!(status_at(&h, ends), LegalHoldStatus::Ended);
        assert_eq!(released_at(&h, ends), Some(ends));
        release(
            &mut h,
            alice,
            "x".to_owned(),
            FourEyes::Verified,
            at("2026-11-21T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(status_at(&h, ends), LegalHoldStatus::Ended);
        let bob = person("bob", Vouching::Provider);
        assert!(matches!(
            release(&mut h, bob, "x".to_owned(), FourEyes::Verified, ends),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(withdraw(&mut h, alice, ends), Err(Refusal::Conflict(_))));
        assert!(allowed_actions(&h, alice, FourEyes::Off, ends).is_empty());
    }

    #[test]
    fn the_actions_offered_are_the_ones_each_rule_accepts_in_every_mode() {
        let now = at(NOW);
        let people = [
            person("alice", Vouching::Provider),
            person("bob", Vouching::Provider),
            person("bob", Vouching::DevelopmentHeader),
            TOOL,
        ];
        let mut holds = vec![hold(None), hold(Some(now))];
        for asker in people {
            for ends_at in [None, Some(now)] {
                let mut h = hold(ends_at);
                h.status = LegalHoldStatus::ReleaseRequested;
                h.release_requested = Some(ReleaseAct {
                    act: act(asker, at("2026-11-20T10:00:00Z")),
                    reason: Some("x".to_owned()),
                });
                holds.push(h.clone());
                h.status = LegalHoldStatus::Released;
                holds.push(h);
            }
        }
        for h in holds {
            for four_eyes in [FourEyes::Off, FourEyes::Named, FourEyes::Verified] {
                for by in people {
                    let offered = allowed_actions(&h, by, four_eyes, now);
                    let released = release(&mut h.clone(), by, "x".to_owned(), four_eyes, now);
                    let accepted: Vec<LegalHoldAction> = [
                        (
                            LegalHoldAction::RequestRelease,
                            matches!(released, Ok((Release::Requested, _))),
                        ),
                        (
                            LegalHoldAction::ConfirmRelease,
                            matches!(released, Ok((Release::Released, _))),
                        ),
                        (
                            LegalHoldAction::WithdrawRelease,
                            withdraw(&mut h.clone(), by, now).is_ok(),
                        ),
                    ]
                    .into_iter()
                    .filter_map(|(action, ok)| ok.then_some(action))
                    .collect();
                    assert_eq!(offered, accepted, "{:?} {four_eyes:?} {:?}", h.status, by.actor.person);
                }
            }
        }
    }

    #[test]
    fn particulars_are_erased_only_past_the_retention_after_the_hold_stopped_and_once() {
        let now = at(NOW);
        let cutoff = at("2026-11-10T00:00:00Z");
        // In force: never, however old.
        let mut active = hold(None);
        assert_eq!(erase_particulars(&mut active, cutoff, now), None);
        // Ended after the cutoff: not yet; ended before it: erased, the reasons with it.
        let mut recent = hold(Some(at("2026-11-15T00:00:00Z")));
        assert_eq!(erase_particulars(&mut recent, cutoff, now), None);
        let mut old = hold(None);
        let (alice, bob) = (person("alice", Vouching::Provider), person("bob", Vouching::Provider));
        release(
            &mut old,
            alice,
            "settled".to_owned(),
            FourEyes::Verified,
            at("2026-11-02T10:00:00Z"),
        )
        .unwrap();
        release(
            &mut old,
            bob,
            "agreed".to_owned(),
            FourEyes::Verified,
            at("2026-11-03T10:00:00Z"),
        )
        .unwrap();
        let detail = erase_particulars(&mut old, cutoff, now).expect("due");
        assert_eq!(old.particulars, Particulars::Erased { at: now });
        assert_eq!(old.release_requested.as_ref().unwrap().reason, None);
        assert_eq!(old.released.as_ref().unwrap().reason, None);
        assert!(detail.get("reference").is_none(), "{detail}");
        assert!(["LIT-7", "litigation", "settled"]
            .iter()
            .all(|t| !detail.to_string().contains(t)));
        // Once.
        assert_eq!(erase_particulars(&mut old, cutoff, now), None);
    }
}
