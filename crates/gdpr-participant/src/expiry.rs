//! Age-based clean-ups that see legal holds (issue #30's retention schedule): rows past their
//! retention are erased only once gdpr-orchestrator has said which legal holds are in force and
//! which statutory rules apply (`GET /internal/gdpr/retentions`, scope `gdpr:retentions`): what
//! one of them covers is kept, exactly as at a FORGET's purge ([`crate::retention::covered`]).
//! When the orchestrator cannot be asked (no token set, unreachable, refused), nothing expires:
//! never without knowing the holds.
//!
//! [`RetentionSource`] asks; [`kept`] splits a batch's candidates; [`Walk`] is the usual round:
//! rows past their retention oldest first, a batch at a time, each batch asking again (a hold
//! placed during a round reaches its next batch), from where the last round stopped (the kept
//! rows, always the oldest, never stall those behind them).

use crate::holds::{Filter, HeldTable};
use crate::retention::{covered, Retain};
use crate::Reach;
use contracts::legal_hold::LegalBasis;
use contracts::participant::{Retentions, StatutoryRule, RETENTIONS_ROUTE};
use contracts::Client;
use diesel::QueryResult;
use domain::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{write_transaction, AnyConnection, DatabaseError, DbPool};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// Where a service asks gdpr-orchestrator for the legal holds in force and the statutory rules.
pub struct RetentionSource {
    /// `None`: no token set, so nothing ever expires.
    client: Option<Client>,
    /// The token's setting (`records.orchestrator_token`), for the log.
    token_key: &'static str,
}

impl RetentionSource {
    /// Asks the orchestrator at `url` with `token`; an empty token is none (`token_key` names its
    /// setting in the log).
    pub fn new(url: &Url, token: &SecretString, token_key: &'static str) -> anyhow::Result<Self> {
        let token = token.expose_secret().trim();
        let client = if token.is_empty() {
            None
        } else {
            let http = service_kit::telemetry::http_client(Duration::from_secs(30))?;
            Some(Client::new(http, url.clone()).with_token(SecretString::from(token.to_owned())))
        };
        Ok(Self { client, token_key })
    }

    /// The holds in force and the rules, or `None` when they cannot be known (logged without
    /// identifiers: the status at most).
    pub async fn fetch(&self) -> Option<Retentions> {
        let Some(client) = &self.client else {
            tracing::warn!(
                setting = self.token_key,
                "the orchestrator token is not set: nothing past its retention is erased"
            );
            return None;
        };
        match client.get(RETENTIONS_ROUTE).send::<Retentions>().await {
            Ok(retentions) => Some(retentions),
            Err(error) => {
                let status = error.status().map(|status| status.as_u16());
                tracing::warn!(
                    status,
                    "gdpr-orchestrator could not be asked for the legal holds in force: nothing past its retention is erased this round"
                );
                None
            }
        }
    }
}

impl RetentionSource {
    /// Of `ids` (`T`'s rows past their retention), those a legal hold or a statutory rule in
    /// force keeps at `now` (`covers`: what a hold's reach finds; no rule is about `T`'s rows);
    /// `None` when the orchestrator cannot be asked (nothing may go).
    pub async fn keep<T: HeldTable + 'static>(
        &self,
        pool: &DbPool,
        ids: &[Uuid],
        now: Timestamp,
        covers: fn(&Reach<'_>) -> Filter<T::Table>,
    ) -> Result<Option<BTreeSet<Uuid>>, DatabaseError> {
        let Some(retentions) = self.fetch().await else {
            return Ok(None);
        };
        let ids = ids.to_vec();
        let kept = pool
            .run(move |c| kept::<T>(c, &retentions, now, &ids, covers, |_| None).map_err(DatabaseError::from))
            .await?;
        Ok(Some(kept.into_keys().collect()))
    }
}

