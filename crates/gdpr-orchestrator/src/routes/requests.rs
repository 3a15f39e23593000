//! `/gdpr/requests`: file, follow, confirm, extend and collect GDPR requests.

use crate::scopes::Dpo;
use crate::store::{self, status, RequestRow, RequestType, StepRow};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use diesel::Connection;
use domain::gdpr::{due_after_months, DataSubject, SubjectInput};
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use service_kit::auth::{require, Caller};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{AnyConnection, DbPool};
use service_kit::extract::JsonBody;
use service_kit::pagination::{decode_cursor, encode_cursor};
use service_kit::problem::{ApiError, FieldProblem};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
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

/// One participant's part, as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StepView {
    phase: String,
    participant: String,
    state: String,
    attempts: i32,
    counts: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results_urls: Vec<String>,
    updated_at: Timestamp,
}

/// A request as served: states, counts and dates; never the subject.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestView {
    id: Uuid,
    #[serde(rename = "type")]
    request_type: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    count_only: bool,
    reference: String,
    requested_by: String,
    received_at: Timestamp,
    due_at: Timestamp,
    overdue: bool,
    extension_months: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    extension_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purge_after: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifiers_erased_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_request_id: Option<Uuid>,
    /// Totals per phase and category over every participant.
    counts: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participants: Option<Vec<StepView>>,
}

/// A request as answered to its filing: `duplicate` when the subject already had an unfinished
/// request of this type (that one is answered).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FiledView {
    #[schema(inline)]
    #[serde(flatten)]
    request: RequestView,
    duplicate: bool,
}

/// A page of requests, newest first.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct RequestPage {
    requests: Vec<RequestView>,
    next: Option<String>,
}

/// The export bundle.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Bundle {
    /// requestId, reference, dates, and per file: path, participant, category, count, sha256.
    manifest: Value,
    /// participant → category → the subject's data (JSON arrays).
    data: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
}

fn timestamp(value: Option<DbTimestamp>) -> Result<Option<Timestamp>, ApiError> {
    value.map(|v| v.into_domain().map_err(ApiError::from)).transpose()
}

fn view(request: RequestRow, steps: Option<Vec<StepRow>>, now: Timestamp) -> Result<RequestView, ApiError> {
    let mut counts = BTreeMap::new();
    for step in steps.iter().flatten() {
        for (category, n) in step.counts() {
            *counts.entry(format!("{}.{category}", step.phase)).or_default() += n;
        }
    }
    let participants = steps
        .map(|steps| {
            steps
                .into_iter()
                .map(|step| {
                    Ok(StepView {
                        counts: step.counts(),
                        results_urls: step.results_urls(),
                        phase: step.phase,
                        participant: step.participant,
                        state: step.state,
                        attempts: step.attempts,
                        detail: step.detail,
                        updated_at: step.updated_at.into_domain()?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .transpose()?;
    Ok(RequestView {
        overdue: request.is_overdue(now),
        id: request.id.0,
        request_type: request.request_type,
        status: request.status,
        status_reason: request.status_reason,
        count_only: request.count_only,
        reference: request.reference,
        requested_by: request.requested_by,
        received_at: request.received_at.into_domain()?,
        due_at: request.due_at.into_domain()?,
        extension_months: request.extension_months,
        extension_reason: request.extension_reason,
        confirmed_at: timestamp(request.confirmed_at)?,
        confirmed_by: request.confirmed_by,
        purge_after: timestamp(request.purge_after)?,
        completed_at: timestamp(request.completed_at)?,
        identifiers_erased_at: timestamp(request.identifiers_erased_at)?,
        target_request_id: request.target_request_id.map(|t| t.0),
        counts,
        participants,
    })
}

fn parse_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid request id: expected a UUID",
        )])
    })
}

fn load(connection: &mut AnyConnection, id: Uuid) -> Result<RequestRow, ApiError> {
    store::find_request(connection, id)?.ok_or_else(|| ApiError::NotFound(format!("no GDPR request {id}")))
}

