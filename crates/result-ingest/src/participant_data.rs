//! Genesys participant data: which participant attributes name the bank's customer (an IVR or a
//! bot that authenticated the caller left the id there) or the record's domain
//! (`[ingest.participant_data]`), and what a result's attributes say by them.
//!
//! Data minimisation: only the first configured attribute of each kind whose value parses is
//! kept with the result; every other attribute Genesys passed on is dropped at the door. A value
//! that does not parse is ignored and counted by its kind, never its name or value.

use domain::{Channel, CustomerId, ParticipantData, RecordDomain};
use serde::Deserialize;

/// A configured attribute's name: the one rule genesys-gateway and `deploy/genesys/apply.sh`
/// hold too.
pub use contracts::gateway::AttributeName;

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

/// Why a configured attribute sent with a value was not taken: the metric's `kind` label (never
/// the name or the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Its value did not parse.
    Unparsable(AttributeKind),
    /// It came with a result of a channel whose participant data is not trusted
    /// (`ingest.participant_data.channels`): there the customer may have set it themselves.
    Channel,
}

impl Ignored {
    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unparsable(kind) => kind.as_str(),
            Self::Channel => "channel",
        }
    }
}

/// `[ingest.participant_data]`. No attribute named (the default): participant data is not read,
/// and none is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantDataSettings {
    /// Tried in this order: the first whose value parses names the customer.
    customer_id_attributes: Vec<AttributeName>,
    /// Tried in this order: the first whose value parses is the record's domain.
    domain_attributes: Vec<AttributeName>,
    /// The channels whose participant data is taken (VOICE by default). On web messaging and
    /// chat the customer's own browser may set participant attributes (Messenger custom
    /// attributes), so a value there could name anyone: ignored and counted, unless listed here.
    channels: Vec<Channel>,
}

impl Default for ParticipantDataSettings {
    fn default() -> Self {
        Self {
            customer_id_attributes: Vec::new(),
            domain_attributes: Vec::new(),
            channels: vec![Channel::Voice],
        }
    }
}

/// What a result's participant data says, by the configured attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    pub customer: Option<CustomerId>,
    pub domain: Option<RecordDomain>,
    /// The configured attributes sent with a value that was not taken, by why.
    pub ignored: Vec<Ignored>,
}

impl ParticipantDataSettings {
    /// Refused (naming the key): a name twice, more names than genesys-gateway answers in one
    /// request (the sweep asks for all of them at once), or names with no channel to take them on.
    pub fn new(
        customer_id_attributes: Vec<AttributeName>,
        domain_attributes: Vec<AttributeName>,
        channels: Vec<Channel>,
    ) -> Result<Self, String> {
        let mut all: Vec<&AttributeName> = customer_id_attributes.iter().chain(&domain_attributes).collect();
        if all.len() > AttributeName::MAX_PER_REQUEST {
            return Err(format!(
                "ingest.participant_data.customer_id_attributes and domain_attributes: at most {} names \
                 together (what genesys-gateway answers in one request), {} given",
                AttributeName::MAX_PER_REQUEST,
                all.len()
            ));
        }
        all.sort();
        if let Some(pair) = all.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "ingest.participant_data: the attribute {:?} is named twice",
                pair[0].as_str()
            ));
        }
        if !all.is_empty() && channels.is_empty() {
            return Err("ingest.participant_data.channels: at least one channel when attributes are named".to_owned());
        }
        Ok(Self {
            customer_id_attributes,
            domain_attributes,
            channels,
        })
    }

    pub fn is_enabled(&self) -> bool {
        !self.customer_id_attributes.is_empty() || !self.domain_attributes.is_empty()
    }

    /// Whether participant data is taken on `channel`.
    pub fn trusts(&self, channel: Channel) -> bool {
        self.is_enabled() && self.channels.contains(&channel)
    }

    /// Every configured name (what the gateway is asked to pass on from Genesys).
    pub fn names(&self) -> impl Iterator<Item = &AttributeName> {
        self.customer_id_attributes.iter().chain(&self.domain_attributes)
    }

    /// What `data`, sent with a result of `channel`, says.
    pub fn read(&self, channel: Channel, data: &ParticipantData) -> Read {
        self.found(channel, data).read
    }

    /// Keeps in `data` only the attributes [`Self::read`] takes its answer from (none on a
    /// channel not trusted), and answers it.
    pub fn minimise(&self, channel: Channel, data: &mut ParticipantData) -> Read {
        let Found { read, from } = self.found(channel, data);
        data.retain(|name, _| from.iter().any(|kept| kept.as_str() == name));
        read
    }

    fn found(&self, channel: Channel, data: &ParticipantData) -> Found<'_> {
        if !self.channels.contains(&channel) {
            // Counted once a result, whichever attributes it carried.
            let sent = self
                .names()
                .any(|name| data.get(name.as_str()).is_some_and(|value| !value.trim().is_empty()));
            return Found {
                read: Read {
                    ignored: if sent { vec![Ignored::Channel] } else { Vec::new() },
                    ..Read::default()
                },
                from: Vec::new(),
            };
        }
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
    ignored: &mut Vec<Ignored>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<(&'n AttributeName, T)> {
    for name in names {
        // Empty is how Genesys' data action passes an attribute the participant does not have.
        let Some(value) = data.get(name.as_str()).filter(|value| !value.trim().is_empty()) else {
            continue;
        };
        match parse(value) {
            Some(parsed) => return Some((name, parsed)),
            None => ignored.push(Ignored::Unparsable(kind)),
        }
    }
    None
}

