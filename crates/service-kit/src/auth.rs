//! Bearer (or Basic) tokens, each belonging to a named caller with its scopes.
//!
//! Routes declare the scope they need with `.wrap(from_fn(require::<scope::X>))`; a request
//! without valid credentials gets 401, a known caller without the scope 403. Tokens are compared
//! as SHA-256 digests in constant time against every caller, so timing reveals neither which
//! caller matched nor how much of a token was right.
//!
//! A caller configured with `delegates = true` (the console, the `gdpr` command) may say which
//! person it acts for in `X-Acting-User`; any other caller sending the header is refused, so a
//! client cannot put a name in the audit log that it was not trusted to vouch for.

use crate::configuration::AuthSettings;
use crate::problem::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use base64::Engine;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A scope a route requires. Each service defines its scopes as unit structs implementing this.
pub trait Scope {
    const NAME: &'static str;
}

/// Declares scope marker types: `scopes! { PairingWrite => "pairing:write" }`.
#[macro_export]
macro_rules! scopes {
    (
        $($(#[$meta:meta])* $name:ident => $value:literal),* $(,)?
        $(; also $($extra:path),+ $(,)?)?
    ) => {
        $(
            $(#[$meta])*
            pub struct $name;
            impl $crate::auth::Scope for $name {
                const NAME: &'static str = $value;
            }
        )*
        /// Every scope this service checks, for configuration validation.
        pub const ALL_SCOPES: &[&str] = &[
            $($value,)*
            $($(<$extra as $crate::auth::Scope>::NAME,)+)?
        ];
    };
}

/// The header a delegating caller names its person in.
pub const ACTING_USER: &str = "X-Acting-User";

/// The authenticated caller, available to handlers as `web::ReqData<Caller>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client, as configured (`auth.callers.<name>`).
    pub name: String,
    /// The person a delegating client acts for (`X-Acting-User`). Personal data: never logged.
    pub acting_user: Option<String>,
}

impl Caller {
    /// Who did it: the person a delegating client named, else the client itself.
    pub fn person(&self) -> &str {
        self.acting_user.as_deref().unwrap_or(&self.name)
    }
}

struct KnownCaller {
    name: String,
    token_digest: [u8; 32],
    scopes: Vec<String>,
    delegates: bool,
}

/// The configured callers, shared as app data.
pub struct Callers(Vec<KnownCaller>);

impl Callers {
    pub fn from_settings(settings: &AuthSettings) -> Self {
        Self(
            settings
                .callers
                .iter()
                .map(|(name, caller)| KnownCaller {
                    name: name.clone(),
                    token_digest: digest(caller.token.expose_secret()),
                    scopes: caller.scopes.clone(),
                    delegates: caller.delegates,
                })
                .collect(),
        )
    }

    /// Finds the caller a presented token belongs to; checks every caller whatever matches.
    fn identify(&self, presented: &str) -> Option<&KnownCaller> {
        let presented = digest(presented);
        let mut found = None;
        for caller in &self.0 {
            if bool::from(caller.token_digest.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        found
    }

    /// Authenticates a request's `Authorization` header as one of the callers.
    fn authenticate(&self, authorization: Option<&str>) -> Result<&KnownCaller, ApiError> {
        let token = authorization.and_then(presented_token).ok_or(ApiError::Unauthorized)?;
        let caller = self.identify(&token.secret).ok_or(ApiError::Unauthorized)?;
        if token.basic_user.as_deref().is_some_and(|user| user != caller.name) {
            return Err(ApiError::Unauthorized);
        }
        Ok(caller)
    }

    /// Authenticates a request's `Authorization` header and checks it grants `scope`;
    /// `acting_user` is the `X-Acting-User` header, if sent.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        acting_user: Option<&str>,
        scope: Option<&'static str>,
    ) -> Result<Caller, ApiError> {
        let caller = self.authenticate(authorization)?;
        if let Some(scope) = scope {
            if !caller.scopes.iter().any(|s| s == scope) {
                return Err(ApiError::Forbidden(scope));
            }
        }
        let acting_user = match acting_user {
            None => None,
            Some(_) if !caller.delegates => {
                tracing::warn!(caller = %caller.name, "a caller that may not delegate sent X-Acting-User");
                return Err(ApiError::Refused(format!(
                    "this caller may not act on behalf of others ({ACTING_USER})"
                )));
            }
            Some(person) => Some(parse_acting_user(person)?),
        };
        Ok(Caller {
            name: caller.name.clone(),
            acting_user,
        })
    }
}

/// A person's name as a delegating client gives it: 1 to 128 characters, no control characters.
fn parse_acting_user(value: &str) -> Result<String, ApiError> {
    let person = value.trim();
    if person.is_empty() || person.chars().count() > 128 || person.chars().any(char::is_control) {
        return Err(ApiError::Validation(vec![crate::problem::FieldProblem::header(
            ACTING_USER,
            "must be 1 to 128 characters without control characters",
        )]));
    }
    Ok(person.to_owned())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

struct PresentedToken {
    secret: String,
    /// With Basic auth the user name must be the caller's name.
    basic_user: Option<String>,
}

/// `Bearer <token>`, or `Basic base64(<caller>:<token>)` (Genesys data actions can send either).
fn presented_token(header_value: &str) -> Option<PresentedToken> {
    let (scheme, credentials) = header_value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty() {
        return Some(PresentedToken {
            secret: credentials.to_owned(),
            basic_user: None,
        });
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credentials).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        return Some(PresentedToken {
            secret: password.to_owned(),
            basic_user: Some(user.to_owned()),
        });
    }
    None
}

/// Authenticates the request (and checks `scope` when given) and stores its [`Caller`].
fn authorize_request(request: &ServiceRequest, scope: Option<&'static str>) -> Result<(), ApiError> {
    let callers = request
        .app_data::<actix_web::web::Data<Callers>>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("Callers are not registered as app data")))?;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // A person's name may hold any letter: the header is read as UTF-8.
    let acting_user = request
        .headers()
        .get(ACTING_USER)
        .map(|v| std::str::from_utf8(v.as_bytes()))
        .transpose()
        .map_err(|_| {
            ApiError::Validation(vec![crate::problem::FieldProblem::header(
                ACTING_USER,
                "must be UTF-8 text",
            )])
        })?;
    let caller = callers.authorize(authorization, acting_user, scope)?;
    tracing::debug!(caller = %caller.name, scope = scope.unwrap_or(""), "authorized");
    request.extensions_mut().insert(caller);
    Ok(())
}

/// Middleware for what any known caller may read (the API description): authenticated, no scope.
pub async fn require_caller(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authorize_request(&request, None)?;
    next.call(request).await
}

/// Middleware: `.wrap(actix_web::middleware::from_fn(require::<MyScope>))`.
pub async fn require<S: Scope>(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authorize_request(&request, Some(S::NAME))?;
    next.call(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::CallerSettings;
    use secrecy::SecretString;

    fn callers() -> Callers {
        let mut settings = AuthSettings::default();
        for (name, token, scopes, delegates) in [
            ("bofe", "bofe-token-0123456789", vec!["pairing:write"], false),
            ("internal", "internal-token-0123456789", vec!["pairing:read"], false),
            ("console", "console-token-0123456789", vec!["pairing:write"], true),
        ] {
            settings.callers.insert(
                name.to_owned(),
                CallerSettings {
                    token: SecretString::from(token.to_owned()),
                    scopes: scopes.into_iter().map(str::to_owned).collect(),
                    delegates,
                },
            );
        }
        Callers::from_settings(&settings)
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn bearer_token_with_the_scope_is_authorized() {
        let caller = callers()
            .authorize(Some("Bearer bofe-token-0123456789"), None, Some("pairing:write"))
            .unwrap();
        assert_eq!(caller.name, "bofe");
    }

    #[test]
    fn missing_malformed_or_wrong_tokens_are_401() {
        let callers = callers();
        for header in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer wrong"),
            Some("Token bofe-token-0123456789"),
            Some("bofe-token-0123456789"),
        ] {
            assert!(
                matches!(
                    callers.authorize(header, None, Some("pairing:write")),
                    Err(ApiError::Unauthorized)
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_known_caller_without_the_scope_is_403() {
        let result = callers().authorize(Some("Bearer internal-token-0123456789"), None, Some("pairing:write"));
        assert!(matches!(result, Err(ApiError::Forbidden("pairing:write"))));
    }

    #[test]
    fn basic_auth_needs_the_callers_name_and_token() {
        let callers = callers();
        assert!(callers
            .authorize(
                Some(&basic("bofe", "bofe-token-0123456789")),
                None,
                Some("pairing:write")
            )
            .is_ok());
        assert!(matches!(
            callers.authorize(
                Some(&basic("internal", "bofe-token-0123456789")),
                None,
                Some("pairing:write")
            ),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            callers.authorize(Some("Basic !!!"), None, Some("pairing:write")),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn only_a_delegating_caller_may_name_the_person_it_acts_for() {
        let callers = callers();
        let console = callers
            .authorize(
                Some("Bearer console-token-0123456789"),
                Some(" Alice Nová "),
                Some("pairing:write"),
            )
            .unwrap();
        assert_eq!(console.person(), "Alice Nová");
        assert_eq!(console.name, "console");
        let alone = callers
            .authorize(Some("Bearer console-token-0123456789"), None, Some("pairing:write"))
            .unwrap();
        assert_eq!(alone.person(), "console");
        assert!(matches!(
            callers.authorize(
                Some("Bearer bofe-token-0123456789"),
                Some("alice"),
                Some("pairing:write")
            ),
            Err(ApiError::Refused(_))
        ));
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(129)] {
            assert!(
                matches!(
                    callers.authorize(Some("Bearer console-token-0123456789"), Some(bad), None),
                    Err(ApiError::Validation(_))
                ),
                "{bad:?}"
            );
        }
    }
}
