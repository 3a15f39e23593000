//! Any text as a customer handle: normalising never panics and is stable (the key of a key is
//! the key itself), so every form of an address finds the same records.
#![no_main]

use domain::HandleKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|handle: &str| {
    let key = HandleKey::of(handle);
    let again = HandleKey::of(key.as_str());
    assert_eq!(again.as_str(), key.as_str());
});
