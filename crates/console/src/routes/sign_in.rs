//! `/signin` (to the identity provider, or the development sign-in), `/signin/provider`,
//! `/signin/callback` (back from the provider), `/signin/development`, `/signout`.

use super::{page, Notice};
use crate::oidc::{Oidc, PendingSignIn};
use crate::session::{self, Person, Refusal, Role};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

const PENDING: &str = "pending_sign_in";
/// The development sign-in form's token: there is no person yet to hold one.
const DEVELOPMENT_FORM_TOKEN: &str = "development_sign_in_token";

/// How people sign in here: the bank's identity provider, the development sign-in, or both (in
/// development). Settings refuse a console with neither, and the development one outside
/// development.
pub struct SignInMethods {
    pub provider: Option<Oidc>,
    pub development: bool,
    /// `console.public_url`: where `next` must stay.
    pub public_url: url::Url,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/signin", web::get().to(sign_in_page))
        .route("/signin/provider", web::get().to(start))
        .route("/signin/callback", web::get().to(callback))
        .route("/signin/development", web::post().to(development_sign_in))
        .route("/signout", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOut {
    person: Option<Person>,
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

async fn home() -> HttpResponse {
    see_other("/status")
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn sign_in_page(
    methods: web::Data<SignInMethods>,
    session: Session,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, Refusal> {
    if methods.development {
        return development_form(
            &methods,
            &session,
            session::local_path(&methods.public_url, query.next.as_deref()),
            None,
        );
    }
    start(methods, session, query).await
}

async fn start(
    methods: web::Data<SignInMethods>,
    session: Session,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, Refusal> {
    let oidc = methods.provider.as_ref().ok_or(Refusal::NotFound)?;
    let next = session::local_path(&methods.public_url, query.next.as_deref());
    Ok(match oidc.start(next).await {
        Ok((url, pending)) => {
            session.insert(PENDING, pending).map_err(|_| Refusal::Session)?;
            see_other(&url)
        }
        Err(error) => {
            tracing::error!(error = %error, "sign-in could not start");
            let mut response = page(
                Notice {
                    person: None,
                    heading: "Sign-in failed",
                    reason: "The identity provider cannot be reached. Try again in a moment.",
                    back: "/signin",
                    back_label: "Try again",
                }
                .render(),
            );
            *response.status_mut() = actix_web::http::StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    })
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    methods: web::Data<SignInMethods>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Refusal> {
    let oidc = methods.provider.as_ref().ok_or(Refusal::NotFound)?;
    let pending: Option<PendingSignIn> = session.remove_as(PENDING).and_then(Result::ok);
    let refused = |reason: &str| {
        let mut response = page(
            Notice {
                person: None,
                heading: "Sign-in failed",
                reason,
                back: "/signin",
                back_label: "Try again",
            }
            .render(),
        );
        *response.status_mut() = actix_web::http::StatusCode::FORBIDDEN;
        response
    };
    let (Some(pending), Some(code), Some(state), None) = (pending, &query.code, &query.state, &query.error) else {
        return Ok(refused(
            "This sign-in was not started here, or the identity provider refused it.",
        ));
    };
    let next = pending.next.clone();
    Ok(match oidc.finish(pending, code, state).await {
        Ok(signed_in) => {
            let person = Person {
                subject: signed_in.subject,
                name: signed_in.name,
                roles: signed_in.roles,
                csrf: openidconnect::CsrfToken::new_random().secret().clone(),
                development: false,
            };
            session::sign_in(&session, &person, Some(&signed_in.tokens))?;
            tracing::info!(roles = ?person.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(), "signed in");
            see_other(&next)
        }
        Err(error) => {
            tracing::warn!(error = %error, "sign-in refused");
            refused("The sign-in could not be completed. Try again.")
        }
    })
}

#[derive(Template)]
#[template(path = "signin_development.html")]
struct DevelopmentForm<'a> {
    person: Option<Person>,
    token: &'a str,
    next: &'a str,
    provider: bool,
    problem: Option<&'a str>,
    name: &'a str,
}

/// The development sign-in form, with a fresh form token kept in the session.
fn development_form(
    methods: &SignInMethods,
    session: &Session,
    next: String,
    retry: Option<(&str, &str)>,
) -> Result<HttpResponse, Refusal> {
    let token = openidconnect::CsrfToken::new_random().secret().clone();
    session
        .insert(DEVELOPMENT_FORM_TOKEN, &token)
        .map_err(|_| Refusal::Session)?;
    let (problem, name) = retry.map_or((None, ""), |(problem, name)| (Some(problem), name));
    let mut response = page(
        DevelopmentForm {
            person: None,
            token: &token,
            next: &next,
            provider: methods.provider.is_some(),
            problem,
            name,
        }
        .render(),
    );
    if problem.is_some() {
        *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Deserialize)]
struct DevelopmentSignIn {
    csrf: Option<String>,
    name: String,
    next: Option<String>,
    dpo: Option<String>,
    operator: Option<String>,
    backoffice: Option<String>,
}

/// The name a person picks: 1 to 64 characters, no control characters.
fn development_name(name: &str) -> Option<&str> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control)).then_some(name)
}

/// What the services' audit trails name for a development person: marked as such, from the name.
fn development_subject(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("development:{slug}")
}

async fn development_sign_in(
    methods: web::Data<SignInMethods>,
    session: Session,
    form: web::Form<DevelopmentSignIn>,
) -> Result<HttpResponse, Refusal> {
    if !methods.development {
        return Err(Refusal::NotFound);
    }
    let expected: Option<String> = session.remove_as(DEVELOPMENT_FORM_TOKEN).and_then(Result::ok);
    session::check_token(&expected.unwrap_or_default(), form.csrf.as_deref())?;
    let next = session::local_path(&methods.public_url, form.next.as_deref());
    let Some(name) = development_name(&form.name) else {
        return development_form(&methods, &session, next, Some(("Name: 1 to 64 characters.", "")));
    };
    let roles: Vec<Role> = [
        (form.dpo.is_some(), Role::Dpo),
        (form.operator.is_some(), Role::Operator),
        (form.backoffice.is_some(), Role::Backoffice),
    ]
    .into_iter()
    .filter_map(|(picked, role)| picked.then_some(role))
    .collect();
    if roles.is_empty() {
        return development_form(&methods, &session, next, Some(("Roles: pick at least one.", name)));
    }
    let person = Person {
        subject: development_subject(name),
        name: name.to_owned(),
        roles,
        csrf: openidconnect::CsrfToken::new_random().secret().clone(),
        development: true,
    };
    session::sign_in(&session, &person, None)?;
    tracing::warn!(roles = ?person.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(), "development sign-in");
    Ok(see_other(&next))
}

#[derive(Deserialize)]
struct FormToken {
    csrf: Option<String>,
}

async fn sign_out(session: Session, form: web::Form<FormToken>) -> Result<HttpResponse, session::Refusal> {
    let person = session::require(&session, "/")?;
    session::check_form_token(&person, form.csrf.as_deref())?;
    session::sign_out(&session);
    Ok(page(SignedOut { person: None }.render()))
}
