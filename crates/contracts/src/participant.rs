//! The GDPR participant contract: what gdpr-orchestrator asks of every service holding personal
//! data (interaction-pairing, result-ingest, comm-history-writer, genesys-gateway), and what each
//! answers. The participants serve it through `gdpr_participant` (genesys-gateway on its own
//! routes); the orchestrator calls it with [`crate::Client`].
//!
//! - `POST /internal/gdpr/requests/{requestId}/{action}` ([`call_path`]) with a
//!   [`ParticipantCall`] → [`ParticipantReport`];
//! - `GET /internal/gdpr/requests/{requestId}` ([`status_path`], with [`StatusQuery`]) → the
//!   request's [`ParticipantReport`] here.
//!
//! Every call is signed by the orchestrator (`Ccbridge-Gdpr-Signature`, see
//! `gdpr_participant::signature`) and keyed by its request id.

use crate::legal_hold::{LegalBasis, Retained, TimeWindow};
use domain::gdpr::DataSubject;
use domain::{InteractionId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The route of a call, as the participants mount it.
pub const CALL_ROUTE: &str = "/internal/gdpr/requests/{requestId}/{action}";
/// The route of a request's status, as the participants mount it.
pub const STATUS_ROUTE: &str = "/internal/gdpr/requests/{requestId}";

/// The path of `action` on `request_id`.
pub fn call_path(request_id: Uuid, action: ParticipantAction) -> String {
    format!("/internal/gdpr/requests/{request_id}/{}", action.as_str())
}

/// The path of `request_id`'s status.
pub fn status_path(request_id: Uuid) -> String {
    format!("/internal/gdpr/requests/{request_id}")
}

/// What gdpr-orchestrator asks a participant to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantAction {
    /// What would be exported or erased, per category; changes nothing.
    Count,
    /// The subject's data.
    Export,
    /// Hide the subject's data at once (no read path returns it); purge comes later.
    Forget,
    /// Restore what the forget hid, while it is not purged.
    Undo,
    /// Delete what the forget hid, irreversibly; report what is left (zero, but for what a
    /// retention keeps: [`ParticipantReport::retained`]).
    Purge,
    /// Hide the subject's data as a forget does (GDPR Art. 18 restriction), erasing nothing and
    /// suppressing nothing that comes later; still exported. Lifted by `undo` under the same
    /// request id.
    Restrict,
    /// Apply the call's [`Rectification`] (GDPR Art. 16) to the subject's data: replace a handle
    /// (everywhere it is stored, and what is keyed by it), or re-attribute named interactions to
    /// the right customer. Nothing is hidden; applying it again changes nothing more.
    Rectify,
}

impl ParticipantAction {
    pub const ALL: [Self; 7] = [
        Self::Count,
        Self::Export,
        Self::Forget,
        Self::Undo,
        Self::Purge,
        Self::Restrict,
        Self::Rectify,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Export => "export",
            Self::Forget => "forget",
            Self::Undo => "undo",
            Self::Purge => "purge",
            Self::Restrict => "restrict",
            Self::Rectify => "rectify",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == input)
    }
}

/// The body of every participant call.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantCall {
    pub subject: DataSubject,
    /// When the forget was confirmed: webhook results from before it are suppressed. The
    /// orchestrator always sends it with a forget; a forget without it counts from the time of
    /// the call, which is later and so suppresses at least as much (never less erasure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgotten_at: Option<Timestamp>,
    /// What the participant answered before for this request (a Genesys request id), so a
    /// repeated call follows the same external work instead of starting another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// A purge's: what must not be erased ([`Retention`]); the rows of the request's that one of
    /// them covers stay hidden (restricted) instead, and are counted in the report's `retained`.
    /// The orchestrator sends every retention in force with each purge, and purges again when
    /// one ends. A RECTIFY's count and rectify carry them too: what they cover is evidence, left
    /// as it was (`keptUnchanged`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retain: Vec<Retention>,
    /// A purge's: the statutory retention rules in force ([`StatutoryRule`]); a communication
    /// record one of them covers is kept hidden until the rule's end after its communication.
    /// A RECTIFY's count and rectify carry them too: a record one covers is left as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<StatutoryRule>,
    /// A purge's: what the participants called before this one kept of the request's data (per
    /// category and basis, as their reports said). A participant that can only erase a whole
    /// person at once (Genesys Cloud deletes everything of a phone number's) waits while
    /// anything of theirs is kept elsewhere: a held call's recording is evidence too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_elsewhere: Vec<crate::legal_hold::Retained>,
    /// A rectification's: what to correct. The orchestrator always sends it with `rectify`, and
    /// with a RECTIFY's `count` (the count is then of what the correction would change); a
    /// rectify without it is refused (400), never guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rectification: Option<Rectification>,
}

