//! Request extractors whose every failure is a problem+json naming the field.

use crate::problem::{ApiError, FieldProblem};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// The largest body a service accepts, from `application.max_body_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body parsed into `T`. Wrong content type → 415, too large → 413, malformed JSON → 400,
/// a missing, null or invalid field → 422 with a JSON pointer to it.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&body.await?).map(JsonBody)
        })
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
pub fn is_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == mime::APPLICATION && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
    })
}

/// The whole body, at most `application.max_body_bytes` of it (413 beyond).
pub fn read_body(req: &HttpRequest, payload: &mut Payload) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let limit = req.app_data::<BodyLimit>().map_or(64 * 1024, |l| l.0);
    let declared_length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if declared_length.is_some_and(|length| length > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    })
}

/// Parses JSON, reporting where it failed without repeating submitted values.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if !inner.is_data() {
            return ApiError::BadRequest(format!("malformed JSON: {}", without_position(&inner.to_string())));
        }
        let mut pointer = json_pointer(error.path());
        let message = without_position(&inner.to_string());
        let detail = if let Some(field) = missing_field(&message) {
            pointer = format!("{}/{field}", pointer.trim_end_matches('/'));
            "is required".to_owned()
        } else {
            describe(&message)
        };
        if pointer.is_empty() {
            pointer = "/".to_owned();
        }
        ApiError::Validation(vec![FieldProblem::new(pointer, detail)])
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {}", without_position(&e.to_string()))))?;
    Ok(parsed)
}

fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Map { key } => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Seq { index } => format!("/{index}"),
            Segment::Enum { variant } => format!("/{variant}"),
            Segment::Unknown => "/?".to_owned(),
        })
        .collect()
}

fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// serde's own messages quote the offending value (`invalid type: string "+420…", expected …`);
/// keep only what was expected.
fn describe(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map_or("another type", |(_, e)| e);
        return if rest.starts_with("null") {
            format!("must not be null; expected {expected}")
        } else {
            format!("has the wrong type; expected {expected}")
        };
    }
    if message.starts_with("invalid value: ") || message.starts_with("unknown variant ") {
        let expected = message.split_once(", expected ").map_or("another value", |(_, e)| e);
        return format!("has an invalid value; expected {expected}");
    }
    if message.starts_with("invalid length ") {
        return "has an invalid length".to_owned();
    }
    // Our own parse errors (domain types) never contain the input.
    message.to_owned()
}

/// Error handlers for actix's built-in extractors, so even those answer problem+json.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _| ApiError::BadRequest(format!("the JSON body could not be read: {error}")).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _| ApiError::BadRequest(format!("invalid path: {error}")).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        ApiError::BadRequest(format!(
            "invalid query string: {}",
            without_position(&error.to_string())
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        customer_id: domain::CustomerId,
        nested: Option<Vec<Inner>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        channel: domain::Channel,
    }

    fn problems(body: &str) -> (u16, Vec<FieldProblem>) {
        match parse_json::<Body>(body.as_bytes()) {
            Ok(_) => panic!("accepted {body}"),
            Err(ApiError::Validation(errors)) => (422, errors),
            Err(ApiError::BadRequest(_)) => (400, vec![]),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_400() {
        assert_eq!(problems("{").0, 400);
        assert_eq!(problems("{\"customerId\": }").0, 400);
        assert_eq!(
            problems(r#"{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","nested":null} trailing"#).0,
            400
        );
    }

    #[test]
    fn missing_field_points_at_it() {
        assert_eq!(problems("{}").1, vec![FieldProblem::new("/customerId", "is required")]);
    }

    #[test]
    fn null_and_wrong_types_point_at_the_field_without_the_value() {
        let (_, errors) = problems(r#"{"customerId": null}"#);
        assert_eq!(errors[0].pointer.as_deref(), Some("/customerId"));
        assert!(errors[0].detail.starts_with("must not be null"));
        let (_, errors) = problems(r#"{"customerId": "+420601123456"}"#);
        assert_eq!(errors[0].pointer.as_deref(), Some("/customerId"));
        assert!(!errors[0].detail.contains("420"), "{}", errors[0].detail);
        let (_, errors) = problems(r#"{"customerId": 420601123456}"#);
        assert!(!errors[0].detail.contains("420"), "{}", errors[0].detail);
    }

    #[test]
    fn nested_fields_get_full_pointers() {
        let (_, errors) = problems(
            r#"{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","nested":[{"channel":"VOICE"},{"channel":"FAX"}]}"#,
        );
        assert_eq!(errors[0].pointer.as_deref(), Some("/nested/1/channel"));
        assert!(errors[0].detail.starts_with("unknown channel"));
    }
}
