//! `/gdpr/requests`: file, list and follow GDPR requests. Every action is audited under the
//! person who took it and the client they came through.

use super::common::{actor, load_whole, lock, parse_id, refused, store_error, viewer, vouching, Whole};
use super::views::{answer, view};
use crate::audit::{self, Actor};
use crate::lifecycle::{self, Confirmer};
use crate::scopes::Dpo;
use crate::store::{self, Request, Vouching};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::{
    AnswerLanguage, FileRequest, FiledRequest, GdprRequest, LiftRestriction, ListRequests, RequestPage, RequestStatus,
    RequestType, UndoForget,
};
use contracts::participant::Rectification;
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
    .service(web::resource("/gdpr/requests/{id}/undo").route(web::post().to(undo).wrap(dpo())))
    .service(web::resource("/gdpr/requests/{id}/lift").route(web::post().to(lift).wrap(dpo())));
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
/// request: a FORGET filed while a count of the subject is open is a new FORGET). A RECTIFY
/// awaiting confirmation that its count did not check for other people's values (409
/// `rectification-not-counted`), filed again, is counted again: answered `counting`.
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
        (status = 403, description = "The caller lacks the scope this operation requires; or, outside development, a FORGET or a RECTIFY (not a count) filed without a person the identity provider signed in (X-Person-Token)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "UNDO_FORGET: no FORGET to undo, or it is purged; RECTIFY: the subject has an unfinished RECTIFY of another correction, or a FORGET under way or kept or a RESTRICT in force names the subject, the customer the interactions move to or the interactions (the detail says which), or that customer was erased by a FORGET or a legal hold in force names it (a hold on what the correction reaches refuses nothing: its rows stay as they were)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid (each problem names it: `/type`, `/subject/phoneNumbers/0`, `/replacement/phoneNumbers/0/to`, …); nothing is filed", body = service_kit::problem::Problem, content_type = "application/problem+json")
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
    match request_type {
        None => problems.push(FieldProblem::new(
            "/type",
            "must be one of EXPORT, FORGET, UNDO_FORGET, RESTRICT, RECTIFY",
        )),
        // A lift names the RESTRICT it lifts, which a subject alone does not.
        Some(RequestType::LiftRestriction) => problems.push(FieldProblem::new(
            "/type",
            "a LIFT_RESTRICTION is filed with POST /gdpr/requests/{id}/lift on the RESTRICT",
        )),
        Some(_) => {}
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
    // A RECTIFY's correction, read against the subject it names.
    let rectification = match (request_type, &body.replacement, &subject) {
        (Some(RequestType::Rectify), None, _) => {
            problems.push(FieldProblem::new(
                "/replacement",
                "a RECTIFY names what to correct: phoneNumbers, emailAddresses or customer",
            ));
            None
        }
        (Some(RequestType::Rectify), Some(input), Ok(subject)) => {
            crate::rectification::parse(input, subject, &orchestrator.handles)
                .map_err(|found| problems.extend(found))
                .ok()
        }
        // The subject's own problems are named already.
        (Some(RequestType::Rectify), Some(_), Err(_)) | (_, None, _) => None,
        (_, Some(_), _) => {
            problems.push(FieldProblem::new(
                "/replacement",
                "only a RECTIFY carries a replacement",
            ));
            None
        }
    };
    let reference = reference(&body.reference).map_err(|problem| problems.push(problem));
    if request_type == Some(RequestType::UndoForget) && body.count_only {
        problems.push(FieldProblem::new("/countOnly", "UNDO_FORGET has no count-only mode"));
    }
    let language = match body.language.as_deref() {
        None => Some(orchestrator.settings.answer_language),
        Some(text) => {
            let language = AnswerLanguage::parse(text);
            if language.is_none() {
                problems.push(FieldProblem::new("/language", "must be cs or en"));
            }
            language
        }
    };
    let (Some(request_type), Ok(subject), Ok(reference), Some(language), true) =
        (request_type, subject, reference, language, problems.is_empty())
    else {
        return Err(ApiError::Validation(problems));
    };
    tracing::Span::current().record("request_type", request_type.as_str());
    // Four eyes are two persons: outside development a FORGET that will erase (a RECTIFY that
    // will correct) is filed by a person the identity provider signed in, never by a client acting
    // as itself (whom any one person could then confirm). Counts and EXPORTs a client may file as
    // itself.
    if matches!(request_type, RequestType::Forget | RequestType::Rectify)
        && !body.count_only
        && orchestrator.forget_needs_verified_person
        && vouching(&caller) != Vouching::Provider
    {
        return Err(ApiError::Refused(format!(
            "a {} needs a signed-in person: send their access token from the identity provider (X-Person-Token); a client acting as itself may file counts and EXPORTs only",
            request_type.as_str()
        )));
    }
    let fingerprint = orchestrator
        .fingerprint(&subject)
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("the subject could not be fingerprinted: {e}")))?;
    let filing = Filing {
        request_type,
        count_only: body.count_only,
        reference,
        language,
        rectification,
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
                    RequestType::Export | RequestType::Forget | RequestType::Restrict | RequestType::Rectify => None,
                    RequestType::LiftRestriction => {
                        return Err(ApiError::Unexpected(anyhow::anyhow!(
                            "a LIFT_RESTRICTION passed the door of POST /gdpr/requests"
                        )))
                    }
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
    /// Of the subject's answer.
    language: AnswerLanguage,
    /// A RECTIFY's correction (none for the other types).
    rectification: Option<Rectification>,
}