/// What a RECTIFY corrects (GDPR Art. 16), normalised by gdpr-orchestrator and checked again by
/// each participant ([`Rectification::check`]). Personal data: never logged (its `Debug` counts).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rectification {
    /// Phone numbers (E.164) replaced: every row stored with `from` carries `to` instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<HandleReplacement>,
    /// E-mail addresses (lower case) replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<HandleReplacement>,
    /// Interactions the bank attributed to the subject's customer that belong to another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerCorrection>,
}

/// One handle replaced: `from` (one of the subject's) by `to`, both normalised search keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandleReplacement {
    pub from: String,
    pub to: String,
}

/// The subject's interactions `interactionIds` belong to customer `to`: what was attributed to
/// one of the subject's customer ids there (pairings, assignments waiting, records) is moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerCorrection {
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub interaction_ids: BTreeSet<InteractionId>,
    #[schema(value_type = uuid::Uuid)]
    pub to: domain::CustomerId,
}

impl std::fmt::Debug for Rectification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Rectification {{ phone_numbers: {}, email_addresses: {}, customer: {} }}",
            self.phone_numbers.len(),
            self.email_addresses.len(),
            self.customer.as_ref().map_or(0, |c| c.interaction_ids.len())
        )
    }
}

impl std::fmt::Debug for HandleReplacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleReplacement(<redacted>)")
    }
}

/// The kind of a replaced handle, as a rectification's field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleKind {
    /// `phoneNumbers`
    PhoneNumber,
    /// `emailAddresses`
    EmailAddress,
}

impl HandleKind {
    pub const fn field(self) -> &'static str {
        match self {
            Self::PhoneNumber => "phoneNumbers",
            Self::EmailAddress => "emailAddresses",
        }
    }

    /// The pointer of the `index`th replacement of this kind (`/phoneNumbers/0`).
    pub fn pointer(self, index: usize) -> String {
        format!("/{}/{index}", self.field())
    }
}

/// Which value of a replacement: the old one or the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSide {
    From,
    To,
}

impl ValueSide {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::From => "from",
            Self::To => "to",
        }
    }
}

/// The field a conflict is about: a [`ParticipantReport::conflicts`] key
/// (`/phoneNumbers/0/to`) read back, the one grammar of those pointers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictAt {
    pub kind: HandleKind,
    /// Its place among the replacements of its kind, from 0.
    pub index: usize,
    pub side: ValueSide,
}

impl ConflictAt {
    /// `pointer` read back; `None` when it is no conflict's key.
    pub fn parse(pointer: &str) -> Option<Self> {
        let mut parts = pointer.strip_prefix('/')?.split('/');
        let kind = match parts.next()? {
            "phoneNumbers" => HandleKind::PhoneNumber,
            "emailAddresses" => HandleKind::EmailAddress,
            _ => return None,
        };
        let index = parts.next()?.parse().ok()?;
        let side = match parts.next()? {
            "from" => ValueSide::From,
            "to" => ValueSide::To,
            _ => return None,
        };
        parts.next().is_none().then_some(Self { kind, index, side })
    }

    /// The key it is written under.
    pub fn pointer(self) -> String {
        format!("{}/{}", self.kind.pointer(self.index), self.side.as_str())
    }
}

impl Rectification {
    /// Every handle replaced, phone numbers first.
    pub fn handles(&self) -> impl Iterator<Item = &HandleReplacement> {
        self.phone_numbers.iter().chain(&self.email_addresses)
    }

    /// Every handle replaced with the pointer of its place in the rectification
    /// (`/phoneNumbers/0`), phone numbers first: [`ParticipantReport::conflicts`] are keyed by it
    /// and `/from` or `/to` ([`ConflictAt`]).
    pub fn handles_at(&self) -> impl Iterator<Item = (String, &HandleReplacement)> {
        let phones = self
            .phone_numbers
            .iter()
            .enumerate()
            .map(|(i, r)| (HandleKind::PhoneNumber.pointer(i), r));
        let emails = self
            .email_addresses
            .iter()
            .enumerate()
            .map(|(i, r)| (HandleKind::EmailAddress.pointer(i), r));
        phones.chain(emails)
    }

