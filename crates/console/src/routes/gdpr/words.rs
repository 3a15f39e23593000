//! A GDPR request as a data protection officer says it: its type, its state with what happens
//! next, the systems and categories its counts are about, its participants' steps and its audit
//! trail's events, in plain words. Only words: what may be done next is the orchestrator's
//! answer (`allowedActions`), never decided here.

use crate::bank_time::BankTime;
use contracts::gdpr::{AllowedAction, AuditEntry, GdprRequest, RequestStatus, RequestType, StepState};
use contracts::participant::{ConflictAt, HandleKind, ParticipantAction, ValueSide};
use domain::Timestamp;
use serde::Deserialize;

/// `Forget (Art. 17)`.
pub(super) const fn kind(kind: RequestType) -> &'static str {
    match kind {
        RequestType::Export => "Export (Art. 15)",
        RequestType::Forget => "Forget (Art. 17)",
        RequestType::UndoForget => "Undo of a forget",
        RequestType::Restrict => "Restriction (Art. 18)",
        RequestType::LiftRestriction => "Lift of a restriction",
        RequestType::Rectify => "Rectification (Art. 16)",
    }
}

/// The confirm button of a request of type `kind`: what the second person confirms.
pub(super) const fn confirm_label(kind: RequestType) -> &'static str {
    match kind {
        RequestType::Rectify => "Confirm the correction",
        RequestType::LiftRestriction => "Confirm the lift",
        RequestType::Forget => "Confirm the erasure",
        // Never offered a confirmation (the orchestrator's rules): plain words all the same.
        RequestType::Export | RequestType::UndoForget | RequestType::Restrict => "Confirm",
    }
}

/// Whether the requester's verification is what stands before the next step for the person
/// asking: not recorded, theirs to record, and neither confirm nor download offered (the
/// orchestrator's `allowedActions`; with `gdpr.requester_verification = "required"` nothing is
/// confirmed or downloaded before it).
fn verification_first(request: &GdprRequest) -> bool {
    request.requester_verification.is_none()
        && request.allows(AllowedAction::RecordVerification)
        && !request.allows(AllowedAction::Confirm)
        && !request.allows(AllowedAction::Download)
}

/// A request's state in a few words (`In the grace period`), as lists and headings show it.
pub(super) const fn status(status: RequestStatus, count_only: bool) -> &'static str {
    match status {
        RequestStatus::Received => "Received",
        RequestStatus::Blocked => "Waiting for a system",
        RequestStatus::Counting => "Counting",
        RequestStatus::AwaitingConfirmation => "Awaiting confirmation",
        RequestStatus::Exporting => "Exporting",
        RequestStatus::Forgetting => "Hiding",
        RequestStatus::InGrace => "In the grace period",
        RequestStatus::Purging => "Erasing",
        RequestStatus::Undoing => "Undoing",
        RequestStatus::Completed if count_only => "Counted",
        RequestStatus::Completed => "Done",
        RequestStatus::CompletedWithRetention => "Erased, some kept",
        RequestStatus::Undone => "Undone",
        RequestStatus::Cancelled => "Cancelled",
        RequestStatus::UndoRequested => "Being undone",
        RequestStatus::Expired => "Expired unconfirmed",
        RequestStatus::Restricting => "Restricting",
        RequestStatus::Restricted => "Restricted",
        RequestStatus::Lifted => "Lifted",
        RequestStatus::Rectifying => "Correcting",
    }
}

/// What happens next to `request`, or what its state means, in a sentence; times in the bank's
/// zone. When the requester's verification stands before the next step, it is said first.
pub(super) fn next(request: &GdprRequest, time: &BankTime) -> String {
    let state = state_next(request, time);
    let first = match (request.status, request.request_type) {
        _ if !verification_first(request) => None,
        (RequestStatus::AwaitingConfirmation, RequestType::Forget | RequestType::Rectify) => {
            Some("Record how the requester was verified first; then another data protection officer can confirm it.")
        }
        (RequestStatus::Completed, RequestType::Export) if !request.count_only => {
            Some("Record how the requester was verified first; then the export can be downloaded.")
        }
        _ => None,
    };
    match first {
        Some(first) => format!("{first} {state}"),
        None => state,
    }
}

