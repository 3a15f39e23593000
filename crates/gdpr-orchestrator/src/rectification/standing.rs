//! What stands in a RECTIFY's way (checked at its filing and again at its confirmation): a
//! correction moves or rewrites rows, and another request may hold those rows. A FORGET under
//! way or kept by a retention would purge them (a customer correction would hand it another
//! customer's rows); a restriction hides them until its lift. And interactions are never
//! attributed again to a customer a FORGET erased. A legal hold on what the correction reaches
//! stands in nobody's way: every participant leaves the rows it holds as they were
//! (`keptUnchanged`, Genesys Cloud included) and corrects the rest. Only a hold on the customer
//! interactions would move to refuses: moving rows under a hold changes what that hold keeps.
//! Each refusal says why, naming no identifier.

use crate::schema::gdpr_requests;
use crate::store::legal_holds;
use contracts::gdpr::{RequestStatus, RequestType};
use contracts::participant::Rectification;
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::{CustomerId, InteractionId, Timestamp};
use service_kit::database::AnyConnection;
use std::collections::BTreeSet;

/// A FORGET in these statuses holds the subject's rows: hidden, being purged, or kept for a
/// retention until it ends (received and awaiting confirmation too: it will, once confirmed).
const HOLDING_FORGET: [RequestStatus; 9] = [
    RequestStatus::Received,
    RequestStatus::Blocked,
    RequestStatus::Counting,
    RequestStatus::AwaitingConfirmation,
    RequestStatus::Forgetting,
    RequestStatus::InGrace,
    RequestStatus::UndoRequested,
    RequestStatus::Purging,
    RequestStatus::CompletedWithRetention,
];

/// A RESTRICT in these statuses hides the subject's rows.
const HOLDING_RESTRICT: [RequestStatus; 2] = [RequestStatus::Restricting, RequestStatus::Restricted];

/// What a RECTIFY reaches: the subject's identifiers, and for a customer correction the
/// customer the interactions move to and the interactions themselves.
struct Reached<'a> {
    subject: &'a DataSubject,
    to: Option<&'a CustomerId>,
    interactions: Option<&'a BTreeSet<InteractionId>>,
}

impl Reached<'_> {
    /// Whether `other` (another request's or a hold's subject) names anything this reaches.
    fn named_by(&self, other: &DataSubject) -> bool {
        let subject = self.subject;
        !other.customer_ids.is_disjoint(&subject.customer_ids)
            || !other.phone_numbers.is_disjoint(&subject.phone_numbers)
            || !other.email_addresses.is_disjoint(&subject.email_addresses)
            || !other.interaction_ids.is_disjoint(&subject.interaction_ids)
            || self.to.is_some_and(|to| other.customer_ids.contains(to))
            || self
                .interactions
                .is_some_and(|interactions| !other.interaction_ids.is_disjoint(interactions))
    }
}

/// Why the RECTIFY `rectification` of `subject` may not run now, if it may not: the problem's
/// detail (a 409), with no identifier in it.
pub fn in_the_way(
    connection: &mut AnyConnection,
    subject: &DataSubject,
    rectification: &Rectification,
    now: Timestamp,
) -> QueryResult<Option<&'static str>> {
    let reached = Reached {
        subject,
        to: rectification.customer.as_ref().map(|c| &c.to),
        interactions: rectification.customer.as_ref().map(|c| &c.interaction_ids),
    };
    if standing(connection, RequestType::Forget, &HOLDING_FORGET)?
        .iter()
        .any(|other| reached.named_by(other))
    {
        return Ok(Some(
            "a FORGET under way or kept by a retention names the subject, the customer the interactions move to \
             or the interactions: the correction would move or rewrite rows that FORGET holds; file it once the \
             FORGET is finished",
        ));
    }
    if standing(connection, RequestType::Restrict, &HOLDING_RESTRICT)?
        .iter()
        .any(|other| reached.named_by(other))
    {
        return Ok(Some(
            "a RESTRICT in force names the subject, the customer the interactions move to or the interactions: \
             the data stays as it is while restricted; lift the restriction, then correct it",
        ));
    }
    if let Some(to) = reached.to {
        if legal_holds::in_force(connection, now)?
            .iter()
            .any(|hold| hold.subject.customer_ids.contains(to))
        {
            return Ok(Some(
                "a legal hold in force names the customer the interactions move to (/replacement/customer/to): \
                 moving interactions to it would change what that hold keeps; file the correction once the hold \
                 is released",
            ));
        }
        if standing(connection, RequestType::Forget, &[RequestStatus::Completed])?
            .iter()
            .any(|forgotten| forgotten.customer_ids.contains(to))
        {
            return Ok(Some(
                "the customer the interactions move to was erased by a FORGET: interactions are never attributed \
                 to an erased customer again",
            ));
        }
    }
    Ok(None)
}

/// The subjects of the requests of `request_type` (not counts) in `statuses`. A finished one
/// whose identifiers are erased names nobody any more; an unfinished one always has its subject.
fn standing(
    connection: &mut AnyConnection,
    request_type: RequestType,
    statuses: &[RequestStatus],
) -> QueryResult<Vec<DataSubject>> {
    use gdpr_requests::dsl;
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let rows: Vec<(String, Option<String>)> = dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        .filter(dsl::count_only.eq(false))
        .filter(dsl::status.eq_any(statuses))
        .select((dsl::status, dsl::subject))
        .load(connection)?;
    let mut subjects = Vec::with_capacity(rows.len());
    for (status, subject) in rows {
        let finished = RequestStatus::parse(&status).is_some_and(RequestStatus::is_finished);
        match subject {
            Some(text) => {
                subjects.push(serde_json::from_str(&text).map_err(|e| corrupt(format!("gdpr_requests.subject: {e}")))?)
            }
            None if finished => {}
            None => {
                return Err(corrupt(format!(
                    "a {} {status} without its subject",
                    request_type.as_str()
                )))
            }
        }
    }
    Ok(subjects)
}

fn corrupt(what: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(what.into())
}
