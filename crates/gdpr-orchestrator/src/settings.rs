//! The `[gdpr]` section.

use contracts::legal_hold::LegalBasis;
use contracts::participant::StatutoryRule;
use domain::{Channel, Direction, RecordDomain};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use service_kit::configuration::Environment;
use std::num::NonZeroU64;
use std::time::Duration;
use url::Url;

/// The participants gdpr-orchestrator knows, by the name they appear under in requests.
pub const RESULT_INGEST: &str = "result-ingest";
pub const COMM_HISTORY: &str = "comm-history-writer";
pub const PAIRING: &str = "interaction-pairing";
pub const GENESYS_CLOUD: &str = "genesys-cloud";
const KNOWN: [&str; 4] = [RESULT_INGEST, COMM_HISTORY, PAIRING, GENESYS_CLOUD];

/// A participant the orchestrator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantName {
    ResultIngest,
    CommHistory,
    Pairing,
    GenesysCloud,
}

impl ParticipantName {
    const ALL: [Self; 4] = [Self::ResultIngest, Self::CommHistory, Self::Pairing, Self::GenesysCloud];

    /// The name it appears under in requests (and `gdpr.order`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResultIngest => RESULT_INGEST,
            Self::CommHistory => COMM_HISTORY,
            Self::Pairing => PAIRING,
            Self::GenesysCloud => GENESYS_CLOUD,
        }
    }
}

/// `gdpr.order`: each known participant named once, comma-separated, parsed into their names.
fn participant_order<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ParticipantName>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let mut order = Vec::new();
    for name in text.split(',').map(str::trim) {
        let known = ParticipantName::ALL
            .into_iter()
            .find(|known| known.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("names {name:?}, not one of {}", KNOWN.join(", "))))?;
        if order.contains(&known) {
            return Err(serde::de::Error::custom(format!("names {} twice", known.as_str())));
        }
        order.push(known);
    }
    if order.len() != KNOWN.len() {
        return Err(serde::de::Error::custom(format!(
            "must name each of {} exactly once",
            KNOWN.join(", ")
        )));
    }
    Ok(order)
}

/// `gdpr.request_timeout_ms`, named when it is 0 (a `NonZeroU64`'s own error names the section
/// only).
fn request_timeout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NonZeroU64, D::Error> {
    NonZeroU64::new(u64::deserialize(deserializer)?)
        .ok_or_else(|| serde::de::Error::custom("gdpr.request_timeout_ms: must be at least 1"))
}

/// The longest a statutory rule keeps a record: 100 years.
const MAX_KEEP_DAYS: u32 = 36_500;

/// The key of the statutory retention rules.
const RULES_KEY: &str = "gdpr.statutory_retention";

/// `gdpr.statutory_retention`: an array of tables (`[[gdpr.statutory_retention]]` in a file), or
/// the same array as JSON in one string (an environment variable cannot hold an array of tables),
/// parsed into rules. Every problem is named by its key (`gdpr.statutory_retention[1].keep_days`),
/// never by its value.
fn statutory_rules<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<StatutoryRule>, D::Error> {
    let entries = match Value::deserialize(deserializer)? {
        Value::Array(entries) => entries,
        Value::String(json) => match serde_json::from_str(&json) {
            Ok(Value::Array(entries)) => entries,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "{RULES_KEY}: as one string, must be a JSON array of rules"
                )))
            }
        },
        _ => {
            return Err(serde::de::Error::custom(format!(
                "{RULES_KEY}: must be an array of tables ([[{RULES_KEY}]])"
            )))
        }
    };
    let mut rules: Vec<StatutoryRule> = Vec::new();
    let mut problems = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let key = format!("{RULES_KEY}[{index}]");
        match statutory_rule(&key, entry) {
            Ok(rule) if rules.iter().any(|other| other.name == rule.name) => {
                problems.push(format!("{key}.name: names another rule's name again"));
            }
            Ok(rule) => rules.push(rule),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(serde::de::Error::custom(problems.join("; ")))
    }
}

