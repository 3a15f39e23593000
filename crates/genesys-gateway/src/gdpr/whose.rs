//! Whose a Genesys subject a search found is, and so who else a correction would reach there
//! (a RECTIFY's conflicts at Genesys Cloud).

use super::*;

/// What a search found, by the value searched.
pub(super) type Searched = std::collections::BTreeMap<String, Vec<FoundGdprSubject>>;

/// Who else a correction would reach in Genesys Cloud: a GDPR_UPDATE rewrites a value in every
/// Genesys subject that holds it, so each `from` other people hold too (a household's line, a
/// company's switchboard: [`others_holding_from`]) is counted under its pointer
/// (`/phoneNumbers/0/from`), and each `to` someone holds already under its own
/// (`/phoneNumbers/0/to`, [`others_holding_to`]): Genesys would then find the subject's data by
/// that person's value. `searched` holds the searches already made (by value); the rest are made.
pub(super) async fn conflicts(
    api: &GenesysApi,
    subject: &DataSubject,
    rectification: &Rectification,
    mut searched: Searched,
) -> Result<std::collections::BTreeMap<String, u64>, ApiError> {
    let mut conflicts = std::collections::BTreeMap::new();
    for (at, replacement) in rectification.handles_at() {
        let (search_type, the_subjects) = if at.starts_with("/phoneNumbers/") {
            ("PHONE", subject.phone_numbers.contains(&replacement.from))
        } else {
            ("EMAIL", subject.email_addresses.contains(&replacement.from))
        };
        if !the_subjects {
            // The orchestrator refuses such a RECTIFY at its filing.
            return Err(ApiError::Validation(vec![FieldProblem::new(
                format!("/rectification{at}/from"),
                "not one of the subject's",
            )]));
        }
        for value in [&replacement.from, &replacement.to] {
            if !searched.contains_key(value) {
                let found = search(api, search_type, value).await?;
                searched.insert(value.clone(), found);
            }
        }
        let found = |value: &String| searched.get(value).map(Vec::as_slice).unwrap_or_default();
        let from = others_holding_from(found(&replacement.from), subject);
        let to = others_holding_to(found(&replacement.to), subject, rectification);
        for (field, others) in [("from", from), ("to", to)] {
            if others > 0 {
                conflicts.insert(format!("{at}/{field}"), others);
            }
        }
    }
    Ok(conflicts)
}

/// How many other people the Genesys subjects a search for a `from` found are: each that is not
/// the subject's ([`is_the_subjects`]), and, of those that could be, every Genesys identity
/// beyond one (a spouse's external contact that holds only the shared line is one more person:
/// two identities cannot both be the subject).
pub(super) fn others_holding_from(found: &[FoundGdprSubject], subject: &DataSubject) -> u64 {
    let strangers = found.iter().filter(|s| !is_the_subjects(s, subject)).count();
    let identities: std::collections::BTreeSet<_> = found
        .iter()
        .filter(|s| is_the_subjects(s, subject))
        .filter_map(FoundGdprSubject::identity)
        .collect();
    (strangers + identities.len().saturating_sub(1)) as u64
}

/// How many of the Genesys subjects a search for a `to` found are other people: every one,
/// unless it also holds a `from` of this correction (the subject's own, already holding the new
/// value too) or is one of the subject's agents. That the subject names the `to` among their
/// numbers proves nothing: a stranger's number is one a filer can name.
pub(super) fn others_holding_to(
    found: &[FoundGdprSubject],
    subject: &DataSubject,
    rectification: &Rectification,
) -> u64 {
    use domain::HandleKey;
    let froms: Vec<&str> = rectification.handles_at().map(|(_, r)| r.from.as_str()).collect();
    let holds_a_from = |s: &FoundGdprSubject| {
        s.phone_numbers
            .iter()
            .chain(&s.email_addresses)
            .any(|value| match HandleKey::of(value) {
                HandleKey::Phone(key) | HandleKey::Email(key) => froms.contains(&key.as_str()),
                _ => false,
            })
    };
    found
        .iter()
        .filter(|s| !holds_a_from(s) && !is_an_agent_of(s, subject))
        .count() as u64
}

/// Whether a found Genesys subject is an agent the subject is (one of its `genesysUserIds`).
pub(super) fn is_an_agent_of(found: &FoundGdprSubject, subject: &DataSubject) -> bool {
    found.user_id.as_deref().is_some_and(|user| {
        subject
            .genesys_user_ids
            .iter()
            .any(|id| id.to_string().eq_ignore_ascii_case(user))
    })
}

/// Whether a Genesys subject a search found could be the request's subject: every phone number
/// and e-mail address it holds is one the subject names, and it is no agent but one of the
/// subject's. A subject holding anything else (another number, an address, another agent) is
/// taken for another person: Genesys has no bank customer id to tell them apart by, and a
/// correction Genesys applies to everyone who holds a value cannot be undone for them.
pub(super) fn is_the_subjects(found: &FoundGdprSubject, subject: &DataSubject) -> bool {
    use domain::HandleKey;
    let phones = found
        .phone_numbers
        .iter()
        .all(|p| matches!(HandleKey::of(p), HandleKey::Phone(key) if subject.phone_numbers.contains(&key)));
    let emails = found
        .email_addresses
        .iter()
        .all(|e| matches!(HandleKey::of(e), HandleKey::Email(key) if subject.email_addresses.contains(&key)));
    let agent = found.user_id.is_none() || is_an_agent_of(found, subject);
    phones && emails && agent
}
