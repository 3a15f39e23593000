//! The answer a data subject reads (GDPR Art. 15; Art. 12(1): concise, intelligible, in clear
//! and plain language): one self-contained HTML page in every export's bundle, in the request's
//! language (Czech or English) — what ccbridge holds of them per category, in words and dates;
//! what was left out and why (another customer's; kept under a legal hold or a statutory rule
//! despite an erasure, with its basis; kept unchanged as evidence by a correction, which stays
//! beside it as the subject's statement); and where else copies went (Genesys Cloud, the bank's
//! communication-history-manager). No scripts and nothing loaded from elsewhere: a style of its
//! own, and links within the page only. It holds the subject's data by design, so it is built
//! only where the bundle is, and never logged.

use crate::settings::{COMM_HISTORY, GENESYS_CLOUD, PAIRING, RESULT_INGEST};
use crate::store::{Request, Step};
use askama::Template;
use contracts::gdpr::{AnswerLanguage, StepState};
use contracts::legal_hold::LegalBasis;
use contracts::participant::ParticipantAction;
use domain::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a legal hold or a statutory rule kept of the subject despite their erasure request.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub participant: String,
    pub category: String,
    pub basis: LegalBasis,
    pub count: u64,
    /// When the erasure was asked for.
    pub since: Timestamp,
    /// The earliest end of a statutory rule over it (a hold has no date: until it is released).
    pub until: Option<Timestamp>,
}

/// What a correction of the subject (a RECTIFY) left as it was, because a legal hold or a
/// statutory rule keeps it as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Unchanged {
    pub participant: String,
    pub category: String,
    pub basis: LegalBasis,
    pub count: u64,
    /// When the correction was asked for.
    pub asked: Timestamp,
}

/// What the page is written with besides the export: its language, the bank's time zone, what
/// an erasure of the subject kept, and what a correction of them left unchanged.
pub struct Context<'a> {
    pub language: AnswerLanguage,
    pub zone: &'a TimeZone,
    pub kept: Vec<Kept>,
    pub unchanged: Vec<Unchanged>,
}

/// Why the page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the subject's answer could not be rendered")]
    Render(#[from] askama::Error),
    #[error("a date of {0} is outside the calendar")]
    Date(String),
}

/// One line of a category's list: when, and what.
struct Item {
    date: String,
    details: String,
}

/// A category of what ccbridge holds, as the subject reads it.
struct Held {
    anchor: String,
    name: String,
    description: String,
    count: usize,
    period: String,
    items: Vec<Item>,
}

#[derive(Template)]
#[template(path = "subject_answer.html")]
struct Page<'a> {
    w: &'a Words,
    intro: String,
    reference: String,
    received: String,
    answered: String,
    held: Vec<Held>,
    left_out: Vec<String>,
    retained: Vec<String>,
    unchanged: Vec<String>,
    genesys: String,
    manager: String,
    deliveries: Vec<Item>,
    generated: String,
}