/// Of `candidates` (ids of `T`'s rows past their retention), those a legal hold in `retentions`
/// or one of its statutory rules keeps at `now`, with the basis: what a purge would keep
/// ([`covered`]: `covers` is what a hold's reach finds, `ruled` the conditions a rule sets on
/// `T`'s rows, `None` when it is about none).
pub fn kept<T: HeldTable>(
    connection: &mut AnyConnection,
    retentions: &Retentions,
    now: Timestamp,
    candidates: &[Uuid],
    covers: impl Fn(&Reach<'_>) -> Filter<T::Table>,
    ruled: impl Fn(&StatutoryRule) -> Option<Vec<Filter<T::Table>>>,
) -> QueryResult<BTreeMap<Uuid, LegalBasis>> {
    // A hold's handles keep rows whoever they belong to; nobody is attributed elsewhere here.
    let nobody_elsewhere = BTreeSet::new();
    let retain: Vec<Retain<'_>> = retentions
        .holds
        .iter()
        .map(|hold| Retain {
            reach: Reach {
                subject: &hold.subject,
                attributed_elsewhere: &nobody_elsewhere,
            },
            interactions: &hold.interaction_ids,
            window: hold.window,
            basis: hold.basis,
        })
        .collect();
    Ok(covered::<T>(connection, &retain, &retentions.rules, now, candidates, covers, ruled)?.kept)
}

/// Where a walk is: the last row of the last batch, by (its time, its id).
pub type Position = (DbTimestamp, DbUuid);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Rows erased.
    pub expired: u64,
    /// Rows past their retention a legal hold or a statutory rule kept.
    pub kept: u64,
}

/// Why a round stopped short.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Nothing more expired: the holds in force are not known. What went before is in `done`.
    #[error("gdpr-orchestrator could not be asked for the legal holds in force; nothing more expired")]
    Unasked { done: Swept },
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

/// A table's rows past their retention, walked oldest first by [`Position`], a batch at a time.
pub struct Walk<T> {
    /// Rows looked at (and erased at most) a batch, and batches a round at most.
    batch: i64,
    batches: usize,
    cursor: Mutex<Option<Position>>,
    table: std::marker::PhantomData<fn() -> T>,
}

impl<T: HeldTable + 'static> Walk<T> {
    pub fn new(batch: i64, batches: usize) -> Self {
        Self {
            batch,
            batches,
            cursor: Mutex::new(None),
            table: std::marker::PhantomData,
        }
    }

    /// One round at `now`: `past` lists up to a batch of rows past their retention after a
    /// position, oldest first (none a GDPR request holds); `source` is asked before each batch
    /// that has candidates; what a hold's reach finds (`covers`) is kept, and `delete` erases the
    /// rest (checking again that no GDPR request holds them), each batch in its own write
    /// transaction.
    pub async fn round<P, D>(
        &self,
        pool: &DbPool,
        source: &RetentionSource,
        now: Timestamp,
        past: P,
        covers: fn(&Reach<'_>) -> Filter<T::Table>,
        delete: D,
    ) -> Result<Swept, SweepError>
    where
        P: Fn(&mut AnyConnection, Option<Position>, i64) -> QueryResult<Vec<Position>> + Clone + Send + 'static,
        D: Fn(&mut AnyConnection, Vec<DbUuid>) -> QueryResult<usize> + Clone + Send + 'static,
    {
        let mut done = Swept::default();
        for _ in 0..self.batches {
            let after = *self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
            let (list, limit) = (past.clone(), self.batch);
            let page = pool
                .run(move |c| list(c, after, limit).map_err(DatabaseError::from))
                .await?;
            let last = (i64::try_from(page.len()).unwrap_or(i64::MAX) >= self.batch)
                .then(|| page.last().copied())
                .flatten();
            if !page.is_empty() {
                let Some(retentions) = source.fetch().await else {
                    return Err(SweepError::Unasked { done });
                };
                let candidates: Vec<Uuid> = page.iter().map(|(_, id)| id.0).collect();
                let delete = delete.clone();
                let (expired, kept) = pool
                    .run(move |c| {
                        write_transaction(c, |c| {
                            let kept = kept::<T>(c, &retentions, now, &candidates, covers, |_| None)?;
                            let expire: Vec<DbUuid> = candidates
                                .iter()
                                .filter(|id| !kept.contains_key(id))
                                .map(|&id| DbUuid(id))
                                .collect();
                            Ok::<_, diesel::result::Error>((delete(c, expire)?, kept.len()))
                        })
                        .map_err(DatabaseError::from)
                    })
                    .await?;
                done.expired += count(expired);
                done.kept += count(kept);
            }
            *self.cursor.lock().unwrap_or_else(PoisonError::into_inner) = last;
            if last.is_none() {
                break;
            }
        }
        Ok(done)
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