/// What `request`'s state means, and what follows it.
fn state_next(request: &GdprRequest, time: &BankTime) -> String {
    let kind = request.request_type;
    match request.status {
        RequestStatus::Received => "Received: the orchestrator starts on it within moments.".to_owned(),
        RequestStatus::Blocked => {
            "A system it needs was not ready: the orchestrator tries again by itself.".to_owned()
        }
        RequestStatus::Counting => "Each system is counting what it holds of the subject.".to_owned(),
        RequestStatus::AwaitingConfirmation => match kind {
            RequestType::LiftRestriction => {
                "Another data protection officer must confirm the lift; until then the data stays hidden.".to_owned()
            }
            RequestType::Rectify => {
                "Another data protection officer must confirm it; until then nothing is corrected.".to_owned()
            }
            _ => "Another data protection officer must confirm it; until then nothing is hidden or erased.".to_owned(),
        },
        RequestStatus::Exporting => "Each system is collecting the subject's data for the export.".to_owned(),
        RequestStatus::Forgetting => {
            "Each system is hiding the subject's data; the grace period follows, then the erasure.".to_owned()
        }
        RequestStatus::InGrace => match request.purge_after {
            Some(at) => format!("Erased on {}; can be undone until then.", time.at(at)),
            None => {
                // Off the contract (a confirmed FORGET always has one): said, and reported.
                tracing::error!(gdpr_request_id = %request.id, "a request in its grace period has no purge time");
                "In the grace period, but the orchestrator's answer gives no time for the erasure: report this.".to_owned()
            }
        },
        RequestStatus::Purging => "Each system is erasing the subject's data.".to_owned(),
        RequestStatus::Undoing => "Each system is showing again what the forget hid.".to_owned(),
        RequestStatus::Completed if request.count_only => {
            "Counted only: nothing was exported, hidden or erased.".to_owned()
        }
        RequestStatus::Completed => match kind {
            RequestType::Export => "The subject's data was collected from every system.".to_owned(),
            RequestType::Forget if request.to_erase_elsewhere() > 0 => {
                "Erased in every system of ccbridge. The copies listed under Elsewhere are the bank's to erase.".to_owned()
            }
            RequestType::Forget => "Erased in every system of ccbridge.".to_owned(),
            RequestType::UndoForget => "The forget it undid shows everything again; nothing was erased.".to_owned(),
            RequestType::Restrict => "Restricted: hidden everywhere, nothing erased.".to_owned(),
            RequestType::LiftRestriction => "The restriction is lifted: everything it hid shows again.".to_owned(),
            RequestType::Rectify if !not_applied_lines(request).is_empty() => {
                "Corrected, but not everywhere: a value someone else came to hold after the count was left as it was where they hold it (see What was not corrected); the records the communication-history-manager holds that were corrected are sent to it again."
                    .to_owned()
            }
            RequestType::Rectify if !request.kept_unchanged().is_empty() => {
                "Corrected, but for what a legal hold or a statutory rule keeps as evidence, left as it was (see What stays as it was; where Genesys Cloud is listed there, correct the subject there by hand once the hold or the rule has ended); the records the communication-history-manager holds that were corrected are sent to it again."
                    .to_owned()
            }
            RequestType::Rectify => {
                "Corrected in every system of ccbridge and in Genesys Cloud; the records the communication-history-manager holds are sent to it again, corrected (see Deliveries)."
                    .to_owned()
            }
        },
        RequestStatus::CompletedWithRetention => {
            "Erased, but for what a legal hold or a statutory retention keeps (hidden meanwhile, still exported): see Kept under Systems. That is erased when the hold or the retention ends.".to_owned()
        }
        RequestStatus::Undone => "Undone within the grace period: nothing was erased, everything shows again.".to_owned(),
        RequestStatus::Cancelled => "Cancelled by an undo before it was confirmed: nothing was hidden or erased.".to_owned(),
        RequestStatus::UndoRequested => "An undo is showing the data again: it will not be erased.".to_owned(),
        RequestStatus::Expired => match kind {
            RequestType::LiftRestriction => {
                "Nobody confirmed the lift in time: the restriction stays.".to_owned()
            }
            RequestType::Rectify => {
                "Nobody confirmed it in time: nothing was corrected. File it again if it still stands.".to_owned()
            }
            _ => "Nobody confirmed it in time: nothing was hidden or erased. File it again if it still stands.".to_owned(),
        },
        RequestStatus::Restricting => "Each system is hiding the subject's data; nothing is erased.".to_owned(),
        RequestStatus::Restricted => {
            "Hidden everywhere, nothing erased, still exported, until a lift is filed and confirmed by another data protection officer.".to_owned()
        }
        RequestStatus::Lifted => "Lifted: everything it hid shows again.".to_owned(),
        RequestStatus::Rectifying => {
            "Each system is correcting the subject's data; Genesys Cloud and the communication-history-manager are updated too."
                .to_owned()
        }
    }
}

