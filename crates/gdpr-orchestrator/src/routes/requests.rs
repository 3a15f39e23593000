//! `/gdpr/requests`: file, list and follow GDPR requests. Every action is audited under the
//! person who took it and the client they came through.

use super::common::{actor, load_with_steps, lock, parse_id, refused, store_error, viewer, vouching};
use super::views::{answer, view};
use crate::audit::{self, Actor};
use crate::lifecycle::{self};
use crate::scopes::Dpo;
use crate::store::{self, Request, Step, Vouching};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{
    FileRequest, FiledRequest, GdprRequest, ListRequests, RequestPage, RequestStatus, RequestType, UndoForget,
};
use domain::gdpr::{due_after_months, DataSubject, SubjectInput};
use domain::Timestamp;
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, AnyConnection, DbPool};
use service_kit::extract::JsonBody;
use service_kit::pagination::{decode_cursor, encode_cursor};
use service_kit::problem::{ApiError, FieldProblem};
use uuid::Uuid;

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(
        web::resource("/gdpr/requests")
            .route(web::post().to(create).wrap(dpo()))
            .route(web::get().to(list).wrap(dpo())),
    )
    .service(web::resource("/gdpr/requests/{id}").route(web::get().to(get_request).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/undo").route(web::post().to(undo).wrap(dpo())));
}

/// The case number, trimmed, or the problem naming `/reference`.
pub(super) fn reference(text: &str) -> Result<String, FieldProblem> {
    let reference = text.trim().to_owned();
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(FieldProblem::new(
            "/reference",
            "must be 1 to 200 characters (the case number)",
        ));
    }
    Ok(reference)
}

/// `POST /gdpr/requests`: 201 with the new request; 200 with the open one when the same subject
/// already has an unfinished request of this type and kind (a count answers a count, a request a
/// request: a FORGET filed while a count of the subject is open is a new FORGET).
#[utoipa::path(
    post,
    path = "/gdpr/requests",
    tag = "gdpr",
    request_body = FileRequest,
    params(
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client (the console, the `gdpr` command) acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    responses(
        (status = 201, description = "Filed", body = FiledRequest),
        (status = 200, description = "The subject already has an unfinished request of this type and kind (count or not): that one", body = FiledRequest),
        (status = 401, description = "No valid credentials (Bearer token, or Basic with the caller's name); or the person's token (X-Person-Token) is not valid (signature, issuer, audience, expiry); or X-Acting-User outside development", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks the scope this operation requires; or, outside development, a FORGET (not a count) filed without a person the identity provider signed in (X-Person-Token)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "UNDO_FORGET: no FORGET to undo, or it is purged", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "file gdpr request", skip_all, fields(gdpr_request_id, request_type))]
pub(crate) async fn create(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    JsonBody(body): JsonBody<FileRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let request_type = RequestType::parse(&body.request_type);
    if request_type.is_none() {
        problems.push(FieldProblem::new("/type", "must be one of EXPORT, FORGET, UNDO_FORGET"));
    }
    let subject = DataSubject::parse(&subject_input(body.subject), &orchestrator.handles).map_err(|subject_problems| {
        subject_problems
            .into_iter()
            .map(|p| FieldProblem::new(format!("/subject{}", p.pointer), p.detail))
            .collect::<Vec<_>>()
    });
    if let Err(subject_problems) = &subject {
        problems.extend(subject_problems.iter().cloned());
    }
    let reference = reference(&body.reference).map_err(|problem| problems.push(problem));
    if request_type == Some(RequestType::UndoForget) && body.count_only {
        problems.push(FieldProblem::new("/countOnly", "UNDO_FORGET has no count-only mode"));
    }
    let (Some(request_type), Ok(subject), Ok(reference), true) =
        (request_type, subject, reference, problems.is_empty())
    else {
        return Err(ApiError::Validation(problems));
    };
    tracing::Span::current().record("request_type", request_type.as_str());
    // Four eyes are two persons: outside development a FORGET that will erase is filed by a person
    // the identity provider signed in, never by a client acting as itself (whom any one person
    // could then confirm). Counts and EXPORTs a client may file as itself.
    if request_type == RequestType::Forget
        && !body.count_only
        && orchestrator.forget_needs_verified_person
        && vouching(&caller) != Vouching::Provider
    {
        return Err(ApiError::Refused(
            "a FORGET needs a signed-in person: send their access token from the identity provider (X-Person-Token); a client acting as itself may file counts and EXPORTs only"
                .to_owned(),
        ));
    }
    let fingerprint = orchestrator
        .fingerprint(&subject)
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("the subject could not be fingerprinted: {e}")))?;
    let filing = Filing {
        request_type,
        count_only: body.count_only,
        reference,
    };
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let keys = orchestrator.clone();
    let by = caller.clone();
    let filed = pool
        .run(move |c| {
            write_transaction(c, |c| {
                let undo_of = match request_type {
                    RequestType::UndoForget => Some(store::find_latest_forget(c, &fingerprint)?.ok_or_else(|| {
                        ApiError::Conflict("there is no FORGET request for this subject to undo".to_owned())
                    })?),
                    RequestType::Export | RequestType::Forget => None,
                };
                file(c, &keys, &by, filing, subject, fingerprint, undo_of, now)
            })
        })
        .await?;
    filed_answer(filed, &caller, &orchestrator, now)
}

