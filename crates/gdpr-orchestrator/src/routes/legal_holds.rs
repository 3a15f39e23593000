//! `/gdpr/legal-holds`: place, list and release legal holds (issue #30). Scope `dpo`: the data
//! protection officers who file and confirm erasures decide what is kept from them. Every change
//! is audited in the orchestrator's chain under the hold's id, by the person who made it; a hold
//! as served names how many identifiers it covers, never one.

use super::common::{actor, refused, viewer, vouching, Viewer};
use super::requests::{reference, subject_input};
use crate::audit;
use crate::legal_hold::{self, released_at, status_at};
use crate::lifecycle::{Confirmer, Refusal};
use crate::scopes::Dpo;
use crate::store::legal_holds::{self as store, Act, Hold, Particulars};
use crate::store::{StoreError, Vouching};
use crate::Orchestrator;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gdpr::AuditTrail;
use contracts::legal_hold::{
    IdentifierCounts, LegalHold, LegalHoldPage, LegalHoldStatus, ListLegalHolds, PlaceLegalHold, ReleaseLegalHold,
};
use domain::gdpr::DataSubject;
use domain::{InteractionId, Timestamp};
use serde_json::json;
use service_kit::auth::{require, Caller};
use service_kit::database::{write_transaction, AnyConnection, DbPool};
use service_kit::extract::JsonBody;
use service_kit::pagination::{keyset_page, page_parameters};
use service_kit::problem::{ApiError, FieldProblem};
use uuid::Uuid;

pub fn config(cfg: &mut web::ServiceConfig) {
    let dpo = || from_fn(require::<Dpo>);
    cfg.service(
        web::resource("/gdpr/legal-holds")
            .route(web::post().to(place).wrap(dpo()))
            .route(web::get().to(list).wrap(dpo())),
    )
    .service(web::resource("/gdpr/legal-holds/{id}").route(web::get().to(get_hold).wrap(dpo())))
    .service(web::resource("/gdpr/legal-holds/{id}/release").route(web::post().to(release).wrap(dpo())))
    .service(web::resource("/gdpr/legal-holds/{id}/release/withdraw").route(web::post().to(withdraw).wrap(dpo())))
    .service(web::resource("/gdpr/legal-holds/{id}/audit").route(web::get().to(audit_log).wrap(dpo())));
}

/// The most interactions one hold names: every purge call carries every hold in force, so a hold
/// stays a size a call can carry; a larger matter is several holds.
const MAX_NAMED_INTERACTIONS: usize = 1000;

/// A free-text reason, trimmed, or the problem naming `pointer`.
fn reason(text: &str, pointer: &str) -> Result<String, FieldProblem> {
    let reason = text.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(FieldProblem::new(pointer, "must be 1 to 1000 characters"));
    }
    Ok(reason)
}

/// The hold's subject: its identifiers normalised as a request's ([`DataSubject::parse`]) and the
/// interactions it names; at least one of either. Problems name where, never what.
fn subject(body: &PlaceLegalHold, orchestrator: &Orchestrator) -> Result<DataSubject, Vec<FieldProblem>> {
    let input = subject_input(body.subject.clone());
    let names_none = input.customer_ids.is_empty()
        && input.phone_numbers.is_empty()
        && input.email_addresses.is_empty()
        && input.genesys_user_ids.is_empty();
    let mut subject = match (names_none, body.interaction_ids.is_empty()) {
        (true, true) => {
            return Err(vec![FieldProblem::new(
                "/subject",
                "name at least one identifier: customerIds, phoneNumbers, emailAddresses or genesysUserIds (or interactionIds)",
            )])
        }
        (true, false) => DataSubject::default(),
        (false, _) => DataSubject::parse(&input, &orchestrator.handles).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| FieldProblem::new(format!("/subject{}", p.pointer), p.detail))
                .collect::<Vec<_>>()
        })?,
    };
    subject
        .interaction_ids
        .extend(body.interaction_ids.iter().copied().map(InteractionId::from_uuid));
    Ok(subject)
}