    /// This rectification without the replacements `conflicts` (keyed as
    /// [`ParticipantReport::conflicts`]) counts a holder of either value of above zero: what
    /// may be applied while they stand. The customer correction stays.
    pub fn without(&self, conflicts: &BTreeMap<String, u64>) -> Self {
        let conflicting = |at: &str| {
            [ValueSide::From, ValueSide::To].into_iter().any(|side| {
                conflicts
                    .get(&format!("{at}/{}", side.as_str()))
                    .is_some_and(|&n| n > 0)
            })
        };
        let keep = |kind: HandleKind, replacements: &[HandleReplacement]| -> Vec<HandleReplacement> {
            replacements
                .iter()
                .enumerate()
                .filter(|(i, _)| !conflicting(&kind.pointer(*i)))
                .map(|(_, r)| r.clone())
                .collect()
        };
        Self {
            phone_numbers: keep(HandleKind::PhoneNumber, &self.phone_numbers),
            email_addresses: keep(HandleKind::EmailAddress, &self.email_addresses),
            customer: self.customer.clone(),
        }
    }

    /// Whether it corrects nothing.
    pub fn is_empty(&self) -> bool {
        self.phone_numbers.is_empty() && self.email_addresses.is_empty() && self.customer.is_none()
    }

    /// Refuses what a participant must not apply: nothing to correct, a value that is not the
    /// search key of a phone number (an e-mail address) as stored, or one replaced by itself.
    /// Answers the pointer of the first wrong field and why (never its value).
    pub fn check(&self) -> Result<(), (String, &'static str)> {
        use domain::HandleKey;
        if self.is_empty() {
            return Err((String::new(), "corrects nothing"));
        }
        type Kind<'a> = (&'a str, &'a [HandleReplacement], fn(&str) -> bool);
        let kinds: [Kind<'_>; 2] = [
            (
                "phoneNumbers",
                &self.phone_numbers,
                |v| matches!(HandleKey::of(v), HandleKey::Phone(key) if key == v),
            ),
            (
                "emailAddresses",
                &self.email_addresses,
                |v| matches!(HandleKey::of(v), HandleKey::Email(key) if key == v),
            ),
        ];
        for (kind, replacements, normalised) in kinds {
            for (i, replacement) in replacements.iter().enumerate() {
                for (field, value) in [("from", &replacement.from), ("to", &replacement.to)] {
                    if !normalised(value) {
                        return Err((format!("/{kind}/{i}/{field}"), "not a normalised search key"));
                    }
                }
                if replacement.from == replacement.to {
                    return Err((format!("/{kind}/{i}/to"), "the same value as from"));
                }
            }
        }
        if self.customer.as_ref().is_some_and(|c| c.interaction_ids.is_empty()) {
            return Err(("/customer/interactionIds".to_owned(), "names no interaction"));
        }
        Ok(())
    }
}

/// A statutory retention rule (gdpr-orchestrator's `gdpr.statutory_retention`): communication
/// records of these channels, directions and domains (each: every one when empty) are kept
/// `keep_days` after their communication on `basis`, whatever an erasure asks; then erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatutoryRule {
    /// The rule's name in the configuration (e.g. `mifid2-client-communications`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<domain::Channel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub directions: Vec<domain::Direction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub domains: Vec<domain::RecordDomain>,
    pub keep_days: u32,
    pub basis: LegalBasis,
}

/// Data a purge must keep: what a request for `subject` would reach here, within `window` (by
/// the time of the communication the row belongs to), on `basis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// The legal hold that keeps it.
    pub hold_id: Uuid,
    pub subject: DataSubject,
    /// Interactions the hold names: every row of them is kept, whoever it belongs to (the
    /// subject's reach rules leave out rows attributed to other customers; these do not).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub interaction_ids: BTreeSet<InteractionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
    pub basis: LegalBasis,
}

/// The route of what must not expire: gdpr-orchestrator's `GET` ([`Retentions`]), scope
/// `gdpr:retentions` (the participants' age-based clean-ups: records, the inbox, pairings).
pub const RETENTIONS_ROUTE: &str = "/internal/gdpr/retentions";

