//! Who is signed in, and the form token: kept in the session on the server (session_store.rs),
//! named by the session cookie (signed and encrypted, HttpOnly, Secure, SameSite=Lax).

use crate::oidc::ProviderTokens;
use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What a person may do here, from the identity provider's roles claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// GDPR requests.
    Dpo,
    /// The inbox and sweeps.
    Operator,
    /// Unassigned communications.
    Backoffice,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dpo => "dpo",
            Self::Operator => "operator",
            Self::Backoffice => "backoffice",
        }
    }
}

/// The signed-in person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    /// The identity provider's subject: what the services' audit logs name.
    pub subject: String,
    /// Shown on the page.
    pub name: String,
    pub roles: Vec<Role>,
    /// Every form carries it back; a form without it is refused.
    pub csrf: String,
    /// Signed in by the development sign-in (devstack), not the identity provider.
    pub development: bool,
}

impl Person {
    pub fn is_dpo(&self) -> bool {
        self.roles.contains(&Role::Dpo)
    }

    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }

    pub fn is_backoffice(&self) -> bool {
        self.roles.contains(&Role::Backoffice)
    }
}

pub const PERSON: &str = "person";
/// The provider's tokens of a person signed in there (none for the development sign-in).
pub const TOKENS: &str = "provider_tokens";

/// Why a page is not served.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Nobody is signed in: to sign-in, then back to `next`.
    #[error("not signed in")]
    SignedOut { next: String },
    #[error("this page is not for the signed-in person's roles")]
    Forbidden,
    /// A form came without the session's token (another site's, or a stale page).
    #[error("the form's token is missing or wrong")]
    BadFormToken,
    /// A form's fields are not what the page sends.
    #[error("the form's fields are wrong")]
    BadForm,
    #[error("no such page")]
    NotFound,
    #[error("the session could not be read or written")]
    Session,
}

impl ResponseError for Refusal {
    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignedOut { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/signin?next={next}")))
                    .finish()
            }
            Self::Forbidden => refusal_page("Not for your role", "This page is not for your role."),
            Self::BadFormToken => refusal_page(
                "Form refused",
                "The form was refused: reload the page and send it again.",
            ),
            Self::BadForm => {
                let mut response = refusal_page("Form refused", "The form's fields are not what this page sends.");
                *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
                response
            }
            Self::NotFound => {
                let mut response = refusal_page("Not found", "There is no such page.");
                *response.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
                response
            }
            Self::Session => HttpResponse::InternalServerError().finish(),
        }
    }
}

/// A 403 page (fixed words only, nothing from the request).
fn refusal_page(title: &str, message: &str) -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · ccbridge console</title>\
             <link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><main id=\"main\"><h1>{title}</h1>\
             <p role=\"alert\">{message}</p><p><a href=\"/status\">Back to the console</a></p></main></body></html>"
        ))
}

pub fn signed_in(session: &Session) -> Result<Option<Person>, Refusal> {
    session.get::<Person>(PERSON).map_err(|_| Refusal::Session)
}

/// The signed-in person, or a redirect to sign-in that comes back to `path`.
pub fn require(session: &Session, path: &str) -> Result<Person, Refusal> {
    signed_in(session)?.ok_or_else(|| Refusal::SignedOut { next: path.to_owned() })
}

/// The signed-in person holding `role`.
pub fn require_role(session: &Session, path: &str, role: Role) -> Result<Person, Refusal> {
    let person = require(session, path)?;
    if person.roles.contains(&role) {
        Ok(person)
    } else {
        Err(Refusal::Forbidden)
    }
}

/// Checks a form's token against the session's, in constant time.
pub fn check_form_token(person: &Person, sent: Option<&str>) -> Result<(), Refusal> {
    check_token(&person.csrf, sent)
}

/// Checks a form's token against `expected`, in constant time; an empty one never matches.
pub fn check_token(expected: &str, sent: Option<&str>) -> Result<(), Refusal> {
    let sent = sent.unwrap_or_default();
    if !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(Refusal::BadFormToken)
    }
}

/// Starts a session for `person` (a fresh session id: no session fixation), with the provider's
/// tokens when the provider signed them in.
pub fn sign_in(session: &Session, person: &Person, tokens: Option<&ProviderTokens>) -> Result<(), Refusal> {
    session.renew();
    keep(session, person, tokens)
}

/// Keeps `person` (and their tokens) as the session's: at sign-in, and when it is renewed.
pub fn keep(session: &Session, person: &Person, tokens: Option<&ProviderTokens>) -> Result<(), Refusal> {
    session.insert(PERSON, person).map_err(|_| Refusal::Session)?;
    if let Some(tokens) = tokens {
        session.insert(TOKENS, tokens).map_err(|_| Refusal::Session)?;
    }
    Ok(())
}

/// The provider's tokens of the signed-in person.
pub fn tokens(session: &Session) -> Result<Option<ProviderTokens>, Refusal> {
    session.get::<ProviderTokens>(TOKENS).map_err(|_| Refusal::Session)
}

pub fn sign_out(session: &Session) {
    session.purge();
}

/// Only a path of this site is a place to return to after sign-in. `next` is resolved against
/// the console's own address as a browser resolves a `Location` (tabs and newlines dropped,
/// backslashes taken for slashes, dot segments removed): anything that lands on another origin,
/// or on a path a browser would read as another host (`//host`), goes to `/`. What is answered
/// is the resolved path and query, not `next` as sent, so the browser follows what was checked.
pub fn local_path(console: &url::Url, next: Option<&str>) -> String {
    let Some(resolved) = next.and_then(|next| console.join(next).ok()) else {
        return "/".to_owned();
    };
    if resolved.origin() != console.origin() || resolved.path().starts_with("//") {
        return "/".to_owned();
    }
    match resolved.query() {
        Some(query) => format!("{}?{query}", resolved.path()),
        None => resolved.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_stays_on_the_console_however_it_is_written() {
        let console = url::Url::parse("https://console.bank.example").unwrap();
        for (next, expected) in [
            ("/gdpr/requests/1?tab=audit", "/gdpr/requests/1?tab=audit"),
            ("/status", "/status"),
            ("gdpr", "/gdpr"),
            ("https://console.bank.example/inbox", "/inbox"),
            ("", "/"),
        ] {
            assert_eq!(local_path(&console, Some(next)), expected, "{next:?}");
        }
        for nasty in [
            "//evil.example",
            "\t//evil.example",
            "\t//evil.example/x",
            "/\t/evil.example",
            "\n//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            " //evil.example",
            "https://evil.example/",
            "https:evil.example",
            "http://console.bank.example/",
            "https://console.bank.example:444/",
            "https://console.bank.example@evil.example/",
            "//console.bank.example@evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e%2e//evil.example",
            "///evil.example",
            "/\u{0009}/evil.example",
        ] {
            let kept = local_path(&console, Some(nasty));
            assert!(
                kept == "/" || (kept.starts_with('/') && !kept.starts_with("//") && !kept.contains('\\')),
                "{nasty:?} → {kept:?}"
            );
            let followed = console.join(&kept).unwrap();
            assert_eq!(followed.origin(), console.origin(), "{nasty:?} → {kept:?}");
        }
        assert_eq!(local_path(&console, None), "/");
        // Encoded forms stay encoded in the path: never decoded into another host.
        assert_eq!(local_path(&console, Some("/%2F%2Fevil.example")), "/%2F%2Fevil.example");
    }
}
