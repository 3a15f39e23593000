//! The participant side of the GDPR contract, for services that keep personal data in their
//! database: each implements [`GdprStore`] and mounts [`config`], so every participant answers the
//! same routes the same way.
//!
//! - `POST /internal/gdpr/requests/{requestId}/{count|export|forget|undo|purge|restrict}` with a
//!   [`ParticipantCall`] body → [`ParticipantReport`];
//! - `GET /internal/gdpr/requests/{requestId}` → what the request holds hidden here.
//!
//! Every call is signed by gdpr-orchestrator ([`signature`]) and keyed by its request id, and
//! idempotent. Forget puts a hold named by the request id on each of the subject's rows (read
//! paths skip a row while any hold is on it, so two FORGETs can cover one row), undo lifts the
//! request's holds, purge deletes the rows it holds except those a legal hold's retention or a
//! statutory retention rule covers, which stay held and are reported kept ([`retention`]).
//! Repeating a call changes nothing more.
//!
//! Restrict (GDPR Art. 18) holds the subject's rows as a forget does ([`GdprStore::hold`]), without
//! what only an erasure needs, and notes them restricted, so that an export still finds them
//! ([`retention::restrict`]); undo under the same request id lifts it.
//!
//! Rectify (GDPR Art. 16) applies the call's [`Rectification`] to what the request reaches
//! ([`GdprStore::rectify`]): a replaced handle in every row (and what is keyed by it), named
//! interactions moved to the right customer. It holds nothing; repeating it changes nothing more,
//! and each answer counts the rows that call rewrote (the orchestrator adds them up). A count that carries a
//! rectification (a RECTIFY's) counts the rows the correction would change
//! ([`GdprStore::count_rectify`]). Rows a legal hold or a statutory rule keeps as evidence are
//! left exactly as they were, by both, and reported per category and basis (`keptUnchanged`,
//! [`GdprStore::kept_unchanged`]): the orchestrator sends the holds in force and the rules with a
//! RECTIFY's `count` and `rectify`, as with a purge.
//!
//! Copies delivered outside ccbridge (`toEraseElsewhere`) are listed by the purge, for exactly the
//! rows its purges erased ([`GdprStore::erased_elsewhere`]); never by a forget or a restriction,
//! and never for a row a purge kept: the bank must not erase elsewhere what it must keep here.
//!
//! Who a request reaches ([`Reach`]): rows the bank attributed to one of the request's customer
//! ids; rows attributed to nobody that one of the subject's handles or interactions finds; never a
//! row attributed to another customer. Those are left alone and counted (`leftOut`), so the DPO
//! sees that a shared number or address reached someone else's data.

pub mod expiry;
pub mod holds;
pub mod rectified;
pub mod retention;
pub mod signature;
#[cfg(feature = "stand-in")]
pub mod stand_in;
pub mod suppression_key;

pub use retention::{Keepers, Kept, Purge, Retain};
pub use signature::{CallSigner, CallVerifier, SignatureRefused, SIGNATURE_HEADER};

use actix_web::dev::Payload;
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use contracts::legal_hold::Retained;
use contracts::participant::{
    CategoryCounts, ExternalCopy, ParticipantAction, ParticipantCall, ParticipantReport, ParticipantState,
    Rectification, CALL_ROUTE, STATUS_ROUTE,
};
use diesel::{Connection, QueryResult};
use domain::gdpr::DataSubject;
use domain::{InteractionId, Timestamp};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use service_kit::auth::{require, Caller, Scope};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::{AnyConnection, DbPool};
use service_kit::extract::{is_json, parse_json, read_body};
use service_kit::problem::{ApiError, FieldProblem};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The scope of the participant routes: only gdpr-orchestrator's caller holds it. A service
/// lists it among its own (`service_kit::scopes! { …; also gdpr_participant::GdprParticipant }`).
pub struct GdprParticipant;

impl Scope for GdprParticipant {
    const NAME: &'static str = "gdpr:participant";
}