/// A phase of the participants' work: `count` → `Counted`.
pub(super) const fn phase(phase: ParticipantAction) -> &'static str {
    match phase {
        ParticipantAction::Count => "Counted",
        ParticipantAction::Export => "Exported",
        ParticipantAction::Forget => "Hidden",
        ParticipantAction::Purge => "Erased",
        ParticipantAction::Restrict => "Restricted",
        ParticipantAction::Rectify => "Corrected",
        ParticipantAction::Undo => "Shown again",
    }
}

/// A participant as the bank knows the system.
pub(super) fn system(participant: &str) -> &str {
    match participant {
        "comm-history-writer" => "Communication history",
        "interaction-pairing" => "Customer pairings",
        "result-ingest" => "Contact-center results",
        "genesys-gateway" | "genesys-cloud" => "Genesys Cloud",
        other => other,
    }
}

/// The categories in the order a table shows them: the customer's own data first, then what
/// is about an agent, then the bookkeeping around it. Others follow, by name.
const CATEGORY_ORDER: [&str; 10] = [
    "communications",
    "webhookResults",
    "pairings",
    "pendingAssignments",
    "suggestions",
    "genesysSubjects",
    "agentCommunications",
    "agentWebhookResults",
    "communicationHistoryManagerDeliveries",
    "genesysRequests",
];

/// Where `category` stands among the columns of a count table.
pub(super) fn category_rank(category: &str) -> (usize, &str) {
    let rank = CATEGORY_ORDER
        .iter()
        .position(|known| *known == category)
        .unwrap_or(CATEGORY_ORDER.len());
    (rank, category)
}

/// A category of data: `agentCommunications` → `Communications as the agent`.
pub(super) fn category(category: &str) -> &str {
    match category {
        "communications" => "Communications",
        "agentCommunications" => "Communications as the agent",
        "communicationHistoryManagerDeliveries" => "Deliveries to the history manager",
        "pairings" => "Pairings with customers",
        "pendingAssignments" => "Assignments waiting",
        "suggestions" => "Suggested customers",
        "webhookResults" => "Contact-center results",
        "agentWebhookResults" => "Contact-center results as the agent",
        "genesysSubjects" => "People in Genesys Cloud",
        "genesysRequests" => "Requests to Genesys Cloud",
        other => other,
    }
}

/// One line of a RECTIFY's rows kept as evidence: `{system}, {category}: {n} kept as it was, {why}`.
/// Counts and the basis only, never a value.
pub(super) fn kept_unchanged(participant: &str, kept: &contracts::legal_hold::Retained) -> String {
    use contracts::legal_hold::LegalBasis;
    let why = match kept.basis {
        LegalBasis::LegalClaims => "held for legal claims (Art. 17(3)(e))",
        LegalBasis::LegalObligation => "kept under a legal obligation of the bank (Art. 17(3)(b), e.g. MiFID II)",
        LegalBasis::AuthorityRequest => "kept at a competent authority's request",
    };
    format!(
        "{}, {}: {} kept as it was, {why}",
        system(participant),
        category(&kept.category),
        kept.count
    )
}

/// A RECTIFY's rows kept as evidence, one line each ([`kept_unchanged`]): what its rectify left,
/// or before it ran what its count says the correction would leave.
pub(super) fn unchanged_lines(request: &contracts::gdpr::GdprRequest) -> Vec<String> {
    request
        .kept_unchanged()
        .into_iter()
        .map(|(participant, kept)| kept_unchanged(participant, kept))
        .collect()
}

/// A RECTIFY's conflicts, one sentence a field of its correction (`/replacement/phoneNumbers/0/to`):
/// who else holds the value, counted, never named. While there is one the orchestrator offers no
/// confirmation.
pub(super) fn conflict_lines(request: &GdprRequest) -> Vec<String> {
    request
        .conflicts
        .iter()
        .flatten()
        .map(|(pointer, n)| conflict(pointer, *n))
        .collect()
}