/// What a participant's own expiry (records past their retention) must leave, as a purge would:
/// every legal hold in force, its subject expanded as a purge gets it (a hold naming customers
/// also names the interactions interaction-pairing links to them), and every statutory rule.
/// Names the holds' subjects: personal data, for the expiring service alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retentions {
    pub holds: Vec<Retention>,
    pub rules: Vec<StatutoryRule>,
}

/// The query of `GET /internal/gdpr/requests/{requestId}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The `externalRef` a submission answered (genesys-gateway; the others hold their own).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    #[param(rename = "ref")]
    pub external_ref: Option<String>,
}

/// Where a participant's part of a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    Done,
    /// Submitted to a system that takes its time (Genesys Cloud); ask for the status later.
    PendingExternal,
    /// The external system gave up; `detail` says why.
    Failed,
}

/// Counts per data category (`communications`, `pairings`, …): numbers only, never values.
pub type CategoryCounts = BTreeMap<String, u64>;

/// A copy of the subject's data a participant delivered to a system outside ccbridge, which a
/// forget here does not reach: the data protection officer erases it there. Ids only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalCopy {
    /// Where it went (`communication-history-manager`).
    pub system: String,
    /// The participant's row it was made from.
    pub record_id: Uuid,
    /// The `Idempotency-Key` it was delivered with.
    pub idempotency_key: String,
    /// The system's own id for it, when its answer named one.
    pub external_id: Option<String>,
    pub delivered_at: Timestamp,
}

/// An export's data: per category, the participant's rows as it serves them. The orchestrator
/// never reads it: it seals it as it came into the request's bundle (each participant's own
/// shapes, described with its API), so it stays JSON here.
pub type ExportData = BTreeMap<String, Vec<Value>>;

/// A participant's answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantReport {
    pub state: ParticipantState,
    pub counts: CategoryCounts,
    /// Rows the subject's phone numbers or e-mail addresses found that the bank attributed to a
    /// customer not named in the request: left alone, counted per category (never their ids).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub left_out: CategoryCounts,
    /// The exported data per category (export only; [`ExportData`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, Vec<Value>>>,
    /// Interactions linked to the subject's customer ids (interaction-pairing's count).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub linked_interaction_ids: BTreeSet<InteractionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// Where Genesys Cloud put an export's results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results_urls: Vec<String>,
    /// A short, identifier-free explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A purge's: copies delivered outside ccbridge of the rows its request's purges erased, to
    /// erase there (never those of rows still held or kept for a legal hold or a rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_erase_elsewhere: Vec<ExternalCopy>,
    /// A restriction's: copies delivered outside ccbridge of the rows it restricted, to restrict
    /// there, never to erase (GDPR Art. 19: the recipients are told of a restriction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_restrict_elsewhere: Vec<ExternalCopy>,
    /// A purge's: what a retention kept of the request's rows (still hidden), per category and
    /// basis. Empty when everything was erased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained: Vec<Retained>,
    /// A purge's: the earliest time a statutory rule lets some of the kept rows go (the
    /// orchestrator purges again then). None when nothing is kept by a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_until: Option<Timestamp>,
    /// A RECTIFY's (its count and the rectify itself): rows the correction reaches that a legal
    /// hold or a statutory rule keeps as evidence, per category and basis. They stay as they
    /// were: the correction, kept with the request, is the subject's supplementary statement
    /// (GDPR Art. 16) beside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_unchanged: Vec<Retained>,
    /// A RECTIFY's count and rectify: per field of the rectification (its pointer,
    /// `/phoneNumbers/0/to`), how many rows here that are not the subject's already carry that
    /// value (for a `to`), or how many other people besides the subject hold it (for a `from`,
    /// genesys-gateway: Genesys Cloud corrects a number for everyone who has it). Counts, never
    /// values or ids. Always present from a participant that checks (`{}` when it found
    /// nothing); absent is "never checked" (a participant of a version before the check), and
    /// the orchestrator then refuses the confirmation, as while any count is above zero. The
    /// rectify checks again in the transaction that writes: a replacement whose value someone
    /// else took since the count is not applied here (its rows stay as they were), and is
    /// listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<BTreeMap<String, u64>>,
}

impl ParticipantReport {
    pub fn done(counts: CategoryCounts) -> Self {
        Self::with_state(ParticipantState::Done, counts)
    }

