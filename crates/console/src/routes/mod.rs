//! The console's pages, one module a page; each exposes `config`.

mod assets;
mod gdpr;
mod inbox;
mod queues;
pub mod sign_in;
mod status;
mod unassigned;

use crate::services::CallError;
use crate::session::Person;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

pub fn config(cfg: &mut web::ServiceConfig) {
    assets::config(cfg);
    sign_in::config(cfg);
    status::config(cfg);
    gdpr::config(cfg);
    unassigned::config(cfg);
    inbox::config(cfg);
    queues::config(cfg);
}

/// The console serves pages, not an API: its OpenAPI description is the shared parts alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

/// A rendered page, or a 500 when its template cannot render (a defect, logged).
fn page(rendered: Result<String, askama::Error>) -> actix_web::HttpResponse {
    match rendered {
        Ok(html) => actix_web::HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            tracing::error!(error = %error, "a page did not render");
            actix_web::HttpResponse::InternalServerError().finish()
        }
    }
}

/// A page that says what went wrong, and where to go from there.
#[derive(Template)]
#[template(path = "problem.html")]
struct Notice<'a> {
    person: Option<Person>,
    heading: &'a str,
    reason: &'a str,
    back: &'a str,
    back_label: &'a str,
}

impl Notice<'_> {
    fn with_status(&self, status: StatusCode) -> HttpResponse {
        let mut response = page(self.render());
        if response.status().is_success() {
            *response.status_mut() = status;
        }
        response
    }
}

/// A form's field the console could not send as the service's contract says (not an id, not a
/// time): 422, naming the field, never repeating its value.
pub(crate) fn bad_form(person: Person, heading: &str, reason: &str, back: Back<'_>) -> HttpResponse {
    Notice {
        person: Some(person),
        heading,
        reason,
        back: back.path,
        back_label: back.label,
    }
    .with_status(StatusCode::UNPROCESSABLE_ENTITY)
}

/// Where a page about a failed call sends the person back to.
#[derive(Clone, Copy)]
pub(crate) struct Back<'a> {
    pub path: &'a str,
    pub label: &'a str,
}

/// What a service's refusal says, for the page: its problem's detail, else its title (services
/// never put personal data in either).
pub(crate) fn reason(problem: &contracts::Problem) -> &str {
    problem.detail.as_deref().unwrap_or(&problem.title)
}

/// A call that gave no answer the page can use, as a page: a refusal (a problem) with the
/// service's detail (422; the service's own status stays in the log); no answer, or one that is
/// not the service's (a proxy's page, a redirect), as "not available" (502); an answer off the
/// contract as an error that names no data (502, logged by the field's path, never its value).
pub(crate) fn failed(error: &CallError, person: Option<Person>, back: Back<'_>) -> HttpResponse {
    use contracts::ClientError;
    let (heading, reason, status) = match error {
        CallError::Person => {
            tracing::error!("a call was made outside a signed-in person's request");
            (
                "Not available",
                "You could not be named to the service: sign in again.".to_owned(),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
        CallError::Service { service, error } => match &**error {
            ClientError::Problem { status, problem, .. } if status.is_client_error() => {
                tracing::info!(service, status = status.as_u16(), problem = %problem.problem_type, "a service refused a call");
                (
                    "Refused",
                    format!("{service} refused: {}", self::reason(problem)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            }
            ClientError::Problem { status, problem, .. } => {
                tracing::warn!(service, status = status.as_u16(), problem = %problem.problem_type, "a service failed a call");
                (
                    "Not available",
                    format!("{service} could not answer: {}", self::reason(problem)),
                    StatusCode::BAD_GATEWAY,
                )
            }
            ClientError::UnexpectedBody { status, path, category } => {
                tracing::error!(service, status = status.as_u16(), path = %path, category, "a service's answer is off its contract");
                (
                    "Not understood",
                    format!("{service} answered something the console cannot read. Tell the service's operators."),
                    StatusCode::BAD_GATEWAY,
                )
            }
            ClientError::Transport { .. } | ClientError::UnexpectedStatus { .. } => {
                tracing::warn!(service, error = %error, "a service did not answer");
                (
                    "Not available",
                    format!("{service} is not available. Try again in a moment."),
                    StatusCode::BAD_GATEWAY,
                )
            }
            ClientError::InvalidPath { .. } | ClientError::InvalidHeader { .. } => {
                // Neither the path nor the header's value is logged: either may name a person.
                tracing::error!(service, "a call's path or header could not be sent");
                (
                    "Not available",
                    format!("{service} could not be called."),
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
            }
        },
    };
    Notice {
        person,
        heading,
        reason: &reason,
        back: back.path,
        back_label: back.label,
    }
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::{failed, Back};
    use crate::services::CallError;
    use actix_web::body::MessageBody;
    use contracts::{ClientError, Problem};

    const BACK: Back<'static> = Back {
        path: "/gdpr",
        label: "Back",
    };

    fn page_of(error: ClientError) -> (u16, String) {
        let response = failed(
            &CallError::Service {
                service: "gdpr-orchestrator",
                error: Box::new(error),
            },
            None,
            BACK,
        );
        let status = response.status().as_u16();
        let body = response.into_body().try_into_bytes().unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[test]
    fn a_refusal_shows_the_services_detail() {
        let mut problem = Problem::for_status(403);
        problem.detail = Some("four eyes: the person who filed it may not confirm it".to_owned());
        let (status, page) = page_of(ClientError::Problem {
            status: reqwest::StatusCode::FORBIDDEN,
            problem,
            headers: Box::default(),
        });
        assert_eq!(status, 422);
        assert!(
            page.contains("gdpr-orchestrator refused: four eyes: the person who filed it may not confirm it"),
            "{page}"
        );
    }

    #[test]
    fn an_answer_off_the_contract_is_an_error_page_that_names_no_data() {
        let (status, page) = page_of(ClientError::UnexpectedBody {
            status: reqwest::StatusCode::OK,
            path: "requests[0].allowedActions".to_owned(),
            category: "a field missing or of the wrong type",
        });
        assert_eq!(status, 502);
        assert!(
            page.contains("gdpr-orchestrator answered something the console cannot read"),
            "{page}"
        );
        assert!(!page.contains("allowedActions"), "{page}");
    }

    #[test]
    fn an_answer_that_is_not_the_services_is_not_available() {
        let (status, page) = page_of(ClientError::UnexpectedStatus {
            status: reqwest::StatusCode::BAD_GATEWAY,
            headers: Box::default(),
        });
        assert_eq!(status, 502);
        assert!(page.contains("gdpr-orchestrator is not available"), "{page}");
    }
}