/// Whether a RECTIFY awaiting confirmation was counted without the check of who else holds its
/// values (by a system of a version before it): the orchestrator then offers no confirmation
/// until it is filed, and so counted, again.
pub(super) fn not_counted(request: &GdprRequest) -> bool {
    request.request_type == RequestType::Rectify
        && request.status == RequestStatus::AwaitingConfirmation
        && request.conflicts.is_none()
}

/// `phone number 1`: the field a conflict's pointer names (filed, `/replacement/…`, or as a
/// participant was sent it), in words; `None` when it names none.
fn field_of(pointer: &str) -> Option<(ConflictAt, String)> {
    let at = ConflictAt::parse(pointer.strip_prefix("/replacement").unwrap_or(pointer))?;
    let what = match at.kind {
        HandleKind::PhoneNumber => "phone number",
        HandleKind::EmailAddress => "e-mail address",
    };
    Some((at, format!("{what} {}", at.index + 1)))
}

/// One conflict in a sentence: `The new value of phone number 1 is already held by …`.
fn conflict(pointer: &str, n: u64) -> String {
    let Some((at, place)) = field_of(pointer) else {
        return format!("A value of the correction ({pointer}) is held by {n} other rows or people.");
    };
    let plural = n != 1;
    if at.side == ValueSide::From {
        let people = if plural { "other people" } else { "other person" };
        format!(
            "The old value of {place} is held by {n} {people} in Genesys Cloud too (a shared line or address): Genesys Cloud would correct it for them as well, which cannot be undone."
        )
    } else {
        let holders = if plural { "rows or people" } else { "row or person" };
        format!(
            "The new value of {place} is already held by {n} {holders} not the subject's: after the correction, a request by that value would reach the subject's data too."
        )
    }
}

/// A RECTIFY's rows its subject's handles found that the bank attributed to a customer the
/// request does not name (its count's `leftOut`), one line a system and category: the
/// correction leaves them with the old value.
pub(super) fn left_with_the_old_value(request: &GdprRequest) -> Vec<String> {
    if request.request_type != RequestType::Rectify {
        return Vec::new();
    }
    request
        .participants
        .iter()
        .flatten()
        .filter(|step| step.phase == ParticipantAction::Count)
        .flat_map(|step| {
            step.left_out.iter().map(|(c, n)| {
                format!(
                    "{}, {}: {n} found by the old value belong to a customer the request does not name, and keep it",
                    system(&step.participant),
                    category(c)
                )
            })
        })
        .collect()
}

/// A RECTIFY's replacements its rectify did not apply in a system, one sentence each: after the
/// count, that system found the value held by someone else (a neighbour's record on the new
/// number), checked again as it wrote, so the subject's rows there keep the old value.
pub(super) fn not_applied_lines(request: &GdprRequest) -> Vec<String> {
    request
        .participants
        .iter()
        .flatten()
        .filter(|step| step.phase == ParticipantAction::Rectify)
        .flat_map(|step| {
            step.conflicts
                .iter()
                .flatten()
                .filter(|(_, n)| **n > 0)
                .map(|(pointer, &n)| not_applied(&step.participant, pointer, n))
        })
        .collect()
}

/// One replacement not applied: `Phone number 1 was not corrected in Communication history: …`.
fn not_applied(participant: &str, pointer: &str, n: u64) -> String {
    let system = system(participant);
    let Some((at, place)) = field_of(pointer) else {
        return format!("A value ({pointer}) was not corrected in {system}: it is held by {n} other rows or people.");
    };
    let mut place = place;
    place[..1].make_ascii_uppercase();
    let (value, holders) = match (at.side, n != 1) {
        (ValueSide::From, true) => ("old", "other people hold it there too"),
        (ValueSide::From, false) => ("old", "other person holds it there too"),
        (ValueSide::To, true) => ("new", "rows or people not the subject's hold it there now"),
        (ValueSide::To, false) => ("new", "row or person not the subject's holds it there now"),
    };
    format!(
        "{place} was not corrected in {system}: when the correction was applied, {n} {holders} (its {value} value; \
         checked again after the count). The subject's rows there keep the old value; check the value with the subject \
         and file a new request if it stands."
    )
}

/// A participant's step state.
pub(super) const fn step_state(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "Waiting",
        StepState::Running => "Working",
        StepState::Done => "Done",
        StepState::PendingExternal => "Waiting for Genesys Cloud",
        StepState::Failed => "Failed (retried)",
    }
}

/// `status_changed`'s detail.
#[derive(Deserialize)]
struct StatusChanged {
    to: RequestStatus,
}

