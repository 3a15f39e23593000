//! Genesys participant data: which participant attributes name the bank's customer (an IVR or a
//! bot that authenticated the caller left the id there) or the record's domain
//! (`[ingest.participant_data]`), and what a result's attributes say by them.
//!
//! Data minimisation: only the first configured attribute of each kind whose value parses is
//! kept with the result; every other attribute Genesys passed on is dropped at the door. A value
//! that does not parse is ignored and counted by its kind, never its name or value.

use domain::{CustomerId, ParticipantData, RecordDomain};
use serde::Deserialize;

/// A participant attribute's name as configured: 1 to 256 characters, none a control character
/// or a comma (the names travel to the gateway comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeName(String);

impl AttributeName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        let fits = (1..=ParticipantData::MAX_NAME).contains(&name.chars().count());
        if !fits || name.chars().any(|c| c.is_control() || c == ',') {
            return Err(format!(
                "an attribute name must be 1 to {} characters, no comma or control character",
                ParticipantData::MAX_NAME
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a configured attribute carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    /// The bank's customer id ([`CustomerId`]).
    CustomerId,
    /// The record's domain ([`RecordDomain`]: an upper-case token such as `MORTGAGES`).
    Domain,
}

impl AttributeKind {
    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CustomerId => "customer_id",
            Self::Domain => "domain",
        }
    }
}

/// `[ingest.participant_data]`. Empty (the default): participant data is not read, and none is
/// kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantDataSettings {
    /// Tried in this order: the first whose value parses names the customer.
    customer_id_attributes: Vec<AttributeName>,
    /// Tried in this order: the first whose value parses is the record's domain.
    domain_attributes: Vec<AttributeName>,
}

/// What a result's participant data says, by the configured attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    pub customer: Option<CustomerId>,
    pub domain: Option<RecordDomain>,
    /// The configured attributes sent with a value that does not parse, by kind.
    pub ignored: Vec<AttributeKind>,
}

impl ParticipantDataSettings {
    pub fn new(
        customer_id_attributes: Vec<AttributeName>,
        domain_attributes: Vec<AttributeName>,
    ) -> Result<Self, String> {
        let mut all: Vec<&AttributeName> = customer_id_attributes.iter().chain(&domain_attributes).collect();
        all.sort();
        if let Some(pair) = all.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!("the attribute {:?} is named twice", pair[0].as_str()));
        }
        Ok(Self {
            customer_id_attributes,
            domain_attributes,
        })
    }

    pub fn is_enabled(&self) -> bool {
        !self.customer_id_attributes.is_empty() || !self.domain_attributes.is_empty()
    }

    /// Every configured name (what the gateway is asked to pass on from Genesys).
    pub fn names(&self) -> impl Iterator<Item = &AttributeName> {
        self.customer_id_attributes.iter().chain(&self.domain_attributes)
    }

    /// What `data` says.
    pub fn read(&self, data: &ParticipantData) -> Read {
        self.found(data).read
    }

    /// Keeps in `data` only the attributes [`Self::read`] takes its answer from, and answers it.
    pub fn minimise(&self, data: &mut ParticipantData) -> Read {
        let Found { read, from } = self.found(data);
        data.retain(|name, _| from.iter().any(|kept| kept.as_str() == name));
        read
    }

    fn found(&self, data: &ParticipantData) -> Found<'_> {
        let mut ignored = Vec::new();
        let customer = first(
            &self.customer_id_attributes,
            data,
            AttributeKind::CustomerId,
            &mut ignored,
            |v| CustomerId::parse(v).ok(),
        );
        let domain = first(
            &self.domain_attributes,
            data,
            AttributeKind::Domain,
            &mut ignored,
            |v| RecordDomain::parse(v).ok(),
        );
        let from = customer
            .iter()
            .map(|(name, _)| *name)
            .chain(domain.iter().map(|(name, _)| *name))
            .collect();
        Found {
            read: Read {
                customer: customer.map(|(_, customer)| customer),
                domain: domain.map(|(_, domain)| domain),
                ignored,
            },
            from,
        }
    }
}

/// What participant data says, and the attributes it says it by.
struct Found<'s> {
    read: Read,
    from: Vec<&'s AttributeName>,
}

