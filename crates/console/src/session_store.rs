//! The console's sessions on the server (`console_sessions`), as actix-session's store: the cookie
//! holds only a random session id; the table holds its SHA-256 digest (never the id), the session's
//! state encrypted (AES-256-GCM under a key derived from `console.session_key`: the person and the
//! provider's tokens are never stored in the clear), whether a person is signed in, the state's
//! generation, until when one request holds the renewal of the provider's tokens, and when it was
//! created, last seen and ended. Every request checks the row: ended (signed out), older than
//! `console.session_minutes`, idle longer than `console.idle_minutes`, or a sign-in under way
//! older than [`SIGN_IN_MINUTES`], the session is over, whatever cookie the browser still holds. A
//! restart or a second replica on the same database knows every session.
//!
//! Renewals are serialised per session by a compare-and-set on the row ([`DbSessionStore::claim_renewal`]):
//! the request that sets `renewing_until` on the generation it loaded renews; the others use the
//! still-valid access token or wait for the winner's write ([`DbSessionStore::renewed_elsewhere`]).
//! A write of a request that did not renew keeps the person and tokens a renewal wrote meanwhile.

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
/// The state's key of the provider's tokens (session.rs).
const TOKENS: &str = "provider_tokens";
/// The entry [`SessionStore::load`] adds to the state: the row and the generation loaded
/// ([`RowRef`]); never written.
pub const ROW: &str = "_row";
/// The entry the renewal adds once it renewed the tokens: the write ends its hold; never written.
pub const RENEWED: &str = "_renewed";

/// A session's row stays this long while nobody has signed in on it (a sign-in under way).
pub const SIGN_IN_MINUTES: i64 = 10;
/// How long a request holds the renewal before another may take it over (the provider's
/// answer is awaited for at most 10 s).
const RENEWAL_HOLD: Duration = Duration::seconds(30);

/// The query a page's own refresh carries (a count's page, routes/gdpr/filing.rs): such a request
/// is not the person's activity, so it does not hold the session open past `console.idle_minutes`.
pub const PASSIVE_QUERY: &str = "refresh=auto";

tokio::task_local! {
    /// Set while a request that is not the person's activity is handled: its load does not move
    /// `last_seen_at`.
    static PASSIVE: bool;
}

/// Middleware (outside the sessions'): marks a request carrying [`PASSIVE_QUERY`] as passive.
pub async fn passive(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let passive = request.query_string().split('&').any(|pair| pair == PASSIVE_QUERY);
    PASSIVE.scope(passive, next.call(request)).await
}

/// Which row a request loaded, at which generation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RowRef {
    digest: String,
    generation: i64,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