/// `step`'s detail.
#[derive(Deserialize)]
struct StepChanged {
    phase: ParticipantAction,
    participant: String,
    state: StepState,
}

/// What an entry that records the requester gate (`confirmed`, `bundle_downloaded`,
/// `answer_viewed`) says of it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Gate {
    requester_verified: Option<bool>,
}

/// `what` with ` (requester's identity not recorded)` when the entry says it was not; entries
/// from before the gate say nothing of it; one whose detail is off its shape is flagged.
fn gated(what: &str, entry: &AuditEntry) -> String {
    match serde_json::from_value::<Gate>(entry.detail.clone()) {
        Ok(Gate {
            requester_verified: Some(false),
        }) => format!("{what} (requester's identity not recorded)"),
        Ok(Gate {
            requester_verified: Some(true),
        }) => format!("{what} (requester's identity recorded)"),
        Ok(Gate {
            requester_verified: None,
        }) => what.to_owned(),
        Err(_) => off_contract(entry),
    }
}

/// An entry whose detail is off the shape its event has: its event's name, flagged, and logged
/// (the name and the entry's id only).
fn off_contract(entry: &AuditEntry) -> String {
    tracing::warn!(audit_entry = %entry.id, event = %entry.event, "an audit entry's detail is off its event's shape");
    format!("{} (its detail could not be read)", readable(&entry.event))
}

/// `answer_sent_by_post` → `Answer sent by post`.
fn readable(event: &str) -> String {
    let words = event.replace('_', " ");
    let mut letters = words.chars();
    letters
        .next()
        .map(|first| first.to_uppercase().chain(letters).collect())
        .unwrap_or_default()
}

/// An audit entry's event in a sentence: `Status: In the grace period`.
pub(super) fn event(entry: &AuditEntry, count_only: bool) -> String {
    let detail = || entry.detail.clone();
    match entry.event.as_str() {
        "received" => "Filed".to_owned(),
        "confirmed" => gated("Confirmed", entry),
        "confirmation_refused" => "Confirmation refused".to_owned(),
        "deadline_extended" => "Deadline extended".to_owned(),
        "bundle_downloaded" => gated("Export downloaded", entry),
        "answer_viewed" => gated("The subject's answer read", entry),
        "identifiers_erased" => "The request's own identifiers erased".to_owned(),
        "lift_requested" => "Lift asked for".to_owned(),
        "requester_verified" => "Requester's identity recorded".to_owned(),
        "verification_refused" => "Requester's identity refused".to_owned(),
        "completed" => "Answered".to_owned(),
        "completed_with_retention" => "Answered, some data kept".to_owned(),
        "expired" => "Expired unconfirmed".to_owned(),
        "retention_ended" => "What was kept is erased now".to_owned(),
        "hold_placed" => "Hold placed".to_owned(),
        "hold_release_requested" => "Release asked for".to_owned(),
        "hold_release_withdrawn" => "Ask to release withdrawn".to_owned(),
        "hold_release_refused" => "Release refused".to_owned(),
        "hold_withdraw_refused" => "Withdrawal refused".to_owned(),
        "hold_released" => "Released".to_owned(),
        "hold_particulars_erased" => "The hold's particulars erased".to_owned(),
        "status_changed" => match serde_json::from_value::<StatusChanged>(detail()) {
            Ok(change) => format!("Now: {}", status(change.to, count_only)),
            Err(_) => off_contract(entry),
        },
        "step" => match serde_json::from_value::<StepChanged>(detail()) {
            Ok(step) => format!(
                "{}: {} ({})",
                system(&step.participant),
                step_state(step.state),
                phase(step.phase).to_lowercase()
            ),
            Err(_) => off_contract(entry),
        },
        // An event this console does not know yet: its name, readable.
        other => readable(other),
    }
}

/// `7 Dec 2026 at 10:00 CET (due in 12 days)`, or `(overdue by 3 days)`: a deadline with the time
/// left while the request is unanswered (the contract's `is_answered`); answered, the date alone.
pub(super) fn due(request: &GdprRequest, time: &BankTime, now: Timestamp) -> String {
    if request.status.is_answered() {
        time.at(request.due_at)
    } else {
        format!(
            "{} ({})",
            time.at(request.due_at),
            crate::bank_time::due(now, request.due_at)
        )
    }
}

#[cfg(test)]
mod tests {
    use contracts::gdpr::AuditEntry;