/// One `gdpr.statutory_retention` entry (`key`), or every problem it has.
fn statutory_rule(key: &str, entry: &Value) -> Result<StatutoryRule, Vec<String>> {
    let Value::Object(fields) = entry else {
        return Err(vec![format!("{key}: must be a table")]);
    };
    let mut problems = Vec::new();
    const FIELDS: [&str; 6] = ["name", "channels", "directions", "domains", "keep_days", "basis"];
    for field in fields.keys().filter(|field| !FIELDS.contains(&field.as_str())) {
        problems.push(format!(
            "{key}.{field}: not a field of a rule (one of {})",
            FIELDS.join(", ")
        ));
    }
    let name = match fields.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.trim().to_owned()),
        _ => {
            problems.push(format!("{key}.name: must be set (a name for the rule)"));
            None
        }
    };
    let channels = listed(key, fields, "channels", &mut problems, |v| Channel::parse(v).ok());
    let directions = listed(key, fields, "directions", &mut problems, |v| Direction::parse(v).ok());
    let domains = listed(key, fields, "domains", &mut problems, |v| RecordDomain::parse(v).ok());
    let keep_days = match fields.get("keep_days") {
        Some(Value::Number(n)) => n.as_u64(),
        // As an environment variable or an override gives it.
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    }
    .and_then(|days| u32::try_from(days).ok())
    // As records.retention_days: a typo of a few more digits would make every purge and every
    // expiry round over a matching record fail (an end past year 9999), not keep it longer.
    .filter(|days| (1..=MAX_KEEP_DAYS).contains(days));
    if keep_days.is_none() {
        problems.push(format!(
            "{key}.keep_days: must be a whole number of days, 1 to {MAX_KEEP_DAYS}"
        ));
    }
    let basis = fields.get("basis").and_then(Value::as_str).and_then(LegalBasis::parse);
    if basis.is_none() {
        let bases: Vec<_> = LegalBasis::ALL.iter().map(|b| b.as_str()).collect();
        problems.push(format!("{key}.basis: must be one of {}", bases.join(", ")));
    }
    match (name, channels, directions, domains, keep_days, basis) {
        (Some(name), Some(channels), Some(directions), Some(domains), Some(keep_days), Some(basis))
            if problems.is_empty() =>
        {
            Ok(StatutoryRule {
                name,
                channels,
                directions,
                domains,
                keep_days,
                basis,
            })
        }
        _ => Err(problems),
    }
}

/// The list `field` of a rule (`key`), each value parsed by `parse`; absent: empty (any).
fn listed<T>(
    key: &str,
    fields: &Map<String, Value>,
    field: &str,
    problems: &mut Vec<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<Vec<T>> {
    let values = match fields.get(field) {
        None => return Some(Vec::new()),
        Some(Value::Array(values)) => values,
        Some(_) => {
            problems.push(format!("{key}.{field}: must be a list"));
            return None;
        }
    };
    let mut parsed = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match value.as_str().and_then(&parse) {
            Some(value) => parsed.push(value),
            None => problems.push(format!("{key}.{field}[{index}]: {}", expected(field))),
        }
    }
    (parsed.len() == values.len()).then_some(parsed)
}

