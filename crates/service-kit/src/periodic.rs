//! A periodic background task that is not a queue (result-ingest's sweeper): its settings, one
//! pass at a given time (`try_execute_task(now)`, which tests call instead of sleeping), and one
//! loop that runs passes until shutdown. Queues are [`crate::queue`]'s.

use crate::background::{Health, Shutdown};
use domain::Timestamp;
use std::future::Future;
use std::time::Duration;

/// How a queue is worked: `batch` tasks a pass, a pass every `poll_interval` while idle, a claim
/// held for `lease`, and failed tasks retried after a backoff growing from `backoff_min` to
/// `backoff_max`. Read from a service's own keys (`<section>.batch_size`, `.poll_interval_ms`,
/// `.lease_seconds`, `.backoff_min_ms`, `.backoff_max_ms`) by [`PeriodicSettings::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodicSettings {
    pub batch: u32,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl PeriodicSettings {
    /// Checks the values and names each wrong one by its key under `section`.
    pub fn new(
        section: &str,
        batch: u32,
        poll_interval_ms: u64,
        lease_seconds: u64,
        backoff_min_ms: u64,
        backoff_max_ms: u64,
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        for (key, value) in [
            ("batch_size", u64::from(batch)),
            ("poll_interval_ms", poll_interval_ms),
            ("lease_seconds", lease_seconds),
            ("backoff_min_ms", backoff_min_ms),
        ] {
            if value == 0 {
                problems.push(format!("{section}.{key}: must be at least 1"));
            }
        }
        if backoff_max_ms < backoff_min_ms {
            problems.push(format!(
                "{section}.backoff_max_ms: must not be below {section}.backoff_min_ms"
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            batch,
            poll_interval: Duration::from_millis(poll_interval_ms),
            lease: Duration::from_secs(lease_seconds),
            backoff_min: Duration::from_millis(backoff_min_ms),
            backoff_max: Duration::from_millis(backoff_max_ms),
        })
    }

    /// The delay after the `attempts`th failure: doubling from `backoff_min`, at most
    /// `backoff_max`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        self.backoff_min.saturating_mul(1u32 << exponent).min(self.backoff_max)
    }
}

/// A periodic task.
pub trait PeriodicTask {
    type Error: std::fmt::Display;

    /// What the worker is called in its logs and its health.
    const NAME: &'static str;

    /// How often [`PeriodicTask::housekeeping`] runs.
    const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(15);

    fn queue(&self) -> &PeriodicSettings;

    /// Claims and handles what is due at `now`; returns how many tasks it took (0: none was due).
    fn try_execute_task(&self, now: Timestamp) -> impl Future<Output = Result<usize, Self::Error>>;

    /// The work beside the queue (gauges, retention), every [`PeriodicTask::HOUSEKEEPING_EVERY`].
    fn housekeeping(&self, _now: Timestamp) -> impl Future<Output = Result<(), Self::Error>> {
        async { Ok(()) }
    }
}

/// Runs `worker` until shutdown is requested (a pass in hand is finished first): passes while
/// there is work, a poll interval's sleep when there is none, housekeeping on its schedule. A
/// failing pass or housekeeping counts against the worker's health (and is logged); a task that
/// fails is the queue's to retry, not the worker's failure.
pub async fn run<W: PeriodicTask>(worker: W, mut shutdown: Shutdown, health: Health) {
    let idle = worker.queue().poll_interval;
    let mut last_housekeeping: Option<tokio::time::Instant> = None;
    while !shutdown.is_requested() {
        let now = Timestamp::now();
        let pass = worker.try_execute_task(now).await;
        let mut housekept = Ok(());
        if last_housekeeping.is_none_or(|at| at.elapsed() >= W::HOUSEKEEPING_EVERY) {
            housekept = worker.housekeeping(now).await;
            last_housekeeping = Some(tokio::time::Instant::now());
        }
        if let Err(error) = &housekept {
            tracing::warn!(worker = W::NAME, error = %error, "housekeeping failed");
            health.failed("housekeeping failed");
        }
        match pass {
            Ok(taken) => {
                if housekept.is_ok() {
                    health.succeeded();
                }
                if taken == 0 {
                    shutdown.sleep(idle).await;
                }
            }
            Err(error) => {
                tracing::warn!(worker = W::NAME, error = %error, "a pass failed");
                health.failed("a pass failed");
                shutdown.sleep(idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PeriodicSettings;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_the_minimum_up_to_the_maximum() {
        let queue = PeriodicSettings::new("q", 10, 100, 30, 100, 1_000).unwrap();
        let delays: Vec<u64> = (1..=6).map(|n| queue.backoff(n).as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(queue.backoff(u32::MAX), Duration::from_millis(1_000));
    }

    #[test]
    fn every_wrong_value_is_named_by_its_key() {
        let problems = PeriodicSettings::new("ingest", 0, 0, 0, 10, 5).unwrap_err();
        assert_eq!(
            problems,
            [
                "ingest.batch_size: must be at least 1",
                "ingest.poll_interval_ms: must be at least 1",
                "ingest.lease_seconds: must be at least 1",
                "ingest.backoff_max_ms: must not be below ingest.backoff_min_ms",
            ]
        );
    }
}
