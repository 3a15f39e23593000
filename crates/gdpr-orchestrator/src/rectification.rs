//! A RECTIFY's `replacement` (GDPR Art. 16), read at the door: every problem at once, each naming
//! its field (`/replacement/phoneNumbers/0/to`), never its value. What passes is the participants'
//! [`Rectification`]: normalised search keys, each `from` one of the subject's own. What stands in
//! its way in the store (a FORGET, a RESTRICT, a legal hold) is [`in_the_way`]; who else holds a
//! value it touches, as the participants counted, is [`conflicts`].

pub mod conflicts;
mod standing;
pub mod statement;
pub use standing::in_the_way;

use contracts::gdpr::{HandleReplacementInput, ReplacementInput};
use contracts::participant::{CustomerCorrection, HandleReplacement, Rectification};
use contracts::problem::FieldProblem;
use domain::gdpr::DataSubject;
use domain::{CustomerId, HandleKey, HandleNormaliser, InteractionId};
use std::collections::BTreeSet;

/// The kinds of handle a RECTIFY replaces.
#[derive(Clone, Copy)]
enum Kind {
    Phone,
    Email,
}

impl Kind {
    const fn field(self) -> &'static str {
        match self {
            Self::Phone => "phoneNumbers",
            Self::Email => "emailAddresses",
        }
    }

    const fn what(self) -> &'static str {
        match self {
            Self::Phone => "not a phone number: give it with its country code (+…, tel:+…), or national where a default region is configured",
            Self::Email => "not an e-mail address",
        }
    }

    /// The search key of `value`, if it is one of this kind.
    fn key(self, value: &str, handles: &HandleNormaliser) -> Option<String> {
        match (self, handles.key(value)) {
            (Self::Phone, HandleKey::Phone(key)) | (Self::Email, HandleKey::Email(key)) => Some(key),
            _ => None,
        }
    }

    fn of_subject(self, subject: &DataSubject) -> &BTreeSet<String> {
        match self {
            Self::Phone => &subject.phone_numbers,
            Self::Email => &subject.email_addresses,
        }
    }
}

/// Reads `input` for `subject` (already parsed).
pub fn parse(
    input: &ReplacementInput,
    subject: &DataSubject,
    handles: &HandleNormaliser,
) -> Result<Rectification, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut rectification = Rectification {
        phone_numbers: replacements(Kind::Phone, &input.phone_numbers, subject, handles, &mut problems),
        email_addresses: replacements(Kind::Email, &input.email_addresses, subject, handles, &mut problems),
        customer: None,
    };
    if let Some(correction) = &input.customer {
        let mut interaction_ids = BTreeSet::new();
        for (i, id) in correction.interaction_ids.iter().enumerate() {
            match InteractionId::parse(id.trim()) {
                Ok(id) => {
                    interaction_ids.insert(id);
                }
                Err(_) => problems.push(FieldProblem::new(
                    format!("/replacement/customer/interactionIds/{i}"),
                    "not an interaction id: expected a UUID",
                )),
            }
        }
        if correction.interaction_ids.is_empty() {
            problems.push(FieldProblem::new(
                "/replacement/customer/interactionIds",
                "name the interactions that belong to another customer",
            ));
        }
        if subject.customer_ids.is_empty() {
            problems.push(FieldProblem::new(
                "/subject/customerIds",
                "a customer correction moves interactions away from the subject's customer: name it",
            ));
        }
        match CustomerId::parse(correction.to.trim()) {
            Ok(to) if subject.customer_ids.contains(&to) => problems.push(FieldProblem::new(
                "/replacement/customer/to",
                "the subject's own customer: name the customer the interactions belong to",
            )),
            Ok(to) => {
                rectification.customer = Some(CustomerCorrection { interaction_ids, to });
            }
            Err(_) => problems.push(FieldProblem::new(
                "/replacement/customer/to",
                "not a customer id: expected a UUID",
            )),
        }
    }
    if problems.is_empty() && rectification.is_empty() {
        problems.push(FieldProblem::new(
            "/replacement",
            "name what to correct: phoneNumbers, emailAddresses or customer",
        ));
    }
    if problems.is_empty() {
        Ok(rectification)
    } else {
        Err(problems)
    }
}