/// What a request may reach here.
#[derive(Clone, Copy)]
pub struct Reach<'a> {
    pub subject: &'a DataSubject,
    /// Interactions the bank attributed to a customer outside the request, among those of rows
    /// that hold no customer of their own (result-ingest's webhook results, found through
    /// interaction-pairing before the transaction). Empty for stores whose rows carry their
    /// customer.
    pub attributed_elsewhere: &'a BTreeSet<InteractionId>,
}

impl Reach<'_> {
    /// The subject's customer ids, as stored.
    pub fn customers(&self) -> Vec<DbUuid> {
        self.subject.customer_ids.iter().map(|&id| id.into()).collect()
    }

    /// The subject's interactions, as stored.
    pub fn interactions(&self) -> Vec<DbUuid> {
        self.subject.interaction_ids.iter().map(|&id| id.into()).collect()
    }

    /// The subject's Genesys user ids (as an agent), as stored.
    pub fn agents(&self) -> Vec<DbUuid> {
        self.subject.genesys_user_ids.iter().map(|&id| id.into()).collect()
    }

    /// [`Reach::attributed_elsewhere`], as stored.
    pub fn elsewhere(&self) -> Vec<DbUuid> {
        self.attributed_elsewhere.iter().map(|&id| id.into()).collect()
    }
}

/// A forget to carry out: what it reaches, and under which request it holds it.
#[derive(Clone, Copy)]
pub struct Forget<'a> {
    pub request_id: Uuid,
    pub reach: Reach<'a>,
    /// When the forget was confirmed (the call's `forgottenAt`; the call's time without one,
    /// a later cut that suppresses at least as much, see `ParticipantCall::forgotten_at`):
    /// results from before it that arrive later are suppressed.
    pub forgotten_at: Timestamp,
}

impl<'a> Forget<'a> {
    /// The forget `call` asks for under `request_id`.
    pub fn new(request_id: Uuid, reach: Reach<'a>, call: &ParticipantCall) -> Self {
        let forgotten_at = call.forgotten_at.unwrap_or_else(Timestamp::now);
        Self {
            request_id,
            reach,
            forgotten_at,
        }
    }
}

