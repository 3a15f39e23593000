//! Keyset pagination cursors: where the next page starts, as the `(timestamp, id)` of the last
//! item served. Opaque to clients (base64url of `<timestamp>|<id>`); a cursor that does not decode
//! is a client mistake, answered 422 by the route that reads it.

use base64::Engine;
use domain::Timestamp;
use uuid::Uuid;

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