/// The page's fixed words in one language.
struct Words {
    lang: &'static str,
    title: &'static str,
    case_reference: &'static str,
    received: &'static str,
    answered: &'static str,
    held_heading: &'static str,
    held_none: &'static str,
    category: &'static str,
    count: &'static str,
    period: &'static str,
    date: &'static str,
    details: &'static str,
    left_out_heading: &'static str,
    left_out_none: &'static str,
    left_out_other_customer: &'static str,
    retained_intro: &'static str,
    unchanged_intro: &'static str,
    elsewhere_heading: &'static str,
    manager_name: &'static str,
    rights: &'static str,
    months: [&'static str; 12],
    not_yet: &'static str,
}

const CS: Words = Words {
    lang: "cs",
    title: "Vaše osobní údaje v kontaktním centru banky",
    case_reference: "Číslo případu",
    received: "Žádost přijata",
    answered: "Odpověď připravena",
    held_heading: "Co o vás uchováváme",
    held_none: "V systémech kontaktního centra banky (ccbridge) o vás nic neuchováváme.",
    category: "Druh údajů",
    count: "Počet",
    period: "Období",
    date: "Datum a čas",
    details: "Podrobnosti",
    left_out_heading: "Co v této odpovědi není a proč",
    left_out_none: "Nic jsme nevynechali.",
    left_out_other_customer: "Tyto záznamy našlo vaše telefonní číslo nebo e-mailová adresa, ale patří jinému klientovi banky. Nejsou to vaše údaje, proto je neuvádíme:",
    retained_intro: "Tyto údaje o vás uchováváme i přes vaši žádost o výmaz, protože nám to ukládá zákon nebo je potřebujeme k právním nárokům. Jsou skryté a nikdo z banky s nimi běžně nepracuje; vymažeme je, jakmile důvod pomine:",
    unchanged_intro: "Na vaši žádost jsme vaše údaje opravili všude kromě těchto záznamů, které musíme uchovat beze změny jako důkaz, protože nám to ukládá zákon nebo je potřebujeme k právním nárokům. Zůstává v nich původní údaj; vaši opravu banka uchovává u vaší žádosti jako vaše doplňující prohlášení k nim (čl. 16 GDPR):",
    elsewhere_heading: "Kam se dostaly kopie",
    manager_name: "Systém historie komunikace banky",
    rights: "Máte právo na opravu, výmaz a omezení zpracování svých údajů a právo vznést námitku. Obrátit se můžete na pověřence banky pro ochranu osobních údajů nebo podat stížnost u Úřadu pro ochranu osobních údajů (www.uoou.cz).",
    months: [
        "ledna", "února", "března", "dubna", "května", "června", "července", "srpna", "září", "října", "listopadu",
        "prosince",
    ],
    not_yet: "dosud nedokončeno",
};

const EN: Words = Words {
    lang: "en",
    title: "Your personal data in the bank's contact center",
    case_reference: "Case number",
    received: "Request received",
    answered: "Answer prepared",
    held_heading: "What we hold about you",
    held_none: "The bank's contact-center systems (ccbridge) hold nothing about you.",
    category: "Kind of data",
    count: "Number",
    period: "Period",
    date: "Date and time",
    details: "Details",
    left_out_heading: "What is not in this answer, and why",
    left_out_none: "Nothing was left out.",
    left_out_other_customer: "Your phone number or e-mail address found these records, but they belong to another customer of the bank. They are not your data, so they are not listed:",
    retained_intro: "We keep these data about you despite your request for erasure, because the law requires it or we need them for legal claims. They are hidden and nobody at the bank works with them in the normal course; we erase them once the reason ends:",
    unchanged_intro: "As you asked, we corrected your data everywhere except in these records, which we must keep unchanged as evidence, because the law requires it or we need them for legal claims. They keep the earlier value; the bank keeps your correction with your request as your supplementary statement to them (GDPR Art. 16):",
    elsewhere_heading: "Where copies went",
    manager_name: "The bank's communication-history system",
    rights: "You have the right to have your data corrected, erased or their processing restricted, and to object. You may contact the bank's data protection officer, or complain to the Czech data protection authority (Úřad pro ochranu osobních údajů, www.uoou.cz).",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    not_yet: "not finished yet",
};

fn words(language: AnswerLanguage) -> &'static Words {
    match language {
        AnswerLanguage::Cs => &CS,
        AnswerLanguage::En => &EN,
    }
}

/// A category in plain words: its name, what it is, and where in an item its date is (a JSON
/// pointer).
struct Category {
    name: String,
    description: &'static str,
    date_field: Option<&'static str>,
}