/// What a filing asks for, validated.
struct Filing {
    request_type: RequestType,
    count_only: bool,
    reference: String,
}

/// A request as filed: the new one, or the subject's open one of the same type and kind.
struct Filed {
    request: Request,
    steps: Vec<Step>,
    created: bool,
}

/// The orchestrator's reading of a client's subject.
pub(super) fn subject_input(subject: contracts::gdpr::SubjectInput) -> SubjectInput {
    SubjectInput {
        customer_ids: subject.customer_ids,
        phone_numbers: subject.phone_numbers,
        email_addresses: subject.email_addresses,
        genesys_user_ids: subject.genesys_user_ids,
    }
}

/// Files `filing` for `subject` in the caller's transaction: answers the subject's open request
/// of the same type and kind when there is one; an UNDO_FORGET undoes the FORGET `undo_of`.
#[allow(clippy::too_many_arguments)]
fn file(
    c: &mut AnyConnection,
    orchestrator: &Orchestrator,
    caller: &Caller,
    filing: Filing,
    subject: DataSubject,
    fingerprint: String,
    undo_of: Option<Uuid>,
    now: Timestamp,
) -> Result<Filed, ApiError> {
    let Filing {
        request_type,
        count_only,
        reference,
    } = filing;
    if let Some(open) = store::find_open_duplicate(c, request_type, count_only, &fingerprint)? {
        let steps = store::steps(c, open.id)?;
        return Ok(Filed {
            request: open,
            steps,
            created: false,
        });
    }
    let due_at =
        due_after_months(now, 1).ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a deadline past year 9999")))?;
    let id = Uuid::now_v7();
    let (subject, target, initial_status) = match (request_type, undo_of) {
        (RequestType::UndoForget, Some(forget)) => {
            let (subject, status) = undo_target(c, orchestrator, id, forget, actor(caller))?;
            (subject, Some(forget), status)
        }
        (RequestType::Export | RequestType::Forget, None) => (subject, None, RequestStatus::Received),
        (request_type, undo_of) => {
            return Err(ApiError::Unexpected(anyhow::anyhow!(
                "a {} filed with undo_of {undo_of:?}",
                request_type.as_str()
            )))
        }
    };
    let request = Request {
        id,
        request_type,
        status: initial_status,
        count_only,
        reference: Some(reference),
        requested_by: caller.person().to_owned(),
        requested_via: caller.name.clone(),
        requested_vouched_by: Some(vouching(caller)),
        subject: Some(subject),
        subject_fingerprint: Some(fingerprint),
        target_request_id: target,
        received_at: now,
        due_at,
        extension_months: 0,
        extension_reason: None,
        confirmed_at: None,
        confirmed_by: None,
        confirmed_via: None,
        purge_after: None,
        completed_at: (initial_status == RequestStatus::Completed).then_some(now),
        identifiers_erased_at: None,
        status_reason: None,
        attempts: 0,
        next_attempt_at: now,
        updated_at: now,
        version: 0,
    };
    store::insert_request(c, &request)?;
    audit::audit(
        c,
        &orchestrator.keys.audit,
        id,
        actor(caller),
        "received",
        &json!({ "type": request_type, "countOnly": count_only, "status": initial_status }),
        now,
    )?;
    Ok(Filed {
        request,
        steps: Vec::new(),
        created: true,
    })
}

