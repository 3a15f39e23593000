//! `/gdpr/requests`: file, follow, confirm, extend and collect GDPR requests. Every action is
//! audited under the person who took it and the client they came through.

use super::views::{view, FiledView, RequestPage, RequestView};
use crate::audit::{self, Actor, AuditTrail};
use crate::bundle::{self, Bundle};
use crate::lifecycle::{self, Refusal};
use crate::scopes::Dpo;
use crate::store::{self, Request, RequestStatus, RequestType, Step, StoreError};
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
    .service(web::resource("/gdpr/requests/{id}").route(web::get().to(get_request).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/confirm").route(web::post().to(confirm).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/extend").route(web::post().to(extend).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/export").route(web::get().to(export).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/audit").route(web::get().to(audit_log).wrap(dpo())));
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

fn actor(caller: &Caller) -> Actor<'_> {
    Actor {
        person: caller.person(),
        caller: &caller.name,
    }
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        // Routes lock the request first, so only a writer that skipped the lock gets here.
        StoreError::Stale => ApiError::Conflict("the request changed meanwhile; try again".to_owned()),
        StoreError::Database(error) => error.into(),
    }
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Conflict(detail) => ApiError::Conflict(detail),
        Refusal::Forbidden(detail) => ApiError::Refused(detail),
        Refusal::Impossible(detail) => ApiError::Unexpected(anyhow::anyhow!(detail)),
    }
}

