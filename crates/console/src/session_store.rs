//! The console's sessions on the server (`console_sessions`), as actix-session's store: the cookie
//! holds only a random session id; the table holds its SHA-256 digest (never the id), the person's
//! subject and roles, the session's state encrypted (AES-256-GCM under a key derived from
//! `console.session_key`: the provider's tokens are never stored in the clear), and when it was
//! created, last seen and ended. Every request checks the row: ended (signed out), older than
//! `console.session_minutes` or idle longer than `console.idle_minutes`, the session is over,
//! whatever cookie the browser still holds. A restart or a second replica on the same database
//! knows every session.

use crate::schema::console_sessions::{self, dsl};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use diesel::prelude::*;
use service_kit::database::sql_types::DbTimestamp;
use service_kit::database::{DatabaseError, DbPool};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The session state's key in the state map that holds the signed-in person (session.rs).
const PERSON: &str = "person";

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
struct SessionRow {
    id_digest: String,
    subject: Option<String>,
    roles: String,
    state: String,
    created_at: DbTimestamp,
    last_seen_at: DbTimestamp,
    ended_at: Option<DbTimestamp>,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// From sign-in (`console.session_minutes`).
    pub session: Duration,
    /// Since the last request (`console.idle_minutes`).
    pub idle: Duration,
}

/// The store; cheap to clone (each worker's middleware holds one).
#[derive(Clone)]
pub struct DbSessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    cipher: Aes256Gcm,
    lifetimes: Lifetimes,
}

/// The id's digest, as the table keys it.
fn digest(key: &SessionKey) -> String {
    hex::encode(sha2::Sha256::digest(key.as_ref().as_bytes()))
}

