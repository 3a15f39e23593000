//! RFC 9457 `application/problem+json`: the body of every failure a ccbridge service answers, and
//! what a client reads back out of it.

use serde::{Deserialize, Serialize};

/// The media type of a [`Problem`].
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: where it is (an RFC 6901 JSON `pointer` into the body, or the name of a
/// query/path `parameter` or a `header`) and what is wrong with it. The detail never repeats the
/// submitted value, which may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    pub detail: String,
}

impl FieldProblem {
    /// A field of the JSON body, by JSON pointer (`/customerId`).
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointer.into()),
            parameter: None,
            header: None,
            detail: detail.into(),
        }
    }

    /// A query or path parameter, by name.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: None,
            parameter: Some(name.into()),
            header: None,
            detail: detail.into(),
        }
    }

    /// A request header, by name.
    pub fn header(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: None,
            parameter: None,
            header: Some(name.into()),
            detail: detail.into(),
        }
    }

    /// Where the problem is: the pointer, else the parameter, else the header ("" if none is
    /// set, which a server never sends).
    pub fn location(&self) -> &str {
        self.pointer
            .as_deref()
            .or(self.parameter.as_deref())
            .or(self.header.as_deref())
            .unwrap_or("")
    }
}

/// The RFC 9457 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:ccbridge:problem:<kind>`, or `about:blank` for a bare status.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

impl Problem {
    /// A problem with only the status: for answers that had no body of their own.
    pub fn for_status(status: u16) -> Self {
        let title = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        Self {
            problem_type: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail: None,
            errors: Vec::new(),
        }
    }

    /// The problem's kind: the last part of a `urn:ccbridge:problem:<kind>` type
    /// (`validation`, `conflict`, ...), or `None` for any other type.
    pub fn kind(&self) -> Option<&str> {
        self.problem_type.strip_prefix("urn:ccbridge:problem:")
    }

    /// The field problem at a JSON pointer, if the server named that field.
    pub fn field(&self, pointer: &str) -> Option<&FieldProblem> {
        self.errors.iter().find(|e| e.pointer.as_deref() == Some(pointer))
    }
}
