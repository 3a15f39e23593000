//! Bearer (or Basic) tokens, each belonging to a named caller with its scopes.
//!
//! Routes declare the scope they need with `.wrap(from_fn(require::<scope::X>))`; a request
//! without valid credentials gets 401, a known caller without the scope 403. Tokens are compared
//! as SHA-256 digests in constant time against every caller, so timing reveals neither which
//! caller matched nor how much of a token was right.
//!
//! A caller configured with `delegates = true` (the console, the `gdpr` command) may say which
//! person it acts for: outside development only with the person's access token from the bank's
//! identity provider in `X-Person-Token`, verified here (see [`crate::persons`]); in development
//! also with a bare name in `X-Acting-User`. Any other caller sending either header is refused,
//! so a client cannot put a name in the audit log that it was not trusted to vouch for. A caller
//! with no person acts as itself. A verified person must hold a provider role the route's scope
//! needs (`auth.persons.roles`), else 403 naming the role.

use crate::configuration::{AuthSettings, Environment};
pub use crate::persons::{Person, VouchedBy, PERSON_TOKEN};
use crate::persons::{PersonTokenError, PersonVerifier};
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

/// The header a delegating caller names its person in, in development only.
pub const ACTING_USER: &str = "X-Acting-User";

/// The authenticated caller, available to handlers as `web::ReqData<Caller>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client, as configured (`auth.callers.<name>`).
    pub name: String,
    /// The person a delegating client acts for. Personal data: never logged.
    pub person: Option<Person>,
}

impl Caller {
    /// Who did it, as an identity: the person's subject, else the client itself.
    pub fn person(&self) -> &str {
        self.person.as_ref().map_or(&self.name, |person| &person.subject)
    }

    /// Who did it, as a name to show: the person's display name, else the client itself.
    pub fn display_name(&self) -> &str {
        self.person.as_ref().map_or(&self.name, |person| &person.display_name)
    }
}

struct KnownCaller {
    name: String,
    token_digest: [u8; 32],
    scopes: Vec<String>,
    delegates: bool,
}

/// The configured callers, shared as app data.
pub struct Callers {
    known: Vec<KnownCaller>,
    /// `X-Acting-User` is accepted (development only).
    acting_user_accepted: bool,
    /// Verifies `X-Person-Token` (`auth.persons`).
    verifier: Option<PersonVerifier>,
}

/// What a request says about its person.
#[derive(Debug, Default, Clone, Copy)]
pub struct PersonHeaders<'a> {
    /// `X-Acting-User`.
    pub acting_user: Option<&'a str>,
    /// `X-Person-Token`.
    pub person_token: Option<&'a str>,
}

impl Callers {
    /// The callers of validated settings, in `environment`.
    pub fn from_settings(settings: &AuthSettings, environment: Environment) -> anyhow::Result<Self> {
        Ok(Self {
            known: settings
                .callers
                .iter()
                .map(|(name, caller)| KnownCaller {
                    name: name.clone(),
                    token_digest: digest(caller.token.expose_secret()),
                    scopes: caller.scopes.clone(),
                    delegates: caller.delegates,
                })
                .collect(),
            acting_user_accepted: environment == Environment::Development,
            verifier: settings.persons.as_ref().map(PersonVerifier::new).transpose()?,
        })
    }

