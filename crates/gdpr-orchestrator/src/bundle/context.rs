//! What the subject's answer to an EXPORT says besides their data: what an erasure of them kept
//! (a legal hold, a statutory rule) and what a correction of them left unchanged as evidence. Only
//! requests demonstrably of the same person count ([`same_person`]): a household's shared line
//! or a recycled number never tells one person that another asked for an erasure or a correction,
//! nor that a hold keeps that other person's rows.

use super::answer::{Kept, Unchanged};
use crate::store::{self, Request};
use contracts::gdpr::{RequestStatus, RequestType};
use contracts::participant::ParticipantAction;
use diesel::QueryResult;
use domain::gdpr::DataSubject;
use service_kit::database::AnyConnection;

/// What earlier requests of the export's subject left, for their answer.
#[derive(Debug, Default)]
pub struct Earlier {
    pub kept: Vec<Kept>,
    pub unchanged: Vec<Unchanged>,
}

/// The earlier erasures' and corrections' leftovers of `export`'s subject (none for a request
/// whose identifiers are erased).
pub fn answer_context(c: &mut AnyConnection, export: &Request) -> QueryResult<Earlier> {
    let Some(subject) = export.subject.as_ref() else {
        return Ok(Earlier::default());
    };
    Ok(Earlier {
        kept: kept_of(c, subject)?,
        unchanged: unchanged_of(c, subject)?,
    })
}

/// Whether an earlier request's subject `earlier` is demonstrably the person `export` names: they
/// share a customer id; or, the earlier naming no customer id, `export` names every identifier
/// the earlier one was filed with (a number, an address, a Genesys user; not the interactions the
/// orchestrator linked to it). Sharing one phone number or address is not enough: a household
/// shares a line, and numbers are recycled.
pub fn same_person(export: &DataSubject, earlier: &DataSubject) -> bool {
    if !earlier.customer_ids.is_empty() {
        return !earlier.customer_ids.is_disjoint(&export.customer_ids);
    }
    let names_anyone = !(earlier.phone_numbers.is_empty()
        && earlier.email_addresses.is_empty()
        && earlier.genesys_user_ids.is_empty());
    names_anyone
        && earlier.phone_numbers.is_subset(&export.phone_numbers)
        && earlier.email_addresses.is_subset(&export.email_addresses)
        && earlier.genesys_user_ids.is_subset(&export.genesys_user_ids)
}

/// The requests of `request_type` whose subject, as still stored, is `subject`'s person.
fn of_the_person(c: &mut AnyConnection, request_type: RequestType, subject: &DataSubject) -> QueryResult<Vec<Request>> {
    Ok(store::with_subject(c, request_type)?
        .into_iter()
        .filter(|request| {
            request
                .subject
                .as_ref()
                .is_some_and(|earlier| same_person(subject, earlier))
        })
        .collect())
}

/// What an erasure of the person kept: the purge steps that kept something of each of their
/// FORGETs, however that FORGET named them (a FORGET by phone number alone keeps what an EXPORT by
/// customer id and that number must list).
fn kept_of(c: &mut AnyConnection, subject: &DataSubject) -> QueryResult<Vec<Kept>> {
    let forgets = of_the_person(c, RequestType::Forget, subject)?;
    let ids: Vec<_> = forgets.iter().map(|f| f.id).collect();
    let mut steps = store::keeping_purge_steps(c, &ids)?;
    let mut kept = Vec::new();
    for forget in &forgets {
        for step in steps.remove(&forget.id).unwrap_or_default() {
            let (participant, until) = (step.participant, step.retained_until);
            kept.extend(step.retained.into_iter().map(|retained| Kept {
                participant: participant.clone(),
                category: retained.category,
                basis: retained.basis,
                count: retained.count,
                since: forget.received_at,
                until,
            }));
        }
    }
    Ok(kept)
}

/// What a correction of the person left as it was: the rectify steps that kept rows as evidence
/// of each of their finished RECTIFYs.
fn unchanged_of(c: &mut AnyConnection, subject: &DataSubject) -> QueryResult<Vec<Unchanged>> {
    let mut unchanged = Vec::new();
    for rectify in of_the_person(c, RequestType::Rectify, subject)? {
        if rectify.status != RequestStatus::Completed {
            continue;
        }
        for step in store::steps(c, rectify.id)? {
            if step.phase != ParticipantAction::Rectify {
                continue;
            }
            unchanged.extend(step.kept_unchanged.into_iter().map(|kept| Unchanged {
                participant: step.participant.clone(),
                category: kept.category,
                basis: kept.basis,
                count: kept.count,
                asked: rectify.received_at,
            }));
        }
    }
    Ok(unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::CustomerId;

    fn subject(customers: &[&str], phones: &[&str], emails: &[&str]) -> DataSubject {
        DataSubject {
            customer_ids: customers.iter().map(|c| CustomerId::parse(c).unwrap()).collect(),
            phone_numbers: phones.iter().map(|p| (*p).to_owned()).collect(),
            email_addresses: emails.iter().map(|e| (*e).to_owned()).collect(),
            ..DataSubject::default()
        }
    }

    const ANNA: &str = "11111111-1111-4111-8111-111111111111";
    const BEDRICH: &str = "22222222-2222-4222-8222-222222222222";
    const LINE: &str = "+420601000001";

    #[test]
    fn a_shared_line_is_not_the_same_person_a_shared_customer_id_or_every_identifier_is() {
        let anna = subject(&[ANNA], &[LINE], &[]);
        let bedrich = subject(&[BEDRICH], &[LINE], &[]);
        assert!(!same_person(&bedrich, &anna), "the line alone");
        assert!(same_person(&anna, &anna));
        assert!(same_person(&subject(&[ANNA], &[], &[]), &anna), "by customer id");
        // An earlier request by the line and an address: an export naming both is that person's,
        // one naming the line alone (or with a customer id) is not demonstrably.
        let by_line = subject(&[], &[LINE], &["anna@example.com"]);
        assert!(same_person(&subject(&[ANNA], &[LINE], &["anna@example.com"]), &by_line));
        assert!(!same_person(&bedrich, &by_line));
        assert!(!same_person(&subject(&[], &[LINE], &[]), &by_line));
        // An earlier request naming a customer id is never linked by the line.
        assert!(!same_person(&subject(&[], &[LINE], &[]), &anna));
        assert!(!same_person(&anna, &DataSubject::default()), "a request naming nobody");
    }
}