/// A service's personal data, seen through the GDPR contract. Each function but
/// [`GdprStore::attributed_elsewhere`] runs inside one transaction; the routes ([`config`]) add
/// what every participant answers alike (what was left out, what a request holds after an
/// undo or a purge, work in flight, copies delivered elsewhere).
pub trait GdprStore: Send + Sync + 'static {
    /// What the subject has here, per category. Changes nothing.
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport>;
    /// A RECTIFY's count: the rows [`GdprStore::rectify`] would change here, per category (the
    /// same filter, read-only), so the DPO confirms what the correction changes, not all the
    /// subject has. Changes nothing.
    fn count_rectify(
        &self,
        connection: &mut AnyConnection,
        reach: &Reach<'_>,
        rectification: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts>;
    /// A RECTIFY's evidence: of the rows `rectification` reaches here, those a legal hold or a
    /// statutory rule in `keepers` keeps (what a purge now would keep, [`retention::unchanged`]),
    /// per category and basis. [`GdprStore::rectify`] and [`GdprStore::count_rectify`] leave
    /// exactly these rows as they were; asked with both, so the count shows what stays. Changes
    /// nothing.
    fn kept_unchanged(
        &self,
        connection: &mut AnyConnection,
        reach: &Reach<'_>,
        rectification: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<Vec<Retained>>;
    /// A RECTIFY's conflicts: per field pointer of `rectification` (`/phoneNumbers/0/to`,
    /// [`Rectification::handles_at`]), how many rows here that are not the subject's already carry
    /// that `to`, counted only when above zero. After the correction an export by that value
    /// would hand the subject's rows to whoever holds it, so the orchestrator refuses the
    /// confirmation while any is counted. A store that keeps no handle has none. Changes nothing.
    fn rectify_conflicts(
        &self,
        _connection: &mut AnyConnection,
        _reach: &Reach<'_>,
        _rectification: &Rectification,
    ) -> QueryResult<BTreeMap<String, u64>> {
        Ok(BTreeMap::new())
    }
    /// The subject's data per category, with its counts.
    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport>;
    /// What the subject's handles or interactions find that is attributed to a customer outside
    /// the request, per category ([`counts_if_any`]): left alone by a forget, and counted.
    fn left_out(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts>;
    /// Holds the subject's rows under `request_id`: hidden from every read path, erasing
    /// nothing. What a forget and a restriction (GDPR Art. 18) both do.
    fn hold(&self, connection: &mut AnyConnection, request_id: Uuid, reach: &Reach<'_>) -> QueryResult<()>;
    /// Holds the subject's rows under the forget's request ([`GdprStore::hold`]); a store whose
    /// erasure needs more at once (what keeps later copies of the subject out) adds it here, so a
    /// restriction never does it.
    fn forget(&self, connection: &mut AnyConnection, forget: &Forget<'_>) -> QueryResult<()> {
        self.hold(connection, forget.request_id, &forget.reach)
    }
    /// Lifts `request_id`'s holds. A row another request still holds stays hidden.
    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()>;
    /// Deletes (or, for an agent, blanks) what the purge's request holds, but for what one of its
    /// retentions covers ([`retention`]: kept held); answers what it kept, per category and basis.
    fn purge(&self, connection: &mut AnyConnection, purge: &Purge<'_>) -> QueryResult<Vec<Retained>>;
    /// Applies `rectification` to what `reach` finds here (hidden rows too: they are the
    /// subject's, and show corrected if a forget is undone). A replaced handle is replaced only in
    /// rows the subject reaches (never in one attributed to another customer); moved interactions
    /// leave only the subject's customer ids. Answers, per category, the rows this call rewrote,
    /// never rows others already had under a `to` (nor a hint they exist): a repeated call
    /// rewrites nothing more and answers 0 ([`rectified`] keeps the request's totals, which the
    /// call answers). A row `keepers` keeps as
    /// evidence is left as it was ([`GdprStore::kept_unchanged`]).
    fn rectify(
        &self,
        connection: &mut AnyConnection,
        reach: &Reach<'_>,
        rectification: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts>;
    /// Whether work that read rows `reach` finds before [`GdprStore::rectify`] corrected them may
    /// still write their old values elsewhere (result-ingest: events in a worker's hands). While it
    /// may, the rectify is answered `pending_external` and the orchestrator asks again later with
    /// the same call, so that the participants after this one correct what that work writes.
    fn rectifying_in_flight(
        &self,
        _connection: &mut AnyConnection,
        _reach: &Reach<'_>,
        _rectification: &Rectification,
    ) -> QueryResult<bool> {
        Ok(false)
    }
    /// What `request_id` holds, per category.
    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts>;
    /// The copies delivered outside ccbridge of the rows `request_id`'s purges erased, to erase
    /// there: every copy its purges erased so far, so a repeated purge answers the same and a
    /// later one (a hold ended) adds the rest. A row still held (a forget in grace, a restriction,
    /// a row a purge kept for a hold or a rule) is not erased, so its copies are never listed: the
    /// bank must not erase there what it must keep. A store whose `purge` erases such rows notes
    /// their copies then (their deliveries go with them).
    fn erased_elsewhere(&self, _connection: &mut AnyConnection, _request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
        Ok(Vec::new())
    }
    /// The copies delivered outside ccbridge of the rows `request_id` holds (whole, or the agent
    /// on them): what a restriction tells the bank to restrict there, never to erase (GDPR
    /// Art. 19).
    fn held_elsewhere(&self, _connection: &mut AnyConnection, _request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
        Ok(Vec::new())
    }
    /// Whether work that read rows `request_id` holds, before they were held, may still write
    /// them elsewhere (result-ingest: events in a worker's hands). While it may, the forget is
    /// answered `pending_external` and the orchestrator asks again later, so that the
    /// participants after this one catch what that work writes.
    fn in_flight(&self, _connection: &mut AnyConnection, _request_id: Uuid) -> QueryResult<bool> {
        Ok(false)
    }
    /// See [`Reach::attributed_elsewhere`]; asked before each count, export, forget and
    /// restriction (never for a retention: its handles keep rows whoever they belong to).
    fn attributed_elsewhere<'a>(
        &'a self,
        _pool: &'a DbPool,
        _subject: &'a DataSubject,
    ) -> LocalBoxFuture<'a, Result<BTreeSet<InteractionId>, ApiError>> {
        Box::pin(async { Ok(BTreeSet::new()) })
    }
}

/// The `externalRef` of a forget answered `pending_external` while work on its rows is in
/// flight here: the orchestrator polls the status route with it until the work is done.
pub const IN_FLIGHT_REF: &str = "in-flight";

/// What `request_id` holds hidden, and `pending_external` while work on its rows is in flight
/// (so that the copies it makes elsewhere are known before the purge). No copy elsewhere is
/// listed to erase: a forget or a restriction erases nothing; the purge lists the copies of what
/// it erased ([`GdprStore::erased_elsewhere`]).
fn forget_report<S: GdprStore>(
    store: &S,
    connection: &mut AnyConnection,
    request_id: Uuid,
    held: CategoryCounts,
) -> QueryResult<ParticipantReport> {
    let mut report = ParticipantReport::done(held);
    if store.in_flight(connection, request_id)? {
        report.state = ParticipantState::PendingExternal;
        report.external_ref = Some(IN_FLIGHT_REF.to_owned());
        report.detail = Some("rows of the subject are being processed here; ask again later".to_owned());
    }
    Ok(report)
}

/// `report` with what the request's reach left out here.
fn with_left_out<S: GdprStore>(
    store: &S,
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    mut report: ParticipantReport,
) -> QueryResult<ParticipantReport> {
    report.left_out = store.left_out(connection, reach)?;
    Ok(report)
}

/// The `[gdpr_participant]` section every participant reads.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ParticipantSettings {
    /// gdpr-orchestrator's public key, `ed25519:<base64>`: calls not signed with its private key
    /// are refused.
    pub orchestrator_key: String,
}

/// The verifier of orchestrator signatures from `[gdpr_participant]`.
pub fn verifier(settings: &service_kit::configuration::Settings) -> anyhow::Result<web::Data<CallVerifier>> {
    let section: ParticipantSettings = settings.section("gdpr_participant")?;
    CallVerifier::from_setting(&section.orchestrator_key)
        .map(web::Data::new)
        .map_err(|reason| service_kit::configuration::invalid(&format!("gdpr_participant.orchestrator_key: {reason}")))
}

/// Mounts the participant routes for `store`, allowed to callers with [`GdprParticipant`] whose
/// calls `verifier` finds signed by the orchestrator.
pub fn config<S: GdprStore>(cfg: &mut web::ServiceConfig, store: web::Data<S>, verifier: web::Data<CallVerifier>) {
    cfg.app_data(store)
        .app_data(verifier)
        .service(
            web::resource(CALL_ROUTE)
                .app_data(service_kit::extract::BodyLimit(CALL_MAX_BODY_BYTES))
                .route(web::post().to(act::<S>).wrap(from_fn(require::<GdprParticipant>))),
        )
        .service(
            web::resource(STATUS_ROUTE).route(web::get().to(status::<S>).wrap(from_fn(require::<GdprParticipant>))),
        );
}

/// The largest participant call: a purge carries every legal hold in force with the interactions
/// linked to its customers, far more than `application.max_body_bytes` allows an ordinary body.
/// Only a caller holding `gdpr:participant` gets as far as sending one (the scope is checked
/// before the body is read), and its signature is checked before anything is parsed.
pub const CALL_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A JSON body whose call gdpr-orchestrator signed ([`signature`]). The signature is checked
/// before anything is parsed: an unsigned call is refused (403) whatever it holds.
pub struct SignedCall<T>(pub T);

/// A call without a body (a status query) that gdpr-orchestrator signed.
pub struct Signed;

fn check_signature(req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    let verifier = req
        .app_data::<web::Data<CallVerifier>>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the participant routes have no CallVerifier")))?;
    let header = req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let path_and_query = req.uri().path_and_query().map_or(req.path(), |p| p.as_str());
    verifier
        .verify(header, req.method().as_str(), path_and_query, body)
        .map_err(|refused| {
            let caller = req
                .extensions()
                .get::<Caller>()
                .map(|c| c.name.clone())
                .unwrap_or_default();
            tracing::warn!(
                caller = %caller,
                path = %req.path(),
                reason = %refused,
                "GDPR participant call refused: not signed by gdpr-orchestrator"
            );
            ApiError::Refused(refused.to_string())
        })
}

/// The body of `req`, once gdpr-orchestrator's signature over it is checked (before anything is
/// parsed).
fn signed_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<(HttpRequest, web::Bytes), ApiError>> {
    let req = req.clone();
    let body = read_body(&req, payload);
    Box::pin(async move {
        let body = body.await?;
        check_signature(&req, &body)?;
        Ok((req, body))
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for SignedCall<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = signed_body(req, payload);
        Box::pin(async move {
            let (req, body) = signed.await?;
            if !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&body).map(SignedCall)
        })
    }
}

impl FromRequest for Signed {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = signed_body(req, payload);
        Box::pin(async move { signed.await.map(|_| Signed) })
    }
}

/// Parses the `{requestId}` path segment.
pub fn parse_request_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "requestId",
            "not a valid request id: expected a UUID",
        )])
    })
}