/// 201 with the new request, 200 with the open one; `Location` names it.
fn filed_answer(
    filed: Filed,
    caller: &Caller,
    orchestrator: &Orchestrator,
    now: Timestamp,
) -> Result<HttpResponse, ApiError> {
    let Filed {
        request,
        steps,
        created,
    } = filed;
    tracing::Span::current().record("gdpr_request_id", tracing::field::display(request.id));
    let location = format!("/gdpr/requests/{}", request.id);
    let mut response = if created {
        tracing::info!("GDPR request filed");
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.insert_header(("Location", location)).json(FiledRequest {
        request: view(request, Some(steps), viewer(caller, orchestrator), now),
        duplicate: !created,
    }))
}

/// `POST /gdpr/requests/{id}/undo`: files an UNDO_FORGET of this FORGET, as `POST /gdpr/requests`
/// with its subject would (offered as `undo` in the FORGET's `allowedActions`).
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/undo",
    tag = "gdpr",
    params(
        ("id" = Uuid, Path, description = "The FORGET's id"),
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    request_body = UndoForget,
    responses(
        (status = 201, description = "The UNDO_FORGET, filed: an unconfirmed FORGET is cancelled, one in its grace window is being restored", body = FiledRequest),
        (status = 200, description = "A repeat: this FORGET already has an UNDO_FORGET under this reference (whatever its state now), or the subject has an unfinished one: that one", body = FiledRequest),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a FORGET (or a count), already undone (under another reference), still being applied, or past its grace window", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(
    name = "undo gdpr forget",
    skip_all,
    fields(gdpr_request_id, request_type = "UNDO_FORGET")
)]
pub(crate) async fn undo(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<UndoForget>,
) -> Result<HttpResponse, ApiError> {
    let forget_id = parse_id(&path)?;
    let reference = reference(&body.reference).map_err(|problem| ApiError::Validation(vec![problem]))?;
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let keys = orchestrator.clone();
    let by = caller.clone();
    let filed = pool
        .run(move |c| {
            write_transaction(c, |c| {
                let forget = lock(c, forget_id)?;
                // A repeat first (the same FORGET, the same reference): the UNDO_FORGET it filed,
                // whatever the FORGET's state has become since.
                if let Some(open) = store::find_undo_of(c, forget_id, &reference)? {
                    let steps = store::steps(c, open.id)?;
                    return Ok(Filed {
                        request: open,
                        steps,
                        created: false,
                    });
                }
                // Then the state rule (a request of another type, a count, one already undone or
                // erased are refused by it, naming why).
                lifecycle::undo(&forget, store::database_now(c)?).map_err(refused)?;
                let (Some(subject), Some(fingerprint)) = (forget.subject, forget.subject_fingerprint) else {
                    return Err(ApiError::Unexpected(anyhow::anyhow!(
                        "FORGET {forget_id} can be undone but holds no subject"
                    )));
                };
                let filing = Filing {
                    request_type: RequestType::UndoForget,
                    count_only: false,
                    reference,
                };
                file(c, &keys, &by, filing, subject, fingerprint, Some(forget_id), now)
            })
        })
        .await?;
    filed_answer(filed, &caller, &orchestrator, now)
}