    /// Finds the caller a presented token belongs to; checks every caller whatever matches.
    fn identify(&self, presented: &str) -> Option<&KnownCaller> {
        let presented = digest(presented);
        let mut found = None;
        for caller in &self.known {
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

    /// Authenticates a request's `Authorization` header, checks it grants `scope`, and finds the
    /// person it acts for from `headers`.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        headers: PersonHeaders<'_>,
        scope: Option<&'static str>,
    ) -> Result<Caller, ApiError> {
        let caller = self.authenticate(authorization)?;
        if let Some(scope) = scope {
            if !caller.scopes.iter().any(|s| s == scope) {
                return Err(ApiError::Forbidden(scope));
            }
        }
        let person = match headers {
            PersonHeaders {
                acting_user: None,
                person_token: None,
            } => None,
            _ if !caller.delegates => {
                tracing::warn!(caller = %caller.name, "a caller that may not delegate named a person");
                return Err(ApiError::Refused(format!(
                    "this caller may not act on behalf of others ({ACTING_USER}, {PERSON_TOKEN})"
                )));
            }
            PersonHeaders {
                acting_user: Some(_),
                person_token: Some(_),
            } => {
                return Err(ApiError::BadRequest(format!(
                    "send the person in {PERSON_TOKEN} or {ACTING_USER}, not both"
                )))
            }
            PersonHeaders {
                acting_user: Some(name),
                ..
            } => {
                if !self.acting_user_accepted {
                    tracing::warn!(caller = %caller.name, "X-Acting-User outside development");
                    return Err(ApiError::PersonUnauthorized(format!(
                        "{ACTING_USER} is accepted in development only: send the person's access token \
                         from the identity provider in {PERSON_TOKEN}"
                    )));
                }
                let name = parse_acting_user(name)?;
                Some(Person {
                    subject: name.clone(),
                    display_name: name,
                    vouched_by: VouchedBy::DevelopmentHeader,
                    roles: Vec::new(),
                })
            }
            PersonHeaders {
                person_token: Some(token),
                ..
            } => Some(self.verify_person(&caller.name, token, scope).await?),
        };
        Ok(Caller {
            name: caller.name.clone(),
            person,
        })
    }

    /// The person a `X-Person-Token` names, verified, holding a role `scope` needs
    /// (`auth.persons.roles`).
    async fn verify_person(&self, caller: &str, token: &str, scope: Option<&str>) -> Result<Person, ApiError> {
        let verifier = self.verifier.as_ref().ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{PERSON_TOKEN}: this service has no identity provider configured (auth.persons)"
            ))
        })?;
        let person = verifier.verify(token.trim()).await.map_err(|error| {
            tracing::warn!(caller = %caller, reason = %error, "a person token was refused");
            match error {
                PersonTokenError::ProviderUnavailable => ApiError::Unavailable {
                    retry_after_seconds: 5,
                    cause: anyhow::anyhow!("the identity provider's keys are unavailable"),
                },
                error => ApiError::PersonUnauthorized(format!("{PERSON_TOKEN}: the token {error}")),
            }
        })?;
        if let Some((scope, needed)) = scope.and_then(|scope| Some((scope, verifier.missing_role(scope, &person)?))) {
            tracing::warn!(caller = %caller, scope = %scope, "a person without the role a scope needs");
            return Err(ApiError::Refused(format!(
                "{PERSON_TOKEN}: the person does not hold the role ({needed}) needed to be acted for with the scope {scope}"
            )));
        }
        Ok(person)
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

/// A person header's value as UTF-8 text (a person's name may hold any letter).
fn header_text<'r>(request: &'r ServiceRequest, name: &str) -> Result<Option<&'r str>, ApiError> {
    request
        .headers()
        .get(name)
        .map(|v| std::str::from_utf8(v.as_bytes()))
        .transpose()
        .map_err(|_| ApiError::Validation(vec![crate::problem::FieldProblem::header(name, "must be UTF-8 text")]))
}

/// Authenticates the request (and checks `scope` when given) and stores its [`Caller`].
async fn authorize_request(request: &ServiceRequest, scope: Option<&'static str>) -> Result<(), ApiError> {
    let callers = request
        .app_data::<actix_web::web::Data<Callers>>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("Callers are not registered as app data")))?
        .clone();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let headers = PersonHeaders {
        acting_user: header_text(request, ACTING_USER)?,
        person_token: header_text(request, PERSON_TOKEN)?,
    };
    let caller = callers.authorize(authorization, headers, scope).await?;
    tracing::debug!(caller = %caller.name, scope = scope.unwrap_or(""), "authorized");
    request.extensions_mut().insert(caller);
    Ok(())
}

/// Middleware for what any known caller may read (the API description): authenticated, no scope.
pub async fn require_caller(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authorize_request(&request, None).await?;
    next.call(request).await
}