/// The first of `names` sent with a value `parse` takes, and the kind of each one before it
/// that was sent with a value it did not (an empty value is no value).
fn first<'n, T>(
    names: &'n [AttributeName],
    data: &ParticipantData,
    kind: AttributeKind,
    ignored: &mut Vec<AttributeKind>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<(&'n AttributeName, T)> {
    for name in names {
        // Empty is how Genesys' data action passes an attribute the participant does not have.
        let Some(value) = data.get(name.as_str()).filter(|value| !value.trim().is_empty()) else {
            continue;
        };
        match parse(value) {
            Some(parsed) => return Some((name, parsed)),
            None => ignored.push(kind),
        }
    }
    None
}

/// A list of names: a TOML array, or comma-separated text (as an environment variable holds it).
fn names<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<AttributeName>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Text(String),
    }
    let given = match Given::deserialize(deserializer)
        .map_err(|_| serde::de::Error::custom("expected a list of attribute names"))?
    {
        Given::List(list) => list,
        Given::Text(text) if text.trim().is_empty() => Vec::new(),
        Given::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    given
        .iter()
        .map(|name| AttributeName::parse(name))
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for ParticipantDataSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default, deserialize_with = "names")]
            customer_id_attributes: Vec<AttributeName>,
            #[serde(default, deserialize_with = "names")]
            domain_attributes: Vec<AttributeName>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Self::new(raw.customer_id_attributes, raw.domain_attributes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    const CUSTOMER: &str = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";

    fn settings() -> ParticipantDataSettings {
        let name = |n: &str| AttributeName::parse(n).unwrap();
        ParticipantDataSettings::new(
            vec![name("bankCustomerId"), name("customerId")],
            vec![name("bankProduct")],
        )
        .unwrap()
    }

    fn data(pairs: &[(&str, &str)]) -> ParticipantData {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ParticipantData::new(map).unwrap()
    }

    #[test]
    fn only_the_attributes_read_are_kept() {
        let mut sent = data(&[
            ("bankCustomerId", "not an id"),
            ("customerId", CUSTOMER),
            ("bankProduct", "MORTGAGES"),
            ("callerName", "Jana"),
        ]);
        let read = settings().minimise(&mut sent);
        assert_eq!(read.customer, Some(CustomerId::parse(CUSTOMER).unwrap()));
        assert_eq!(read.domain.as_ref().map(RecordDomain::as_str), Some("MORTGAGES"));
        assert_eq!(read.ignored, vec![AttributeKind::CustomerId]);
        assert_eq!(sent, data(&[("customerId", CUSTOMER), ("bankProduct", "MORTGAGES")]));
        assert_eq!(
            settings().read(&sent),
            Read {
                ignored: Vec::new(),
                ..read
            }
        );
    }

    #[test]
    fn an_empty_value_is_no_value() {
        let mut sent = data(&[("bankCustomerId", " "), ("customerId", CUSTOMER), ("bankProduct", "")]);
        let read = settings().minimise(&mut sent);
        assert_eq!(read.customer, Some(CustomerId::parse(CUSTOMER).unwrap()));
        assert_eq!((read.domain, read.ignored), (None, Vec::new()));
        assert_eq!(sent, data(&[("customerId", CUSTOMER)]));
    }

    #[test]
    fn a_name_twice_or_a_bad_name_is_refused() {
        let name = |n: &str| AttributeName::parse(n).unwrap();
        assert!(ParticipantDataSettings::new(vec![name("a")], vec![name("a")]).is_err());
        for bad in ["", "a,b", "a\u{1}", &"x".repeat(257)] {
            assert!(AttributeName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_may_be_a_list_or_comma_separated_text() {
        for given in [
            serde_json::json!({ "customer_id_attributes": ["bankCustomerId", "customerId"], "domain_attributes": "bankProduct" }),
            serde_json::json!({ "customer_id_attributes": "bankCustomerId, customerId", "domain_attributes": ["bankProduct"] }),
        ] {
            assert_eq!(
                serde_json::from_value::<ParticipantDataSettings>(given).unwrap(),
                settings()
            );
        }
        let off: ParticipantDataSettings =
            serde_json::from_value(serde_json::json!({ "customer_id_attributes": "" })).unwrap();
        assert!(!off.is_enabled());
    }
}