fn category(language: AnswerLanguage, participant: &str, category: &str) -> Category {
    let cs = language == AnswerLanguage::Cs;
    let (name, description, date_field): (&str, &'static str, Option<&'static str>) = match (participant, category) {
        (COMM_HISTORY, "communications") if cs => (
            "Záznamy vaší komunikace s bankou",
            "Hovory, e-maily, chaty a zprávy mezi vámi a bankou, jak je kontaktní centrum zaznamenalo: kdy, jakým kanálem, kterým směrem a o čem. Záznam může obsahovat i to, co bylo řečeno nebo napsáno (přepis hovoru či chatu, text e-mailu): najdete to v přiloženém souboru comm-history-writer/communications.json, v poli body záznamu.",
            Some("/communicatedAt"),
        ),
        (COMM_HISTORY, "communications") => (
            "Records of your communications with the bank",
            "Calls, e-mails, chats and messages between you and the bank as the contact center recorded them: when, on which channel, in which direction and what about. A record may also hold what was said or written (a call's or chat's transcript, an e-mail's text): it is in the attached file comm-history-writer/communications.json, in the record's body field.",
            Some("/communicatedAt"),
        ),
        (COMM_HISTORY, "agentCommunications") if cs => (
            "Komunikace, kterou jste vyřizoval(a) jako pracovník banky",
            "Kdy a jakým kanálem; údaje klientů v nich neuvádíme.",
            Some("/communicatedAt"),
        ),
        (COMM_HISTORY, "agentCommunications") => (
            "Communications you handled as the bank's employee",
            "When, and on which channel; the customers' data are not listed.",
            Some("/communicatedAt"),
        ),
        (RESULT_INGEST, "webhookResults") if cs => (
            "Výsledky vašich kontaktů, jak je ohlásil Genesys Cloud",
            "Zprávy platformy kontaktního centra o ukončených hovorech a konverzacích, ze kterých vznikly záznamy výše.",
            Some("/result/eventTime"),
        ),
        (RESULT_INGEST, "webhookResults") => (
            "Results of your contacts as Genesys Cloud reported them",
            "The contact-center platform's reports of finished calls and conversations, from which the records above were made.",
            Some("/result/eventTime"),
        ),
        (RESULT_INGEST, "agentWebhookResults") if cs => (
            "Výsledky kontaktů, které jste vyřizoval(a) jako pracovník banky",
            "Kdy a s jakým výsledkem; údaje klientů v nich neuvádíme.",
            Some("/eventTime"),
        ),
        (RESULT_INGEST, "agentWebhookResults") => (
            "Results of contacts you handled as the bank's employee",
            "When, and with which outcome; the customers' data are not listed.",
            Some("/eventTime"),
        ),
        (PAIRING, "pairings") if cs => (
            "Přiřazení vašich kontaktů k vám",
            "Které hovory a konverzace back office banky přiřadil k vám jako klientovi.",
            Some("/pairedAt"),
        ),
        (PAIRING, "pairings") => (
            "Your contacts assigned to you",
            "Which calls and conversations the bank's back office assigned to you as its customer.",
            Some("/pairedAt"),
        ),
        // What Genesys Cloud keeps as it was (a purge held back, a correction not sent): counted
        // per number, address or agent account it holds data under.
        (GENESYS_CLOUD, "genesysSubjects") if cs => (
            "Vaše údaje v Genesys Cloud, platformě kontaktního centra banky (podle čísla, adresy nebo účtu pracovníka)",
            "",
            None,
        ),
        (GENESYS_CLOUD, "genesysSubjects") => (
            "Your data in Genesys Cloud, the bank's contact-center platform (by number, address or employee account)",
            "",
            None,
        ),
        // A category this page has no words for yet is named as the files name it, never hidden.
        (_, other) => (other, "", None),
    };
    Category {
        name: name.to_owned(),
        description,
        date_field,
    }
}

/// Deliveries to the manager: the "where else" section's, not a kind of data held here.
const MANAGER_DELIVERIES: &str = "communicationHistoryManagerDeliveries";

/// A date in the bank's time zone, as the language writes it (`6. prosince 2026`, `6 December
/// 2026`).
fn date(w: &Words, zone: &TimeZone, at: Timestamp) -> Result<String, AnswerError> {
    let nanos = at.as_offset_date_time().unix_timestamp_nanos();
    let zoned = jiff::Timestamp::from_nanosecond(nanos)
        .map_err(|_| AnswerError::Date(at.to_string()))?
        .to_zoned(zone.clone());
    let month = w.months[usize::try_from(zoned.month() - 1).map_err(|_| AnswerError::Date(at.to_string()))?];
    Ok(match w.lang {
        "cs" => format!("{}. {month} {}", zoned.day(), zoned.year()),
        _ => format!("{} {month} {}", zoned.day(), zoned.year()),
    })
}

/// The day and the time of day `at` in the bank's zone, named by its abbreviation (two calls on
/// one day read apart; CET and CEST say which side of a clock change).
fn date_time(w: &Words, zone: &TimeZone, at: Timestamp) -> Result<String, AnswerError> {
    let nanos = at.as_offset_date_time().unix_timestamp_nanos();
    let zoned = jiff::Timestamp::from_nanosecond(nanos)
        .map_err(|_| AnswerError::Date(at.to_string()))?
        .to_zoned(zone.clone());
    Ok(format!("{}, {}", date(w, zone, at)?, zoned.strftime("%H:%M %Z")))
}

