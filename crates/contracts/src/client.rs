//! The one small typed client every caller of a ccbridge service uses: the console, the `gdpr`
//! command, sibling services, devstack and tests.
//!
//! A call answers `Result<T, ClientError>`: a 2xx body deserialised into `T`; a problem+json
//! answer as [`ClientError::Problem`] (the deserialised [`Problem`]); a transport failure and an
//! answer we cannot read as their own cases. No caller walks an answer as `serde_json::Value` or
//! matches on status codes by hand where a type says what came back.
//!
//! Errors never carry a body's values (they may be personal data): an unreadable body is named by
//! the path of the field that failed and serde's category, not by what the field held.

use crate::problem::{Problem, PROBLEM_JSON};
use http::{HeaderMap, Method, StatusCode};
use reqwest::Url;
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A service's base address with the HTTP client (tracing, TLS) and the bearer token to call it.
#[derive(Clone)]
pub struct Client {
    http: ClientWithMiddleware,
    base: Url,
    token: Option<SecretString>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Client {
    /// A client of the service at `base` (its paths are appended to it).
    pub fn new(http: ClientWithMiddleware, base: Url) -> Self {
        Self {
            http,
            base,
            token: None,
        }
    }

    /// A client of the service at `base` over a plain reqwest client (no middleware).
    pub fn plain(http: reqwest::Client, base: Url) -> Self {
        Self::new(reqwest_middleware::ClientBuilder::new(http).build(), base)
    }

    /// Every call carries `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The address of `path` (which starts with `/` and is already percent-encoded) at this
    /// service.
    pub fn url(&self, path: &str) -> Result<Url, ClientError> {
        let joined = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|_| ClientError::InvalidPath { path: path.to_owned() })
    }

    pub fn get(&self, path: &str) -> Request {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Request {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Request {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> Request {
        self.request(Method::DELETE, path)
    }

    pub fn request(&self, method: Method, path: &str) -> Request {
        let builder = self.url(path).map(|url| {
            let builder = self.http.request(method, url);
            match &self.token {
                Some(token) => builder.bearer_auth(token.expose_secret()),
                None => builder,
            }
        });
        Request { builder }
    }
}

/// One call being built; `send*` makes it.
pub struct Request {
    builder: Result<RequestBuilder, ClientError>,
}

impl Request {
    fn map(self, f: impl FnOnce(RequestBuilder) -> RequestBuilder) -> Self {
        Self {
            builder: self.builder.map(f),
        }
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.map(|b| b.header(name, value))
    }

    /// `X-Person-Token`: the signed-in person's access token, which the service verifies. Marked
    /// sensitive, so no debug output of the request shows it.
    pub fn person_token(self, token: &str) -> Self {
        match http::HeaderValue::from_str(token) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.map(|b| b.header("X-Person-Token", value))
            }
            // A token is visible ASCII; one that is not cannot be sent, and is not repeated.
            Err(_) => Self {
                builder: Err(ClientError::InvalidHeader { name: "X-Person-Token" }),
            },
        }
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("Idempotency-Key", key)
    }

    pub fn query<Q: Serialize + ?Sized>(self, query: &Q) -> Self {
        self.map(|b| b.query(query))
    }

    pub fn json<B: Serialize + ?Sized>(self, body: &B) -> Self {
        self.map(|b| b.json(body))
    }

    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Makes the call: a 2xx body as `T`.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        Ok(self.send_full::<T>().await?.body)
    }

    /// Makes the call: a 2xx answer's status, headers and body as `T`.
    pub async fn send_full<T: DeserializeOwned>(self) -> Result<Response<T>, ClientError> {
        let (status, headers, bytes) = self.exchange().await?;
        let body = parse(status, &bytes)?;
        Ok(Response { status, headers, body })
    }

    /// Makes the call: a 2xx answer whose body (if any) is not needed.
    pub async fn send_empty(self) -> Result<Response<()>, ClientError> {
        let (status, headers, _) = self.exchange().await?;
        Ok(Response {
            status,
            headers,
            body: (),
        })
    }