/// A list of names: a TOML array, or comma-separated text (as an environment variable holds it).
fn names<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<AttributeName>, D::Error> {
    service_kit::configuration::list_or_comma_separated(deserializer)?
        .iter()
        .map(|name| AttributeName::parse(name))
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

/// A list of channel names (VOICE, CHAT, EMAIL, SMS, VIDEO, OTHER), or comma-separated text.
fn channels<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Channel>, D::Error> {
    Channel::parse_list(service_kit::configuration::list_or_comma_separated(deserializer)?)
        .map_err(serde::de::Error::custom)
}

fn voice_only() -> Vec<Channel> {
    vec![Channel::Voice]
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
            #[serde(default = "voice_only", deserialize_with = "channels")]
            channels: Vec<Channel>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Self::new(raw.customer_id_attributes, raw.domain_attributes, raw.channels).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    const CUSTOMER: &str = "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07";

    fn name(n: &str) -> AttributeName {
        AttributeName::parse(n).unwrap()
    }

    fn settings() -> ParticipantDataSettings {
        ParticipantDataSettings::new(
            vec![name("bankCustomerId"), name("customerId")],
            vec![name("bankProduct")],
            vec![Channel::Voice],
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
        let read = settings().minimise(Channel::Voice, &mut sent);
        assert_eq!(read.customer, Some(CustomerId::parse(CUSTOMER).unwrap()));
        assert_eq!(read.domain.as_ref().map(RecordDomain::as_str), Some("MORTGAGES"));
        assert_eq!(read.ignored, vec![Ignored::Unparsable(AttributeKind::CustomerId)]);
        assert_eq!(sent, data(&[("customerId", CUSTOMER), ("bankProduct", "MORTGAGES")]));
        assert_eq!(
            settings().read(Channel::Voice, &sent),
            Read {
                ignored: Vec::new(),
                ..read
            }
        );
    }

    #[test]
    fn on_a_channel_not_trusted_nothing_is_taken_or_kept_and_it_is_counted_once() {
        let sent = || {
            data(&[
                ("bankCustomerId", CUSTOMER),
                ("bankProduct", "MORTGAGES"),
                ("other", "x"),
            ])
        };
        for channel in [Channel::Chat, Channel::Sms, Channel::Email, Channel::Other] {
            let mut kept = sent();
            let read = settings().minimise(channel, &mut kept);
            assert_eq!(read.ignored.iter().map(|i| i.as_str()).collect::<Vec<_>>(), ["channel"]);
            assert_eq!((read.customer, read.domain), (None, None), "{channel:?}");
            assert_eq!(kept, data(&[]), "{channel:?}");
        }
        // Nothing configured was sent: nothing to count.
        assert_eq!(
            settings().read(Channel::Chat, &data(&[("other", "x")])),
            Read::default()
        );
        let chat_too = ParticipantDataSettings::new(
            vec![name("bankCustomerId")],
            Vec::new(),
            vec![Channel::Voice, Channel::Chat],
        )
        .unwrap();
        assert_eq!(
            chat_too.read(Channel::Chat, &sent()).customer,
            Some(CustomerId::parse(CUSTOMER).unwrap())
        );
        assert!(
            chat_too.trusts(Channel::Chat) && !settings().trusts(Channel::Chat) && settings().trusts(Channel::Voice)
        );
    }

    #[test]
    fn an_empty_value_is_no_value() {
        let mut sent = data(&[("bankCustomerId", " "), ("customerId", CUSTOMER), ("bankProduct", "")]);
        let read = settings().minimise(Channel::Voice, &mut sent);
        assert_eq!(read.customer, Some(CustomerId::parse(CUSTOMER).unwrap()));
        assert_eq!((read.domain, read.ignored), (None, Vec::new()));
        assert_eq!(sent, data(&[("customerId", CUSTOMER)]));
    }

    #[test]
    fn a_name_twice_too_many_names_or_no_channel_is_refused_naming_the_key() {
        let voice = || vec![Channel::Voice];
        let twice = ParticipantDataSettings::new(vec![name("a")], vec![name("a")], voice()).unwrap_err();
        assert!(twice.starts_with("ingest.participant_data"), "{twice}");
        let many: Vec<AttributeName> = (0..=AttributeName::MAX_PER_REQUEST)
            .map(|n| name(&format!("a{n}")))
            .collect();
        let too_many = ParticipantDataSettings::new(many[1..].to_vec(), many[..1].to_vec(), voice()).unwrap_err();
        assert!(
            too_many.starts_with("ingest.participant_data.customer_id_attributes"),
            "{too_many}"
        );
        assert!(ParticipantDataSettings::new(many[1..].to_vec(), Vec::new(), voice()).is_ok());
        let none = ParticipantDataSettings::new(vec![name("a")], Vec::new(), Vec::new()).unwrap_err();
        assert!(none.starts_with("ingest.participant_data.channels"), "{none}");
        let given =
            serde_json::json!({ "customer_id_attributes": many.iter().map(AttributeName::as_str).collect::<Vec<_>>() });
        let error = serde_json::from_value::<ParticipantDataSettings>(given)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ingest.participant_data.customer_id_attributes"),
            "{error}"
        );
        for bad in ["a-b", "2fa"] {
            let given = serde_json::json!({ "customer_id_attributes": [bad] });
            assert!(
                serde_json::from_value::<ParticipantDataSettings>(given).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_and_channels_may_be_a_list_or_comma_separated_text() {
        for given in [
            serde_json::json!({ "customer_id_attributes": ["bankCustomerId", "customerId"], "domain_attributes": "bankProduct" }),
            serde_json::json!({ "customer_id_attributes": "bankCustomerId, customerId", "domain_attributes": ["bankProduct"], "channels": "voice" }),
        ] {
            assert_eq!(
                serde_json::from_value::<ParticipantDataSettings>(given).unwrap(),
                settings()
            );
        }
        let both: ParticipantDataSettings =
            serde_json::from_value(serde_json::json!({ "customer_id_attributes": "a", "channels": "VOICE, CHAT" }))
                .unwrap();
        assert!(both.trusts(Channel::Chat));
        let off: ParticipantDataSettings =
            serde_json::from_value(serde_json::json!({ "customer_id_attributes": "" })).unwrap();
        assert!(!off.is_enabled());
        assert_eq!(off, ParticipantDataSettings::default());
    }
}