/// Parses the `{action}` path segment.
pub fn parse_action(value: &str) -> Result<ParticipantAction, ApiError> {
    ParticipantAction::parse(value).ok_or_else(|| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "action",
            "must be one of count, export, forget, undo, purge, restrict, rectify",
        )])
    })
}

/// The request id and action a participant call's path names, recorded on the current span
/// (its fields `gdpr_request_id` and `action`).
pub fn call_target((request_id, action): (String, String)) -> Result<(Uuid, ParticipantAction), ApiError> {
    let request_id = parse_request_id(&request_id)?;
    let action = parse_action(&action)?;
    let span = tracing::Span::current();
    span.record("gdpr_request_id", tracing::field::display(request_id));
    span.record("action", action.as_str());
    Ok((request_id, action))
}

#[tracing::instrument(name = "gdpr participant call", skip_all, fields(gdpr_request_id, action))]
async fn act<S: GdprStore>(
    pool: web::Data<DbPool>,
    store: web::Data<S>,
    path: web::Path<(String, String)>,
    SignedCall(call): SignedCall<ParticipantCall>,
) -> Result<HttpResponse, ApiError> {
    let (request_id, action) = call_target(path.into_inner())?;
    let rectification = match action {
        ParticipantAction::Rectify => Some(rectification_of(&call)?),
        // A RECTIFY's count carries its correction: it counts what the correction changes.
        ParticipantAction::Count if call.rectification.is_some() => Some(rectification_of(&call)?),
        _ => None,
    };
    let attributed_elsewhere = match action {
        ParticipantAction::Count
        | ParticipantAction::Export
        | ParticipantAction::Forget
        | ParticipantAction::Restrict
        | ParticipantAction::Rectify => store.attributed_elsewhere(&pool, &call.subject).await?,
        ParticipantAction::Undo | ParticipantAction::Purge => BTreeSet::new(),
    };
    // A retention's handles keep rows whoever they are attributed to ([`retention`]): what is
    // attributed elsewhere is not asked for it.
    let retained_elsewhere = BTreeSet::new();
    let report = pool
        .run(move |c| {
            let reach = Reach {
                subject: &call.subject,
                attributed_elsewhere: &attributed_elsewhere,
            };
            let retain = call
                .retain
                .iter()
                .map(|retention| Retain {
                    reach: Reach {
                        subject: &retention.subject,
                        attributed_elsewhere: &retained_elsewhere,
                    },
                    interactions: &retention.interaction_ids,
                    window: retention.window,
                    basis: retention.basis,
                })
                .collect();
            // The participant's clock decides when a rule's `keep_days` have passed.
            let purge = Purge::new(request_id, retain, Timestamp::now()).with_rules(&call.rules);
            let run = |c: &mut AnyConnection| match action {
                ParticipantAction::Count => {
                    let report = match &rectification {
                        Some(rectification) => {
                            let keepers = purge.keepers();
                            let mut report =
                                ParticipantReport::done(store.count_rectify(c, &reach, rectification, keepers)?);
                            report.kept_unchanged =
                                retention::merged(store.kept_unchanged(c, &reach, rectification, keepers)?);
                            report.conflicts = Some(store.rectify_conflicts(c, &reach, rectification)?);
                            report
                        }
                        None => store.count(c, &reach)?,
                    };
                    with_left_out(store.as_ref(), c, &reach, report)
                }
                ParticipantAction::Export => {
                    let report = store.export(c, &reach)?;
                    with_left_out(store.as_ref(), c, &reach, report)
                }
                ParticipantAction::Forget | ParticipantAction::Restrict => {
                    let left_out = store.left_out(c, &reach)?;
                    if action == ParticipantAction::Forget {
                        store.forget(c, &Forget::new(request_id, reach, &call))?;
                    } else {
                        // Hidden as a forget hides, yet the subject's to see in an export.
                        store.hold(c, request_id, &reach)?;
                        retention::restrict(c, request_id)?;
                    }
                    let held = store.held(c, request_id)?;
                    let mut report = forget_report(store.as_ref(), c, request_id, held)?;
                    report.left_out = left_out;
                    if action == ParticipantAction::Restrict {
                        // The recipients are told of a restriction (Art. 19): restrict, not erase.
                        report.to_restrict_elsewhere = store.held_elsewhere(c, request_id)?;
                    }
                    Ok(report)
                }
                // What the request held here, now free again (or still held by another).
                ParticipantAction::Undo => {
                    let held = store.held(c, request_id)?;
                    store.undo(c, request_id)?;
                    Ok(ParticipantReport::done(held))
                }
                // After the purge the request holds only what its retentions and rules kept
                // here: report what is left, what was kept on which basis, when a rule first
                // lets some of it go, and the copies elsewhere of what its purges erased.
                ParticipantAction::Rectify => {
                    let rectification = rectification.as_ref().ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError("a rectify without its rectification".into())
                    })?;
                    let keepers = purge.keepers();
                    // The count's conflicts checked again in the transaction that writes: a
                    // value someone else took since the count (a neighbour's record on the new
                    // number) is not written here, and is said. A call asked again after work in
                    // flight carries what the first left out already (the orchestrator sends it
                    // without those replacements): the subject's rows the first rewrote now carry
                    // the new values, and would be counted as someone else's.
                    let conflicts = if call.external_ref.as_deref() == Some(IN_FLIGHT_REF) {
                        BTreeMap::new()
                    } else {
                        let found = store.rectify_conflicts(c, &reach, rectification)?;
                        to_rewrite(store.as_ref(), c, &reach, rectification, keepers, found)?
                    };
                    let applied = rectification.without(&conflicts);
                    // Answered as the request's totals here: a call asked again answers what
                    // every call rewrote, not only its own (none, after a lost answer).
                    let rewritten = store.rectify(c, &reach, &applied, keepers)?;
                    let mut report = ParticipantReport::done(rectified::add(c, request_id, &rewritten)?);
                    report.conflicts = Some(conflicts);
                    // What stayed as it was: the same on a repeated call (those rows still carry
                    // the old values, and are still kept).
                    report.kept_unchanged = retention::merged(store.kept_unchanged(c, &reach, &applied, keepers)?);
                    if store.rectifying_in_flight(c, &reach, &applied)? {
                        report.state = ParticipantState::PendingExternal;
                        report.external_ref = Some(IN_FLIGHT_REF.to_owned());
                        report.detail =
                            Some("rows of the subject are being processed here; ask again later".to_owned());
                    }
                    Ok(report)
                }
                ParticipantAction::Purge => {
                    let retained = store.purge(c, &purge)?;
                    let mut report = store.held(c, request_id).map(ParticipantReport::done)?;
                    report.retained = retention::merged(retained);
                    report.retained_until = purge.retained_until();
                    report.to_erase_elsewhere = store.erased_elsewhere(c, request_id)?;
                    Ok(report)
                }
            };
            // Forget, undo and purge read what they then change: on SQLite they take the write
            // lock first, or a writer committing in between would fail them.
            match action {
                ParticipantAction::Count | ParticipantAction::Export => c.transaction(run),
                ParticipantAction::Forget
                | ParticipantAction::Undo
                | ParticipantAction::Purge
                | ParticipantAction::Restrict
                | ParticipantAction::Rectify => service_kit::database::write_transaction(c, run),
            }
            .map_err(ApiError::from)
        })
        .await?;
    let total: u64 = report.counts.values().sum();
    tracing::info!(rows = total, "GDPR participant call done");
    Ok(HttpResponse::Ok().json(report))
}