    /// Makes the call: a 2xx answer's raw bytes (a download).
    pub async fn send_bytes(self) -> Result<Response<Vec<u8>>, ClientError> {
        let (status, headers, bytes) = self.exchange().await?;
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }

    async fn exchange(self) -> Result<(StatusCode, HeaderMap, Vec<u8>), ClientError> {
        let response = self.builder?.send().await.map_err(ClientError::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| ClientError::transport(e.into()))?;
        if status.is_success() {
            return Ok((status, headers, bytes.to_vec()));
        }
        let is_problem = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(PROBLEM_JSON));
        if is_problem {
            let problem: Problem = parse(status, &bytes)?;
            return Err(ClientError::Problem {
                status,
                problem,
                headers: Box::new(headers),
            });
        }
        Err(ClientError::UnexpectedStatus {
            status,
            headers: Box::new(headers),
        })
    }
}

fn parse<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, ClientError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let mut path = e.path().to_string();
        // A missing field is reported at its parent; name the field itself.
        if let Some(field) = missing_field(e.inner()) {
            path = if path == "." { field } else { format!("{path}.{field}") };
        }
        ClientError::UnexpectedBody {
            status,
            path,
            category: category(e.inner()),
        }
    })
}

/// The field serde found missing: its message is "missing field `name`", a name of the contract's
/// type, never a value of the body. Anything else that message could hold is not passed on.
fn missing_field(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix("missing field `")?;
    let field = &rest[..rest.find('`')?];
    let mut chars = field.chars();
    let is_a_name = field.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_a_name.then(|| field.to_owned())
}

fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a field missing or of the wrong type",
        serde_json::error::Category::Eof => "cut short",
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct Response<T> {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: T,
}

/// Why a call gave no `T`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with a problem+json body.
    #[error("{status}: {} ({})", problem.title, problem.problem_type)]
    Problem {
        status: StatusCode,
        problem: Problem,
        headers: Box<HeaderMap>,
    },
    /// A non-2xx answer without a problem+json body (a proxy's page, say).
    #[error("answered {status} without a problem body")]
    UnexpectedStatus {
        status: StatusCode,
        headers: Box<HeaderMap>,
    },
    /// A body that is not what the contract says: the path of the failing field, never its value.
    #[error("answered {status} with a body that does not fit the contract at {path:?}: {category}")]
    UnexpectedBody {
        status: StatusCode,
        path: String,
        category: &'static str,
    },
    /// No answer: refused, unreachable, timed out, cut off.
    #[error("{}", if *timeout { "timed out" } else { "unreachable" })]
    Transport {
        timeout: bool,
        #[source]
        source: reqwest_middleware::Error,
    },
    /// The path given does not make an address with the base.
    #[error("{path:?} does not make an address")]
    InvalidPath { path: String },
    /// A header's value cannot be sent (not visible ASCII); the value is not repeated.
    #[error("the {name} header's value cannot be sent")]
    InvalidHeader { name: &'static str },
}

impl ClientError {
    fn transport(source: reqwest_middleware::Error) -> Self {
        let timeout = match &source {
            reqwest_middleware::Error::Reqwest(e) => e.is_timeout(),
            reqwest_middleware::Error::Middleware(_) => false,
        };
        Self::Transport { timeout, source }
    }

    /// The answer's status, if there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::UnexpectedBody { status, .. } => Some(*status),
            Self::Transport { .. } | Self::InvalidPath { .. } | Self::InvalidHeader { .. } => None,
        }
    }

    /// The problem body, if the service answered with one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The answer's headers (`Retry-After`, say), if there was a non-2xx answer.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Self::Problem { headers, .. } | Self::UnexpectedStatus { headers, .. } => Some(headers),
            _ => None,
        }
    }

    /// Worth trying again later: no answer, a 408/429, or a 5xx (the service or a dependency
    /// was down or busy). A 4xx otherwise is the caller's to fix.
    pub fn is_transient(&self) -> bool {
        match self.status() {
            None => matches!(self, Self::Transport { .. }),
            Some(status) => {
                status.is_server_error()
                    || status == StatusCode::REQUEST_TIMEOUT
                    || status == StatusCode::TOO_MANY_REQUESTS
            }
        }
    }
}