    fn entry(event: &str, detail: serde_json::Value) -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::nil(),
            request_id: uuid::Uuid::nil(),
            at: domain::Timestamp::now(),
            actor: "orchestrator".to_owned(),
            actor_name: None,
            caller: None,
            event: event.to_owned(),
            detail,
        }
    }

    #[test]
    fn a_conflict_reads_as_a_sentence_naming_the_field_and_the_count() {
        assert_eq!(
            super::conflict("/replacement/phoneNumbers/0/to", 2),
            "The new value of phone number 1 is already held by 2 rows or people not the subject's: after the correction, a request by that value would reach the subject's data too."
        );
        assert_eq!(
            super::conflict("/replacement/emailAddresses/1/from", 1),
            "The old value of e-mail address 2 is held by 1 other person in Genesys Cloud too (a shared line or address): Genesys Cloud would correct it for them as well, which cannot be undone."
        );
    }

    #[test]
    fn a_replacement_a_rectify_did_not_apply_reads_as_a_sentence_naming_the_system_and_field() {
        assert_eq!(
            super::not_applied("comm-history-writer", "/phoneNumbers/0/to", 1),
            "Phone number 1 was not corrected in Communication history: when the correction was applied, 1 row or \
             person not the subject's holds it there now (its new value; checked again after the count). The subject's \
             rows there keep the old value; check the value with the subject and file a new request if it stands."
        );
        assert!(
            super::not_applied("genesys-cloud", "/emailAddresses/1/from", 2).starts_with(
                "E-mail address 2 was not corrected in Genesys Cloud: when the correction was applied, 2 other people"
            )
        );
    }

    /// "Never checked" (no `conflicts`) is said only of a RECTIFY awaiting confirmation; `{}` is
    /// "checked, nothing found".
    #[test]
    fn a_rectify_awaiting_confirmation_without_its_check_is_said_not_counted() {
        let request = |kind: &str, status: &str, conflicts: Option<serde_json::Value>| {
            let mut wire = serde_json::json!({
                "id": uuid::Uuid::nil(), "type": kind, "status": status, "countOnly": false,
                "reference": "CASE-16", "requestedBy": "dana", "requestedVia": "console",
                "receivedAt": "2026-12-01T10:00:00Z", "dueAt": "2027-01-01T10:00:00Z", "overdue": false,
                "extensionMonths": 0, "counts": {}, "allowedActions": [],
            });
            if let Some(conflicts) = conflicts {
                wire["conflicts"] = conflicts;
            }
            serde_json::from_value::<contracts::gdpr::GdprRequest>(wire).unwrap()
        };
        assert!(super::not_counted(&request("RECTIFY", "awaiting_confirmation", None)));
        let none_found = request("RECTIFY", "awaiting_confirmation", Some(serde_json::json!({})));
        assert!(!super::not_counted(&none_found));
        assert!(super::conflict_lines(&none_found).is_empty());
        assert!(!super::not_counted(&request("RECTIFY", "counting", None)));
        assert!(!super::not_counted(&request("FORGET", "awaiting_confirmation", None)));
    }

    #[test]
    fn an_audit_event_reads_as_a_sentence() {
        let said = |event: &str, detail| super::event(&entry(event, detail), false);
        assert_eq!(said("received", serde_json::json!({})), "Filed");
        assert_eq!(
            said(
                "status_changed",
                serde_json::json!({ "from": "forgetting", "to": "in_grace" })
            ),
            "Now: In the grace period"
        );
        assert_eq!(
            said(
                "step",
                serde_json::json!({ "phase": "purge", "participant": "comm-history-writer", "state": "done" })
            ),
            "Communication history: Done (erased)"
        );
        // One the console does not know yet: its name, readable; a detail off its shape: the event.
        assert_eq!(
            said("answer_sent_by_post", serde_json::json!({})),
            "Answer sent by post"
        );
        assert_eq!(
            said("status_changed", serde_json::json!({ "to": 7 })),
            "Status changed (its detail could not be read)"
        );
        // What the requester gate said at the confirmation, when it said it.
        assert_eq!(
            said("confirmed", serde_json::json!({ "requesterVerified": false })),
            "Confirmed (requester's identity not recorded)"
        );
        assert_eq!(
            said("bundle_downloaded", serde_json::json!({ "requesterVerified": true })),
            "Export downloaded (requester's identity recorded)"
        );
        assert_eq!(
            said("confirmed", serde_json::json!({ "from": "awaiting_confirmation" })),
            "Confirmed"
        );
    }
}