/// What a value of a rule's list `field` must be.
fn expected(field: &str) -> String {
    match field {
        "channels" => {
            let names: Vec<_> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            format!("must be one of {}", names.join(", "))
        }
        "directions" => "must be INBOUND or OUTBOUND".to_owned(),
        _ => "must be an upper-case domain (A-Z, 0-9, _) such as OTHER".to_owned(),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct GdprSettings {
    pub result_ingest_url: Url,
    pub comm_history_url: Url,
    pub pairing_url: Url,
    /// genesys-gateway, the participant for Genesys Cloud.
    pub gateway_url: Url,
    /// Bearer token for the participants. Never logged.
    pub internal_token: SecretString,
    /// The participants' names, in the order they run (each known one once).
    #[serde(deserialize_with = "participant_order")]
    pub order: Vec<ParticipantName>,
    /// A participant call's timeout.
    #[serde(deserialize_with = "request_timeout")]
    pub request_timeout_ms: NonZeroU64,
    pub grace_hours: u64,
    pub identifier_retention_days: NonZeroU64,
    /// HMAC key for subject fingerprints. Never logged.
    pub identifier_key: SecretString,
    /// HMAC key of the audit chain. Never logged.
    pub audit_key: SecretString,
    /// AES-256 key export data is sealed with at rest (`aes256:<base64>`). Never logged.
    pub bundle_key: SecretString,
    /// Ed25519 key participant calls are signed with (`ed25519:<base64 seed>`). Never logged.
    pub signing_key: SecretString,
    /// A FORGET is confirmed by another person than the one who filed it. `false` (one person
    /// alone) is refused outside development.
    pub four_eyes: bool,
    /// A FORGET not confirmed within this many days expires, and its subject is erased.
    pub confirmation_timeout_days: NonZeroU64,
    /// Whether the confirmation of a FORGET or a RECTIFY and an export's download wait for the
    /// requester's verified identity to be recorded.
    pub requester_verification: RequesterVerificationRule,
    /// The language of a subject's answer when the filing names none.
    pub answer_language: contracts::gdpr::AnswerLanguage,
    pub worker_enabled: bool,
    /// The queue's lease (with `batch_size`, `poll_interval_ms`, `backoff_min_ms`,
    /// `backoff_max_ms` and `retry_budget`, read by `service_kit::queue::Policy::read`).
    pub lease_seconds: NonZeroU64,
    pub external_poll_seconds: NonZeroU64,
    /// Not a key of this queue, refused at start by name: a GDPR request that became a dead
    /// letter has a legal due date and is kept until an operator retries it (`/gdpr/queue`),
    /// never deleted by age (`service_kit::queue::Policy::read` would accept it for any queue).
    #[serde(default)]
    dead_retention_days: Option<serde::de::IgnoredAny>,
    /// The bank's time zone (an IANA name): the accountability report's months are its calendar
    /// months.
    #[serde(deserialize_with = "crate::report::time_zone")]
    pub time_zone: crate::report::BankMonths,
    /// `[[gdpr.statutory_retention]]`: records the law makes the bank keep ([`Self::statutory_rules`]).
    #[serde(default, deserialize_with = "statutory_rules")]
    statutory_retention: Vec<StatutoryRule>,
}

/// `gdpr.requester_verification`: handing a customer's history to an impostor, or erasing it at
/// one's word, is itself a breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequesterVerificationRule {
    /// A FORGET or a RECTIFY is not confirmed and an export bundle not downloaded until it is
    /// recorded.
    Required,
    /// It may be recorded, and the audit log says whether it was, but nothing waits for it.
    Advisory,
}

/// A participant and where it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub name: &'static str,
    /// Its base address (`gdpr.<participant>_url`, parsed at start).
    pub url: String,
}