/// Middleware: `.wrap(actix_web::middleware::from_fn(require::<MyScope>))`.
pub async fn require<S: Scope>(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authorize_request(&request, Some(S::NAME)).await?;
    next.call(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::{CallerSettings, PersonSettings};
    use secrecy::SecretString;

    fn callers_in(environment: Environment, persons: Option<PersonSettings>) -> Callers {
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
        settings.persons = persons;
        Callers::from_settings(&settings, environment).unwrap()
    }

    fn callers() -> Callers {
        callers_in(Environment::Development, None)
    }

    fn acting(name: &str) -> PersonHeaders<'_> {
        PersonHeaders {
            acting_user: Some(name),
            person_token: None,
        }
    }

    fn none() -> PersonHeaders<'static> {
        PersonHeaders::default()
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[tokio::test]
    async fn bearer_token_with_the_scope_is_authorized() {
        let caller = callers()
            .authorize(Some("Bearer bofe-token-0123456789"), none(), Some("pairing:write"))
            .await
            .unwrap();
        assert_eq!(caller.name, "bofe");
        assert_eq!(caller.person, None);
        assert_eq!(caller.person(), "bofe");
    }

    #[tokio::test]
    async fn missing_malformed_or_wrong_tokens_are_401() {
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
                    callers.authorize(header, none(), Some("pairing:write")).await,
                    Err(ApiError::Unauthorized)
                ),
                "{header:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_known_caller_without_the_scope_is_403() {
        let result = callers()
            .authorize(Some("Bearer internal-token-0123456789"), none(), Some("pairing:write"))
            .await;
        assert!(matches!(result, Err(ApiError::Forbidden("pairing:write"))));
    }

    #[tokio::test]
    async fn basic_auth_needs_the_callers_name_and_token() {
        let callers = callers();
        assert!(callers
            .authorize(
                Some(&basic("bofe", "bofe-token-0123456789")),
                none(),
                Some("pairing:write")
            )
            .await
            .is_ok());
        assert!(matches!(
            callers
                .authorize(
                    Some(&basic("internal", "bofe-token-0123456789")),
                    none(),
                    Some("pairing:write")
                )
                .await,
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            callers
                .authorize(Some("Basic !!!"), none(), Some("pairing:write"))
                .await,
            Err(ApiError::Unauthorized)
        ));
    }

    #[tokio::test]
    async fn in_development_only_a_delegating_caller_may_name_the_person_it_acts_for() {
        let callers = callers();
        let console = callers
            .authorize(
                Some("Bearer console-token-0123456789"),
                acting(" Alice Nová "),
                Some("pairing:write"),
            )
            .await
            .unwrap();
        assert_eq!(console.person(), "Alice Nová");
        assert_eq!(console.display_name(), "Alice Nová");
        assert_eq!(console.person.map(|p| p.vouched_by), Some(VouchedBy::DevelopmentHeader));
        assert_eq!(console.name, "console");
        let alone = callers
            .authorize(Some("Bearer console-token-0123456789"), none(), Some("pairing:write"))
            .await
            .unwrap();
        assert_eq!(alone.person(), "console");
        for headers in [
            acting("alice"),
            PersonHeaders {
                acting_user: None,
                person_token: Some("a.b.c"),
            },
        ] {
            assert!(matches!(
                callers
                    .authorize(Some("Bearer bofe-token-0123456789"), headers, Some("pairing:write"))
                    .await,
                Err(ApiError::Refused(_))
            ));
        }
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(129)] {
            assert!(
                matches!(
                    callers
                        .authorize(Some("Bearer console-token-0123456789"), acting(bad), None)
                        .await,
                    Err(ApiError::Validation(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn outside_development_a_bare_name_is_refused_and_a_token_needs_the_provider() {
        let callers = callers_in(Environment::Production, None);
        assert!(matches!(
            callers
                .authorize(Some("Bearer console-token-0123456789"), acting("alice"), None)
                .await,
            Err(ApiError::PersonUnauthorized(_))
        ));
        let both = PersonHeaders {
            acting_user: Some("alice"),
            person_token: Some("a.b.c"),
        };
        assert!(matches!(
            callers
                .authorize(Some("Bearer console-token-0123456789"), both, None)
                .await,
            Err(ApiError::BadRequest(_))
        ));
        let token_only = PersonHeaders {
            acting_user: None,
            person_token: Some("a.b.c"),
        };
        assert!(matches!(
            callers
                .authorize(Some("Bearer console-token-0123456789"), token_only, None)
                .await,
            Err(ApiError::BadRequest(_))
        ));
        // A machine caller with no person acts as itself.
        let machine = callers
            .authorize(Some("Bearer console-token-0123456789"), none(), None)
            .await
            .unwrap();
        assert_eq!((machine.person(), machine.display_name()), ("console", "console"));
    }
}
