//! The content queue's job: a record's content fetched through the gateway and set as its body at
//! the writer. Content not there yet is asked for again with the queue's backoff until
//! `ingest.content.wait_for` has passed since the record was written, then the job ends without a
//! body (counted `none`, not a dead letter). A writer's refusal (a FORGET holds the record, or it
//! is gone) ends it too (`refused`); a RESTRICT does not: a job whose record's events result-ingest
//! holds is parked at its claim (no claim reads it again) and woken once the hold is lifted; one
//! the writer alone answers `record-restricted` is asked again after `wait_for`. The body comes
//! after the lift. Failures of the gateway or the writer are the queue's:
//! retried under its budget, then a dead letter. The text is held in memory for the two calls
//! only, and never logged.

use super::body::body_of;
use super::calls::{ContentCalls, Fetched, Written};
use super::metrics::{ContentMetrics, Ended};
use super::queue::{self, ContentEntry};
use super::settings::ContentSettings;
use domain::{BoundedText, Timestamp};
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::{Claimed, Job, Outcome, Reason};
use std::time::Duration;

/// Done jobs removed at a housekeeping round, at most.
const REMOVAL_CHUNK: i64 = 1000;

pub struct ContentJob {
    pub(super) pool: DbPool,
    pub(super) calls: ContentCalls,
    pub(super) settings: ContentSettings,
    pub(super) metrics: ContentMetrics,
    /// Done jobs are kept this long (`ingest.retention_days`, as the inbox's events): an inbox
    /// batch run again within it finds its records' jobs and queues none anew.
    pub(super) keep_done: Duration,
    /// The queue's least backoff: how long jobs given back untried wait when the gateway said
    /// no `Retry-After`.
    pub(super) least_backoff: Duration,
}

impl ContentJob {
    pub const fn metrics(&self) -> &ContentMetrics {
        &self.metrics
    }

    fn ended(&self, outcome: Ended) -> Outcome {
        self.metrics.count(outcome);
        Outcome::Done
    }

    /// Not there yet: asked again after the backoff while `wait_for` has not passed since the
    /// record; then the end, without a body.
    fn not_yet(&self, entry: &ContentEntry, now: Timestamp) -> Outcome {
        let waited = now.as_offset_date_time() - entry.queued_at.as_offset_date_time();
        if waited >= self.settings.wait_for.0 {
            self.ended(Ended::None)
        } else {
            Outcome::retry(Reason::new("no content in Genesys yet"))
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Ended(Outcome),
    /// The gateway had no Genesys request to spare: nothing was asked of Genesys.
    Busy {
        reason: Reason,
        after: Option<Duration>,
    },
}

impl ContentJob {
    #[tracing::instrument(name = "content job", skip_all, fields(record_id = %entry.id, attempt = entry.attempts.get()))]
    async fn attempt(&self, entry: &Claimed<ContentEntry>, now: Timestamp) -> anyhow::Result<Attempt> {
        let item = &entry.item;
        let content = match self.calls.content_of(item.interaction_id).await {
            Ok(Fetched::Content(content)) => content,
            Ok(Fetched::NotYet) => return Ok(Attempt::Ended(self.not_yet(item, now))),
            Ok(Fetched::Busy { reason, after }) => return Ok(Attempt::Busy { reason, after }),
            Err(failed) => return Ok(Attempt::Ended(failed)),
        };
        let Some(body) = body_of(&content, item.channel, self.settings.max_body_chars) else {
            return Ok(Attempt::Ended(self.not_yet(item, now)));
        };
        drop(content);
        // Within the record's bound by the settings' (validated); a text off it is this side's fault.
        let body = BoundedText::<0, 100_000>::parse(&body)
            .map_err(|problem| anyhow::anyhow!("a body cut to its size is not a record's body: {problem}"))?;
        Ok(Attempt::Ended(match self.calls.set_body(item.record_id, body).await {
            Ok(Written::Set) => self.ended(Ended::Added),
            Ok(Written::Refused) => self.ended(Ended::Refused),
            // Restricted after the claim (the claim leaves out the jobs of events a GDPR request
            // holds here): not the end, asked again once the restriction may be lifted.
            Ok(Written::Restricted) => Outcome::Postpone {
                after: self.settings.wait_for.0,
            },
            Err(failed) => failed,
        }))
    }
}

impl Job for ContentJob {
    type Item = ContentEntry;

    async fn run(&self, entry: &Claimed<ContentEntry>, now: Timestamp) -> anyhow::Result<Outcome> {
        Ok(match self.attempt(entry, now).await? {
            Attempt::Ended(outcome) => outcome,
            Attempt::Busy { reason, after } => Outcome::Retry { reason, after },
        })
    }

    /// The batch's first job alone, then the others at once: when the gateway has no request to
    /// spare for the first (its content share spent), the others are given back untried until its
    /// `Retry-After` (or the backoff's least), so a spent budget costs one call a batch, not one a
    /// job.
    async fn run_batch(&self, entries: &[Claimed<ContentEntry>], now: Timestamp) -> Vec<anyhow::Result<Outcome>> {
        let Some((first, others)) = entries.split_first() else {
            return Vec::new();
        };
        let mut outcomes = Vec::with_capacity(entries.len());
        match self.attempt(first, now).await {
            Ok(Attempt::Busy { reason, after }) => {
                let wait = after.unwrap_or(self.least_backoff);
                outcomes.push(Ok(Outcome::Retry { reason, after }));
                outcomes.extend(others.iter().map(|_| Ok(Outcome::Postpone { after: wait })));
                return outcomes;
            }
            Ok(Attempt::Ended(outcome)) => outcomes.push(Ok(outcome)),
            Err(error) => outcomes.push(Err(error)),
        }
        outcomes.extend(futures_util::future::join_all(others.iter().map(|entry| self.run(entry, now))).await);
        outcomes
    }

    /// Parked jobs whose hold is gone are woken (the lift wakes them; this catches one parked
    /// by a claim that overlapped the lift); done jobs past `ingest.retention_days` go (the
    /// runner deletes dead ones past theirs).
    async fn housekeeping(&self, now: Timestamp) -> anyhow::Result<()> {
        let before = Timestamp::from_offset_date_time(now.as_offset_date_time() - self.keep_done)
            .ok_or_else(|| anyhow::anyhow!("the content jobs' retention reaches before year 1"))?;
        let (woken, removed) = self
            .pool
            .run(move |c| {
                let woken = queue::wake_released(c, now).map_err(DatabaseError::from)?;
                let removed = queue::remove_done_before(c, before, REMOVAL_CHUNK).map_err(DatabaseError::from)?;
                Ok::<_, DatabaseError>((woken, removed))
            })
            .await?;
        if woken > 0 {
            tracing::info!(woken, "content jobs woken: their hold was lifted");
        }
        if removed > 0 {
            tracing::info!(removed, "done content jobs past retention removed");
        }
        Ok(())
    }
}
