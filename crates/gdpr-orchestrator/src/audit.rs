//! The audit log: who did what to which request, when, with counts and states, never
//! identifiers. Append-only (database triggers refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE;
//! the services' runtime role may not alter the table either), and each request's entries form a
//! chain keyed with `gdpr.audit_key`: entry n holds an HMAC over entry n-1's and its own fields,
//! so an edit made around the triggers, even with the chain recomputed, does not verify without
//! the key. Entries written before the chain was keyed (migration 000003) keep their plain SHA-256
//! links, accepted only from before that migration.

use crate::schema::{gdpr_audit_keying, gdpr_audit_log};
use diesel::prelude::*;
use domain::Timestamp;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The key of the audit chain, checked once at start.
#[derive(Clone)]
pub struct AuditKey(Hmac<Sha256>);

impl AuditKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map(Self)
            .map_err(|_| "gdpr.audit_key: not usable as an HMAC key".to_owned())
    }
}

/// Who an entry is by: the person, and the client they came through.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The person's subject at the identity provider (in development the name a delegating
    /// client gave), or the client itself when it acts for no person.
    pub person: &'a str,
    /// The person's display name, as the identity provider gives it; none for a client acting
    /// as itself.
    pub name: Option<&'a str>,
    pub caller: &'a str,
}

/// The orchestrator's own work (its worker).
pub const ORCHESTRATOR: Actor<'static> = Actor {
    person: "orchestrator",
    name: None,
    caller: "gdpr-orchestrator",
};

use contracts::gdpr::{AuditEntry, AuditTrail};

/// What an entry's link covers.
struct ChainedEntry<'a> {
    id: Uuid,
    request_id: Uuid,
    sequence: i32,
    at: Timestamp,
    actor: &'a str,
    actor_name: Option<&'a str>,
    caller: Option<&'a str>,
    event: &'a str,
    detail: &'a str,
}

impl ChainedEntry<'_> {
    /// Every field, each length-prefixed so no two different entries read alike.
    fn parts<'s>(
        &'s self,
        previous: &'s str,
        id: &'s str,
        request_id: &'s str,
        sequence: &'s str,
        at: &'s str,
    ) -> Vec<&'s str> {
        vec![
            previous,
            id,
            request_id,
            sequence,
            at,
            self.actor,
            self.event,
            self.detail,
        ]
    }

    fn feed(parts: &[&str], mut update: impl FnMut(&[u8])) {
        for part in parts {
            update(&(part.len() as u64).to_be_bytes());
            update(part.as_bytes());
        }
    }

    /// The keyed link: an HMAC over the previous link, every field and the caller.
    fn keyed_link(&self, key: &AuditKey, previous: &str) -> String {
        let (id, request_id, sequence, at) = (
            self.id.to_string(),
            self.request_id.to_string(),
            self.sequence.to_string(),
            self.at.to_string(),
        );
        let mut mac = key.0.clone();
        let mut parts = self.parts(previous, &id, &request_id, &sequence, &at);
        parts.push(self.caller.unwrap_or(""));
        // Entries before names were recorded have none, and keep their links.
        if let Some(name) = self.actor_name {
            parts.push(name);
        }
        Self::feed(&parts, |bytes| mac.update(bytes));
        hex::encode(mac.finalize().into_bytes())
    }

    /// The link entries had before the chain was keyed: plain SHA-256, no caller.
    fn plain_link(&self, previous: &str) -> String {
        let (id, request_id, sequence, at) = (
            self.id.to_string(),
            self.request_id.to_string(),
            self.sequence.to_string(),
            self.at.to_string(),
        );
        let mut hasher = Sha256::new();
        Self::feed(&self.parts(previous, &id, &request_id, &sequence, &at), |bytes| {
            hasher.update(bytes)
        });
        hex::encode(hasher.finalize())
    }
}