/// A request as filed: the new one, or the subject's open one of the same type and kind.
struct Filed {
    whole: Whole,
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
/// of the same type and kind when there is one; an UNDO_FORGET undoes the FORGET `undo_of`, a
/// LIFT_RESTRICTION lifts the RESTRICT `undo_of` once confirmed (it waits for that).
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
        language,
        rectification,
    } = filing;
    if (request_type == RequestType::Rectify) != rectification.is_some() {
        return Err(ApiError::Unexpected(anyhow::anyhow!(
            "a {} filed with a correction: {}",
            request_type.as_str(),
            rectification.is_some()
        )));
    }
    if let Some(open) = store::find_open_duplicate(c, request_type, count_only, &fingerprint)? {
        // One correction at a time: another one is no repeat of the open one, and is never dropped.
        if open.rectification != rectification {
            return Err(ApiError::Conflict(format!(
                "the subject has an unfinished RECTIFY ({}) of another correction: file this one once it is done",
                open.id
            )));
        }
        let mut whole = Whole::of(c, open)?;
        // A RECTIFY its count did not check for other people's values: filed again, counted again.
        if let Some(detail) = crate::rectification::conflicts::count_again(c, &mut whole.request, &whole.steps, now)? {
            store::save_request(c, &mut whole.request).map_err(store_error)?;
            let (id, detail) = (whole.request.id, json!(detail));
            audit::audit(
                c,
                &orchestrator.keys.audit,
                id,
                actor(caller),
                "status_changed",
                &detail,
                now,
            )?;
            whole = Whole::of(c, whole.request)?;
        }
        return Ok(Filed { whole, created: false });
    }
    // A correction never moves or rewrites rows another request holds (held rows stay as they
    // were at each participant).
    if let Some(rectification) = &rectification {
        if let Some(why) = crate::rectification::in_the_way(c, &subject, rectification, now)? {
            return Err(ApiError::Conflict(why.to_owned()));
        }
    }
    let due_at =
        due_after_months(now, 1).ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a deadline past year 9999")))?;
    let id = Uuid::now_v7();
    let (subject, target, initial_status) = match (request_type, undo_of) {
        (RequestType::UndoForget, Some(forget)) => {
            let (subject, status) = undo_target(c, orchestrator, id, forget, actor(caller))?;
            (subject, Some(forget), status)
        }
        (RequestType::LiftRestriction, Some(restrict)) => {
            // The RESTRICT's story shows the lift asked for; it stays restricted until then.
            audit::audit(
                c,
                &orchestrator.keys.audit,
                restrict,
                actor(caller),
                "lift_requested",
                &json!({ "by": id }),
                now,
            )?;
            (subject, Some(restrict), RequestStatus::AwaitingConfirmation)
        }
        (RequestType::Export | RequestType::Forget | RequestType::Restrict | RequestType::Rectify, None) => {
            (subject, None, RequestStatus::Received)
        }
        (request_type, undo_of) => {
            return Err(ApiError::Unexpected(anyhow::anyhow!(
                "a {} filed with undo_of {undo_of:?}",
                request_type.as_str()
            )))
        }
    };
    // What a RECTIFY corrects, counted (its values are personal data, never audited).
    let corrects = rectification.as_ref().map(|r| {
        json!({
            "phoneNumbers": r.phone_numbers.len(),
            "emailAddresses": r.email_addresses.len(),
            "customerInteractions": r.customer.as_ref().map_or(0, |c| c.interaction_ids.len()),
        })
    });
    let request = Request {
        id,
        request_type,
        rectification,
        status: initial_status,
        count_only,
        reference: Some(reference),
        requested_by: caller.person().to_owned(),
        requested_via: caller.name.clone(),
        requested_vouched_by: Some(vouching(caller)),
        subject: Some(subject),
        subject_fingerprint: Some(fingerprint),
        target_request_id: target,
        language: Some(language),
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
        &json!({ "type": request_type, "countOnly": count_only, "status": initial_status, "corrects": corrects }),
        now,
    )?;
    Ok(Filed {
        whole: Whole {
            request,
            steps: Vec::new(),
            verification: None,
        },
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
    let Filed { whole, created } = filed;
    let id = whole.request.id;
    tracing::Span::current().record("gdpr_request_id", tracing::field::display(id));
    let location = format!("/gdpr/requests/{id}");
    let mut response = if created {
        tracing::info!("GDPR request filed");
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.insert_header(("Location", location)).json(FiledRequest {
        request: answer(whole, caller, orchestrator, now).into_inner(),
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
    let filing = against(RequestType::UndoForget, &path, &body.reference)?;
    file_against(pool, orchestrator, caller.into_inner(), filing).await
}

/// `POST /gdpr/requests/{id}/lift`: files a LIFT_RESTRICTION of this RESTRICT (offered as `lift`
/// in its `allowedActions`). It waits `awaiting_confirmation` until a second person confirms it
/// (`POST /gdpr/requests/{lift id}/confirm`, the same four eyes as a FORGET's); then the
/// participants lift the RESTRICT's holds and it becomes `lifted`. GDPR Art. 18(3): the DPO tells
/// the subject before confirming.
#[utoipa::path(
    post,
    path = "/gdpr/requests/{id}/lift",
    tag = "gdpr",
    request_body = LiftRestriction,
    params(
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)"),
        ("id" = Uuid, Path, description = "The RESTRICT's id")
    ),
    responses(
        (status = 201, description = "The LIFT_RESTRICTION, filed: awaiting another person's confirmation", body = FiledRequest),
        (status = 200, description = "A repeat: this RESTRICT already has a LIFT_RESTRICTION under this reference (whatever its state now), or the subject has an unfinished one: that one", body = FiledRequest),
        (status = 403, description = "Four eyes outside development: filed without a person the identity provider signed in (X-Person-Token), whom a second person could then confirm", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a RESTRICT (or a count), not restricted yet, or already lifted", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(
    name = "lift gdpr restriction",
    skip_all,
    fields(gdpr_request_id, request_type = "LIFT_RESTRICTION")
)]
pub(crate) async fn lift(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<LiftRestriction>,
) -> Result<HttpResponse, ApiError> {
    let filing = against(RequestType::LiftRestriction, &path, &body.reference)?;
    file_against(pool, orchestrator, caller.into_inner(), filing).await
}

/// An UNDO_FORGET or a LIFT_RESTRICTION of the request `id` (the path's) under `reference`,
/// validated (a problem names `id` or `/reference`).
struct Against {
    target_id: Uuid,
    request_type: RequestType,
    reference: String,
}

fn against(request_type: RequestType, id: &str, text: &str) -> Result<Against, ApiError> {
    let target_id = parse_id(id)?;
    let reference = reference(text).map_err(|problem| ApiError::Validation(vec![problem]))?;
    Ok(Against {
        target_id,
        request_type,
        reference,
    })
}

/// Files an UNDO_FORGET or a LIFT_RESTRICTION against its target request, with the target's
/// subject, as `POST /gdpr/requests` would.
async fn file_against(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: Caller,
    Against {
        target_id,
        request_type,
        reference,
    }: Against,
) -> Result<HttpResponse, ApiError> {
    let now = Timestamp::now();
    let keys = orchestrator.clone();
    let by = caller.clone();
    let filed = pool
        .run(move |c| {
            write_transaction(c, |c| {
                let target = lock(c, target_id)?;
                // It answers the subject in the language of the request it undoes or lifts.
                let filing = Filing {
                    request_type,
                    count_only: false,
                    reference,
                    language: target.language.unwrap_or(keys.settings.answer_language),
                    rectification: None,
                };
                // A repeat first (the same target, the same reference): the request it filed,
                // whatever the target's state has become since.
                if let Some(open) = store::find_undo_of(c, filing.request_type, target_id, &filing.reference)? {
                    return Ok(Filed {
                        whole: Whole::of(c, open)?,
                        created: false,
                    });
                }
                // Then the state rule (a request of another type, a count, one already undone,
                // lifted or erased are refused by it, naming why).
                let confirmer = Confirmer {
                    actor: actor(&by),
                    vouched_by: vouching(&by),
                };
                match filing.request_type {
                    RequestType::LiftRestriction => lifecycle::may_lift(&target, confirmer, keys.four_eyes),
                    _ => lifecycle::undo(&target, store::database_now(c)?).map(|_| ()),
                }
                .map_err(refused)?;
                let (Some(subject), Some(fingerprint)) = (target.subject, target.subject_fingerprint) else {
                    return Err(ApiError::Unexpected(anyhow::anyhow!(
                        "request {target_id} can be undone or lifted but holds no subject"
                    )));
                };
                file(c, &keys, &by, filing, subject, fingerprint, Some(target_id), now)
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
    let whole = pool.run(move |c| load_whole(c, id)).await?;
    Ok(answer(whole, &caller, &orchestrator, now))
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
    let (rows, mut verifications, mut conflicts) = pool
        .run(move |c| {
            let rows = store::list(c, &filter, after, limit + 1, now)?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            let verifications = store::verifications::find_many(c, &ids)?;
            let conflicts = crate::rectification::conflicts::Check::of_requests(c, &ids)?;
            Ok::<_, ApiError>((rows, verifications, conflicts))
        })
        .await?;
    let page_size = usize::try_from(limit).map_err(|e| ApiError::Unexpected(e.into()))?;
    let has_more = rows.len() > page_size;
    let page: Vec<Request> = rows.into_iter().take(page_size).collect();
    let next = match (has_more, page.last()) {
        (true, Some(last)) => Some(encode_cursor(last.received_at, last.id)),
        _ => None,
    };
    let viewer = viewer(&caller, &orchestrator);
    let requests = page
        .into_iter()
        .map(|r| {
            let verification = verifications.remove(&r.id);
            let check = conflicts.remove(&r.id).unwrap_or_default();
            view(r, None, check, verification, viewer, now)
        })
        .collect();
    Ok(web::Json(RequestPage { requests, next }))
}
