//! What the request routes share: loading a request, the acting person, errors as answers.

use crate::audit::Actor;
use crate::lifecycle::{Confirmer, FourEyes, Refusal, RequesterGate};
use crate::settings::RequesterVerificationRule;
use crate::store::{self, Request, Step, StoreError, Vouching};
use crate::Orchestrator;
use contracts::gdpr::RequesterVerification;
use service_kit::auth::{Caller, VouchedBy};
use service_kit::database::AnyConnection;
use service_kit::problem::{ApiError, FieldProblem};
use uuid::Uuid;

pub(super) fn actor(caller: &Caller) -> Actor<'_> {
    Actor {
        person: caller.person(),
        name: caller.person.as_ref().map(|person| person.display_name.as_str()),
        caller: &caller.name,
    }
}

/// What vouched for the caller's person (or that the client acts as itself).
pub(super) fn vouching(caller: &Caller) -> Vouching {
    match caller.person.as_ref().map(|person| person.vouched_by) {
        Some(VouchedBy::Provider) => Vouching::Provider,
        Some(VouchedBy::DevelopmentHeader) => Vouching::DevelopmentHeader,
        None => Vouching::Caller,
    }
}

pub(super) fn store_error(error: StoreError) -> ApiError {
    match error {
        // Routes lock the request first, so only a writer that skipped the lock gets here.
        StoreError::Stale => ApiError::Conflict("the request changed meanwhile; try again".to_owned()),
        StoreError::Database(error) => error.into(),
    }
}

pub(super) fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Conflict(detail) => ApiError::Conflict(detail),
        Refusal::Forbidden(detail) => ApiError::Refused(detail),
        Refusal::Impossible(detail) => ApiError::Unexpected(anyhow::anyhow!(detail)),
        // The one route that answers it (the export) answers 410 itself.
        Refusal::Gone(detail) => ApiError::Conflict(detail),
    }
}

/// Who a request is shown to, for what they may do to it ([`crate::lifecycle::allowed_actions`]).
#[derive(Clone, Copy)]
pub(super) struct Viewer<'a> {
    pub(super) by: Confirmer<'a>,
    pub(super) four_eyes: FourEyes,
    pub(super) requester_verification: RequesterVerificationRule,
}

impl Viewer<'_> {
    /// The requester gate of a request whose verification is (or is not) `recorded`.
    pub(super) fn gate(&self, recorded: bool) -> RequesterGate {
        RequesterGate {
            rule: self.requester_verification,
            recorded,
        }
    }
}

pub(super) fn viewer<'a>(caller: &'a Caller, orchestrator: &Orchestrator) -> Viewer<'a> {
    Viewer {
        by: Confirmer {
            actor: actor(caller),
            vouched_by: vouching(caller),
        },
        four_eyes: orchestrator.four_eyes,
        requester_verification: orchestrator.settings.requester_verification,
    }
}

/// A person's refused step (`Forbidden`) is part of the request's story: audited as `event` in a
/// transaction of its own (the refused one wrote nothing). Other outcomes pass through.
pub(super) fn audit_if_forbidden<T>(
    connection: &mut AnyConnection,
    orchestrator: &Orchestrator,
    id: Uuid,
    by: &Caller,
    event: &str,
    outcome: &Result<T, Refusal>,
    now: domain::Timestamp,
) -> Result<(), ApiError> {
    if let Err(Refusal::Forbidden(reason)) = outcome {
        service_kit::database::write_transaction(connection, |c| {
            crate::audit::audit(
                c,
                &orchestrator.keys.audit,
                id,
                actor(by),
                event,
                &serde_json::json!({ "reason": reason }),
                now,
            )
        })?;
    }
    Ok(())
}

pub(super) fn parse_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid request id: expected a UUID",
        )])
    })
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no GDPR request {id}"))
}

pub(super) fn load(connection: &mut AnyConnection, id: Uuid) -> Result<Request, ApiError> {
    store::find_request(connection, id)?.ok_or_else(|| not_found(id))
}

pub(super) fn lock(connection: &mut AnyConnection, id: Uuid) -> Result<Request, ApiError> {
    store::lock_request(connection, id)?.ok_or_else(|| not_found(id))
}

/// A request with what its answer shows besides: its steps, and how its requester was verified.
pub(super) struct Whole {
    pub(super) request: Request,
    pub(super) steps: Vec<Step>,
    pub(super) verification: Option<RequesterVerification>,
}

impl Whole {
    /// `request` with its steps and verification as stored.
    pub(super) fn of(connection: &mut AnyConnection, request: Request) -> Result<Self, ApiError> {
        Ok(Self {
            steps: store::steps(connection, request.id)?,
            verification: store::verifications::find(connection, request.id)?,
            request,
        })
    }
}

pub(super) fn load_whole(connection: &mut AnyConnection, id: Uuid) -> Result<Whole, ApiError> {
    let request = load(connection, id)?;
    Whole::of(connection, request)
}