fn load_with_steps(connection: &mut AnyConnection, id: Uuid) -> Result<(RequestRow, Vec<StepRow>), ApiError> {
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
    let subject = DataSubject::parse(&body.subject).map_err(|subject_problems| {
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
    let fingerprint = orchestrator.fingerprint(&subject);
    let caller = caller.into_inner().name;
    let count_only = body.count_only;
    let now = Timestamp::now();
    let (request, steps, created) = pool
        .run(move |c| {
            c.transaction(|c| {
                if let Some(open) = store::find_open_duplicate(c, request_type, &fingerprint)? {
                    let steps = store::steps(c, open.id.0)?;
                    return Ok((open, steps, false));
                }
                let id = Uuid::now_v7();
                let (subject_json, target, initial_status) = match request_type {
                    RequestType::UndoForget => undo_target(c, id, &fingerprint, &caller, now)?,
                    _ => (to_json(&subject), None, status::RECEIVED),
                };
                let row = RequestRow {
                    id: DbUuid(id),
                    request_type: request_type.as_str().to_owned(),
                    status: initial_status.to_owned(),
                    count_only,
                    reference,
                    requested_by: caller.clone(),
                    subject: Some(subject_json),
                    subject_fingerprint: Some(fingerprint),
                    target_request_id: target.map(DbUuid),
                    received_at: now.into(),
                    due_at: due_after_months(now, 1).into(),
                    extension_months: 0,
                    extension_reason: None,
                    confirmed_at: None,
                    confirmed_by: None,
                    purge_after: None,
                    completed_at: (initial_status == status::COMPLETED).then(|| now.into()),
                    identifiers_erased_at: None,
                    status_reason: None,
                    attempts: 0,
                    next_attempt_at: now.into(),
                    updated_at: now.into(),
                };
                store::insert_request(c, &row)?;
                store::audit(
                    c,
                    id,
                    &caller,
                    "received",
                    &json!({ "type": request_type.as_str(), "countOnly": count_only, "status": initial_status }),
                    now,
                )?;
                Ok::<_, ApiError>((row, Vec::new(), true))
            })
        })
        .await?;
    tracing::Span::current().record("gdpr_request_id", tracing::field::display(request.id.0));
    let location = format!("/gdpr/requests/{}", request.id.0);
    let mut response = if created {
        tracing::info!("GDPR request filed");
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let mut body = serde_json::to_value(view(request, Some(steps), now)?).map_err(anyhow::Error::from)?;
    body["duplicate"] = json!(!created);
    Ok(response.insert_header(("Location", location)).json(body))
}

/// For an UNDO_FORGET: the FORGET it undoes, claimed for the undo in this transaction. Returns
/// the subject (as the FORGET expanded it), the FORGET's id and the new request's status.
fn undo_target(
    connection: &mut AnyConnection,
    undo_id: Uuid,
    fingerprint: &str,
    caller: &str,
    now: Timestamp,
) -> Result<(String, Option<Uuid>, &'static str), ApiError> {
    let Some(mut forget) = store::find_latest_forget(connection, fingerprint)? else {
        return Err(ApiError::Conflict(
            "there is no FORGET request for this subject to undo".to_owned(),
        ));
    };
    let forget_id = forget.id.0;
    let subject = forget.subject.clone().unwrap_or_default();
    let purge_due = forget.purge_after.is_some_and(|p| p.0 <= now.as_offset_date_time());
    let next_status = match forget.status.as_str() {
        // Nothing was hidden yet: the FORGET is cancelled and there is nothing to restore.
        status::RECEIVED | status::BLOCKED | status::COUNTING | status::AWAITING_CONFIRMATION
            if forget.confirmed_at.is_none() =>
        {
            (status::CANCELLED, status::COMPLETED)
        }
        status::IN_GRACE if !purge_due => (store::status::UNDO_REQUESTED, status::RECEIVED),
        status::IN_GRACE | status::PURGING | status::COMPLETED => {
            return Err(ApiError::Conflict(format!(
                "FORGET {forget_id} is past its grace window and purged (or being purged): nothing can be restored"
            )))
        }
        status::UNDONE | status::CANCELLED | store::status::UNDO_REQUESTED => {
            return Err(ApiError::Conflict(format!("FORGET {forget_id} is already undone")))
        }
        _ => {
            return Err(ApiError::Conflict(format!(
                "FORGET {forget_id} is still being applied; undo it once it is in its grace window"
            )))
        }
    };
    let from = std::mem::replace(&mut forget.status, next_status.0.to_owned());
    forget.updated_at = now.into();
    if next_status.0 == status::CANCELLED {
        forget.completed_at = Some(now.into());
    }
    store::save_request(connection, &forget)?;
    store::audit(
        connection,
        forget_id,
        caller,
        "status_changed",
        &json!({ "from": from, "to": next_status.0, "by": undo_id }),
        now,
    )?;
    Ok((subject, Some(forget_id), next_status.1))
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
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
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)?))
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
    if let Some(status) = &query.status {
        if !status::ALL.contains(&status.as_str()) {
            problems.push(FieldProblem::parameter(
                "status",
                format!("must be one of {}", status::ALL.join(", ")),
            ));
        }
    }
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
        status: query.status.clone(),
        overdue: query.overdue.unwrap_or(false),
    };
    let now = Timestamp::now();
    let rows = pool
        .run(move |c| store::list(c, &filter, after, limit + 1, now).map_err(ApiError::from))
        .await?;
    let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let page: Vec<RequestRow> = rows.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect();
    let next = match (has_more, page.last()) {
        (true, Some(last)) => Some(encode_cursor(last.received_at.into_domain()?, last.id.0)),
        _ => None,
    };
    let requests = page
        .into_iter()
        .map(|r| view(r, None, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({ "requests": requests, "next": next })))
}

