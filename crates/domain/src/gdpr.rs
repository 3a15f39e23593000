//! GDPR data-subject requests: who the subject is, and when an answer is due. (What the
//! orchestrator asks of each service holding personal data is `contracts::participant`.)

use crate::handle::{HandleKey, HandleNormaliser};
use crate::ids::{CustomerId, GenesysUserId, InteractionId};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use time::{Date, Month, OffsetDateTime};

/// The data subject as a client names it: any mix of identifiers, in any form Genesys sends.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectInput {
    #[serde(default)]
    pub customer_ids: Vec<String>,
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    #[serde(default)]
    pub email_addresses: Vec<String>,
    #[serde(default)]
    pub genesys_user_ids: Vec<String>,
}

/// One reason a subject was refused: where (a JSON pointer below the subject) and why. Never
/// quotes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectProblem {
    pub pointer: String,
    pub detail: &'static str,
}

/// The data subject, normalised: phone numbers in E.164, e-mail addresses lower-case, ids typed.
/// `interaction_ids` are never given by a client: gdpr-orchestrator adds the interactions
/// interaction-pairing links to the subject's customer ids, so every service can find the
/// subject's data by what it holds. Personal data: `Debug` shows only how many of each.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", try_from = "NormalisedSubject")]
pub struct DataSubject {
    #[serde(default)]
    pub customer_ids: BTreeSet<CustomerId>,
    #[serde(default)]
    pub phone_numbers: BTreeSet<String>,
    #[serde(default)]
    pub email_addresses: BTreeSet<String>,
    #[serde(default)]
    pub genesys_user_ids: BTreeSet<GenesysUserId>,
    #[serde(default)]
    pub interaction_ids: BTreeSet<InteractionId>,
}

/// A [`DataSubject`] as it crosses between services: already normalised, and checked to be so
/// (a participant never trusts that its caller normalised).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NormalisedSubject {
    #[serde(default)]
    customer_ids: BTreeSet<CustomerId>,
    #[serde(default)]
    phone_numbers: BTreeSet<String>,
    #[serde(default)]
    email_addresses: BTreeSet<String>,
    #[serde(default)]
    genesys_user_ids: BTreeSet<GenesysUserId>,
    #[serde(default)]
    interaction_ids: BTreeSet<InteractionId>,
}

impl TryFrom<NormalisedSubject> for DataSubject {
    type Error = &'static str;
    fn try_from(wire: NormalisedSubject) -> Result<Self, Self::Error> {
        if !wire
            .phone_numbers
            .iter()
            .all(|p| matches!(HandleKey::of(p), HandleKey::Phone(e164) if &e164 == p))
        {
            return Err("phoneNumbers must be E.164 numbers: + and the country code, digits only");
        }
        if !wire
            .email_addresses
            .iter()
            .all(|e| matches!(HandleKey::of(e), HandleKey::Email(lower) if &lower == e))
        {
            return Err("emailAddresses must be lower-case e-mail addresses");
        }
        Ok(Self {
            customer_ids: wire.customer_ids,
            phone_numbers: wire.phone_numbers,
            email_addresses: wire.email_addresses,
            genesys_user_ids: wire.genesys_user_ids,
            interaction_ids: wire.interaction_ids,
        })
    }
}

impl fmt::Debug for DataSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DataSubject {{ customer_ids: {}, phone_numbers: {}, email_addresses: {}, genesys_user_ids: {}, interaction_ids: {} }}",
            self.customer_ids.len(),
            self.phone_numbers.len(),
            self.email_addresses.len(),
            self.genesys_user_ids.len(),
            self.interaction_ids.len()
        )
    }
}