/// A rectify's [`Rectification`], checked: one missing or not normalised is the caller's mistake
/// (400 naming the field), never applied.
pub fn rectification_of(call: &ParticipantCall) -> Result<Rectification, ApiError> {
    let rectification = call.rectification.clone().ok_or_else(|| {
        ApiError::Validation(vec![FieldProblem::new(
            "/rectification",
            "a rectify carries its rectification",
        )])
    })?;
    rectification.check().map_err(|(pointer, detail)| {
        ApiError::Validation(vec![FieldProblem::new(format!("/rectification{pointer}"), detail)])
    })?;
    Ok(rectification)
}

async fn status<S: GdprStore>(
    pool: web::Data<DbPool>,
    store: web::Data<S>,
    path: web::Path<String>,
    _signed: Signed,
) -> Result<HttpResponse, ApiError> {
    let request_id = parse_request_id(&path)?;
    let report = pool
        .run(move |c| {
            let held = store.held(c, request_id)?;
            let mut report = forget_report(store.as_ref(), c, request_id, held)?;
            // A restriction's copies elsewhere, as its answer listed them: one delivered while
            // it was in flight (pending_external) is listed here once the delivery is over.
            if retention::restricts(c, request_id)? {
                report.to_restrict_elsewhere = store.held_elsewhere(c, request_id)?;
            }
            Ok::<_, ApiError>(report)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `{category: n}` from pairs, for stores' reports. A count is never negative; one that is
/// means the query is wrong, and is an error.
pub fn counts<const N: usize>(pairs: [(&str, i64); N]) -> QueryResult<CategoryCounts> {
    pairs
        .into_iter()
        .map(|(category, n)| {
            u64::try_from(n)
                .map(|n| (category.to_owned(), n))
                .map_err(|_| diesel::result::Error::DeserializationError(format!("{category}: count {n}").into()))
        })
        .collect()
}

/// `{category: n}`, or nothing when `n` is 0 (what was left out).
pub fn counts_if_any(category: &str, n: i64) -> QueryResult<CategoryCounts> {
    if n == 0 {
        return Ok(CategoryCounts::new());
    }
    counts([(category, n)])
}

/// A RECTIFY's conflicts ([`GdprStore::rectify_conflicts`]): `others` of each replaced handle's
/// `to` (rows here not the subject's carrying it), under `{pointer}/to`, when above zero.
pub fn to_conflicts(
    rectification: &Rectification,
    mut others: impl FnMut(&str) -> QueryResult<i64>,
) -> QueryResult<BTreeMap<String, u64>> {
    let mut conflicts = BTreeMap::new();
    for (at, replacement) in rectification.handles_at() {
        let pointer = format!("{at}/{}", contracts::participant::ValueSide::To.as_str());
        conflicts.extend(counts_if_any(&pointer, others(&replacement.to)?)?);
    }
    Ok(conflicts)
}

/// Of a rectify's `conflicts`, those of replacements with rows here still to rewrite: one whose
/// rows all carry the new value already (an earlier call applied it) merges nothing, and its
/// rows under the new value, the subject's among them, are no reason to say it was not applied.
fn to_rewrite<S: GdprStore>(
    store: &S,
    connection: &mut AnyConnection,
    reach: &Reach<'_>,
    rectification: &Rectification,
    keepers: &Keepers<'_>,
    conflicts: BTreeMap<String, u64>,
) -> QueryResult<BTreeMap<String, u64>> {
    use contracts::participant::{ConflictAt, HandleKind};
    let mut standing = BTreeMap::new();
    for (pointer, n) in conflicts {
        let at = ConflictAt::parse(&pointer).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(format!("a conflict under {pointer:?}, not a field").into())
        })?;
        let replacements = match at.kind {
            HandleKind::PhoneNumber => &rectification.phone_numbers,
            HandleKind::EmailAddress => &rectification.email_addresses,
        };
        let replacement = replacements.get(at.index).cloned().ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(format!("a conflict under {pointer:?}, no replacement").into())
        })?;
        let alone = match at.kind {
            HandleKind::PhoneNumber => Rectification {
                phone_numbers: vec![replacement],
                ..Rectification::default()
            },
            HandleKind::EmailAddress => Rectification {
                email_addresses: vec![replacement],
                ..Rectification::default()
            },
        };
        if store
            .count_rectify(connection, reach, &alone, keepers)?
            .values()
            .any(|&rows| rows > 0)
        {
            standing.insert(pointer, n);
        }
    }
    Ok(standing)
}

