//! What the request routes share: loading a request, the acting person, errors as answers.

use crate::audit::Actor;
use crate::lifecycle::{Confirmer, FourEyes, Refusal};
use crate::store::{self, Request, Step, StoreError, Vouching};
use crate::Orchestrator;
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
}

pub(super) fn viewer<'a>(caller: &'a Caller, orchestrator: &Orchestrator) -> Viewer<'a> {
    Viewer {
        by: Confirmer {
            actor: actor(caller),
            vouched_by: vouching(caller),
        },
        four_eyes: orchestrator.four_eyes,
    }
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

pub(super) fn load_with_steps(connection: &mut AnyConnection, id: Uuid) -> Result<(Request, Vec<Step>), ApiError> {
    let request = load(connection, id)?;
    Ok((request, store::steps(connection, id)?))
}