    pub fn with_state(state: ParticipantState, counts: CategoryCounts) -> Self {
        Self {
            state,
            counts,
            left_out: CategoryCounts::new(),
            data: None,
            linked_interaction_ids: BTreeSet::new(),
            external_ref: None,
            results_urls: Vec::new(),
            detail: None,
            to_erase_elsewhere: Vec::new(),
            to_restrict_elsewhere: Vec::new(),
            retained: Vec::new(),
            retained_until: None,
            kept_unchanged: Vec::new(),
            conflicts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_their_names() {
        for action in ParticipantAction::ALL {
            assert_eq!(ParticipantAction::parse(action.as_str()), Some(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::Value::from(action.as_str())
            );
        }
        assert_eq!(ParticipantAction::parse("delete"), None);
    }

    #[test]
    fn paths_and_the_status_query_are_as_the_participants_mount_them() {
        let id = Uuid::nil();
        assert_eq!(
            call_path(id, ParticipantAction::Forget),
            "/internal/gdpr/requests/00000000-0000-0000-0000-000000000000/forget"
        );
        assert_eq!(
            status_path(id),
            "/internal/gdpr/requests/00000000-0000-0000-0000-000000000000"
        );
        let query = StatusQuery {
            external_ref: Some("a b".to_owned()),
        };
        assert_eq!(serde_json::to_value(&query).unwrap(), serde_json::json!({"ref": "a b"}));
    }

    fn replace(from: &str, to: &str) -> HandleReplacement {
        HandleReplacement {
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }

    fn two_numbers_and_an_address() -> Rectification {
        Rectification {
            phone_numbers: vec![
                replace("+420601000001", "+420601000002"),
                replace("+420601000003", "+420601000004"),
            ],
            email_addresses: vec![replace("a@example.com", "b@example.com")],
            customer: None,
        }
    }

    #[test]
    fn each_replaced_handle_is_named_by_its_place_phone_numbers_first() {
        let rectification = two_numbers_and_an_address();
        let at: Vec<(String, &str)> = rectification.handles_at().map(|(at, r)| (at, r.to.as_str())).collect();
        assert_eq!(
            at,
            [
                ("/phoneNumbers/0".to_owned(), "+420601000002"),
                ("/phoneNumbers/1".to_owned(), "+420601000004"),
                ("/emailAddresses/0".to_owned(), "b@example.com"),
            ]
        );
    }

    #[test]
    fn a_conflicts_pointer_reads_back_and_its_replacement_is_left_out() {
        for pointer in ["/phoneNumbers/0/to", "/phoneNumbers/12/from", "/emailAddresses/1/to"] {
            assert_eq!(
                ConflictAt::parse(pointer).map(ConflictAt::pointer).as_deref(),
                Some(pointer)
            );
        }
        for wrong in [
            "",
            "/phoneNumbers/0",
            "/phoneNumbers/x/to",
            "/names/0/to",
            "/phoneNumbers/0/to/1",
        ] {
            assert_eq!(ConflictAt::parse(wrong), None, "{wrong}");
        }
        let rectification = two_numbers_and_an_address();
        let conflicts = BTreeMap::from([
            ("/phoneNumbers/0/to".to_owned(), 1),
            ("/phoneNumbers/1/to".to_owned(), 0),
            ("/emailAddresses/0/from".to_owned(), 2),
        ]);
        let applied = rectification.without(&conflicts);
        assert_eq!(applied.phone_numbers, rectification.phone_numbers[1..]);
        assert!(applied.email_addresses.is_empty());
        assert_eq!(rectification.without(&BTreeMap::new()), rectification);
    }

    /// The wire format as it was in `domain::gdpr`: camelCase, empty parts left out.
    #[test]
    fn a_report_reads_and_writes_the_same_json() {
        let wire = serde_json::json!({
            "state": "pending_external",
            "counts": {"genesysRequests": 2},
            "externalRef": "r1,r2",
            "toEraseElsewhere": [{
                "system": "communication-history-manager",
                "recordId": "00000000-0000-0000-0000-000000000001",
                "idempotencyKey": "k",
                "externalId": null,
                "deliveredAt": "2026-12-01T10:00:00Z"
            }]
        });
        let report: ParticipantReport = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(report.state, ParticipantState::PendingExternal);
        assert_eq!(serde_json::to_value(&report).unwrap(), wire);
    }
}