fn parse_id(value: &str) -> Result<Uuid, ApiError> {
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

fn load(connection: &mut AnyConnection, id: Uuid) -> Result<Request, ApiError> {
    store::find_request(connection, id)?.ok_or_else(|| not_found(id))
}

fn lock(connection: &mut AnyConnection, id: Uuid) -> Result<Request, ApiError> {
    store::lock_request(connection, id)?.ok_or_else(|| not_found(id))
}

fn load_with_steps(connection: &mut AnyConnection, id: Uuid) -> Result<(Request, Vec<Step>), ApiError> {
    let request = load(connection, id)?;
    Ok((request, store::steps(connection, id)?))
}

/// `POST /gdpr/requests`: 201 with the new request; 200 with the open one when the same subject
/// already has an unfinished request of this type.
#[utoipa::path(
    post,
    path = "/gdpr/requests",
    tag = "gdpr",
    request_body = CreateBody,
    params(("X-Acting-User" = Option<String>, Header, description = "The person a delegating client (the console, `gdpr --as`) acts for")),
    responses(
        (status = 201, description = "Filed", body = FiledView),
        (status = 200, description = "The subject already has an unfinished request of this type: that one", body = FiledView),
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
                if let Some(open) = store::find_open_duplicate(c, request_type, &fingerprint)? {
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

/// `POST /gdpr/requests/{id}/confirm`: a FORGET awaiting confirmation is carried out; its purge
/// is due once the grace window has passed. With `gdpr.four_eyes`, the person who filed it may
/// not confirm it (403, audited as refused).
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/confirm",
    tag = "gdpr",
    params(
        ("id" = Uuid, Path, description = "The request id"),
        ("X-Acting-User" = Option<String>, Header, description = "The person a delegating client acts for")
    ),
    responses(
        (status = 200, description = "Confirmed: carried out now, purged after the grace window", body = RequestView),
        (status = 403, description = "Four eyes: the person who filed it may not confirm it", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a FORGET awaiting confirmation", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn confirm(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let context = orchestrator.clone();
    let outcome = pool
        .run(move |c| {
            let outcome = write_transaction(c, |c| {
                let mut request = lock(c, id)?;
                let detail = match lifecycle::confirm(
                    &mut request,
                    actor(&caller),
                    context.settings.four_eyes,
                    context.settings.grace(),
                    now,
                ) {
                    Ok(detail) => detail,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                store::save_request(c, &mut request).map_err(store_error)?;
                audit::audit(c, &context.keys.audit, id, actor(&caller), "confirmed", &detail, now)?;
                let steps = store::steps(c, id)?;
                Ok::<_, ApiError>(Ok((request, steps)))
            })?;
            if let Err(Refusal::Forbidden(reason)) = &outcome {
                // The refusal is part of the request's story: audited in a transaction of its own.
                write_transaction(c, |c| {
                    audit::audit(
                        c,
                        &context.keys.audit,
                        id,
                        actor(&caller),
                        "confirmation_refused",
                        &json!({ "reason": reason }),
                        now,
                    )
                })?;
            }
            Ok::<_, ApiError>(outcome)
        })
        .await?;
    let (request, steps) = outcome.map_err(refused)?;
    tracing::info!(gdpr_request_id = %id, "GDPR FORGET confirmed");
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)))
}

/// An extension of the deadline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExtendBody {
    /// 1 or 2; at most two months in all.
    months: i32,
    reason: String,
}

/// `POST /gdpr/requests/{id}/extend`: GDPR Art. 12(3) allows two more months at most, with a
/// reason the subject must be told within the first month.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/extend",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    request_body = ExtendBody,
    responses(
        (status = 200, description = "Extended", body = RequestView),
        (status = 409, description = "Finished, or more than two months in all", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn extend(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let mut problems = Vec::new();
    if !(1..=2).contains(&body.months) {
        problems.push(FieldProblem::new("/months", "must be 1 or 2"));
    }
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 1000 {
        problems.push(FieldProblem::new("/reason", "must be 1 to 1000 characters"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let (request, steps) = pool
        .run(move |c| {
            write_transaction(c, |c| {
                let mut request = lock(c, id)?;
                let detail = lifecycle::extend(&mut request, body.months, reason, now).map_err(refused)?;
                store::save_request(c, &mut request).map_err(store_error)?;
                audit::audit(
                    c,
                    &orchestrator.keys.audit,
                    id,
                    actor(&caller),
                    "deadline_extended",
                    &detail,
                    now,
                )?;
                let steps = store::steps(c, id)?;
                Ok::<_, ApiError>((request, steps))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)))
}

/// `GET /gdpr/requests/{id}/export`: the bundle of a completed EXPORT: a manifest with counts and
/// SHA-256 checksums of each file, and the subject's data per participant and category. Every
/// download is audited under the person who took it.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/export",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "The bundle", body = Bundle),
        (status = 409, description = "Not a finished EXPORT", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Erased after the retention period", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn export(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let caller = caller.into_inner();
    let now = Timestamp::now();
    let (request, steps) = pool.run(move |c| load_with_steps(c, id)).await?;
    if request.request_type != RequestType::Export || request.count_only {
        return Err(ApiError::Conflict(
            "only an EXPORT that is not count-only has a bundle".to_owned(),
        ));
    }
    if request.identifiers_erased_at.is_some() {
        let mut gone = service_kit::problem::Problem::for_status(actix_web::http::StatusCode::GONE);
        gone.detail = Some("the bundle was erased after the retention period".to_owned());
        return Ok(gone.to_response());
    }
    if request.status != RequestStatus::Completed {
        return Err(ApiError::Conflict(format!(
            "the export is not finished yet (status {})",
            request.status.as_str()
        )));
    }
    let bundle = bundle::assemble(&request, &steps, &orchestrator.keys.bundle, now)
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    let files = bundle.manifest.files.len();
    pool.run(move |c| {
        write_transaction(c, |c| {
            audit::audit(
                c,
                &orchestrator.keys.audit,
                id,
                actor(&caller),
                "bundle_downloaded",
                &json!({ "files": files }),
                now,
            )
        })
        .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(bundle))
}

/// `GET /gdpr/requests/{id}/audit`: every action, oldest first, with its chain verified.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/audit",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "Every action, oldest first, with who took it and its chain verified; no identifiers", body = AuditTrail),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn audit_log(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let trail = pool
        .run(move |c| {
            load(c, id)?;
            audit::audit_log(c, &orchestrator.keys.audit, id).map_err(ApiError::from)
        })
        .await?;
    if !trail.chain_verified {
        tracing::error!(gdpr_request_id = %id, "the audit log's chain does not verify: it was changed");
    }
    Ok(HttpResponse::Ok().json(trail))
}
