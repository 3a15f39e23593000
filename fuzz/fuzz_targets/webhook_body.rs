//! Any bytes as Genesys' webhook body: parsing never panics, and what parses maps to a record and
//! survives a round trip unchanged.
#![no_main]

use domain::SupportResult;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(result) = serde_json::from_slice::<SupportResult>(body) else {
        return;
    };
    let _ = result.channel();
    let _ = result.to_record(None, Some("Jana Nováková"), Some("Sale completed"));
    let text = serde_json::to_vec(&result).expect("a parsed result serialises");
    let again: SupportResult = serde_json::from_slice(&text).expect("a serialised result parses");
    assert_eq!(again, result);
});
