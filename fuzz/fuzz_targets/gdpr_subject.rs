//! Any JSON as a GDPR subject: parsing never panics, and a subject that parses is normalised in
//! the form every participant accepts (it round-trips through the checked wire form).
#![no_main]

use domain::gdpr::{DataSubject, SubjectInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(input) = serde_json::from_slice::<SubjectInput>(body) else {
        return;
    };
    let Ok(subject) = DataSubject::parse(&input) else {
        return;
    };
    let wire = serde_json::to_vec(&subject).expect("a subject serialises");
    let again: DataSubject = serde_json::from_slice(&wire).expect("a parsed subject is accepted by participants");
    assert_eq!(again, subject);
});
