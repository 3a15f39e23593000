//! Sign-in with the bank's identity provider: OpenID Connect's authorization code flow with PKCE
//! (the `openidconnect` crate). The provider is discovered on first use and remembered.

use crate::session::Role;
use crate::settings::OidcSettings;
use base64::Engine;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

/// A sign-in under way: kept in the session between the redirect and the callback.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go once signed in (a local path).
    pub next: String,
}

/// Who the provider says signed in.
pub struct SignedIn {
    pub subject: String,
    pub name: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the sign-in answer does not belong to the sign-in this browser started")]
    WrongState,
    #[error("the identity provider refused the code: {0}")]
    Exchange(String),
    #[error("the ID token did not verify: {0}")]
    IdToken(String),
    #[error("the signed-in person holds none of the console's roles")]
    NoRole,
}

pub struct Oidc {
    settings: OidcSettings,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    metadata: OnceCell<CoreProviderMetadata>,
}

impl Oidc {
    pub fn new(settings: OidcSettings, public_url: &str) -> anyhow::Result<Self> {
        let redirect = RedirectUrl::new(format!("{}/signin/callback", public_url.trim_end_matches('/')))?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer send us anywhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            settings,
            redirect,
            http,
            metadata: OnceCell::new(),
        })
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SignInError,
    > {
        let metadata = self
            .metadata
            .get_or_try_init(|| async {
                let issuer =
                    IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| SignInError::Discovery(e.to_string()))?;
                CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| SignInError::Discovery(e.to_string()))
            })
            .await?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Where to send the browser, and what to remember until it comes back.
    pub async fn start(&self, next: String) -> Result<(String, PendingSignIn), SignInError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                next,
            },
        ))
    }

    /// The provider sent the browser back with `code` for `state`: exchange it, verify the ID
    /// token (signature, issuer, audience, nonce, expiry) and read the person and their roles.
    pub async fn finish(&self, pending: PendingSignIn, code: &str, state: &str) -> Result<SignedIn, SignInError> {
        use subtle::ConstantTimeEq;
        if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(SignInError::WrongState);
        }
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignInError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::Exchange(e.to_string()))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SignInError::IdToken("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|e| SignInError::IdToken(e.to_string()))?;
        let subject = claims.subject().to_string();
        let name = claims
            .name()
            .and_then(|names| names.get(None))
            .map_or_else(|| subject.clone(), |name| name.to_string());
        // The roles claim is the bank's own: read from the payload the verifier just accepted.
        let roles = self.roles(&id_token.to_string())?;
        if roles.is_empty() {
            return Err(SignInError::NoRole);
        }
        Ok(SignedIn { subject, name, roles })
    }

    fn roles(&self, verified_jwt: &str) -> Result<Vec<Role>, SignInError> {
        let payload = verified_jwt
            .split('.')
            .nth(1)
            .ok_or_else(|| SignInError::IdToken("not a JWT".to_owned()))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SignInError::IdToken("its payload is not base64url".to_owned()))?;
        let payload: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| SignInError::IdToken("its payload is not JSON".to_owned()))?;
        let held: Vec<&str> = match &payload[&self.settings.role_claim] {
            serde_json::Value::Array(values) => values.iter().filter_map(serde_json::Value::as_str).collect(),
            serde_json::Value::String(value) => value.split_whitespace().collect(),
            _ => Vec::new(),
        };
        let mut roles = Vec::new();
        for (claimed, role) in [
            (&self.settings.dpo_role, Role::Dpo),
            (&self.settings.operator_role, Role::Operator),
            (&self.settings.backoffice_role, Role::Backoffice),
        ] {
            if held.contains(&claimed.as_str()) {
                roles.push(role);
            }
        }
        Ok(roles)
    }
}
