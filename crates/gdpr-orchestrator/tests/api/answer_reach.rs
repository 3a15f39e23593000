//! The subject's answer to an EXPORT lists what earlier requests of that same person left (an
//! erasure's kept rows, a correction's rows kept unchanged), and nobody else's (review-33 H2): two
//! customers share a phone line; Anna's correction and erasure, whose rows a legal hold keeps,
//! show in Anna's answer and not in Bedřich's, though his export names the same line.

use crate::helpers::{after, stack, Person};
use crate::retentions::dpo;
use domain::Timestamp;
use serde_json::json;

/// What Anna's correction said it did, and what her erasure came to.
const CORRECTION_ASKED: &str = "opravu jste žádali";
const ERASURE_ASKED: &str = "výmaz jste žádali";

#[tokio::test]
async fn a_shared_lines_other_customer_never_reads_of_anothers_correction_or_erasure() {
    let s = stack().await;
    let anna = Person::new();
    let bedrich = Person {
        phone: anna.phone.clone(),
        digits: anna.digits.clone(),
        ..Person::new()
    };
    // Two calls from the line: one a legal hold keeps (its interaction named), one free.
    let [held, free] = [(); 2].map(|()| uuid::Uuid::new_v4().to_string());
    for conversation in [&held, &free] {
        s.record(conversation, &format!("tel:{}", anna.phone)).await;
    }
    let hold = json!({
        "subject": {},
        "interactionIds": [held],
        "reference": "LIT-33",
        "reason": "litigation about a disputed instruction",
        "basis": "legal_claims",
    });
    dpo(&s, "Carol", "/gdpr/legal-holds", hold).await;

    // Anna corrects her number: the held call keeps the old one.
    let annas = json!({ "customerIds": [anna.customer_id], "phoneNumbers": [anna.phone] });
    let corrected = crate::correction_kept::corrected(&s, annas.clone(), &anna.phone).await;
    assert!(
        corrected["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|step| step["phase"] == "rectify" && step["keptUnchanged"].as_array().is_some_and(|k| !k.is_empty())),
        "the hold kept a row unchanged: {corrected}"
    );

    // Anna asks for erasure: the hold keeps the held call.
    let forget = s.forget_in_grace(annas.clone(), Timestamp::now()).await;
    let (forgotten, _) = s
        .run_while(&forget, "purging", after(Timestamp::now(), 25 * 3600), 20)
        .await;
    assert_eq!(forgotten["status"], "completed_with_retention", "{forgotten}");

    // Bedřich's export names the same line: his answer tells of neither.
    let bedrichs = json!({ "customerIds": [bedrich.customer_id], "phoneNumbers": [bedrich.phone] });
    let (_, bundle) = s.export(bedrichs).await;
    let answer = bundle["answer"].as_str().unwrap();
    for words in [CORRECTION_ASKED, ERASURE_ASKED] {
        assert!(
            !answer.contains(words),
            "{words:?} in another customer's answer: {answer}"
        );
    }

    // Anna's answer tells of both.
    let (_, bundle) = s.export(annas).await;
    let answer = bundle["answer"].as_str().unwrap();
    for words in [CORRECTION_ASKED, ERASURE_ASKED] {
        assert!(
            answer.contains(words),
            "{words:?} not in the subject's answer: {answer}"
        );
    }
}