/// Appends an entry to the request's audit chain. Callers hold the request's row (they changed
/// it in the same transaction), so appends to one chain never race; the unique
/// `(request_id, sequence)` index would refuse a fork anyway.
pub fn audit(
    connection: &mut AnyConnection,
    key: &AuditKey,
    request_id: Uuid,
    actor: Actor<'_>,
    event: &str,
    detail: &serde_json::Value,
    now: Timestamp,
) -> QueryResult<()> {
    use gdpr_audit_log::dsl;
    let last: Option<(Option<i32>, Option<String>)> = dsl::gdpr_audit_log
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .filter(dsl::sequence.is_not_null())
        .order(dsl::sequence.desc())
        .select((dsl::sequence, dsl::entry_hash))
        .first(connection)
        .optional()?;
    let (sequence, previous) = match last {
        Some((Some(sequence), Some(hash))) => (sequence + 1, hash),
        Some(_) => {
            return Err(diesel::result::Error::DeserializationError(
                "gdpr_audit_log: the chain's last entry has no link".into(),
            ))
        }
        None => (1, String::new()),
    };
    let id = Uuid::now_v7();
    let detail = crate::store::to_json(detail)?;
    let link = ChainedEntry {
        id,
        request_id,
        sequence,
        at: now,
        actor: actor.person,
        actor_name: actor.name,
        caller: Some(actor.caller),
        event,
        detail: &detail,
    }
    .keyed_link(key, &previous);
    diesel::insert_into(dsl::gdpr_audit_log)
        .values((
            dsl::id.eq(DbUuid(id)),
            dsl::request_id.eq(DbUuid(request_id)),
            dsl::at.eq(DbTimestamp::from(now)),
            dsl::actor.eq(actor.person),
            dsl::actor_name.eq(actor.name),
            dsl::caller.eq(Some(actor.caller)),
            dsl::event.eq(event),
            dsl::detail.eq(&detail),
            dsl::sequence.eq(Some(sequence)),
            dsl::previous_hash.eq(Some(previous)),
            dsl::entry_hash.eq(Some(link)),
            dsl::keyed.eq(true),
        ))
        .execute(connection)
        .map(drop)
}

type Row = (
    DbUuid,
    DbUuid,
    DbTimestamp,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<i32>,
    Option<String>,
    Option<String>,
    bool,
);

/// The request's audit log, oldest first, with its chain verified.
pub fn audit_log(connection: &mut AnyConnection, key: &AuditKey, request_id: Uuid) -> QueryResult<AuditTrail> {
    use gdpr_audit_log::dsl;
    let keyed_since = gdpr_audit_keying::table
        .select(gdpr_audit_keying::keyed_since)
        .first::<DbTimestamp>(connection)?
        .into_domain()?;
    let rows: Vec<Row> = dsl::gdpr_audit_log
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order((dsl::sequence, dsl::at, dsl::id))
        .select((
            dsl::id,
            dsl::request_id,
            dsl::at,
            dsl::actor,
            dsl::actor_name,
            dsl::caller,
            dsl::event,
            dsl::detail,
            dsl::sequence,
            dsl::previous_hash,
            dsl::entry_hash,
            dsl::keyed,
        ))
        .load(connection)?;
    let mut verified = true;
    let mut expected_previous = String::new();
    let mut seen_keyed = false;
    let mut entries = Vec::with_capacity(rows.len());
    let mut head = None;
    for (expected_sequence, row) in (1..).zip(rows) {
        let (id, request, at, actor, actor_name, caller, event, detail, sequence, previous, hash, keyed) = row;
        let at = at.into_domain()?;
        let recomputed = sequence.map(|sequence| {
            let entry = ChainedEntry {
                id: id.0,
                request_id: request.0,
                sequence,
                at,
                actor: &actor,
                actor_name: actor_name.as_deref(),
                caller: caller.as_deref(),
                event: &event,
                detail: &detail,
            };
            let previous = previous.as_deref().unwrap_or("");
            if keyed {
                entry.keyed_link(key, previous)
            } else {
                entry.plain_link(previous)
            }
        });
        // An unkeyed link is accepted only where the chain was not keyed yet.
        let plain_allowed = !keyed && !seen_keyed && at < keyed_since;
        seen_keyed |= keyed;
        verified &= sequence == Some(expected_sequence)
            && previous.as_deref() == Some(expected_previous.as_str())
            && hash.is_some()
            && recomputed == hash
            && (keyed || plain_allowed);
        expected_previous = hash.clone().unwrap_or_default();
        head = hash;
        entries.push(AuditEntry {
            id: id.0,
            request_id: request.0,
            at,
            actor,
            actor_name,
            caller,
            event,
            detail: serde_json::from_str(&detail).map_err(|e| {
                diesel::result::Error::DeserializationError(format!("gdpr_audit_log.detail: {e}").into())
            })?,
        });
    }
    Ok(AuditTrail {
        entries,
        chain_verified: verified,
        head,
    })
}
