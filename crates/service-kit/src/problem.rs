//! Errors as RFC 9457 `application/problem+json`. Client mistakes are 4xx and name the field;
//! server faults are an opaque 500 whose cause goes to the log, never to the body.

use crate::database::DatabaseError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub use contracts::problem::{FieldProblem, Problem, PROBLEM_JSON};

/// A problem as the answer to a request.
pub trait ProblemResponse {
    fn to_response(&self) -> HttpResponse;
}

impl ProblemResponse for Problem {
    fn to_response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).content_type(PROBLEM_JSON).json(self)
    }
}

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or parameters were understood but invalid (422).
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    /// The request could not be read at all: malformed JSON, a bad path or query parameter (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound(String),
    /// The request conflicts with what is stored (409), e.g. an idempotency key reused with another body.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// The caller is known, but the person it names is not vouched for (401 with the reason,
    /// which names no claim's value).
    #[error("person not vouched for: {0}")]
    PersonUnauthorized(String),
    #[error("caller lacks scope {0}")]
    Forbidden(&'static str),
    /// The caller is known and may use the route, but not for this (403 with the reason).
    #[error("refused: {0}")]
    Refused(String),
    /// An upstream answered in a way we cannot use (e.g. refused our credentials or permissions):
    /// our configuration or theirs needs fixing, retrying will not help (502).
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// A dependency is down or busy; worth retrying after `retry_after_seconds`.
    #[error("service unavailable")]
    Unavailable {
        retry_after_seconds: u32,
        #[source]
        cause: anyhow::Error,
    },
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl From<DatabaseError> for ApiError {
    fn from(error: DatabaseError) -> Self {
        if error.is_transient() {
            Self::Unavailable {
                retry_after_seconds: 5,
                cause: error.into(),
            }
        } else {
            Self::Unexpected(error.into())
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        DatabaseError::from(error).into()
    }
}

impl ApiError {
    pub fn validation(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(pointer, detail)])
    }

    fn problem(&self) -> Problem {
        let (problem_type, title, detail, errors) = match self {
            Self::Validation(errors) => (
                "urn:ccbridge:problem:validation",
                "The request is not valid",
                Some(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.location(), e.detail))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                errors.clone(),
            ),
            Self::BadRequest(detail) => (
                "urn:ccbridge:problem:bad-request",
                "The request could not be read",
                Some(detail.clone()),
                vec![],
            ),
            Self::NotFound(detail) => (
                "urn:ccbridge:problem:not-found",
                "Not found",
                Some(detail.clone()),
                vec![],
            ),
            Self::Conflict(detail) => (
                "urn:ccbridge:problem:conflict",
                "Conflict",
                Some(detail.clone()),
                vec![],
            ),
            Self::UnsupportedMediaType => (
                "urn:ccbridge:problem:unsupported-media-type",
                "Unsupported media type",
                Some("the body must be JSON, sent with Content-Type: application/json".to_owned()),
                vec![],
            ),
            Self::PayloadTooLarge { limit } => (
                "urn:ccbridge:problem:payload-too-large",
                "Payload too large",
                Some(format!("the body must be at most {limit} bytes")),
                vec![],
            ),
            Self::Unauthorized => (
                "urn:ccbridge:problem:unauthorized",
                "Unauthorized",
                Some("send a valid token: Authorization: Bearer <token>".to_owned()),
                vec![],
            ),
            Self::PersonUnauthorized(detail) => (
                "urn:ccbridge:problem:person-unauthorized",
                "The person is not vouched for",
                Some(detail.clone()),
                vec![],
            ),
            Self::Forbidden(scope) => (
                "urn:ccbridge:problem:forbidden",
                "Forbidden",
                Some(format!("this caller may not do this; it needs the scope {scope}")),
                vec![],
            ),
            Self::Refused(detail) => (
                "urn:ccbridge:problem:forbidden",
                "Forbidden",
                Some(detail.clone()),
                vec![],
            ),
            Self::BadGateway(detail) => (
                "urn:ccbridge:problem:bad-gateway",
                "Bad gateway",
                Some(detail.clone()),
                vec![],
            ),
            Self::Unavailable { .. } => (
                "urn:ccbridge:problem:unavailable",
                "Temporarily unavailable",
                Some("a dependency is unavailable; retry later".to_owned()),
                vec![],
            ),
            Self::Unexpected(_) => ("urn:ccbridge:problem:internal", "Internal server error", None, vec![]),
        };
        Problem {
            problem_type: problem_type.to_owned(),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized | Self::PersonUnauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unexpected(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed")
            }
            Self::Unavailable { cause, .. } => {
                tracing::warn!(error = %format!("{cause:#}"), "dependency unavailable")
            }
            _ => {}
        }
        let mut response = self.problem().to_response();
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Unavailable {
                retry_after_seconds, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}
