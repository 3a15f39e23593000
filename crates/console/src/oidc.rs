//! Sign-in with the bank's identity provider: OpenID Connect's authorization code flow with PKCE
//! (the `openidconnect` crate). The provider is discovered on first use and remembered. The
//! provider's access token (a JWT for the services' audience) is what the console forwards to the
//! services in the person's name; it is renewed with the refresh token, and each renewal reads
//! the person's roles again from the new ID token.

use crate::session::Role;
use crate::settings::OidcSettings;
use base64::Engine;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse,
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

/// Who the provider says signed in, and the tokens that act in their name.
pub struct SignedIn {
    pub subject: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub tokens: ProviderTokens,
}

/// The provider's tokens of a session: kept in the session's state (sealed in the database),
/// never logged (`Debug` shows none of them).
#[derive(Clone, Serialize, Deserialize)]
pub struct ProviderTokens {
    /// Forwarded to the services as `X-Person-Token`.
    pub access_token: String,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl ProviderTokens {
    fn from_response(
        response: &impl OAuth2TokenResponse,
        previous_refresh_token: Option<String>,
    ) -> Result<Self, SignInError> {
        let lifetime = response
            .expires_in()
            .ok_or_else(|| SignInError::Exchange("the provider said not when the access token expires".to_owned()))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(Self {
            access_token: response.access_token().secret().clone(),
            expires_at: now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
            // A provider that does not rotate refresh tokens answers none: the one held stays.
            refresh_token: response
                .refresh_token()
                .map(|token| token.secret().clone())
                .or(previous_refresh_token),
        })
    }

    /// Whether the access token should be renewed now: it expires within `margin` seconds.
    pub fn due(&self, margin: i64) -> bool {
        time::OffsetDateTime::now_utc().unix_timestamp() >= self.expires_at.saturating_sub(margin)
    }
}

/// A session renewed at the provider: the person as the provider now says, and new tokens.
pub struct Renewed {
    pub name: String,
    pub roles: Vec<Role>,
    pub tokens: ProviderTokens,
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
    #[error("the session could not be renewed: {0}")]
    Refresh(String),
}

pub struct Oidc {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    metadata: OnceCell<CoreProviderMetadata>,
}

impl Oidc {
    /// The provider at `issuer` (`console.oidc.issuer`), sending people back to `public_url`.
    pub fn new(settings: OidcSettings, issuer: IssuerUrl, public_url: &url::Url) -> anyhow::Result<Self> {
        let redirect = RedirectUrl::new(format!("{}/signin/callback", public_url.as_str().trim_end_matches('/')))?;
        let mut http = openidconnect::reqwest::ClientBuilder::new();
        // openidconnect's own reqwest (0.12): the bank's CA is added to its (public) roots here;
        // service_kit::tls checks the file and names the key when it is not a PEM of certificates.
        service_kit::tls::ca_bundle("console.oidc.ca_bundle", &settings.ca_bundle).map_err(anyhow::Error::msg)?;
        if !settings.ca_bundle.is_empty() {
            let pem = std::fs::read(&settings.ca_bundle)?;
            for certificate in openidconnect::reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| anyhow::anyhow!("console.oidc.ca_bundle: not a PEM file of certificates"))?
            {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            // Following redirects would let a provider's answer send us anywhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            settings,
            issuer,
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
                CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
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

    /// The resource (RFC 8707) asked for on every request to the provider, when one is set.
    fn resource(&self) -> Option<String> {
        self.settings
            .resource
            .as_ref()
            .map(|resource| resource.as_str().to_owned())
    }

    /// Where to send the browser, and what to remember until it comes back.
    pub async fn start(&self, next: String) -> Result<(String, PendingSignIn), SignInError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let url = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_owned()))
            .add_scopes(
                self.settings
                    .extra_scopes
                    .split_whitespace()
                    .map(|scope| Scope::new(scope.to_owned())),
            )
            .set_pkce_challenge(challenge);
        let (url, state, nonce) = match self.resource() {
            Some(resource) => url.add_extra_param("resource", resource),
            None => url,
        }
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
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier));
        let tokens = match self.resource() {
            Some(resource) => tokens.add_extra_param("resource", resource),
            None => tokens,
        }
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
        let (name, roles) = self.person(claims, id_token)?;
        let tokens = ProviderTokens::from_response(&tokens, None)?;
        Ok(SignedIn {
            subject,
            name,
            roles,
            tokens,
        })
    }

    /// Renews `subject`'s session with its refresh token: new tokens, and the person's name and
    /// roles read again from the new ID token (verified: signature, issuer, audience, expiry, and
    /// the same subject). Any failure, no refresh token, no ID token or no console role left is
    /// an error: the caller ends the session.
    pub async fn refresh(&self, subject: &str, tokens: &ProviderTokens) -> Result<Renewed, SignInError> {
        let refresh_token = tokens
            .refresh_token
            .clone()
            .ok_or_else(|| SignInError::Refresh("the provider gave no refresh token".to_owned()))?;
        let client = self.client().await?;
        let refresh = RefreshToken::new(refresh_token.clone());
        let request = client
            .exchange_refresh_token(&refresh)
            .map_err(|e| SignInError::Refresh(e.to_string()))?;
        let response = match self.resource() {
            Some(resource) => request.add_extra_param("resource", resource),
            None => request,
        }
        .request_async(&self.http)
        .await
        .map_err(|e| SignInError::Refresh(e.to_string()))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SignInError::Refresh("the provider sent no ID token with the renewal".to_owned()))?;
        // A renewal's ID token carries no nonce of this console's (OpenID Connect Core 12.2).
        let claims = id_token
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| SignInError::IdToken(e.to_string()))?;
        if claims.subject().as_str() != subject {
            return Err(SignInError::Refresh("the renewal names another person".to_owned()));
        }
        let (name, roles) = self.person(claims, id_token)?;
        Ok(Renewed {
            name,
            roles,
            tokens: ProviderTokens::from_response(&response, Some(refresh_token))?,
        })
    }

    /// The person's name (their subject when the provider gives none) and console roles, from an
    /// ID token the verifier accepted; none of the console's roles is an error.
    fn person(
        &self,
        claims: &openidconnect::core::CoreIdTokenClaims,
        id_token: &openidconnect::core::CoreIdToken,
    ) -> Result<(String, Vec<Role>), SignInError> {
        let name = claims
            .name()
            .and_then(|names| names.get(None))
            .map_or_else(|| claims.subject().to_string(), |name| name.to_string());
        // The roles claim is the bank's own: read from the payload the verifier just accepted.
        let roles = self.roles(&id_token.to_string())?;
        if roles.is_empty() {
            return Err(SignInError::NoRole);
        }
        Ok((name, roles))
    }

    fn roles(&self, verified_jwt: &str) -> Result<Vec<Role>, SignInError> {
        let payload = verified_jwt
            .split('.')
            .nth(1)
            .ok_or_else(|| SignInError::IdToken("not a JWT".to_owned()))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SignInError::IdToken("its payload is not base64url".to_owned()))?;
        let mut payload: std::collections::HashMap<String, RoleClaim> = serde_json::from_slice(&bytes)
            .map_err(|_| SignInError::IdToken("its payload is not a JSON object".to_owned()))?;
        let held: Vec<String> = match payload.remove(&self.settings.role_claim) {
            Some(RoleClaim::List(values)) => values
                .into_iter()
                .filter_map(|value| match value {
                    Listed::Text(text) => Some(text),
                    Listed::Other(_) => None,
                })
                .collect(),
            Some(RoleClaim::Text(text)) => text.split_whitespace().map(str::to_owned).collect(),
            Some(RoleClaim::Other(_)) | None => Vec::new(),
        };
        let mut roles = Vec::new();
        for (claimed, role) in [
            (&self.settings.dpo_role, Role::Dpo),
            (&self.settings.operator_role, Role::Operator),
            (&self.settings.backoffice_role, Role::Backoffice),
        ] {
            if held.iter().any(|held| held == claimed) {
                roles.push(role);
            }
        }
        Ok(roles)
    }
}

/// A claim of the ID token as the roles claim is read: a list (its texts count), space-separated
/// text, or anything else (no role).
#[derive(Deserialize)]
#[serde(untagged)]
enum RoleClaim {
    Text(String),
    List(Vec<Listed>),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Listed {
    Text(String),
    Other(serde::de::IgnoredAny),
}