/// The participant routes' description (the routes are generic over the store, so the
/// operations are described on these stand-ins).
#[derive(utoipa::OpenApi)]
#[openapi(paths(participant_call, participant_status), components(schemas(ParticipantAction)))]
pub struct ParticipantApi;

/// Count, export, forget, undo, purge, restrict or rectify the subject's data under the orchestrator's
/// request id. Idempotent per request id. Refused (403) unless gdpr-orchestrator signed the call.
#[utoipa::path(
    post,
    path = "/internal/gdpr/requests/{requestId}/{action}",
    tag = "gdpr-participant",
    params(
        ("requestId" = uuid::Uuid, Path, description = "gdpr-orchestrator's request id"),
        ("action" = ParticipantAction, Path, description = "What to do"),
        ("Ccbridge-Gdpr-Signature" = String, Header, description = "gdpr-orchestrator's signature of the call: t=<unix>,sig=<base64>")
    ),
    request_body = ParticipantCall,
    responses((status = 200, description = "Done, or submitted to an external system", body = ParticipantReport))
)]
#[allow(dead_code)]
fn participant_call() {}

/// What the request holds hidden here, or (with `ref`) where external work stands.
#[utoipa::path(
    get,
    path = "/internal/gdpr/requests/{requestId}",
    tag = "gdpr-participant",
    params(
        ("requestId" = uuid::Uuid, Path, description = "gdpr-orchestrator's request id"),
        ("ref" = Option<String>, Query, description = "The externalRef a submission answered (genesys-gateway)"),
        ("Ccbridge-Gdpr-Signature" = String, Header, description = "gdpr-orchestrator's signature of the call: t=<unix>,sig=<base64>")
    ),
    responses((status = 200, description = "The request's state here", body = ParticipantReport))
)]
#[allow(dead_code)]
fn participant_status() {}