/// For an UNDO_FORGET: the FORGET it undoes, locked and changed in this transaction, decided on
/// the database's clock. Returns the subject (as the FORGET expanded it) and the new request's
/// first status.
fn undo_target(
    connection: &mut AnyConnection,
    orchestrator: &Orchestrator,
    undo_id: Uuid,
    forget_id: Uuid,
    by: Actor<'_>,
) -> Result<(DataSubject, RequestStatus), ApiError> {
    let mut forget = lock(connection, forget_id)?;
    let now = store::database_now(connection)?;
    let decision = lifecycle::undo(&forget, now).map_err(refused)?;
    let subject = forget.subject.clone().ok_or_else(|| {
        ApiError::Unexpected(anyhow::anyhow!("FORGET {forget_id} can be undone but holds no subject"))
    })?;
    let from = forget.status;
    forget.status = decision.forget_becomes;
    forget.updated_at = now;
    if decision.forget_becomes == RequestStatus::Cancelled {
        forget.completed_at = Some(now);
    }
    store::save_request(connection, &mut forget).map_err(store_error)?;
    audit::audit(
        connection,
        &orchestrator.keys.audit,
        forget_id,
        by,
        "status_changed",
        &json!({ "from": from, "to": decision.forget_becomes, "by": undo_id }),
        now,
    )?;
    Ok((subject, decision.undo_starts))
}

#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "State, per-participant steps and counts, due date, and what the caller may do to it now", body = GdprRequest),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_request(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<web::Json<GdprRequest>, ApiError> {
    let id = parse_id(&path)?;
    let now = Timestamp::now();
    let (request, steps) = pool.run(move |c| load_with_steps(c, id)).await?;
    Ok(answer(request, steps, &caller, &orchestrator, now))
}

/// `GET /gdpr/requests?status=…&overdue=true&cursor=…&limit=…`: newest first.
#[utoipa::path(
    get,
    path = "/gdpr/requests",
    tag = "gdpr",
    params(ListRequests),
    responses((status = 200, description = "Requests, newest first", body = RequestPage))
)]
pub(crate) async fn list(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    query: web::Query<ListRequests>,
) -> Result<web::Json<RequestPage>, ApiError> {
    let mut problems = Vec::new();
    let status = match query.status.as_deref().map(RequestStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            let all: Vec<&str> = RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
            problems.push(FieldProblem::parameter(
                "status",
                format!("must be one of {}", all.join(", ")),
            ));
            None
        }
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        problems.push(FieldProblem::parameter("limit", "must be between 1 and 200"));
    }
    let after = match &query.cursor {
        Some(cursor) => match decode_cursor(cursor) {
            Some(after) => Some(after),
            None => {
                problems.push(FieldProblem::parameter("cursor", "not a cursor this service issued"));
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let filter = store::ListFilter {
        status,
        overdue: query.overdue.unwrap_or(false),
    };
    let now = Timestamp::now();
    let rows = pool
        .run(move |c| store::list(c, &filter, after, limit + 1, now).map_err(ApiError::from))
        .await?;
    let page_size = usize::try_from(limit).map_err(|e| ApiError::Unexpected(e.into()))?;
    let has_more = rows.len() > page_size;
    let page: Vec<Request> = rows.into_iter().take(page_size).collect();
    let next = match (has_more, page.last()) {
        (true, Some(last)) => Some(encode_cursor(last.received_at, last.id)),
        _ => None,
    };
    let viewer = viewer(&caller, &orchestrator);
    let requests = page.into_iter().map(|r| view(r, None, viewer, now)).collect();
    Ok(web::Json(RequestPage { requests, next }))
}