struct SessionRow {
    id_digest: String,
    state: String,
    created_at: DbTimestamp,
    last_seen_at: DbTimestamp,
    ended_at: Option<DbTimestamp>,
    signed_in: bool,
    generation: i64,
    renewing_until: Option<DbTimestamp>,
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

/// Takes the entries a load added out of a state about to be written: the row loaded (if any) and
/// whether this request renewed the tokens.
fn take_marks(state: &mut HashMap<String, String>) -> (Option<RowRef>, bool) {
    let row = state
        .remove(ROW)
        .and_then(|json| serde_json::from_str::<RowRef>(&json).ok());
    (row, state.remove(RENEWED).is_some())
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

    /// Whether a session row is still on at `now`.
    fn is_live(&self, row: &SessionRow, now: OffsetDateTime) -> bool {
        let lifetime = if row.signed_in {
            self.inner.lifetimes.session
        } else {
            Duration::minutes(SIGN_IN_MINUTES)
        };
        now < row.created_at.0 + lifetime && now < row.last_seen_at.0 + self.inner.lifetimes.idle
    }

    async fn row(&self, id_digest: String) -> Result<Option<SessionRow>, DatabaseError> {
        self.inner
            .pool
            .run(move |connection| {
                dsl::console_sessions
                    .filter(dsl::id_digest.eq(id_digest))
                    .select(SessionRow::as_select())
                    .first(connection)
                    .optional()
                    .map_err(DatabaseError::from)
            })
            .await
    }

    /// Takes the renewal of the session's tokens for this request: true when it set
    /// `renewing_until` on the generation it loaded and nobody holds the renewal; false when
    /// another request holds it or wrote the session since.
    pub async fn claim_renewal(&self, row: &RowRef) -> Result<bool, DatabaseError> {
        let (digest, generation) = (row.digest.clone(), row.generation);
        let now = OffsetDateTime::now_utc();
        self.inner
            .pool
            .run(move |connection| {
                diesel::update(dsl::console_sessions.filter(dsl::id_digest.eq(digest)))
                    .filter(dsl::generation.eq(generation))
                    .filter(dsl::ended_at.is_null())
                    .filter(
                        dsl::renewing_until
                            .is_null()
                            .or(dsl::renewing_until.le(DbTimestamp(now))),
                    )
                    .set(dsl::renewing_until.eq(Some(DbTimestamp(now + RENEWAL_HOLD))))
                    .execute(connection)
                    .map_err(DatabaseError::from)
            })
            .await
            .map(|claimed| claimed == 1)
    }

    /// After another request took the renewal: waits (polling the row, at most the hold) until it
    /// wrote the session, and answers the state it wrote; `None` when the session ended meanwhile
    /// (the renewal failed) or nobody wrote it in time.
    pub async fn renewed_elsewhere(&self, row: &RowRef) -> Result<Option<HashMap<String, String>>, DatabaseError> {
        let deadline = OffsetDateTime::now_utc() + RENEWAL_HOLD;
        loop {
            let Some(current) = self.row(row.digest.clone()).await? else {
                return Ok(None);
            };
            if current.ended_at.is_some() {
                return Ok(None);
            }
            let now = OffsetDateTime::now_utc();
            let held = current.renewing_until.is_some_and(|until| until.0 > now);
            if !held && current.generation != row.generation {
                return Ok(self.open(&row.digest, &current.state));
            }
            if !held || now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
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
        let sign_in_started_before = DbTimestamp(now - Duration::minutes(SIGN_IN_MINUTES));
        self.inner
            .pool
            .run(move |connection| {
                diesel::delete(
                    dsl::console_sessions.filter(
                        dsl::ended_at
                            .is_not_null()
                            .or(dsl::created_at.le(created_before))
                            .or(dsl::last_seen_at.le(seen_before))
                            .or(dsl::signed_in.eq(false).and(dsl::created_at.le(sign_in_started_before))),
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
        let row = self
            .row(id_digest.clone())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some(row) = row else { return Ok(None) };
        if row.ended_at.is_some() {
            return Ok(None);
        }
        let now = OffsetDateTime::now_utc();
        let state = self
            .is_live(&row, now)
            .then(|| self.open(&id_digest, &row.state))
            .flatten();
        let Some(mut state) = state else {
            // Past its time (or its state no longer opens: a new session key): over for good.
            self.end(id_digest).await.map_err(|e| LoadError::Other(e.into()))?;
            return Ok(None);
        };
        let seen = id_digest.clone();
        let passive = PASSIVE.try_with(|passive| *passive).unwrap_or(false);
        let touched = self
            .inner
            .pool
            .run(move |connection| {
                let live = dsl::console_sessions
                    .filter(dsl::id_digest.eq(seen))
                    .filter(dsl::ended_at.is_null());
                if passive {
                    // Still on, not seen: the count is only that it is still there.
                    live.count().get_result::<i64>(connection).map(|n| usize::from(n > 0))
                } else {
                    diesel::update(live)
                        .set(dsl::last_seen_at.eq(DbTimestamp(now)))
                        .execute(connection)
                }
                .map_err(DatabaseError::from)
            })
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let loaded = RowRef {
            digest: id_digest,
            generation: row.generation,
        };
        state.insert(
            ROW.to_owned(),
            serde_json::to_string(&loaded).map_err(|e| LoadError::Other(e.into()))?,
        );
        // Ended meanwhile (signed out in another tab, another replica).
        Ok((touched == 1).then_some(state))
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        // 32 random bytes from the OS's generator, base64url.
        let mut session_state = session_state;
        // A state carried over from another session (the id changes at sign-in) names that row.
        take_marks(&mut session_state);
        let id = openidconnect::CsrfToken::new_random().secret().clone();
        let key = SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()))?;
        let id_digest = digest(&key);
        let state = self
            .seal(&id_digest, &session_state)
            .map_err(SaveError::Serialization)?;
        let now = DbTimestamp(OffsetDateTime::now_utc());
        let row = SessionRow {
            id_digest,
            signed_in: session_state.contains_key(PERSON),
            state,
            created_at: now,
            last_seen_at: now,
            ended_at: None,
            generation: 0,
            renewing_until: None,
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
        let mut session_state = session_state;
        let (loaded, renewed) = take_marks(&mut session_state);
        let id_digest = digest(&session_key);
        let ended = || UpdateError::Other(anyhow::anyhow!("the session ended while the request ran"));
        // A compare-and-set on the generation; retried when another request wrote in between.
        for _ in 0..5 {
            let current = self
                .row(id_digest.clone())
                .await
                .map_err(|e| UpdateError::Other(e.into()))?
                .filter(|row| row.ended_at.is_none())
                // Ended while this request ran: it is not brought back.
                .ok_or_else(ended)?;
            let mut state = session_state.clone();
            let written_since = loaded
                .as_ref()
                .is_some_and(|loaded| loaded.generation != current.generation);
            if written_since && !renewed {
                // Another request wrote meanwhile, perhaps renewed tokens: the person and tokens
                // it wrote stay (this request's are the older ones).
                if let Some(theirs) = self.open(&id_digest, &current.state) {
                    for key in [PERSON, TOKENS] {
                        match theirs.get(key) {
                            Some(value) => state.insert(key.to_owned(), value.clone()),
                            None => state.remove(key),
                        };
                    }
                }
            }
            let sealed = self.seal(&id_digest, &state).map_err(UpdateError::Serialization)?;
            let signed_in = state.contains_key(PERSON);
            let (digest, generation) = (id_digest.clone(), current.generation);
            let renewing_until = if renewed { None } else { current.renewing_until };
            let updated = self
                .inner
                .pool
                .run(move |connection| {
                    diesel::update(dsl::console_sessions.filter(dsl::id_digest.eq(digest)))
                        .filter(dsl::ended_at.is_null())
                        .filter(dsl::generation.eq(generation))
                        .set((
                            dsl::state.eq(sealed),
                            dsl::signed_in.eq(signed_in),
                            dsl::generation.eq(generation + 1),
                            dsl::renewing_until.eq(renewing_until),
                        ))
                        .execute(connection)
                        .map_err(DatabaseError::from)
                })
                .await
                .map_err(|e| UpdateError::Other(e.into()))?;
            if updated == 1 {
                return Ok(session_key);
            }
        }
        Err(UpdateError::Other(anyhow::anyhow!(
            "the session was written by other requests too often meanwhile"
        )))
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
    use super::{take_marks, RowRef, RENEWED, ROW};
    use std::collections::HashMap;

    #[test]
    fn the_marks_a_load_adds_are_never_written() {
        let mut state = HashMap::new();
        state.insert("person".to_owned(), "{}".to_owned());
        state.insert(
            ROW.to_owned(),
            serde_json::to_string(&RowRef {
                digest: "d".to_owned(),
                generation: 3,
            })
            .unwrap(),
        );
        state.insert(RENEWED.to_owned(), "true".to_owned());
        let (row, renewed) = take_marks(&mut state);
        assert_eq!(row.unwrap().generation, 3);
        assert!(renewed);
        assert_eq!(state.keys().collect::<Vec<_>>(), ["person"]);
    }
}
