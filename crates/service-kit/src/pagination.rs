//! Keyset pagination cursors: where the next page starts, as the `(timestamp, id)` of the last
//! item served. Opaque to clients (base64url of `<timestamp>|<id>`); a cursor that does not decode
//! is a client mistake, answered 422 by the route that reads it.

use crate::problem::FieldProblem;
use base64::Engine;
use domain::Timestamp;
use uuid::Uuid;

/// The `limit` (1 to `max`, `default` when absent) and `cursor` query parameters of a listing;
/// each wrong one is named in `problems`.
pub fn page_parameters(
    limit: Option<&str>,
    cursor: Option<&str>,
    default: i64,
    max: i64,
    problems: &mut Vec<FieldProblem>,
) -> (i64, Option<(Timestamp, Uuid)>) {
    let limit = match limit.map(str::parse::<i64>) {
        None => default,
        Some(Ok(limit)) if (1..=max).contains(&limit) => limit,
        Some(_) => {
            problems.push(FieldProblem::parameter(
                "limit",
                format!("must be a whole number from 1 to {max}"),
            ));
            default
        }
    };
    let after = cursor.and_then(|cursor| {
        let decoded = decode_cursor(cursor);
        if decoded.is_none() {
            problems.push(FieldProblem::parameter("cursor", "is not a cursor this service issued"));
        }
        decoded
    });
    (limit, after)
}

/// A page of `items` read with `limit + 1` (the extra one tells that more follow): the first
/// `limit`, and the cursor of the next page (its last item's `key`) when more follow.
pub fn keyset_page<T>(
    mut items: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (Timestamp, Uuid),
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| {
            items.last().map(|last| {
                let (at, id) = key(last);
                encode_cursor(at, id)
            })
        })
        .flatten();
    (items, next)
}

pub fn encode_cursor(at: Timestamp, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}|{}", id.hyphenated()))
}

pub fn decode_cursor(cursor: &str) -> Option<(Timestamp, Uuid)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    Some((Timestamp::parse(at).ok()?, Uuid::try_parse(id).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = Timestamp::parse("2026-11-20T09:41:07.512Z").unwrap();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        for garbage in ["", "not base64!", "bm8gc2VwYXJhdG9y", "eHx5"] {
            assert_eq!(decode_cursor(garbage), None, "{garbage}");
        }
    }
}