/// The person's subject and roles, for the table's own columns (the state holds them too).
fn person_columns(state: &HashMap<String, String>) -> (Option<String>, String) {
    let Some(person) = state
        .get(PERSON)
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
    else {
        return (None, String::new());
    };
    let roles = person["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    (person["subject"].as_str().map(str::to_owned), roles)
}

impl DbSessionStore {
    /// `key`: `console.session_key`'s bytes; the state's key is derived from it (apart from the
    /// cookie's own keys).
    pub fn new(pool: DbPool, key: &[u8], lifetimes: Lifetimes) -> anyhow::Result<Self> {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"ccbridge console session state\0");
        hasher.update(key);
        let cipher = Aes256Gcm::new_from_slice(&hasher.finalize())
            .map_err(|_| anyhow::anyhow!("the session state's key has the wrong length"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                cipher,
                lifetimes,
            }),
        })
    }

    fn seal(&self, id_digest: &str, state: &HashMap<String, String>) -> anyhow::Result<String> {
        let plain = serde_json::to_vec(state)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .inner
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plain,
                    aad: id_digest.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("the session state could not be sealed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    fn open(&self, id_digest: &str, sealed: &str) -> Option<HashMap<String, String>> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .inner
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: id_digest.as_bytes(),
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// Whether a session created at `created` and last seen at `last_seen` is still on at `now`.
    fn is_live(&self, created: OffsetDateTime, last_seen: OffsetDateTime, now: OffsetDateTime) -> bool {
        now < created + self.inner.lifetimes.session && now < last_seen + self.inner.lifetimes.idle
    }

    /// Ends the session with this digest (it stays in the table, without its state, until
    /// housekeeping deletes it).
    async fn end(&self, id_digest: String) -> Result<(), DatabaseError> {
        self.inner
            .pool
            .run(move |connection| {
                diesel::update(dsl::console_sessions.filter(dsl::id_digest.eq(id_digest)))
                    .filter(dsl::ended_at.is_null())
                    .set((
                        dsl::ended_at.eq(Some(DbTimestamp(OffsetDateTime::now_utc()))),
                        dsl::state.eq(""),
                    ))
                    .execute(connection)
                    .map_err(DatabaseError::from)
            })
            .await
            .map(drop)
    }

    /// Deletes ended sessions and those past their lifetime or idle time; answers how many.
    pub async fn housekeeping(&self) -> Result<usize, DatabaseError> {
        let now = OffsetDateTime::now_utc();
        let created_before = DbTimestamp(now - self.inner.lifetimes.session);
        let seen_before = DbTimestamp(now - self.inner.lifetimes.idle);
        self.inner
            .pool
            .run(move |connection| {
                diesel::delete(
                    dsl::console_sessions.filter(
                        dsl::ended_at
                            .is_not_null()
                            .or(dsl::created_at.le(created_before))
                            .or(dsl::last_seen_at.le(seen_before)),
                    ),
                )
                .execute(connection)
                .map_err(DatabaseError::from)
            })
            .await
    }

    /// Runs [`Self::housekeeping`] every `every` until shutdown.
    pub async fn keep_house(
        self,
        every: std::time::Duration,
        mut shutdown: service_kit::background::Shutdown,
        health: service_kit::background::Health,
    ) {
        loop {
            match self.housekeeping().await {
                Ok(deleted) => {
                    health.succeeded();
                    if deleted > 0 {
                        tracing::debug!(deleted, "ended and expired console sessions deleted");
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "console session housekeeping failed");
                    health.failed("the sessions could not be cleaned up");
                }
            }
            if shutdown.sleep(every).await {
                return;
            }
        }
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let id_digest = digest(session_key);
        let wanted = id_digest.clone();
        let row: Option<SessionRow> = self
            .inner
            .pool
            .run(move |connection| {
                dsl::console_sessions
                    .filter(dsl::id_digest.eq(wanted))
                    .select(SessionRow::as_select())
                    .first(connection)
                    .optional()
                    .map_err(DatabaseError::from)
            })
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some(row) = row else { return Ok(None) };
        if row.ended_at.is_some() {
            return Ok(None);
        }
        let now = OffsetDateTime::now_utc();
        let state = self
            .is_live(row.created_at.0, row.last_seen_at.0, now)
            .then(|| self.open(&id_digest, &row.state))
            .flatten();
        let Some(state) = state else {
            // Past its time (or its state no longer opens: a new session key): over for good.
            self.end(id_digest).await.map_err(|e| LoadError::Other(e.into()))?;
            return Ok(None);
        };
        let seen = id_digest;
        let touched = self
            .inner
            .pool
            .run(move |connection| {
                diesel::update(dsl::console_sessions.filter(dsl::id_digest.eq(seen)))
                    .filter(dsl::ended_at.is_null())
                    .set(dsl::last_seen_at.eq(DbTimestamp(now)))
                    .execute(connection)
                    .map_err(DatabaseError::from)
            })
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        // Ended meanwhile (signed out in another tab, another replica).
        Ok((touched == 1).then_some(state))
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        // 32 random bytes from the OS's generator, base64url.
        let id = openidconnect::CsrfToken::new_random().secret().clone();
        let key = SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()))?;
        let id_digest = digest(&key);
        let state = self
            .seal(&id_digest, &session_state)
            .map_err(SaveError::Serialization)?;
        let (subject, roles) = person_columns(&session_state);
        let now = DbTimestamp(OffsetDateTime::now_utc());
        let row = SessionRow {
            id_digest,
            subject,
            roles,
            state,
            created_at: now,
            last_seen_at: now,
            ended_at: None,
        };
        self.inner
            .pool
            .run(move |connection| {
                diesel::insert_into(dsl::console_sessions)
                    .values(&row)
                    .execute(connection)
                    .map_err(DatabaseError::from)
            })
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let id_digest = digest(&session_key);
        let state = self
            .seal(&id_digest, &session_state)
            .map_err(UpdateError::Serialization)?;
        let (subject, roles) = person_columns(&session_state);
        let updated = self
            .inner
            .pool
            .run(move |connection| {
                diesel::update(dsl::console_sessions.filter(dsl::id_digest.eq(id_digest)))
                    .filter(dsl::ended_at.is_null())
                    .set((dsl::state.eq(state), dsl::subject.eq(subject), dsl::roles.eq(roles)))
                    .execute(connection)
                    .map_err(DatabaseError::from)
            })
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated == 1 {
            Ok(session_key)
        } else {
            // Ended while this request ran: it is not brought back.
            Err(UpdateError::Other(anyhow::anyhow!(
                "the session ended while the request ran"
            )))
        }
    }

    async fn update_ttl(&self, _session_key: &SessionKey, _ttl: &CookieDuration) -> Result<(), anyhow::Error> {
        // Lifetimes are the table's (created_at, last_seen_at), checked on every load.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        self.end(digest(session_key)).await.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::person_columns;
    use std::collections::HashMap;

    #[test]
    fn the_tables_columns_hold_the_persons_subject_and_roles_and_nothing_while_signing_in() {
        let mut state = HashMap::new();
        assert_eq!(person_columns(&state), (None, String::new()));
        state.insert(
            "person".to_owned(),
            r#"{"subject":"s-1","name":"N","roles":["dpo","operator"],"csrf":"x","development":false}"#.to_owned(),
        );
        assert_eq!(
            person_columns(&state),
            (Some("s-1".to_owned()), "dpo operator".to_owned())
        );
    }
}