/// The date at `pointer` (a JSON pointer) in `item`.
fn timestamp_at(item: &Value, pointer: &str) -> Option<Timestamp> {
    item.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| Timestamp::parse(t).ok())
}

fn text_at<'a>(item: &'a Value, field: &str) -> Option<&'a str> {
    item.get(field).and_then(Value::as_str)
}

fn channel_words(language: AnswerLanguage, channel: &str) -> String {
    let cs = language == AnswerLanguage::Cs;
    match (channel, cs) {
        ("VOICE", true) => "hovor",
        ("VOICE", false) => "call",
        ("CHAT", true) => "chat",
        ("CHAT", false) => "chat",
        ("EMAIL", true) => "e-mail",
        ("EMAIL", false) => "e-mail",
        ("SMS", true) => "SMS",
        ("SMS", false) => "text message",
        ("VIDEO", true) => "videohovor",
        ("VIDEO", false) => "video call",
        (_, true) => "jiný kanál",
        (_, false) => "another channel",
    }
    .to_owned()
}

fn direction_words(language: AnswerLanguage, direction: &str) -> &'static str {
    match (direction, language == AnswerLanguage::Cs) {
        ("INBOUND", true) => "od vás bance",
        ("INBOUND", false) => "from you to the bank",
        ("OUTBOUND", true) => "od banky vám",
        ("OUTBOUND", false) => "from the bank to you",
        (_, true) => "",
        (_, false) => "",
    }
}

/// What one item of `category` says, in words.
fn details(
    language: AnswerLanguage,
    w: &Words,
    zone: &TimeZone,
    name: &str,
    item: &Value,
) -> Result<String, AnswerError> {
    let cs = language == AnswerLanguage::Cs;
    let mut parts: Vec<String> = Vec::new();
    if let Some(channel) = text_at(item, "channel") {
        parts.push(channel_words(language, channel));
    }
    if let Some(direction) = text_at(item, "direction").map(|d| direction_words(language, d)) {
        if !direction.is_empty() {
            parts.push(direction.to_owned());
        }
    }
    match name {
        "communications" => {
            parts.extend(text_at(item, "title").map(str::to_owned));
            // What was said is in the attached data, not on this page (a transcript can be long).
            if text_at(item, "body").is_some_and(|body| !body.trim().is_empty()) {
                parts.push(
                    if cs {
                        "obsahuje, co bylo řečeno nebo napsáno (v příloze, pole body)"
                    } else {
                        "holds what was said or written (in the attached data, field body)"
                    }
                    .to_owned(),
                );
            }
        }
        "agentWebhookResults" => parts.extend(text_at(item, "wrapupCode").map(str::to_owned)),
        "pairings" => {
            if let Some(removed) = timestamp_at(item, "/removedAt") {
                let removed = date(w, zone, removed)?;
                parts.push(if cs {
                    format!("přiřazení zrušeno {removed}")
                } else {
                    format!("assignment withdrawn on {removed}")
                });
            }
        }
        _ => {}
    }
    Ok(parts.join(" · "))
}