/// `body` as a hold placed by `caller` at `now`, or every problem, each naming its field.
fn new_hold(
    body: PlaceLegalHold,
    caller: &Caller,
    orchestrator: &Orchestrator,
    now: Timestamp,
) -> Result<Hold, ApiError> {
    let mut problems = Vec::new();
    let subject = subject(&body, orchestrator).map_err(|found| problems.extend(found));
    let reference = reference(&body.reference).map_err(|problem| problems.push(problem));
    let reason = reason(&body.reason, "/reason").map_err(|problem| problems.push(problem));
    if let Some(window) = body.window {
        if let (Some(from), Some(to)) = (window.from, window.to) {
            if from >= to {
                problems.push(FieldProblem::new("/window/to", "must be later than window.from"));
            }
        }
    }
    if body.interaction_ids.len() > MAX_NAMED_INTERACTIONS {
        problems.push(FieldProblem::new(
            "/interactionIds",
            format!("at most {MAX_NAMED_INTERACTIONS} interactions a hold; place several holds"),
        ));
    }
    if body.ends_at.is_some_and(|ends_at| ends_at <= now) {
        problems.push(FieldProblem::new("/endsAt", "must be in the future"));
    }
    let (Ok(subject), Ok(reference), Ok(reason), true) = (subject, reference, reason, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    Ok(Hold {
        id: Uuid::now_v7(),
        status: LegalHoldStatus::Active,
        basis: body.basis,
        particulars: Particulars::Kept {
            reference,
            reason,
            subject,
        },
        // An open window is no window.
        window: body.window.filter(|w| w.from.is_some() || w.to.is_some()),
        ends_at: body.ends_at,
        placed: Act {
            by: caller.person().to_owned(),
            via: caller.name.clone(),
            vouched_by: vouching(caller),
            at: now,
        },
        release_requested: None,
        released: None,
        updated_at: now,
        version: 0,
    })
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The hold as served to `viewer` at `now`: counts of what it covers, never the identifiers.
fn view(hold: Hold, viewer: Viewer<'_>, now: Timestamp) -> LegalHold {
    let (reference, reason, covers, identifiers_erased_at) = match &hold.particulars {
        Particulars::Kept {
            reference,
            reason,
            subject,
        } => (
            Some(reference.clone()),
            Some(reason.clone()),
            Some(IdentifierCounts {
                customer_ids: count(subject.customer_ids.len()),
                phone_numbers: count(subject.phone_numbers.len()),
                email_addresses: count(subject.email_addresses.len()),
                genesys_user_ids: count(subject.genesys_user_ids.len()),
                interaction_ids: count(subject.interaction_ids.len()),
            }),
            None,
        ),
        Particulars::Erased { at } => (None, None, None, Some(*at)),
    };
    let allowed_actions = legal_hold::allowed_actions(&hold, viewer.by, viewer.four_eyes, now);
    LegalHold {
        id: hold.id,
        status: status_at(&hold, now),
        released_at: released_at(&hold, now),
        reference,
        reason,
        basis: hold.basis,
        covers,
        identifiers_erased_at,
        window: hold.window,
        ends_at: hold.ends_at,
        placed_by: hold.placed.by,
        placed_via: hold.placed.via,
        placed_at: hold.placed.at,
        release_requested_by: hold.release_requested.as_ref().map(|r| r.act.by.clone()),
        release_requested_at: hold.release_requested.as_ref().map(|r| r.act.at),
        released_by: hold.released.map(|r| r.act.by),
        allowed_actions,
    }
}

fn parse_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid hold id: expected a UUID",
        )])
    })
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no legal hold {id}"))
}

fn stale(error: StoreError) -> ApiError {
    match error {
        // Routes lock the hold first, so only a writer that skipped the lock gets here.
        StoreError::Stale => ApiError::Conflict("the hold changed meanwhile; try again".to_owned()),
        StoreError::Database(error) => error.into(),
    }
}

