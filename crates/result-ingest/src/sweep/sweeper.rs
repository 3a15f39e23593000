//! The sweeper: one page of one sweep a pass (`try_execute_task(now)`, which tests call to sweep
//! without sleeping), under the `sweeper` lease, within `ingest.sweep_max_requests_per_minute`.

use super::page::{support_result, ConversationPage, PAGE_SIZE};
use super::store::{self, Progress};
use super::{Sweep, SweepOrigin, SweepStatus};
use crate::inbox::{self, Acceptance, Delivery};
use crate::metrics::IngestMetrics;
use crate::settings::IngestSettings;
use crate::siblings::{Failure, Siblings};
use crate::suppression::SuppressionKey;
use domain::{Channel, GenesysUserId, HandleNormaliser, InteractionId, Timestamp};
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use service_kit::database::{write_transaction, DbPool};
use service_kit::periodic::{PeriodicSettings, PeriodicTask};
use service_kit::problem::ApiError;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;
use uuid::Uuid;

/// No participant data.
static NONE: BTreeMap<String, String> = BTreeMap::new();

pub struct Sweeper {
    pool: DbPool,
    siblings: Arc<Siblings>,
    queue: PeriodicSettings,
    settings: IngestSettings,
    /// This sweeper's name on the lease.
    holder: Uuid,
    /// Genesys requests a minute (detail query pages and participant data lookups), evenly
    /// spaced: the sweep's share of the Genesys budget.
    limiter: DefaultDirectRateLimiter,
    /// The page being read and the participant data found for it so far, so that a page whose
    /// lookups failed or ran out of budget asks Genesys for neither again when it is retried.
    /// Personal data, in memory only until the page is taken (or another page is read).
    memo: Mutex<Option<PageMemo>>,
    suppression: SuppressionKey,
    handles: HandleNormaliser,
    metrics: Arc<IngestMetrics>,
}

/// A page read and the customer participant's attributes found for its conversations.
struct PageMemo {
    /// The sweep, and where its cursor stood when the page was read.
    at: (Uuid, Timestamp, i32),
    page: ConversationPage,
    found: HashMap<String, BTreeMap<String, String>>,
}

/// Why the participant data of a page is not all there.
enum Unfound {
    /// A lookup failed: the page waits, as when unreadable.
    Failed(Failure),
    /// The sweep's budget ran out before the lease would: the page is due again at once.
    OutOfBudget,
}

/// What one page's results came to.
#[derive(Debug, Default)]
struct PageOutcome {
    results: i32,
    recovered: i32,
    confirmed: i32,
    suppressed: i32,
    unusable: i32,
}

/// A count of this page as the sweep's counters hold it; a page holds at most a few hundred
/// results, so one past `i32::MAX` is a fault, never saturated.
fn count(n: usize) -> Result<i32, ApiError> {
    i32::try_from(n).map_err(|_| ApiError::Unexpected(anyhow::anyhow!("a sweep page counted {n}")))
}

fn later_by(at: Timestamp, by: Duration) -> Result<Timestamp, ApiError> {
    Timestamp::from_offset_date_time(at.as_offset_date_time() + by)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a sweep time lies beyond year 9999")))
}

