//! What was said or written, added to a record's body after the record is written: for the
//! channels `ingest.content.channels` names (off by default), the transcript Genesys Speech and
//! Text Analytics made of a voice call, a chat or a message, or an e-mail's text.
//!
//! The inbox's job writes the records of a batch, then queues a content job for each record of
//! a channel whose content is on ([`Enqueuer::enqueue`]: one statement a batch, keyed by the
//! record, so a batch run again after a crash queues nothing twice). The record never waits for
//! its content. The content queue is one of service-kit's queues ([`ContentQueue`], its runner a
//! [`ContentRunner`], its operators' routes `/ingest/content-jobs`): each job asks the gateway
//! for the conversation's content, cuts it to `ingest.content.max_body_chars` and sets it as the
//! record's body at comm-history-writer, which delivers the record again to the bank's
//! communication-history-manager when it was delivered before ([`job`]).
//!
//! The body is personal data: it is held in memory for the two calls only, never stored here
//! (the jobs hold ids), never logged. A GDPR forget of a subject removes the jobs of their
//! interactions whatever their state ([`forget`]), and the writer refuses a body for a record a
//! FORGET holds: a forgotten subject's body never comes back. Under a RESTRICT nothing is
//! fetched: the queue does not run a job whose record's events are held here, and the writer's
//! `record-restricted` makes one that got through wait; the body comes after the lift.

mod body;
mod calls;
mod job;
mod metrics;
mod queue;
mod schema;
mod settings;

pub use job::ContentJob;
pub use metrics::{ContentMetrics, Ended};
pub use queue::{forget, ContentEntry, ContentQueue, NewJob};
pub use settings::{ContentSettings, WaitFor};

use crate::settings::IngestSettings;
use domain::{NewCommunicationRecord, Timestamp};
use service_kit::database::{DatabaseError, DbPool};
use service_kit::queue::Runner;
use std::time::Duration;
use uuid::Uuid;

/// The content queue's runner: what `main` runs and tests drive (`drain(now)`).
pub type ContentRunner = Runner<ContentJob, ContentQueue>;

/// The content queue's runner on `pool`, its metrics in `registry`.
pub fn runner(
    pool: DbPool,
    settings: &IngestSettings,
    registry: &prometheus::Registry,
) -> anyhow::Result<ContentRunner> {
    let policy = settings
        .content
        .policy()
        .map_err(service_kit::configuration::invalid_all)?;
    let job = ContentJob {
        pool: pool.clone(),
        calls: calls::ContentCalls::new(settings)?,
        settings: settings.content.clone(),
        metrics: ContentMetrics::register(registry)?,
        keep_done: Duration::from_secs(u64::from(settings.retention_days.get()) * 86_400),
        least_backoff: policy.backoff.min(),
    };
    Runner::new(pool, job, ContentQueue, policy, registry)
}

/// Queues the content jobs of the records an inbox batch wrote.
#[derive(Clone)]
pub struct Enqueuer {
    pool: DbPool,
    settings: ContentSettings,
}

impl Enqueuer {
    pub fn new(pool: DbPool, settings: &ContentSettings) -> Self {
        Self {
            pool,
            settings: settings.clone(),
        }
    }

    /// Queues a job for each of `written` (record id, the record) whose channel's content is on,
    /// first due `first_ask_after` from `now`, in one statement (none when no channel is on); a
    /// record queued before is left as it is.
    /// Answers how many were queued now.
    pub async fn enqueue(&self, written: &[(Uuid, &NewCommunicationRecord)], now: Timestamp) -> anyhow::Result<usize> {
        let jobs: Vec<NewJob> = written
            .iter()
            .filter(|(_, record)| self.settings.is_on(record.channel))
            .map(|(record_id, record)| NewJob {
                record_id: *record_id,
                interaction_id: record.interaction_id,
                channel: record.channel,
            })
            .collect();
        if jobs.is_empty() {
            return Ok(0);
        }
        let first_ask = Timestamp::from_offset_date_time(now.as_offset_date_time() + self.settings.first_ask_after.0)
            .ok_or_else(|| anyhow::anyhow!("a content job's first ask would fall past year 9999"))?;
        Ok(self
            .pool
            .run(move |c| queue::enqueue(c, &jobs, now, first_ask).map_err(DatabaseError::from))
            .await?)
    }
}