/// `POST /gdpr/requests/{id}/confirm`: a FORGET awaiting confirmation is carried out; its purge
/// is due once the grace window has passed.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/confirm",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "Confirmed: carried out now, purged after the grace window", body = RequestView),
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
    let caller = caller.into_inner().name;
    let grace = orchestrator.settings.grace();
    let now = Timestamp::now();
    let (request, steps) = pool
        .run(move |c| {
            c.transaction(|c| {
                let mut request = load(c, id)?;
                if request.request_type() != RequestType::Forget || request.status != status::AWAITING_CONFIRMATION {
                    return Err(ApiError::Conflict(format!(
                        "only a FORGET awaiting confirmation can be confirmed; this request is {} {}",
                        request.request_type, request.status
                    )));
                }
                request.status = status::FORGETTING.to_owned();
                request.confirmed_at = Some(now.into());
                request.confirmed_by = Some(caller.clone());
                request.purge_after = Some(DbTimestamp(now.as_offset_date_time() + grace));
                request.next_attempt_at = now.into();
                request.updated_at = now.into();
                store::save_request(c, &request)?;
                store::audit(
                    c,
                    id,
                    &caller,
                    "confirmed",
                    &json!({ "from": status::AWAITING_CONFIRMATION, "to": status::FORGETTING, "purgeAfter": request.purge_after.map(|p| p.0.unix_timestamp()) }),
                    now,
                )?;
                let steps = store::steps(c, id)?;
                Ok((request, steps))
            })
        })
        .await?;
    tracing::info!(gdpr_request_id = %id, "GDPR FORGET confirmed");
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)?))
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
    let caller = caller.into_inner().name;
    let now = Timestamp::now();
    let (request, steps) = pool
        .run(move |c| {
            c.transaction(|c| {
                let mut request = load(c, id)?;
                if request.is_finished() {
                    return Err(ApiError::Conflict(format!(
                        "request {id} is already {}",
                        request.status
                    )));
                }
                let total = request.extension_months + body.months;
                if total > 2 {
                    return Err(ApiError::Conflict(format!(
                        "the deadline can be extended by two months at most; {} already granted",
                        request.extension_months
                    )));
                }
                let received = request.received_at.into_domain()?;
                request.extension_months = total;
                request.extension_reason = Some(reason);
                request.due_at = due_after_months(received, u8::try_from(1 + total).unwrap_or(3)).into();
                request.updated_at = now.into();
                store::save_request(c, &request)?;
                store::audit(
                    c,
                    id,
                    &caller,
                    "deadline_extended",
                    &json!({ "extensionMonths": total, "dueAt": request.due_at.into_domain()? }),
                    now,
                )?;
                let steps = store::steps(c, id)?;
                Ok((request, steps))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(request, Some(steps), now)?))
}

/// `GET /gdpr/requests/{id}/export`: the bundle of a completed EXPORT: a manifest with counts and
/// SHA-256 checksums of each file, and the subject's data per participant and category.
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
pub(crate) async fn export(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let (request, steps) = pool.run(move |c| load_with_steps(c, id)).await?;
    if request.request_type() != RequestType::Export || request.count_only {
        return Err(ApiError::Conflict(
            "only an EXPORT that is not count-only has a bundle".to_owned(),
        ));
    }
    if request.identifiers_erased_at.is_some() {
        let mut gone = service_kit::problem::Problem::for_status(actix_web::http::StatusCode::GONE);
        gone.detail = Some("the bundle was erased after the retention period".to_owned());
        return Ok(gone.to_response());
    }
    if request.status != status::COMPLETED {
        return Err(ApiError::Conflict(format!(
            "the export is not finished yet (status {})",
            request.status
        )));
    }
    let mut files = Vec::new();
    let mut data: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut genesys_results = Vec::new();
    for step in steps.iter().filter(|s| s.phase == "export") {
        genesys_results.extend(step.results_urls());
        let categories: BTreeMap<String, Vec<Value>> = step
            .export_data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        for (category, items) in categories {
            let bytes = serde_json::to_vec_pretty(&items).map_err(anyhow::Error::from)?;
            files.push(json!({
                "path": format!("{}/{category}.json", step.participant),
                "participant": step.participant,
                "category": category,
                "count": items.len(),
                "sha256": hex::encode(Sha256::digest(&bytes)),
            }));
            data.entry(step.participant.clone())
                .or_default()
                .insert(category, Value::Array(items));
        }
    }
    let manifest = json!({
        "requestId": id,
        "reference": request.reference,
        "receivedAt": request.received_at.into_domain()?,
        "completedAt": timestamp(request.completed_at)?,
        "generatedAt": Timestamp::now(),
        "format": "Each file is the JSON array at data.<participant>.<category>, pretty-printed; sha256 is over those bytes.",
        "files": files,
        "genesysCloudResults": genesys_results,
    });
    Ok(HttpResponse::Ok().json(json!({ "manifest": manifest, "data": data })))
}

/// `GET /gdpr/requests/{id}/audit`: every state change, oldest first.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{id}/audit",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The request id")),
    responses(
        (status = 200, description = "Every state change, oldest first, with its hash chain verified; no identifiers", body = store::AuditTrail),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn audit_log(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let trail = pool
        .run(move |c| {
            load(c, id)?;
            store::audit_log(c, id).map_err(ApiError::from)
        })
        .await?;
    if !trail.chain_verified {
        tracing::error!(gdpr_request_id = %id, "the audit log's hash chain does not verify: it was changed");
    }
    Ok(HttpResponse::Ok().json(trail))
}
