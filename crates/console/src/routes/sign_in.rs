//! `/signin` (to the identity provider), `/signin/callback` (back from it), `/signout`.

use super::{page, Notice};
use crate::oidc::{Oidc, PendingSignIn};
use crate::session::{self, Person};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

const PENDING: &str = "pending_sign_in";

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/signin", web::get().to(start))
        .route("/signin/callback", web::get().to(callback))
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

async fn start(oidc: web::Data<Oidc>, session: Session, query: web::Query<StartQuery>) -> HttpResponse {
    let next = session::local_path(query.next.as_deref());
    match oidc.start(next).await {
        Ok((url, pending)) => {
            if session.insert(PENDING, pending).is_err() {
                return HttpResponse::InternalServerError().finish();
            }
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
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(oidc: web::Data<Oidc>, session: Session, query: web::Query<CallbackQuery>) -> HttpResponse {
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
        return refused("This sign-in was not started here, or the identity provider refused it.");
    };
    let next = pending.next.clone();
    match oidc.finish(pending, code, state).await {
        Ok(signed_in) => {
            let person = Person {
                subject: signed_in.subject,
                name: signed_in.name,
                roles: signed_in.roles,
                csrf: openidconnect::CsrfToken::new_random().secret().clone(),
            };
            if session::sign_in(&session, &person).is_err() {
                return HttpResponse::InternalServerError().finish();
            }
            tracing::info!(roles = ?person.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(), "signed in");
            see_other(&next)
        }
        Err(error) => {
            tracing::warn!(error = %error, "sign-in refused");
            refused("The sign-in could not be completed. Try again.")
        }
    }
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
