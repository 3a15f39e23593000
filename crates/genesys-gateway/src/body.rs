//! Reading Genesys' bodies into [`crate::models`]: a body that does not fit its documented model
//! is counted (`ccbridge_genesys_unparsed_bodies_total{endpoint, body}`), logged by the path of
//! the failing field and never by its value (a value can be personal data), and answered as an
//! upstream error. Never a default, never a silent drop.

use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use std::fmt::Write as _;

/// Which body did not parse: a success's answer, or an error answer's `ErrorBody`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Answer,
    Error,
}

impl BodyKind {
    fn label(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Error => "error",
        }
    }
}

/// `bytes` as a `T`, or the failing field counted, logged and answered as
/// [`UpstreamError::Unparsed`].
pub fn parse<T: DeserializeOwned>(
    metrics: &GatewayMetrics,
    endpoint: &'static str,
    kind: BodyKind,
    bytes: &[u8],
) -> Result<T, UpstreamError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let (at, category) = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => return Ok(value),
            Err(error) => (".".to_owned(), error.classify()),
        },
        Err(error) => match missing_field(error.inner()) {
            Some(field) => {
                let at = match field_path(error.path()).as_str() {
                    "." => field,
                    object => format!("{object}.{field}"),
                };
                return Err(unparsed(metrics, endpoint, kind, at, "a required field is missing"));
            }
            None => (field_path(error.path()), error.inner().classify()),
        },
    };
    let problem = match category {
        serde_json::error::Category::Data => "a field does not match the documented model",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Io => "unreadable",
    };
    Err(unparsed(metrics, endpoint, kind, at, problem))
}

/// Counts and logs a body that does not fit its model at `at` (a field path such as
/// `conversations[0].conversationEnd`, never a value), and answers the error for it. For checks
/// serde cannot make (a field the model needs only in some cases) as for those it makes.
pub fn unparsed(
    metrics: &GatewayMetrics,
    endpoint: &'static str,
    kind: BodyKind,
    at: String,
    problem: &'static str,
) -> UpstreamError {
    metrics
        .unparsed_bodies
        .with_label_values(&[endpoint, kind.label()])
        .inc();
    tracing::warn!(
        endpoint,
        body = kind.label(),
        at = at.as_str(),
        problem,
        "a Genesys Cloud body does not match its documented model; it was not read"
    );
    UpstreamError::Unparsed { endpoint, at }
}

/// The path as `a.b[2].c`, each map key kept only when it looks like a field name (Genesys' are
/// camelCase words; a key of a free-form map could be data): any other key is `?`.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if looks_like_a_field_name(key) { key } else { "?" });
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// The field serde found missing (its message is "missing field `name`", a name of our model's,
/// never a value).
fn missing_field(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix("missing field `")?;
    let field = &rest[..rest.find('`')?];
    looks_like_a_field_name(field).then(|| field.to_owned())
}

fn looks_like_a_field_name(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{AnalyticsConversationQueryResponse, User};

    fn metrics() -> GatewayMetrics {
        GatewayMetrics::register(&prometheus::Registry::new()).unwrap()
    }

    fn failure<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        match parse::<T>(&metrics(), "test", BodyKind::Answer, body.as_bytes()).unwrap_err() {
            UpstreamError::Unparsed { at, .. } => at,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_failing_field_is_named_by_its_path() {
        let body = r#"{"totalHits":1,"conversations":[{"conversationId":"5773eca4-0874-4617-a6e8-85591aa94609",
            "conversationStart":"2026-11-28T10:00:00Z","conversationEnd":"tel:+420601123456"}]}"#;
        assert_eq!(
            failure::<AnalyticsConversationQueryResponse>(body),
            "conversations[0].conversationEnd"
        );
        assert_eq!(failure::<User>(r#"{"name":"  "}"#), "name");
        assert_eq!(failure::<User>(r#"{"id":"x"}"#), "name");
        assert_eq!(
            failure::<AnalyticsConversationQueryResponse>(
                r#"{"totalHits":1,"conversations":[{"conversationStart":"2026-11-28T10:00:00Z"}]}"#
            ),
            "conversations[0].conversationId"
        );
        assert_eq!(failure::<User>("<html>"), ".");
        assert_eq!(failure::<User>(r#"{"name":"Jana"} trailing"#), ".");
    }

    #[test]
    fn a_key_that_is_no_field_name_is_not_repeated() {
        assert!(looks_like_a_field_name("wrapUpCode"));
        assert!(!looks_like_a_field_name("jana.novakova@example.com"));
        assert!(!looks_like_a_field_name("+420601123456"));
        assert!(!looks_like_a_field_name(""));
    }

    #[test]
    fn an_unparsed_body_is_counted_by_endpoint_and_kind() {
        let metrics = metrics();
        let _ = parse::<User>(&metrics, "users", BodyKind::Answer, b"{}");
        let _ = parse::<User>(&metrics, "users", BodyKind::Answer, br#"{"name":"Jana"}"#);
        assert_eq!(metrics.unparsed_bodies.with_label_values(&["users", "answer"]).get(), 1);
        // An error answer that is no `ErrorBody` (a proxy's HTML page) is counted apart.
        let _ = parse::<crate::models::ErrorBody>(&metrics, "users", BodyKind::Error, b"<html>Bad gateway</html>");
        assert_eq!(metrics.unparsed_bodies.with_label_values(&["users", "error"]).get(), 1);
    }
}