impl DataSubject {
    /// Parses every identifier; all problems at once, each naming its place (`/phoneNumbers/1`).
    /// A phone number without a country code is read in `handles`' default region, if any.
    pub fn parse(input: &SubjectInput, handles: &HandleNormaliser) -> Result<Self, Vec<SubjectProblem>> {
        let mut subject = Self::default();
        let mut problems = Vec::new();
        for (i, id) in input.customer_ids.iter().enumerate() {
            match CustomerId::parse(id.trim()) {
                Ok(id) => {
                    subject.customer_ids.insert(id);
                }
                Err(_) => problems.push(SubjectProblem {
                    pointer: format!("/customerIds/{i}"),
                    detail: "not a customer id: expected a UUID",
                }),
            }
        }
        for (i, phone) in input.phone_numbers.iter().enumerate() {
            match handles.key(phone) {
                HandleKey::Phone(e164) => {
                    subject.phone_numbers.insert(e164);
                }
                _ => problems.push(SubjectProblem {
                    pointer: format!("/phoneNumbers/{i}"),
                    detail: "not a phone number: give it with its country code (+…, tel:+…, sip:+…@host), or national where a default region is configured",
                }),
            }
        }
        for (i, email) in input.email_addresses.iter().enumerate() {
            match handles.key(email) {
                HandleKey::Email(lower) => {
                    subject.email_addresses.insert(lower);
                }
                _ => problems.push(SubjectProblem {
                    pointer: format!("/emailAddresses/{i}"),
                    detail: "not an e-mail address",
                }),
            }
        }
        for (i, id) in input.genesys_user_ids.iter().enumerate() {
            match GenesysUserId::parse(id.trim()) {
                Ok(id) => {
                    subject.genesys_user_ids.insert(id);
                }
                Err(_) => problems.push(SubjectProblem {
                    pointer: format!("/genesysUserIds/{i}"),
                    detail: "not a Genesys user id: expected a UUID",
                }),
            }
        }
        if problems.is_empty() && subject.is_empty() {
            problems.push(SubjectProblem {
                pointer: String::new(),
                detail: "name at least one identifier: customerIds, phoneNumbers, emailAddresses or genesysUserIds",
            });
        }
        if problems.is_empty() {
            Ok(subject)
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.customer_ids.is_empty()
            && self.phone_numbers.is_empty()
            && self.email_addresses.is_empty()
            && self.genesys_user_ids.is_empty()
            && self.interaction_ids.is_empty()
    }

    /// The search keys ([`HandleKey`]) of the subject's phone numbers and e-mail addresses: what
    /// services store beside each customer handle.
    pub fn handle_keys(&self) -> Vec<String> {
        self.phone_numbers
            .iter()
            .chain(self.email_addresses.iter())
            .cloned()
            .collect()
    }
}

/// GDPR Art. 12(3): one calendar month after receipt, counted as the ICO does: the day of receipt
/// is day one, the answer is due on the same date next month, or the month's last day when it
/// has no such date (31 January → 28/29 February). `months` > 1 gives an extended deadline.
/// `None` when the date would fall past what a [`Timestamp`] holds (year 9999): an error for the
/// caller, never a deadline made up.
pub fn due_after_months(received: Timestamp, months: u8) -> Option<Timestamp> {
    let at = received.as_offset_date_time();
    let date = add_months(at.date(), months)?;
    Timestamp::from_offset_date_time(OffsetDateTime::new_utc(date, at.time()))
}

fn add_months(date: Date, months: u8) -> Option<Date> {
    let month_index = i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let year = date.year() + month_index.div_euclid(12);
    let month = u8::try_from(month_index.rem_euclid(12) + 1)
        .ok()
        .and_then(|m| Month::try_from(m).ok())?;
    let last_day = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, date.day().min(last_day)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(phones: &[&str], emails: &[&str]) -> SubjectInput {
        SubjectInput {
            phone_numbers: phones.iter().map(|s| (*s).to_owned()).collect(),
            email_addresses: emails.iter().map(|s| (*s).to_owned()).collect(),
            ..SubjectInput::default()
        }
    }

    #[test]
    fn every_form_genesys_sends_becomes_one_e164_number() {
        let subject = DataSubject::parse(
            &input(
                &[
                    "tel:+420601123456",
                    "sip:+420601123456@10.0.0.7;user=phone",
                    "+420 601 123 456",
                ],
                &["Client@Example.COM"],
            ),
            &HandleNormaliser::default(),
        )
        .unwrap();
        assert_eq!(subject.phone_numbers, BTreeSet::from(["+420601123456".to_owned()]));
        assert_eq!(
            subject.email_addresses,
            BTreeSet::from(["client@example.com".to_owned()])
        );
        assert_eq!(subject.handle_keys(), vec!["+420601123456", "client@example.com"]);
    }

    #[test]
    fn problems_name_each_bad_identifier_and_never_its_value() {
        let mut bad = input(&["+420601123456", "601123456"], &["nobody"]);
        bad.customer_ids = vec!["not-a-uuid".to_owned()];
        let problems = DataSubject::parse(&bad, &HandleNormaliser::default()).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/customerIds/0", "/phoneNumbers/1", "/emailAddresses/0"]);
        assert!(problems.iter().all(|p| !p.detail.contains("601123456")));
    }

    #[test]
    fn a_national_number_is_read_in_the_default_region() {
        let czech = HandleNormaliser::with_region("CZ").unwrap();
        let subject = DataSubject::parse(&input(&["601123456", "tel:+420601123456"], &[]), &czech).unwrap();
        assert_eq!(subject.phone_numbers, BTreeSet::from(["+420601123456".to_owned()]));
    }

    #[test]
    fn an_empty_subject_is_refused() {
        let problems = DataSubject::parse(&SubjectInput::default(), &HandleNormaliser::default()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "");
    }

    #[test]
    fn a_subject_from_another_service_must_arrive_normalised() {
        let ok: DataSubject =
            serde_json::from_str(r#"{"phoneNumbers":["+420601123456"],"emailAddresses":["a@example.com"]}"#).unwrap();
        assert_eq!(ok.handle_keys(), ["+420601123456", "a@example.com"]);
        for bad in [
            r#"{"phoneNumbers":["tel:+420601123456"]}"#,
            r#"{"phoneNumbers":[""]}"#,
            r#"{"emailAddresses":["A@example.com"]}"#,
            r#"{"emailAddresses":[""]}"#,
            r#"{"addresses":["somewhere"]}"#,
        ] {
            assert!(serde_json::from_str::<DataSubject>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_counts_only() {
        let subject = DataSubject::parse(
            &input(&["+420601123456"], &["client@example.com"]),
            &HandleNormaliser::default(),
        )
        .unwrap();
        let debug = format!("{subject:?}");
        assert!(!debug.contains("420") && !debug.contains("client"), "{debug}");
    }

    #[test]
    fn due_dates_follow_calendar_months() {
        let at = |s: &str| Some(Timestamp::parse(s).unwrap());
        assert_eq!(
            due_after_months(at("2026-11-22T10:00:00Z").unwrap(), 1),
            at("2026-12-22T10:00:00Z")
        );
        assert_eq!(
            due_after_months(at("2027-01-31T08:30:00Z").unwrap(), 1),
            at("2027-02-28T08:30:00Z")
        );
        assert_eq!(
            due_after_months(at("2028-01-31T08:30:00Z").unwrap(), 1),
            at("2028-02-29T08:30:00Z")
        );
        assert_eq!(
            due_after_months(at("2026-12-15T00:00:00Z").unwrap(), 3),
            at("2027-03-15T00:00:00Z")
        );
        assert_eq!(due_after_months(at("9999-12-01T00:00:00Z").unwrap(), 1), None);
    }
}