/// `POST /gdpr/legal-holds`: a new hold, in force at once (201).
#[utoipa::path(
    post,
    path = "/gdpr/legal-holds",
    tag = "gdpr",
    request_body = PlaceLegalHold,
    params(
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    responses(
        (status = 201, description = "Placed: in force at once; what it covers counted, never named", body = LegalHold),
        (status = 401, description = "No valid credentials, or the person's token is not valid", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks the scope this operation requires; or, outside development, no person the identity provider signed in places it", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong, named by its JSON pointer (never quoted): no identifier, an identifier that does not read, an empty or long reference or reason, a window that ends before it starts, an end in the past", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(name = "place legal hold", skip_all, fields(legal_hold_id))]
pub(crate) async fn place(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    JsonBody(body): JsonBody<PlaceLegalHold>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.into_inner();
    // A hold stops erasures for as long as it stands: outside development a person the identity
    // provider signed in places it, never a client acting as itself (as a FORGET is filed).
    if orchestrator.forget_needs_verified_person && vouching(&caller) != Vouching::Provider {
        return Err(ApiError::Refused(
            "a legal hold needs a signed-in person: send their access token from the identity provider (X-Person-Token)"
                .to_owned(),
        ));
    }
    let now = Timestamp::now();
    let hold = new_hold(body, &caller, &orchestrator, now)?;
    let id = hold.id;
    tracing::Span::current().record("legal_hold_id", tracing::field::display(id));
    let context = orchestrator.clone();
    let by = caller.clone();
    let hold = pool
        .run(move |c| {
            write_transaction(c, |c| {
                store::insert(c, &hold)?;
                let placer = Confirmer {
                    actor: actor(&by),
                    vouched_by: vouching(&by),
                };
                let detail = legal_hold::placed_detail(&hold, placer);
                audit::audit(c, &context.keys.audit, id, actor(&by), "hold_placed", &detail, now)?;
                Ok::<_, ApiError>(hold)
            })
        })
        .await?;
    tracing::info!(basis = hold.basis.as_str(), "legal hold placed");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/gdpr/legal-holds/{id}")))
        .json(view(hold, viewer(&caller, &orchestrator), now)))
}

/// `GET /gdpr/legal-holds?status=…&cursor=…&limit=…`: newest first.
#[utoipa::path(
    get,
    path = "/gdpr/legal-holds",
    tag = "gdpr",
    params(ListLegalHolds),
    responses(
        (status = 200, description = "Holds, newest first, each as it stands now (a hold past its endsAt is ended)", body = LegalHoldPage),
        (status = 422, description = "An unknown status, a limit out of range, a cursor this service did not issue", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn list(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    query: web::Query<ListLegalHolds>,
) -> Result<web::Json<LegalHoldPage>, ApiError> {
    let mut problems = Vec::new();
    let status = match query.status.as_deref().map(LegalHoldStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            let all: Vec<&str> = LegalHoldStatus::ALL.iter().map(|s| s.as_str()).collect();
            problems.push(FieldProblem::parameter(
                "status",
                format!("must be one of {}", all.join(", ")),
            ));
            None
        }
    };
    let limit = query.limit.map(|limit| limit.to_string());
    let (limit, after) = page_parameters(limit.as_deref(), query.cursor.as_deref(), 50, 200, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let now = Timestamp::now();
    let rows = pool
        .run(move |c| store::list(c, status, after, limit + 1, now).map_err(ApiError::from))
        .await?;
    let (page, next) = keyset_page(rows, limit, |hold| (hold.placed.at, hold.id));
    let viewer = viewer(&caller, &orchestrator);
    let holds = page.into_iter().map(|hold| view(hold, viewer, now)).collect();
    Ok(web::Json(LegalHoldPage { holds, next }))
}

#[utoipa::path(
    get,
    path = "/gdpr/legal-holds/{id}",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The hold's id")),
    responses(
        (status = 200, description = "The hold as it stands now, and what the caller may do to it", body = LegalHold),
        (status = 404, description = "No such hold", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_hold(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<web::Json<LegalHold>, ApiError> {
    let id = parse_id(&path)?;
    let now = Timestamp::now();
    let hold = pool
        .run(move |c| store::find(c, id)?.ok_or_else(|| not_found(id)))
        .await?;
    Ok(web::Json(view(hold, viewer(&caller, &orchestrator), now)))
}

/// Changes hold `id` by `change` (a rule of [`legal_hold`], by the caller at `now`) in one
/// transaction with its audit entry `event` (or the one `change` names); a refusal of the person
/// (403) is audited as `refused_event` in a transaction of its own.
async fn change_hold<F>(
    pool: &DbPool,
    orchestrator: &web::Data<Orchestrator>,
    caller: &Caller,
    id: Uuid,
    refused_event: &'static str,
    change: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut Hold, Confirmer<'_>, Timestamp) -> Result<(&'static str, serde_json::Value), Refusal>
        + Send
        + 'static,
{
    let now = Timestamp::now();
    let context = orchestrator.clone();
    let by = caller.clone();
    let outcome = pool
        .run(move |c| {
            let outcome = write_transaction(c, |c| {
                let mut hold = store::lock(c, id)?.ok_or_else(|| not_found(id))?;
                let person = Confirmer {
                    actor: actor(&by),
                    vouched_by: vouching(&by),
                };
                let (event, detail) = match change(&mut hold, person, now) {
                    Ok(changed) => changed,
                    Err(refusal) => return Ok(Err((refusal, hold))),
                };
                store::save(c, &mut hold).map_err(stale)?;
                audit::audit(c, &context.keys.audit, id, actor(&by), event, &detail, now)?;
                Ok::<_, ApiError>(Ok(hold))
            })?;
            if let Err((Refusal::Forbidden(reason), hold)) = &outcome {
                audit_refusal(c, &context, &by, hold, refused_event, reason, now)?;
            }
            Ok::<_, ApiError>(outcome)
        })
        .await?;
    let hold = outcome.map_err(|(refusal, _)| refused(refusal))?;
    tracing::info!(legal_hold_id = %id, status = status_at(&hold, now).as_str(), "legal hold changed");
    Ok(HttpResponse::Ok().json(view(hold, viewer(caller, orchestrator), now)))
}

/// A person refused (four eyes, not the asker): part of the hold's story, audited on its own.
fn audit_refusal(
    c: &mut AnyConnection,
    orchestrator: &Orchestrator,
    by: &Caller,
    hold: &Hold,
    event: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    let detail = json!({
        "hold": hold.id,
        "basis": hold.basis,
        "vouchedBy": vouching(by).as_str(),
        "reason": reason,
    });
    write_transaction(c, |c| {
        audit::audit(c, &orchestrator.keys.audit, hold.id, actor(by), event, &detail, now)
    })?;
    Ok(())
}

/// `POST /gdpr/legal-holds/{id}/release`: the first person asks (`release_requested`); a second,
/// another person, confirms (`released`: what the hold kept from an erasure may be erased now).
/// Four eyes as for a FORGET (`gdpr.four_eyes`): outside development both are persons the
/// identity provider signed in.
#[utoipa::path(
    post,
    path = "/gdpr/legal-holds/{id}/release",
    tag = "gdpr",
    params(
        ("id" = Uuid, Path, description = "The hold's id"),
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    request_body = ReleaseLegalHold,
    responses(
        (status = 200, description = "Asked for (release_requested) or, by a second person, released", body = LegalHold),
        (status = 403, description = "Four eyes: the person who asked may not confirm, nor a client acting as itself; outside development both are persons the identity provider signed in", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Released or ended already; or not the release's next step (`ask` while asked for already, `confirm` with nothing asked)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or a reason over 1000 characters", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn release(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ReleaseLegalHold>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let why = reason(&body.reason, "/reason").map_err(|problem| ApiError::Validation(vec![problem]))?;
    let asked_step = body.step;
    let four_eyes = orchestrator.four_eyes;
    change_hold(
        &pool,
        &orchestrator,
        &caller,
        id,
        "hold_release_refused",
        move |hold, by, now| {
            legal_hold::is_next_step(hold, asked_step, now)?;
            let (step, detail) = legal_hold::release(hold, by, why, four_eyes, now)?;
            Ok((step.event(), detail))
        },
    )
    .await
}

/// `POST /gdpr/legal-holds/{id}/release/withdraw`: the person who asked for the release takes it
/// back; the hold is active again.
#[utoipa::path(
    post,
    path = "/gdpr/legal-holds/{id}/release/withdraw",
    tag = "gdpr",
    params(
        ("id" = Uuid, Path, description = "The hold's id"),
        ("X-Person-Token" = Option<String>, Header, description = "The person a delegating client acts for: their access token (JWT) from the bank's identity provider, verified against auth.persons"),
        ("X-Acting-User" = Option<String>, Header, description = "Development only: the person a delegating client acts for, by name (refused outside development)")
    ),
    responses(
        (status = 200, description = "Withdrawn: active again", body = LegalHold),
        (status = 403, description = "Not the person who asked for the release", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No release asked for (or the hold ended)", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn withdraw(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    change_hold(
        &pool,
        &orchestrator,
        &caller,
        id,
        "hold_withdraw_refused",
        |hold, by, now| Ok(("hold_release_withdrawn", legal_hold::withdraw(hold, by, now)?)),
    )
    .await
}

/// `GET /gdpr/legal-holds/{id}/audit`: the hold's story, oldest first, with its chain verified.
#[utoipa::path(
    get,
    path = "/gdpr/legal-holds/{id}/audit",
    tag = "gdpr",
    params(("id" = Uuid, Path, description = "The hold's id")),
    responses(
        (status = 200, description = "Every change of the hold, oldest first, who made it and its chain verified (entries' requestId is the hold's id); no identifiers", body = AuditTrail),
        (status = 404, description = "No such hold", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn audit_log(
    pool: web::Data<DbPool>,
    orchestrator: web::Data<Orchestrator>,
    path: web::Path<String>,
) -> Result<web::Json<AuditTrail>, ApiError> {
    let id = parse_id(&path)?;
    let trail = pool
        .run(move |c| {
            store::find(c, id)?.ok_or_else(|| not_found(id))?;
            audit::audit_log(c, &orchestrator.keys.audit, id).map_err(ApiError::from)
        })
        .await?;
    if !trail.chain_verified {
        tracing::error!(legal_hold_id = %id, "the hold's audit chain does not verify: it was changed");
    }
    Ok(web::Json(trail))
}
