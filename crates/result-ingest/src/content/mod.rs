//! What was said or written, added to a record's body after the record is written: for the
//! channels `ingest.content.channels` names (off by default), the transcript Genesys Speech and
//! Text Analytics made of a voice call, a chat or a message, or an e-mail's text.
//!
//! The inbox's job writes the records of a batch; the settlement that marks its events processed
//! queues, in the same transaction, a content job for each record of a channel whose content is
//! on ([`ContentPlan`]; keyed by the record, so a batch run again after a crash queues nothing
//! twice, and a settlement rolled back takes its jobs with it). The record never waits for its
//! content. The content queue is one of service-kit's queues ([`ContentQueue`], its runner a
//! [`ContentRunner`], its operators' routes `/ingest/content-jobs`): each job asks the gateway
//! for the conversation's content, cuts it to `ingest.content.max_body_chars` and sets it as the
//! record's body at comm-history-writer, which delivers the record again to the bank's
//! communication-history-manager when it was delivered before ([`job`]).
//!
//! The body is personal data: it is held in memory for the two calls only, never stored here
//! (the jobs hold ids), never logged. A GDPR forget of a subject removes the jobs of their
//! interactions whatever their state ([`forget`]), and the writer refuses a body for a record a
//! FORGET holds: a forgotten subject's body never comes back. Under a RESTRICT nothing is
//! fetched: the queue parks a job whose record's events are held here (woken once the hold is
//! lifted), and the writer's `record-restricted` makes one that got through wait; the body comes
//! after the lift.

mod body;
mod calls;
mod job;
mod metrics;
mod queue;
mod schema;
mod settings;

pub use job::ContentJob;
pub use metrics::{ContentMetrics, Ended};
pub use queue::{forget, wake_released, ContentEntry, ContentQueue};
pub(crate) use queue::{queue_settled, ProcessedRecord};
pub use settings::{ContentSettings, WaitFor};

use crate::settings::IngestSettings;
use diesel::QueryResult;
use domain::{Channel, Timestamp};
use service_kit::database::DbPool;
use service_kit::queue::Runner;
use std::time::Duration;

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

/// What an inbox batch's settlement queues beside marking its events processed (crate::inbox):
/// a content job for each record of a channel whose content is on, first due `first_ask_after`
/// later, in the settlement's own transaction (on PostgreSQL in its one statement). Off (no
/// channel on, the default), the settlement is what it was without content: not one statement
/// more.
#[derive(Debug, Clone, Default)]
pub struct ContentPlan {
    channels: Vec<Channel>,
    first_ask_after: Duration,
}

impl ContentPlan {
    pub fn of(settings: &ContentSettings) -> Self {
        Self {
            channels: settings.channels.clone(),
            first_ask_after: settings.first_ask_after.0,
        }
    }

    /// No channel's content is on: nothing is queued.
    pub fn is_off(&self) -> bool {
        self.channels.is_empty()
    }

    /// The names of the channels whose content is on ([`Channel::as_str`]).
    pub fn channel_names(&self) -> Vec<&'static str> {
        self.channels.iter().map(|channel| channel.as_str()).collect()
    }

    /// Whether `channel`'s content is on.
    pub fn covers(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    /// When a job queued at `now` is first due.
    pub fn first_ask(&self, now: Timestamp) -> QueryResult<Timestamp> {
        Timestamp::from_offset_date_time(now.as_offset_date_time() + self.first_ask_after).ok_or_else(|| {
            diesel::result::Error::SerializationError("a content job's first ask would fall past year 9999".into())
        })
    }
}
