//! The device authorization grant (RFC 8628) at the bank's identity provider, with the `oauth2`
//! crate over the command's own client (TLS as every ccbridge client, `--ca-bundle` trusted, no
//! redirects followed).

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, RefreshToken,
    Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use std::time::{Duration, Instant};

/// The device grant's client: device authorization and token endpoints set.
type DeviceClient = BasicClient<EndpointNotSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A token this close to its expiry is renewed before it is sent.
const RENEW_BEFORE: Duration = Duration::from_secs(10);

/// One request of `oauth2` sent with the workspace's reqwest.
async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut answer = HttpResponse::new(Vec::new());
    *answer.status_mut() = response.status();
    *answer.headers_mut() = response.headers().clone();
    *answer.body_mut() = response.bytes().await?.to_vec();
    Ok(answer)
}

/// The signed-in person's tokens, renewed with the refresh token as the access token runs out
/// (a long export outlives an access token).
pub struct Session {
    client: DeviceClient,
    http: reqwest::Client,
    access: String,
    expires_at: Option<Instant>,
    refresh: Option<RefreshToken>,
}

impl Session {
    fn new(client: DeviceClient, http: reqwest::Client, tokens: &BasicTokenResponse) -> Self {
        let mut session = Self {
            client,
            http,
            access: String::new(),
            expires_at: None,
            refresh: None,
        };
        session.take(tokens);
        session
    }

    fn take(&mut self, tokens: &BasicTokenResponse) {
        self.access = tokens.access_token().secret().clone();
        self.expires_at = tokens.expires_in().map(|lifetime| Instant::now() + lifetime);
        if let Some(refresh) = tokens.refresh_token() {
            self.refresh = Some(refresh.clone());
        }
    }

    /// The access token, renewed first when it runs out within [`RENEW_BEFORE`] and the
    /// provider gave a refresh token.
    pub async fn token(&mut self) -> Result<&str, String> {
        let running_out = self
            .expires_at
            .is_some_and(|expires_at| expires_at.saturating_duration_since(Instant::now()) < RENEW_BEFORE);
        if let (true, Some(refresh)) = (running_out, &self.refresh) {
            let http = &self.http;
            let tokens = self
                .client
                .exchange_refresh_token(refresh)
                .request_async(&|request| send(http, request))
                .await
                .map_err(|e| format!("the sign-in could not be renewed at the identity provider: {e}"))?;
            self.take(&tokens);
        }
        Ok(&self.access)
    }
}

/// What the provider's discovery document says about the device grant.
#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    token_endpoint: String,
    device_authorization_endpoint: Option<String>,
}

/// Signs the person in: prints where to go and the code to enter (standard error), waits for
/// them, and answers their session.
pub async fn device_sign_in(
    http: reqwest::Client,
    issuer: &str,
    client_id: &str,
    scopes: &str,
    resource: Option<&str>,
    timeout: Duration,
) -> Result<Session, String> {
    let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let fetched = http
        .get(&discovery_url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| {
            format!(
                "the identity provider is unreachable at {issuer}: {}",
                crate::causes(&e)
            )
        })?
        .bytes()
        .await
        .map_err(|e| format!("the identity provider's discovery document could not be read: {e}"))?;
    let discovery: Discovery = serde_json::from_slice(&fetched)
        .map_err(|e| format!("the identity provider's discovery document is not usable: {e}"))?;
    if discovery.issuer != issuer {
        return Err(format!(
            "the identity provider at {issuer} names another issuer in its discovery document"
        ));
    }
    let device_url = discovery
        .device_authorization_endpoint
        .ok_or("the identity provider offers no device authorization grant (RFC 8628)")?;
    // The endpoints the provider names are held to the issuer's rule: https (http on the
    // loopback only).
    crate::checked_url("the provider's device_authorization_endpoint", &device_url)?;
    crate::checked_url("the provider's token_endpoint", &discovery.token_endpoint)?;
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(device_url).map_err(|e| format!("device authorization endpoint: {e}"))?,
        )
        .set_token_uri(TokenUrl::new(discovery.token_endpoint).map_err(|e| format!("token endpoint: {e}"))?);
    let mut request = client.exchange_device_code();
    for scope in scopes.split_whitespace() {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    if let Some(resource) = resource {
        request = request.add_extra_param("resource", resource.to_owned());
    }
    let details: StandardDeviceAuthorizationResponse = request
        .request_async(&|request| send(&http, request))
        .await
        .map_err(|e| format!("the identity provider refused the sign-in: {e}"))?;
    eprintln!(
        "gdpr: sign in at {} and enter the code {}",
        details.verification_uri().as_str(),
        details.user_code().secret()
    );
    if let Some(complete) = details.verification_uri_complete() {
        eprintln!("gdpr: or open {}", complete.secret());
    }
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(&|request| send(&http, request), tokio::time::sleep, Some(timeout))
        .await
        .map_err(|e| format!("the sign-in did not complete: {e}"))?;
    Ok(Session::new(client, http, &tokens))
}