/// The page for `request`'s export: its steps and the data each participant exported.
pub fn render(
    request: &Request,
    steps: &[Step],
    data: &BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    context: &Context<'_>,
    now: Timestamp,
) -> Result<String, AnswerError> {
    let language = context.language;
    let w = words(language);
    let zone = context.zone;
    let cs = language == AnswerLanguage::Cs;
    let on = |at: Timestamp| date(w, zone, at);
    let at_time = |at: Timestamp| date_time(w, zone, at);

    let mut held = Vec::new();
    let mut deliveries = Vec::new();
    for (participant, categories) in data {
        for (name, items) in categories {
            if items.is_empty() {
                continue;
            }
            if name == MANAGER_DELIVERIES {
                for item in items {
                    let (at, details) = match timestamp_at(item, "/deliveredAt") {
                        Some(at) => (at_time(at)?, if cs { "předáno" } else { "delivered" }),
                        None => (
                            String::new(),
                            if cs {
                                "předání se zkouší (systém je možná už má)"
                            } else {
                                "being delivered (the system may hold it already)"
                            },
                        ),
                    };
                    deliveries.push(Item {
                        date: at,
                        details: details.to_owned(),
                    });
                }
                continue;
            }
            let words = category(language, participant, name);
            let mut dated: Vec<(Option<Timestamp>, &Value)> = items
                .iter()
                .map(|item| (words.date_field.and_then(|f| timestamp_at(item, f)), item))
                .collect();
            dated.sort_by_key(|(at, _)| *at);
            let first = dated.iter().find_map(|(at, _)| *at);
            let last = dated.iter().rev().find_map(|(at, _)| *at);
            let period = match (first, last) {
                (Some(first), Some(last)) if on(first)? == on(last)? => on(first)?,
                (Some(first), Some(last)) => format!("{} – {}", on(first)?, on(last)?),
                _ => String::new(),
            };
            let items = dated
                .iter()
                .map(|(at, item)| {
                    Ok(Item {
                        date: at.map(at_time).transpose()?.unwrap_or_default(),
                        details: details(language, w, zone, name, item)?,
                    })
                })
                .collect::<Result<Vec<_>, AnswerError>>()?;
            held.push(Held {
                anchor: format!("{participant}-{name}"),
                name: words.name,
                description: words.description.to_owned(),
                count: items.len(),
                period,
                items,
            });
        }
    }

    let exports: Vec<&Step> = steps.iter().filter(|s| s.phase == ParticipantAction::Export).collect();
    let left_out = exports
        .iter()
        .flat_map(|step| step.left_out.iter().map(move |(name, n)| (step, name, n)))
        .filter(|(_, _, n)| **n > 0)
        .map(|(step, name, n)| format!("{}: {n}", category(language, &step.participant, name).name))
        .collect();
    let retained = context
        .kept
        .iter()
        .map(|kept| {
            let name = category(language, &kept.participant, &kept.category).name;
            let basis = basis_words(language, kept.basis);
            let since = on(kept.since)?;
            Ok(match (kept.until.map(on).transpose()?, cs) {
                (Some(until), true) => format!(
                    "{name}: {} — {basis}; výmaz jste žádali {since}; uchováváme nejméně do {until}",
                    kept.count
                ),
                (None, true) => format!(
                    "{name}: {} — {basis}; výmaz jste žádali {since}; uchováváme, dokud důvod trvá",
                    kept.count
                ),
                (Some(until), false) => format!(
                    "{name}: {} — {basis}; you asked for erasure on {since}; kept until at least {until}",
                    kept.count
                ),
                (None, false) => format!(
                    "{name}: {} — {basis}; you asked for erasure on {since}; kept while the reason lasts",
                    kept.count
                ),
            })
        })
        .collect::<Result<Vec<_>, AnswerError>>()?;
    let unchanged = context
        .unchanged
        .iter()
        .map(|kept| {
            let name = category(language, &kept.participant, &kept.category).name;
            let basis = basis_words(language, kept.basis);
            let asked = on(kept.asked)?;
            Ok(if cs {
                format!("{name}: {} — {basis}; opravu jste žádali {asked}", kept.count)
            } else {
                format!(
                    "{name}: {} — {basis}; you asked for the correction on {asked}",
                    kept.count
                )
            })
        })
        .collect::<Result<Vec<_>, AnswerError>>()?;

    let genesys = exports.iter().find(|s| s.participant == GENESYS_CLOUD);
    let genesys = match (genesys, cs) {
        (Some(step), true) if step.state == StepState::Done && !step.results_urls.is_empty() => format!(
            "Platforma kontaktního centra banky, Genesys Cloud, uchovává nahrávky a záznamy vašich kontaktů. Připravila vlastní export vašich údajů ({} soubor(y)), který vám banka předá spolu s touto odpovědí.",
            step.results_urls.len()
        ),
        (Some(step), false) if step.state == StepState::Done && !step.results_urls.is_empty() => format!(
            "The bank's contact-center platform, Genesys Cloud, holds recordings and records of your contacts. It prepared its own export of your data ({} file(s)), which the bank hands to you with this answer.",
            step.results_urls.len()
        ),
        (Some(step), true) if step.state == StepState::Done => {
            "Platforma kontaktního centra banky, Genesys Cloud, o vás nenašla žádné údaje.".to_owned()
        }
        (Some(step), false) if step.state == StepState::Done => {
            "The bank's contact-center platform, Genesys Cloud, found no data about you.".to_owned()
        }
        (_, true) => "Export z platformy Genesys Cloud nebyl dokončen; banka vám ho pošle zvlášť.".to_owned(),
        (_, false) => "Genesys Cloud's export was not finished; the bank will send it to you separately.".to_owned(),
    };
    let delivered = deliveries.iter().filter(|d| !d.date.is_empty()).count();
    let manager = match (deliveries.is_empty(), cs) {
        (true, true) => "Do systému historie komunikace banky nebyly předány žádné vaše záznamy.".to_owned(),
        (true, false) => "None of your records went to the bank's communication-history system.".to_owned(),
        (false, true) => format!(
            "Kopie záznamů vaší komunikace předáváme do systému historie komunikace banky (communication-history-manager), kde s nimi pracují pracovníci banky. Předáno: {delivered} z {}.",
            deliveries.len()
        ),
        (false, false) => format!(
            "Copies of your communication records go to the bank's communication-history system (communication-history-manager), where the bank's staff work with them. Delivered: {delivered} of {}.",
            deliveries.len()
        ),
    };

    let received = on(request.received_at)?;
    let intro = if cs {
        format!(
            "Dne {received} jste požádali banku o informaci, které vaše osobní údaje zpracovává (čl. 15 GDPR). Tato stránka uvádí vše, co o vás uchovávají systémy kontaktního centra banky (ccbridge); údaje samotné jsou v přiložených souborech."
        )
    } else {
        format!(
            "On {received} you asked the bank which of your personal data it processes (GDPR Art. 15). This page lists everything the bank's contact-center systems (ccbridge) hold about you; the data themselves are in the enclosed files."
        )
    };
    let generated = if cs {
        format!("Připraveno {}.", on(now)?)
    } else {
        format!("Prepared on {}.", on(now)?)
    };
    Ok(Page {
        w,
        intro,
        reference: request.reference.clone().unwrap_or_default(),
        received,
        answered: request
            .completed_at
            .map(on)
            .transpose()?
            .unwrap_or_else(|| w.not_yet.to_owned()),
        held,
        left_out,
        retained,
        unchanged,
        genesys,
        manager,
        deliveries,
        generated,
    }
    .render()?)
}