impl GdprSettings {
    /// What is wrong with these settings in `environment`.
    pub fn validate(&self, environment: Environment) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        // One person alone must not erase a customer outside a development machine.
        if !self.four_eyes && environment != Environment::Development {
            problems.push(
                "gdpr.four_eyes: must be true outside development (a FORGET is filed and confirmed by two persons the identity provider signed in)"
                    .to_owned(),
            );
        }
        for (key, url) in [
            ("gdpr.result_ingest_url", &self.result_ingest_url),
            ("gdpr.comm_history_url", &self.comm_history_url),
            ("gdpr.pairing_url", &self.pairing_url),
            ("gdpr.gateway_url", &self.gateway_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
                problems.push(format!("{key}: must be an http(s) URL without a query"));
            }
        }
        if self.internal_token.expose_secret().len() < 16 {
            problems.push("gdpr.internal_token: must be set (at least 16 characters)".to_owned());
        }
        for (key, secret) in [
            ("gdpr.identifier_key", &self.identifier_key),
            ("gdpr.audit_key", &self.audit_key),
        ] {
            if secret.expose_secret().len() < 32 {
                problems.push(format!("{key}: must be set (at least 32 characters)"));
            }
        }
        if let Err(reason) = crate::bundle::BundleKey::new(&self.bundle_key) {
            problems.push(reason);
        }
        if let Err(reason) = gdpr_participant::CallSigner::from_setting(&self.signing_key) {
            problems.push(format!("gdpr.signing_key: {reason}"));
        }
        // The worker renews its lease before each participant call: the lease must outlast one.
        if self.lease_seconds.get().saturating_mul(1000) < self.request_timeout_ms.get().saturating_mul(2) {
            problems.push(format!(
                "gdpr.lease_seconds: must be at least twice gdpr.request_timeout_ms ({} s), so no call outlives the lease",
                self.request_timeout_ms.get().saturating_mul(2).div_ceil(1000)
            ));
        }
        // result-ingest's forget waits until no worker can still write the subject's records;
        // comm-history-writer's, after it, then catches every one.
        let position = |name: &str| self.order.iter().position(|n| n.as_str() == name);
        if let (Some(ingest), Some(writer)) = (position("result-ingest"), position("comm-history-writer")) {
            if writer < ingest {
                problems.push("gdpr.order: result-ingest must come before comm-history-writer".to_owned());
            }
        }
        if self.dead_retention_days.is_some() {
            problems.push(
                "gdpr.dead_retention_days: not accepted: a GDPR request's dead letter has a legal due date and is kept until an operator retries it (/gdpr/queue), never deleted by age"
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The participants in the configured order.
    pub fn participants(&self) -> Vec<Participant> {
        self.order
            .iter()
            .map(|&name| {
                let url = match name {
                    ParticipantName::ResultIngest => &self.result_ingest_url,
                    ParticipantName::CommHistory => &self.comm_history_url,
                    ParticipantName::Pairing => &self.pairing_url,
                    ParticipantName::GenesysCloud => &self.gateway_url,
                };
                Participant {
                    name: name.as_str(),
                    url: url.as_str().trim_end_matches('/').to_owned(),
                }
            })
            .collect()
    }

    /// The statutory retention rules: every purge call carries them (`ParticipantCall::rules`);
    /// none unless the bank configures them.
    pub fn statutory_rules(&self) -> &[StatutoryRule] {
        &self.statutory_retention
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_hours.saturating_mul(3600))
    }

    pub fn identifier_retention(&self) -> Duration {
        Duration::from_secs(self.identifier_retention_days.get().saturating_mul(86_400))
    }

    pub fn confirmation_timeout(&self) -> Duration {
        Duration::from_secs(self.confirmation_timeout_days.get().saturating_mul(86_400))
    }

    pub fn external_poll(&self) -> Duration {
        Duration::from_secs(self.external_poll_seconds.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::configuration::{Settings, SettingsSources};

    /// The docs' example (docs/configuration.md, `gdpr.statutory_retention`).
    const MIFID: &str = r#"
[[gdpr.statutory_retention]]
name = "mifid2-client-communications"
channels = ["VOICE", "EMAIL", "CHAT", "SMS", "VIDEO"]
keep_days = 1826
basis = "legal_obligation"

[[gdpr.statutory_retention]]
name = "mifid2-orders-by-phone"
channels = ["voice"]
directions = ["INBOUND", "OUTBOUND"]
domains = ["ORDERS"]
keep_days = 2557
basis = "legal_obligation"
"#;

    /// The `[gdpr]` settings from the service's defaults with `extra` TOML after them.
    fn load(extra: &str, overrides: &[(&str, &str)]) -> anyhow::Result<GdprSettings> {
        let defaults = format!("{}\n{extra}", crate::SERVICE.default_config);
        let mut all = vec![
            ("gdpr.internal_token", "an-internal-token-of-some-length"),
            ("auth.callers.dpo.token", "a-dpo-token-of-some-length-000"),
            ("auth.callers.dpo.scopes", "dpo"),
            ("application.environment", "development"),
        ];
        all.extend_from_slice(overrides);
        let sources = SettingsSources {
            service_defaults: &defaults,
            file: None,
            environment: false,
            overrides: all.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        crate::gdpr_settings(&Settings::load(sources, crate::SERVICE.scopes)?)
    }

    fn mifid_rules() -> Vec<StatutoryRule> {
        vec![
            StatutoryRule {
                name: "mifid2-client-communications".to_owned(),
                channels: vec![
                    Channel::Voice,
                    Channel::Email,
                    Channel::Chat,
                    Channel::Sms,
                    Channel::Video,
                ],
                directions: Vec::new(),
                domains: Vec::new(),
                keep_days: 1826,
                basis: LegalBasis::LegalObligation,
            },
            StatutoryRule {
                name: "mifid2-orders-by-phone".to_owned(),
                channels: vec![Channel::Voice],
                directions: vec![Direction::Inbound, Direction::Outbound],
                domains: vec![RecordDomain::parse("ORDERS").unwrap()],
                keep_days: 2557,
                basis: LegalBasis::LegalObligation,
            },
        ]
    }

    #[test]
    fn no_rule_unless_the_bank_configures_one() {
        assert!(load("", &[]).unwrap().statutory_rules().is_empty());
    }

    #[test]
    fn rules_are_parsed_into_their_types_from_a_file_or_from_one_json_string() {
        assert_eq!(load(MIFID, &[]).unwrap().statutory_rules(), mifid_rules());
        // APP__GDPR__STATUTORY_RETENTION holds one string: the same rules as JSON.
        let json = serde_json::json!([
            {"name": "mifid2-client-communications", "channels": ["VOICE", "EMAIL", "CHAT", "SMS", "VIDEO"],
             "keep_days": 1826, "basis": "legal_obligation"},
            {"name": "mifid2-orders-by-phone", "channels": ["voice"], "directions": ["INBOUND", "OUTBOUND"],
             "domains": ["ORDERS"], "keep_days": "2557", "basis": "legal_obligation"}
        ])
        .to_string();
        let settings = load("", &[("gdpr.statutory_retention", &json)]).unwrap();
        assert_eq!(settings.statutory_rules(), mifid_rules());
    }

    #[test]
    fn a_bad_rule_is_refused_at_start_naming_each_key_never_its_value() {
        let bad = r#"
[[gdpr.statutory_retention]]
name = "kept"
channels = ["PIGEON"]
directions = ["SIDEWAYS"]
domains = ["lower_case"]
keep_days = 0
basis = "because"
colour = "blue"

[[gdpr.statutory_retention]]
name = "  "
keep_days = 30

[[gdpr.statutory_retention]]
name = "twice"
keep_days = 30
basis = "legal_claims"

[[gdpr.statutory_retention]]
name = "twice"
keep_days = 36501
basis = "legal_claims"
"#;
        let refused = load(bad, &[]).unwrap_err().to_string();
        for key in [
            "gdpr.statutory_retention[0].channels[0]: must be one of VOICE, CHAT, EMAIL, SMS, VIDEO, OTHER",
            "gdpr.statutory_retention[0].directions[0]: must be INBOUND or OUTBOUND",
            "gdpr.statutory_retention[0].domains[0]: must be an upper-case domain",
            "gdpr.statutory_retention[0].keep_days: must be a whole number of days, 1 to 36500",
            "gdpr.statutory_retention[0].basis: must be one of legal_claims, legal_obligation, authority_request",
            "gdpr.statutory_retention[0].colour: not a field of a rule",
            "gdpr.statutory_retention[1].name: must be set",
            "gdpr.statutory_retention[1].basis: must be one of",
            "gdpr.statutory_retention[3].keep_days: must be a whole number of days, 1 to 36500",
        ] {
            assert!(refused.contains(key), "{key} in {refused}");
        }
        for value in ["PIGEON", "SIDEWAYS", "lower_case", "because", "blue"] {
            assert!(!refused.contains(value), "{value} in {refused}");
        }
        let twice = "[[gdpr.statutory_retention]]\nname = \"twice\"\nkeep_days = 1\nbasis = \"legal_claims\"\n";
        let refused = load(&twice.repeat(2), &[]).unwrap_err().to_string();
        assert!(
            refused.contains("gdpr.statutory_retention[1].name: names another rule's name again"),
            "{refused}"
        );
        let refused = load("", &[("gdpr.statutory_retention", "VOICE for 5 years")])
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("gdpr.statutory_retention: as one string, must be a JSON array"),
            "{refused}"
        );
    }
}
