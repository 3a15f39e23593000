//! Each request of a signed-in person, before its page: the provider's access token is renewed
//! with the refresh token when it expires within [`RENEW_MARGIN_SECONDS`], and the renewal reads
//! the person's name and roles again from the provider (a role taken away there is gone here at
//! the next renewal); a renewal that fails, or leaves no console role, ends the session. The
//! person's credentials for the services ([`Delegation`]) are then set for the calls the page makes
//! while the request is handled (services.rs reads them).

use crate::oidc::SignInError;
use crate::routes::sign_in::SignInMethods;
use crate::session::{self, Person};
use crate::session_store::{DbSessionStore, RowRef, RENEWED, ROW};
use actix_session::{Session, SessionExt};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

/// Renew the access token when it expires within this many seconds.
pub const RENEW_MARGIN_SECONDS: i64 = 60;

/// How the services' calls made for this request name the person.
#[derive(Clone)]
pub enum Delegation {
    /// The provider's access token of the person, forwarded as `X-Person-Token`.
    Token(String),
    /// A person of the development sign-in, named in `X-Acting-User` (accepted by the services in
    /// development only).
    Development(String),
}

tokio::task_local! {
    /// The signed-in person's credentials while their request is handled.
    pub static DELEGATION: Delegation;
}

pub async fn renew(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let delegation = if request.path().starts_with("/static/") {
        None
    } else {
        let session = request.get_session();
        let methods = request.app_data::<web::Data<SignInMethods>>().cloned();
        let store = request.app_data::<web::Data<DbSessionStore>>().cloned();
        delegation(
            &session,
            methods.as_ref().map(|methods| methods.get_ref()),
            store.as_ref().map(|store| store.get_ref()),
        )
        .await
    };
    match delegation {
        Some(delegation) => DELEGATION.scope(delegation, next.call(request)).await,
        None => next.call(request).await,
    }
}

/// The signed-in person's credentials, renewed when due; `None` when nobody is signed in or the
/// session just ended (the page then sends to sign-in).
async fn delegation(
    session: &Session,
    methods: Option<&SignInMethods>,
    store: Option<&DbSessionStore>,
) -> Option<Delegation> {
    let mut person = session::signed_in(session).ok().flatten()?;
    if person.development {
        return Some(Delegation::Development(person.subject));
    }
    match renewed(session, methods, store, &mut person).await {
        Ok(token) => Some(Delegation::Token(token)),
        Err(error) => {
            tracing::warn!(error = %error, "a session could not be renewed and ended");
            session.purge();
            None
        }
    }
}

/// The person's access token, renewed first when due (the session then keeps the new tokens and
/// the person as the provider now says), by this request or by the one that holds the renewal.
async fn renewed(
    session: &Session,
    methods: Option<&SignInMethods>,
    store: Option<&DbSessionStore>,
    person: &mut Person,
) -> Result<String, SignInError> {
    let tokens = session::tokens(session)
        .ok()
        .flatten()
        .ok_or_else(|| SignInError::Refresh("the session holds no token of the provider".to_owned()))?;
    if !tokens.due(RENEW_MARGIN_SECONDS) {
        return Ok(tokens.access_token);
    }
    let store = store.ok_or_else(|| SignInError::Refresh("no session store".to_owned()))?;
    let row = session
        .get::<RowRef>(ROW)
        .ok()
        .flatten()
        .ok_or_else(|| SignInError::Refresh("the session names no row".to_owned()))?;
    let claimed = store
        .claim_renewal(&row)
        .await
        .map_err(|_| SignInError::Refresh("the renewal could not be claimed".to_owned()))?;
    if !claimed {
        // Another request renews (or has renewed) these tokens.
        if !tokens.due(0) {
            return Ok(tokens.access_token);
        }
        let state = store
            .renewed_elsewhere(&row)
            .await
            .map_err(|_| SignInError::Refresh("the renewed session could not be read".to_owned()))?
            .ok_or_else(|| SignInError::Refresh("the renewal another request held did not finish".to_owned()))?;
        let renewed_person = state
            .get(session::PERSON)
            .and_then(|json| serde_json::from_str::<Person>(json).ok());
        let renewed_tokens = state
            .get(session::TOKENS)
            .and_then(|json| serde_json::from_str::<crate::oidc::ProviderTokens>(json).ok());
        let (Some(renewed_person), Some(renewed_tokens)) = (renewed_person, renewed_tokens) else {
            return Err(SignInError::Refresh("the renewed session holds no tokens".to_owned()));
        };
        *person = renewed_person;
        session::keep(session, person, Some(&renewed_tokens))
            .map_err(|_| SignInError::Refresh("the renewed session could not be kept".to_owned()))?;
        return Ok(renewed_tokens.access_token);
    }
    let provider = methods
        .and_then(|methods| methods.provider.as_ref())
        .ok_or_else(|| SignInError::Refresh("no identity provider is configured".to_owned()))?;
    let renewed = provider.refresh(&person.subject, &tokens).await?;
    person.name = renewed.name;
    person.roles = renewed.roles;
    session::keep(session, person, Some(&renewed.tokens))
        .and_then(|()| session.insert(RENEWED, true).map_err(|_| session::Refusal::Session))
        .map_err(|_| SignInError::Refresh("the renewed session could not be kept".to_owned()))?;
    Ok(renewed.tokens.access_token)
}