impl Sweeper {
    pub fn new(
        pool: DbPool,
        settings: IngestSettings,
        siblings: Arc<Siblings>,
        suppression: SuppressionKey,
        handles: HandleNormaliser,
        metrics: Arc<IngestMetrics>,
    ) -> anyhow::Result<Self> {
        let per_minute = NonZeroU32::new(settings.sweep_max_requests_per_minute)
            .ok_or_else(|| anyhow::anyhow!("ingest.sweep_max_requests_per_minute: must be at least 1"))?;
        Ok(Self {
            queue: settings.queue().map_err(service_kit::configuration::invalid_all)?,
            limiter: RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(NonZeroU32::MIN)),
            memo: Mutex::new(None),
            holder: Uuid::new_v4(),
            pool,
            siblings,
            settings,
            suppression,
            handles,
            metrics,
        })
    }

    /// Takes the lease, schedules the next window when it is due, and reads one page of the sweep
    /// due first. Answers 1 when it spent a request on a page, 0 when nothing was due (or another
    /// replica holds the lease, or this minute's requests are spent).
    pub async fn try_execute_task(&self, now: Timestamp) -> Result<usize, ApiError> {
        let lease_until = later_by(now, self.queue.lease)?;
        let holder = self.holder;
        let interval = Duration::from_secs(self.settings.sweep_interval_seconds);
        let settle = Duration::from_secs(self.settings.sweep_settle_seconds);
        let overlap = Duration::from_secs(self.settings.sweep_overlap_seconds);
        let reach = self.settings.sweep_reach();
        let due = self
            .pool
            .run(move |c| {
                write_transaction(c, |c| {
                    if !store::take_lease(c, holder, now, lease_until)? {
                        return Ok(None);
                    }
                    store::schedule_next(c, now, interval, settle, overlap, reach)?;
                    let due = store::next_due(c, now)?;
                    if due.is_none() {
                        store::release_lease(c, holder)?;
                    }
                    Ok::<_, ApiError>(due)
                })
            })
            .await?;
        let Some(sweep) = due else {
            return Ok(0);
        };
        let remembered = self.remembered(&sweep);
        if remembered.is_none() && self.limiter.check().is_err() {
            return Ok(0);
        }
        let span = tracing::info_span!("sweep page", sweep_id = %sweep.view.id, page = sweep.cursor_page, conversations = tracing::field::Empty);
        let requests = self
            .sweep_page(sweep, remembered, now, lease_until)
            .instrument(span)
            .await?;
        Ok(usize::from(requests > 0))
    }

    /// The page this sweep's cursor stands at, when it was read before and not taken yet.
    fn remembered(&self, sweep: &Sweep) -> Option<ConversationPage> {
        let memo = self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        memo.as_ref()
            .filter(|memo| memo.at == Self::cursor(sweep))
            .map(|memo| memo.page.clone())
    }

    fn cursor(sweep: &Sweep) -> (Uuid, Timestamp, i32) {
        (sweep.view.id, sweep.view.read_up_to, sweep.cursor_page)
    }

    /// Takes a permit of the sweep's budget, waiting for it only while the wait ends before
    /// `deadline`; answers whether one was taken.
    async fn permit(&self, deadline: Instant) -> bool {
        loop {
            let wait = match self.limiter.check() {
                Ok(()) => return true,
                Err(not_until) => not_until.wait_time_from(self.limiter.clock().now()),
            };
            if Instant::now() + wait > deadline {
                return false;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads the page (unless `remembered`) and its participant data, takes its results and moves
    /// the cursor on; answers the Genesys requests it made.
    async fn sweep_page(
        &self,
        mut sweep: Sweep,
        remembered: Option<ConversationPage>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<i32, ApiError> {
        // Lookups wait for the budget within half the lease; the rest of the page is the next
        // pass's (what was found is kept).
        let deadline = Instant::now() + self.queue.lease / 2;
        let requests_before = sweep.view.counts.genesys_requests;
        // A stored page below 1 is a corrupt row: an error, never a guess.
        let page_number = u32::try_from(sweep.cursor_page)
            .ok()
            .filter(|&page| page >= 1)
            .ok_or_else(|| {
                ApiError::Unexpected(anyhow::anyhow!(
                    "sweep {}: cursor page {}",
                    sweep.view.id,
                    sweep.cursor_page
                ))
            })?;
        let page = match remembered {
            Some(page) => Ok(page),
            None => {
                sweep.view.counts.genesys_requests += 1;
                self.metrics.sweep_requests.inc();
                self.siblings
                    .conversation_page(sweep.view.read_up_to, sweep.view.to, page_number)
                    .await
            }
        };
        // The customer's participant data of each conversation whose results are new, as the
        // workflow would have read it: a page is taken with it or waits, as when unread.
        let page = match page {
            Ok(page) => {
                let found = self
                    .participant_data(
                        Self::cursor(&sweep),
                        &page,
                        now,
                        deadline,
                        &mut sweep.view.counts.genesys_requests,
                    )
                    .await?;
                Ok((page, found))
            }
            Err(failure) => Err(Unfound::Failed(failure)),
        };
        let page = match page {
            Ok((page, Ok(found))) => Ok((page, found)),
            Ok((_, Err(unfound))) | Err(unfound) => Err(unfound),
        };
        let watermark = match page {
            Ok((page, participant_data)) => {
                tracing::Span::current().record("conversations", page.conversations.len());
                let outcome = self.take_results(&page, &participant_data, now).await?;
                self.forget_page();
                self.advance(&mut sweep, &page, &outcome, now)?
            }
            // Due again at once: the next pass goes on where this one stopped.
            Err(Unfound::OutOfBudget) => None,
            Err(Unfound::Failed(failure)) => {
                sweep.attempts += 1;
                let (reason, retry_after) = match failure {
                    Failure::Transient { reason, retry_after } => (reason, retry_after),
                    Failure::Permanent { reason } => (reason, None),
                };
                // Stored attempts below 0 are a corrupt row: an error, never a guess.
                let attempts = u32::try_from(sweep.attempts).map_err(|_| {
                    ApiError::Unexpected(anyhow::anyhow!("sweep {}: attempts {}", sweep.view.id, sweep.attempts))
                })?;
                let wait = retry_after.unwrap_or_else(|| self.queue.backoff(attempts));
                tracing::warn!(reason = %reason, retry_in_ms = wait.as_millis() as u64, "a sweep page could not be read; its window waits");
                sweep.view.last_error = Some(reason);
                sweep.view.next_attempt_at = later_by(now, wait)?;
                None
            }
        };
        let requests = sweep.view.counts.genesys_requests - requests_before;
        let holder = self.holder;
        let saved = self
            .pool
            .run(move |c| {
                let progress = Progress {
                    sweep: &sweep,
                    watermark,
                };
                store::save_progress(c, holder, now, lease_until, &progress).map_err(ApiError::from)
            })
            .await?;
        if !saved {
            tracing::warn!("the sweeper's lease was taken over; the page is read again by its new holder");
        }
        Ok(requests)
    }

    fn forget_page(&self) {
        *self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The page's settled conversations' results into the inbox: those it holds already are
    /// confirmed (once), the others stored as the webhook would have stored them (a forgotten
    /// subject's are suppressed).
    async fn take_results(
        &self,
        page: &ConversationPage,
        participant_data: &HashMap<String, BTreeMap<String, String>>,
        now: Timestamp,
    ) -> Result<PageOutcome, ApiError> {
        let settle = Duration::from_secs(self.settings.sweep_settle_seconds);
        let mut outcome = PageOutcome::default();
        let mut deliveries = Vec::new();
        let (mut results, mut unusable) = (0, 0);
        for conversation in page.conversations.iter().filter(|c| c.settled(now, settle)) {
            for agent in &conversation.results {
                results += 1;
                let attributes = participant_data.get(&conversation.conversation_id).unwrap_or(&NONE);
                match support_result(conversation, agent, attributes) {
                    Ok(mut result) => {
                        // As the webhook: only the configured attributes are kept.
                        let read = self
                            .settings
                            .participant_data
                            .minimise(result.channel(), &mut result.participant_data);
                        self.metrics.count_ignored(&read.ignored);
                        deliveries.push(
                            Delivery::prepare(result, read.customer, &self.suppression, &self.handles, None)
                                .map_err(|e| ApiError::Unexpected(e.into()))?
                                .swept(),
                        );
                    }
                    Err(reason) => {
                        unusable += 1;
                        tracing::warn!(conversation_id = %conversation.conversation_id, reason = %reason, "a result in Genesys' analytics that the webhook would refuse too");
                    }
                }
            }
        }
        outcome.results = count(results)?;
        outcome.unusable = count(unusable)?;
        // Counted whether or not the page held anything usable besides.
        self.metrics
            .sweep_results
            .with_label_values(&["unusable"])
            .inc_by(unusable as u64);
        if deliveries.is_empty() {
            return Ok(outcome);
        }
        let (recovered, confirmed, suppressed) = self
            .pool
            .run(move |c| {
                let mut conversations: Vec<InteractionId> =
                    deliveries.iter().map(|d| d.result.conversation_id).collect();
                conversations.sort_unstable_by_key(|id| id.to_string());
                conversations.dedup();
                let known = inbox::known_results(c, &conversations)?;
                let mut to_confirm = Vec::new();
                let mut new = Vec::new();
                for delivery in deliveries {
                    let result = &delivery.result;
                    let identity = (
                        result.conversation_id,
                        result.user_id,
                        result.wrapup_code.as_str().to_owned(),
                    );
                    match known.get(&identity) {
                        Some(known) if !known.confirmed => to_confirm.push(known.id),
                        Some(_) => {}
                        None => new.push(delivery),
                    }
                }
                let (mut recovered, mut suppressed) = (0, 0);
                for answer in inbox::accept_batch(c, &new, now)? {
                    match answer {
                        Acceptance::Stored(stored) if !stored.duplicate => recovered += 1,
                        // Delivered by the webhook since the lookup above (or twice on the page).
                        Acceptance::Stored(stored) => to_confirm.push(stored.id),
                        Acceptance::Suppressed => suppressed += 1,
                    }
                }
                let confirmed = inbox::confirm(c, &to_confirm, now)?;
                Ok::<_, ApiError>((recovered, confirmed, suppressed))
            })
            .await?;
        outcome.recovered = count(recovered)?;
        outcome.confirmed = count(confirmed)?;
        outcome.suppressed = count(suppressed)?;
        for (label, n) in [
            ("recovered", recovered),
            ("confirmed", confirmed),
            ("suppressed", suppressed),
        ] {
            self.metrics.sweep_results.with_label_values(&[label]).inc_by(n as u64);
        }
        if outcome.recovered > 0 {
            tracing::info!(
                recovered = outcome.recovered,
                "the sweep recovered results the webhook never delivered"
            );
        }
        Ok(outcome)
    }

    /// With `ingest.participant_data` configured: the customer participant's attributes of the
    /// page's settled conversations with a result the inbox does not hold yet on a channel whose
    /// participant data is taken (one gateway call, one Genesys request, a conversation: the
    /// detail query carries no attributes), by conversation id; `requests` counts them. Each
    /// takes a permit of the sweep's budget first. A conversation whose results are all known,
    /// or on channels not trusted, is not asked about; one found before for this page (`at`) is
    /// not asked again.
    async fn participant_data(
        &self,
        at: (Uuid, Timestamp, i32),
        page: &ConversationPage,
        now: Timestamp,
        deadline: Instant,
        requests: &mut i32,
    ) -> Result<Result<HashMap<String, BTreeMap<String, String>>, Unfound>, ApiError> {
        let settings = &self.settings.participant_data;
        if !settings.is_enabled() {
            return Ok(Ok(HashMap::new()));
        }
        let settle = Duration::from_secs(self.settings.sweep_settle_seconds);
        // Results the webhook would refuse are left to take_results, which counts them.
        let identities: Vec<(InteractionId, GenesysUserId, String)> = page
            .conversations
            .iter()
            .filter(|c| c.settled(now, settle))
            .filter_map(|c| InteractionId::parse(&c.conversation_id).ok().map(|id| (c, id)))
            .flat_map(|(c, id)| {
                c.results.iter().filter_map(move |agent| {
                    let channel = Channel::from_genesys_media_type(agent.media_type.as_deref().unwrap_or_default());
                    if !settings.trusts(channel) {
                        return None;
                    }
                    let user = GenesysUserId::parse(&agent.user_id).ok()?;
                    Some((id, user, agent.wrapup_code.clone()))
                })
            })
            .collect();
        if identities.is_empty() {
            return Ok(Ok(HashMap::new()));
        }
        let mut conversations: Vec<InteractionId> = identities.iter().map(|(id, _, _)| *id).collect();
        conversations.sort_unstable_by_key(|id| id.to_string());
        conversations.dedup();
        let known = self
            .pool
            .run(move |c| inbox::known_results(c, &conversations).map_err(ApiError::from))
            .await?;
        let mut new: Vec<InteractionId> = identities
            .into_iter()
            .filter(|identity| !known.contains_key(identity))
            .map(|(id, _, _)| id)
            .collect();
        new.sort_unstable_by_key(|id| id.to_string());
        new.dedup();
        let mut found = match self
            .memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            Some(memo) if memo.at == at => memo.found,
            _ => HashMap::new(),
        };
        new.retain(|c| !found.contains_key(&c.to_string()));
        let mut unfound = None;
        for conversation in new {
            if !self.permit(deadline).await {
                unfound = Some(Unfound::OutOfBudget);
                break;
            }
            *requests += 1;
            self.metrics.sweep_requests.inc();
            match self.siblings.participant_data_of(conversation).await {
                Ok(attributes) => {
                    found.insert(conversation.to_string(), attributes);
                }
                Err(failure) => {
                    unfound = Some(Unfound::Failed(failure));
                    break;
                }
            }
        }
        let Some(unfound) = unfound else {
            return Ok(Ok(found));
        };
        *self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(PageMemo {
            at,
            page: page.clone(),
            found,
        });
        Ok(Err(unfound))
    }

    /// Moves the sweep's cursor past the page; answers the schedule's new watermark.
    fn advance(
        &self,
        sweep: &mut Sweep,
        page: &ConversationPage,
        outcome: &PageOutcome,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, ApiError> {
        let settle = Duration::from_secs(self.settings.sweep_settle_seconds);
        let counts = &mut sweep.view.counts;
        counts.pages += 1;
        counts.conversations += count(page.conversations.len())?;
        counts.results += outcome.results;
        counts.recovered += outcome.recovered;
        counts.confirmed += outcome.confirmed;
        counts.suppressed += outcome.suppressed;
        counts.unusable += outcome.unusable;
        sweep.attempts = 0;
        sweep.view.last_error = None;
        if let Some(unsettled) = page
            .conversations
            .iter()
            .filter(|c| !c.settled(now, settle))
            .map(|c| c.conversation_start)
            .min()
        {
            sweep.view.held_at = Some(sweep.view.held_at.map_or(unsettled, |held| held.min(unsettled)));
        }
        let last_start = page.conversations.last().map(|c| c.conversation_start);
        // A short page, or one that holds all the query's window has left, is its last.
        let on_page = page.conversations.len();
        let window_read = on_page < PAGE_SIZE
            || page.total_hits <= on_page as u64
            || last_start.is_some_and(|start| start >= sweep.view.to);
        if !window_read {
            let last_start = last_start.unwrap_or(sweep.view.read_up_to);
            if last_start > sweep.view.read_up_to {
                // Keyset paging: the next page starts at the last start read (conversations that
                // share it are read again, and known).
                sweep.view.read_up_to = last_start;
                sweep.cursor_page = 1;
            } else {
                sweep.cursor_page += 1;
            }
            sweep.view.status = SweepStatus::Running;
            sweep.view.next_attempt_at = now;
        } else if let (SweepOrigin::Operator, Some(held)) = (sweep.view.origin, sweep.view.held_at) {
            // An operator's window is swept to its end: what had not settled is read again later.
            sweep.view.read_up_to = held;
            sweep.cursor_page = 1;
            sweep.view.held_at = None;
            sweep.view.status = SweepStatus::Running;
            sweep.view.next_attempt_at = later_by(now, Duration::from_secs(self.settings.sweep_interval_seconds))?;
        } else {
            sweep.view.read_up_to = sweep.view.to;
            sweep.view.status = SweepStatus::Done;
            sweep.view.finished_at = Some(now);
        }
        sweep.view.progress_percent =
            Sweep::progress(sweep.view.from, sweep.view.to, sweep.view.read_up_to, sweep.view.status);
        Ok((sweep.view.origin == SweepOrigin::Schedule).then(|| {
            let read = sweep.view.read_up_to;
            sweep.view.held_at.map_or(read, |held| held.min(read))
        }))
    }

    /// Gauges (watermark lag, open sweeps), and finished sweeps past `ingest.retention_days` removed.
    pub async fn housekeeping(&self, now: Timestamp) -> Result<(), ApiError> {
        let cutoff = Timestamp::from_offset_date_time(now.as_offset_date_time() - self.settings.sweep_reach())
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("the retention reaches before year 1")))?;
        let (watermark, open) = self
            .pool
            .run(move |c| {
                store::remove_finished_before(c, cutoff)?;
                Ok::<_, ApiError>((store::watermark(c)?, store::open_count(c)?))
            })
            .await?;
        if let Some(watermark) = watermark {
            let lag = (now.as_offset_date_time() - watermark.as_offset_date_time()).whole_seconds();
            self.metrics.sweep_watermark_lag_seconds.set(lag.max(0));
        }
        self.metrics.sweeps_open.set(open);
        Ok(())
    }
}

impl PeriodicTask for Sweeper {
    type Error = ApiError;
    const NAME: &'static str = "ingest sweeper";

    fn queue(&self) -> &PeriodicSettings {
        &self.queue
    }

    fn try_execute_task(&self, now: Timestamp) -> impl std::future::Future<Output = Result<usize, ApiError>> {
        Sweeper::try_execute_task(self, now)
    }

    fn housekeeping(&self, now: Timestamp) -> impl std::future::Future<Output = Result<(), ApiError>> {
        Sweeper::housekeeping(self, now)
    }
}
