//! `/gdpr/requests`: file, list and follow GDPR requests. Every action is audited under the
//! person who took it and the client they came through.

use super::common::{actor, load_with_steps, lock, parse_id, refused, store_error, vouching};
use super::views::{view, FiledView, RequestPage, RequestView};
use crate::audit::{self, Actor};
use crate::lifecycle::{self};
use crate::scopes::Dpo;
use crate::store::{self, Request, RequestStatus, RequestType, Vouching};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use domain::gdpr::{due_after_months, DataSubject, SubjectInput};
use domain::Timestamp;
use serde::Deserialize;
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
    .service(web::resource("/gdpr/requests/{id}").route(web::get().to(get_request).wrap(dpo())));
}

/// A new request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// EXPORT, FORGET or UNDO_FORGET.
    #[serde(rename = "type")]
    request_type: String,
    subject: SubjectInput,
    /// The case number in the bank's ticketing.
    reference: String,
    /// Only count what would be exported or erased.
    #[serde(default)]
    count_only: bool,
}

/// `POST /gdpr/requests`: 201 with the new request; 200 with the open one when the same subject
/// already has an unfinished request of this type and kind (a count answers a count, a request a
/// request: a FORGET filed while a count of the subject is open is a new FORGET).
#[utoipa::path(
    post,
    path = "/gdpr/requests",
    tag = "gdpr",
    request_body = CreateBody,
    params(
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client (the console, the `gdpr` command) acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    responses(
        (status = 201, description = "Filed", body = FiledView),
        (status = 200, description = "The subject already has an unfinished request of this type and kind (count or not): that one", body = FiledView),
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
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let request_type = RequestType::parse(&body.request_type);
    if request_type.is_none() {
        problems.push(FieldProblem::new("/type", "must be one of EXPORT, FORGET, UNDO_FORGET"));
    }
    let subject = DataSubject::parse(&body.subject, &orchestrator.handles).map_err(|subject_problems| {
        subject_problems
            .into_iter()
            .map(|p| FieldProblem::new(format!("/subject{}", p.pointer), p.detail))
            .collect::<Vec<_>>()
    });
    if let Err(subject_problems) = &subject {
        problems.extend(subject_problems.iter().cloned());
    }
    let reference = body.reference.trim().to_owned();
    if reference.is_empty() || reference.chars().count() > 200 {
        problems.push(FieldProblem::new(
            "/reference",
            "must be 1 to 200 characters (the case number)",
        ));
    }
    if request_type == Some(RequestType::UndoForget) && body.count_only {
        problems.push(FieldProblem::new("/countOnly", "UNDO_FORGET has no count-only mode"));
    }
    let (Some(request_type), Ok(subject), true) = (request_type, subject, problems.is_empty()) else {
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
    let caller = caller.into_inner();
    let count_only = body.count_only;
    let now = Timestamp::now();
    let keys = orchestrator.clone();
    let (request, steps, created) = pool
        .run(move |c| {
            write_transaction(c, |c| {
                if let Some(open) = store::find_open_duplicate(c, request_type, count_only, &fingerprint)? {
                    let steps = store::steps(c, open.id)?;
                    return Ok((open, steps, false));
                }
                let id = Uuid::now_v7();
                let (subject, target, initial_status) = match request_type {
                    RequestType::UndoForget => {
                        let (subject, target, status) = undo_target(c, &keys, id, &fingerprint, actor(&caller))?;
                        (subject, Some(target), status)
                    }
                    RequestType::Export | RequestType::Forget => (subject, None, RequestStatus::Received),
                };
                let request = Request {
                    id,
                    request_type,
                    status: initial_status,
                    count_only,
                    reference: Some(reference),
                    requested_by: caller.person().to_owned(),
                    requested_via: caller.name.clone(),
                    requested_vouched_by: Some(vouching(&caller)),
                    subject: Some(subject),
                    subject_fingerprint: Some(fingerprint),
                    target_request_id: target,
                    received_at: now,
                    due_at: due_after_months(now, 1),
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
                    &keys.keys.audit,
                    id,
                    actor(&caller),
                    "received",
                    &json!({ "type": request_type, "countOnly": count_only, "status": initial_status }),
                    now,
                )?;
                Ok::<_, ApiError>((request, Vec::new(), true))
            })
        })
        .await?;
    tracing::Span::current().record("gdpr_request_id", tracing::field::display(request.id));
    let location = format!("/gdpr/requests/{}", request.id);
    let mut response = if created {
        tracing::info!("GDPR request filed");
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.insert_header(("Location", location)).json(FiledView {
        request: view(request, Some(steps), now),
        duplicate: !created,
    }))
}

/// For an UNDO_FORGET: the FORGET it undoes, locked and changed in this transaction, decided on
/// the database's clock. Returns the subject (as the FORGET expanded it), the FORGET's id and
/// the new request's first status.
fn undo_target(
    connection: &mut AnyConnection,
    orchestrator: &Orchestrator,
    undo_id: Uuid,
    fingerprint: &str,
    by: Actor<'_>,
) -> Result<(DataSubject, Uuid, RequestStatus), ApiError> {
    let forget_id = store::find_latest_forget(connection, fingerprint)?
        .ok_or_else(|| ApiError::Conflict("there is no FORGET request for this subject to undo".to_owned()))?;
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
    Ok((subject, forget_id, decision.undo_starts))
}

#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "State, per-participant steps and counts, due date", body = RequestView),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_request(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let now = Timestamp::now();
    let (request, steps) = pool.run(move |c| load_with_steps(c, id)).await?;
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only requests with this status.
    status: Option<String>,
    /// Only unfinished requests past their due date.
    overdue: Option<bool>,
    /// `next` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// `GET /gdpr/requests?status=…&overdue=true&cursor=…&limit=…`: newest first.
#[utoipa::path(
    get,
    path = "/gdpr/requests",
    tag = "gdpr",
    params(ListQuery),
    responses((status = 200, description = "Requests, newest first", body = RequestPage))
)]
pub(crate) async fn list(pool: web::Data<DbPool>, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
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
    let requests = page.into_iter().map(|r| view(r, None, now)).collect();
    Ok(HttpResponse::Ok().json(RequestPage { requests, next }))
}