/// The replacements of one kind; each problem names its field.
fn replacements(
    kind: Kind,
    inputs: &[HandleReplacementInput],
    subject: &DataSubject,
    handles: &HandleNormaliser,
    problems: &mut Vec<FieldProblem>,
) -> Vec<HandleReplacement> {
    let field = kind.field();
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let at = |part: &str| format!("/replacement/{field}/{i}/{part}");
        let from = kind.key(&input.from, handles);
        let to = kind.key(&input.to, handles);
        match &from {
            None => problems.push(FieldProblem::new(at("from"), kind.what())),
            Some(from) if !kind.of_subject(subject).contains(from) => problems.push(FieldProblem::new(
                at("from"),
                format!("not one of the subject's {field}: name it in the subject too"),
            )),
            Some(from) if !seen.insert(from.clone()) => {
                problems.push(FieldProblem::new(at("from"), "replaced twice in this request"));
            }
            Some(_) => {}
        }
        match (&from, &to) {
            (_, None) => problems.push(FieldProblem::new(at("to"), kind.what())),
            (Some(from), Some(to)) if from == to => {
                problems.push(FieldProblem::new(
                    at("to"),
                    "the same value as from: nothing to correct",
                ));
            }
            _ => {}
        }
        if let (Some(from), Some(to)) = (from, to) {
            parsed.push((i, HandleReplacement { from, to }));
        }
    }
    // A `to` that is also a `from` (a swap, a chain): the participants replace one value after
    // the other, so both would end on one value and nothing could tell the rows apart again.
    let froms: BTreeSet<&str> = parsed.iter().map(|(_, r)| r.from.as_str()).collect();
    for (i, replacement) in &parsed {
        if replacement.to != replacement.from && froms.contains(replacement.to.as_str()) {
            problems.push(FieldProblem::new(
                format!("/replacement/{field}/{i}/to"),
                "also replaced in this request: a chain is filed a link at a time, its last link first; a swap cannot be made (both values' rows would end on one)",
            ));
        }
    }
    parsed.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::gdpr::CustomerCorrectionInput;

    fn subject() -> DataSubject {
        serde_json::from_value(serde_json::json!({
            "customerIds": ["5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c"],
            "phoneNumbers": ["+420601123456"],
            "emailAddresses": ["client@example.com"],
        }))
        .unwrap()
    }

    fn replace(from: &str, to: &str) -> HandleReplacementInput {
        HandleReplacementInput {
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }

    fn pointers(result: Result<Rectification, Vec<FieldProblem>>) -> Vec<String> {
        result
            .unwrap_err()
            .into_iter()
            .map(|p| p.pointer.unwrap_or_default())
            .collect()
    }

    #[test]
    fn replacements_are_read_as_search_keys_of_the_subjects_own_handles() {
        let input = ReplacementInput {
            phone_numbers: vec![replace("tel:+420 601 123 456", "+420602000111")],
            email_addresses: vec![replace("Client@Example.com", "new@example.com")],
            customer: None,
        };
        let rectification = parse(&input, &subject(), &HandleNormaliser::default()).unwrap();
        assert_eq!(rectification.phone_numbers[0].from, "+420601123456");
        assert_eq!(rectification.phone_numbers[0].to, "+420602000111");
        assert_eq!(rectification.email_addresses[0].from, "client@example.com");
        assert!(rectification.check().is_ok());
    }

    #[test]
    fn every_bad_value_is_named_by_its_field() {
        let input = ReplacementInput {
            phone_numbers: vec![
                replace("+420601123456", "not a number"),
                replace("+420601999999", "+420602000111"),
                replace("+420601123456", "+420601123456"),
            ],
            email_addresses: vec![replace("client@example.com", "+420601123456")],
            customer: Some(CustomerCorrectionInput {
                interaction_ids: vec!["x".to_owned()],
                to: "5a0c8e1f-3b7d-4f2a-9c6e-1d8b4a7f0e3c".to_owned(),
            }),
        };
        assert_eq!(
            pointers(parse(&input, &subject(), &HandleNormaliser::default())),
            [
                "/replacement/phoneNumbers/0/to",
                "/replacement/phoneNumbers/1/from",
                "/replacement/phoneNumbers/2/from",
                "/replacement/phoneNumbers/2/to",
                "/replacement/emailAddresses/0/to",
                "/replacement/customer/interactionIds/0",
                "/replacement/customer/to",
            ]
        );
        assert_eq!(
            pointers(parse(
                &ReplacementInput::default(),
                &subject(),
                &HandleNormaliser::default()
            )),
            ["/replacement"]
        );
    }

    #[test]
    fn a_swap_or_a_chain_is_refused_naming_the_to_that_is_also_a_from() {
        let subject: DataSubject = serde_json::from_value(serde_json::json!({
            "phoneNumbers": ["+420601123456", "+420602000111"],
            "emailAddresses": ["a@example.com", "b@example.com"],
        }))
        .unwrap();
        let handles = HandleNormaliser::default();
        let swap = ReplacementInput {
            phone_numbers: vec![
                replace("+420601123456", "+420602000111"),
                replace("+420602000111", "+420601123456"),
            ],
            email_addresses: vec![
                replace("a@example.com", "b@example.com"),
                replace("b@example.com", "a@example.com"),
            ],
            customer: None,
        };
        assert_eq!(
            pointers(parse(&swap, &subject, &handles)),
            [
                "/replacement/phoneNumbers/0/to",
                "/replacement/phoneNumbers/1/to",
                "/replacement/emailAddresses/0/to",
                "/replacement/emailAddresses/1/to",
            ]
        );
        let chain = ReplacementInput {
            phone_numbers: vec![
                replace("+420601123456", "+420602000111"),
                replace("+420602000111", "+420603000222"),
            ],
            email_addresses: vec![
                replace("b@example.com", "c@example.com"),
                replace("a@example.com", "b@example.com"),
            ],
            customer: None,
        };
        assert_eq!(
            pointers(parse(&chain, &subject, &handles)),
            ["/replacement/phoneNumbers/0/to", "/replacement/emailAddresses/1/to"]
        );
        // Two values corrected to one new value is no chain: it merges them, as the filer asked.
        let merge = ReplacementInput {
            phone_numbers: vec![
                replace("+420601123456", "+420603000222"),
                replace("+420602000111", "+420603000222"),
            ],
            ..ReplacementInput::default()
        };
        assert!(parse(&merge, &subject, &handles).is_ok());
    }
}