fn basis_words(language: AnswerLanguage, basis: LegalBasis) -> &'static str {
    match (basis, language == AnswerLanguage::Cs) {
        (LegalBasis::LegalClaims, true) => {
            "k určení, výkonu nebo obhajobě právních nároků (čl. 17 odst. 3 písm. e) GDPR)"
        }
        (LegalBasis::LegalClaims, false) => {
            "for the establishment, exercise or defence of legal claims (GDPR Art. 17(3)(e))"
        }
        (LegalBasis::LegalObligation, true) => "protože nám to ukládá zákon (čl. 17 odst. 3 písm. b) GDPR)",
        (LegalBasis::LegalObligation, false) => "because the law requires the bank to keep them (GDPR Art. 17(3)(b))",
        (LegalBasis::AuthorityRequest, true) => "na žádost příslušného orgánu veřejné moci",
        (LegalBasis::AuthorityRequest, false) => "at the request of a competent public authority",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::gdpr::{RequestStatus, RequestType};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// The description says a record may hold what was said or written, and where it is.
    fn said_where(language: AnswerLanguage) -> [&'static str; 2] {
        match language {
            AnswerLanguage::Cs => [
                "Záznam může obsahovat i to, co bylo řečeno nebo napsáno",
                "najdete to v přiloženém souboru comm-history-writer/communications.json, v poli body",
            ],
            AnswerLanguage::En => [
                "A record may also hold what was said or written",
                "it is in the attached file comm-history-writer/communications.json, in the record",
            ],
        }
    }

    /// A record with a body says so in its line.
    fn said_here(language: AnswerLanguage) -> &'static str {
        match language {
            AnswerLanguage::Cs => "obsahuje, co bylo řečeno nebo napsáno (v příloze, pole body)",
            AnswerLanguage::En => "holds what was said or written (in the attached data, field body)",
        }
    }

    #[test]
    fn dates_are_the_bank_s_calendar_days_in_the_language_s_words() {
        let zone = TimeZone::get("Europe/Prague").unwrap();
        // 23:30 UTC on 6 December is 7 December in Prague.
        assert_eq!(
            date(&CS, &zone, at("2026-12-06T23:30:00Z")).unwrap(),
            "7. prosince 2026"
        );
        assert_eq!(date(&EN, &zone, at("2026-12-06T10:00:00Z")).unwrap(), "6 December 2026");
    }

    #[test]
    fn an_item_s_time_is_the_bank_s_clock_with_its_zone() {
        let zone = TimeZone::get("Europe/Prague").unwrap();
        assert_eq!(
            date_time(&CS, &zone, at("2026-12-06T23:30:00Z")).unwrap(),
            "7. prosince 2026, 00:30 CET"
        );
        // Summer time: the zone's name says so.
        assert_eq!(
            date_time(&EN, &zone, at("2026-07-01T08:05:00Z")).unwrap(),
            "1 July 2026, 10:05 CEST"
        );
    }

    #[test]
    fn the_page_names_each_category_in_words_and_what_was_kept_with_its_basis() {
        let zone = TimeZone::get("Europe/Prague").unwrap();
        let mut request = Request::example(
            RequestType::Export,
            RequestStatus::Completed,
            at("2026-12-01T09:00:00Z"),
        );
        request.completed_at = Some(at("2026-12-02T09:00:00Z"));
        let data: BTreeMap<String, BTreeMap<String, Vec<Value>>> = [(
            COMM_HISTORY.to_owned(),
            [(
                "communications".to_owned(),
                vec![
                    serde_json::json!({ "communicatedAt": "2026-03-05T10:00:00Z", "channel": "VOICE", "direction": "INBOUND", "title": "Card <blocked>", "body": "customer: I lost my card" }),
                    serde_json::json!({ "communicatedAt": "2026-03-06T10:00:00Z", "channel": "SMS", "direction": "OUTBOUND", "title": "Reminder", "body": "" }),
                ],
            )]
            .into(),
        )]
        .into();
        let kept = vec![Kept {
            participant: COMM_HISTORY.to_owned(),
            category: "communications".to_owned(),
            basis: LegalBasis::LegalObligation,
            count: 3,
            since: at("2026-11-01T09:00:00Z"),
            until: Some(at("2031-03-05T10:00:00Z")),
        }];
        let unchanged = vec![Unchanged {
            participant: COMM_HISTORY.to_owned(),
            category: "communications".to_owned(),
            basis: LegalBasis::LegalClaims,
            count: 2,
            asked: at("2026-11-20T09:00:00Z"),
        }];
        for (language, words) in [(AnswerLanguage::Cs, &CS), (AnswerLanguage::En, &EN)] {
            let context = Context {
                language,
                zone: &zone,
                kept: kept.clone(),
                unchanged: unchanged.clone(),
            };
            let page = render(&request, &[], &data, &context, at("2026-12-02T10:00:00Z")).unwrap();
            assert!(page.contains(&format!("<html lang=\"{}\">", words.lang)), "{page}");
            assert!(page.contains(category(language, COMM_HISTORY, "communications").name.as_str()));
            assert!(page.contains(basis_words(language, LegalBasis::LegalObligation)));
            // What a correction left as evidence, and that the correction stands beside it.
            assert!(page.contains(words.unchanged_intro), "{page}");
            assert!(page.contains(basis_words(language, LegalBasis::LegalClaims)), "{page}");
            assert!(
                page.contains(&date(words, &zone, at("2026-11-20T09:00:00Z")).unwrap()),
                "{page}"
            );
            // The item's day and time of day, in the bank's zone.
            assert!(
                page.contains(&date_time(words, &zone, at("2026-03-05T10:00:00Z")).unwrap()),
                "{page}"
            );
            // A record may hold what was said or written: the page says so, and where it is.
            for words in said_where(language) {
                assert!(page.contains(words), "{page}");
            }
            assert_eq!(
                page.matches(said_here(language)).count(),
                1,
                "the record with a body, not the one without: {page}"
            );
            // The subject's own text is escaped, never markup.
            assert!(
                page.contains("Card &#60;blocked&#62;") || page.contains("Card &lt;blocked&gt;"),
                "{page}"
            );
        }
    }
}
