//! Background tasks of a service (queue workers, clean-ups): started with the server, told to
//! stop when it stops, and given the shutdown timeout to finish what they hold.
//!
//! A task never dies silently: one that returns or panics while the service runs is logged and
//! makes `/healthz` fail (so Kubernetes restarts the pod), and one that keeps failing without a
//! success for `application.worker_unhealthy_after_seconds` makes `/readyz` fail.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Held by a background task: check it between units of work, or wait on it while idle.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn requested(&mut self) {
        // An error means the sender is gone, which also means: stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `duration`, or less when shutdown is requested meanwhile; true if it was.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => self.is_requested(),
            () = self.requested() => true,
        }
    }
}

#[derive(Debug, Default)]
struct TaskState {
    /// Why the task is no longer running, when it stopped on its own.
    stopped: Option<String>,
    /// Since when every unit of work has failed, and the last reason.
    failing: Option<(Instant, String)>,
}

/// How the service's background tasks are doing, for `/healthz` and `/readyz`.
pub struct TaskHealth {
    tasks: Mutex<BTreeMap<&'static str, TaskState>>,
    unhealthy_after: Duration,
}

impl TaskHealth {
    pub fn new(unhealthy_after: Duration) -> Self {
        Self {
            tasks: Mutex::default(),
            unhealthy_after,
        }
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut TaskState)) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        change(tasks.entry(name).or_default());
    }

    /// Tasks that stopped while the service runs: the process needs a restart.
    pub fn stopped(&self) -> Vec<String> {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks
            .iter()
            .filter_map(|(name, state)| state.stopped.as_ref().map(|why| format!("{name} {why}")))
            .collect()
    }

    /// Everything that keeps the service from being ready: stopped tasks, and tasks failing
    /// without a success for longer than allowed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.stopped();
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, state) in tasks.iter() {
            if let Some((since, reason)) = &state.failing {
                let failing_for = since.elapsed();
                if failing_for >= self.unhealthy_after {
                    problems.push(format!(
                        "{name} has failed for {}s without a success: {reason}",
                        failing_for.as_secs()
                    ));
                }
            }
        }
        problems
    }
}

/// `ccbridge_background_task_up{task}`: 1 while a background task runs and has not failed for
/// longer than allowed, 0 otherwise; computed from [`TaskHealth`] at each scrape.
pub struct TaskHealthMetric {
    health: Arc<TaskHealth>,
    up: prometheus::IntGaugeVec,
}

impl TaskHealthMetric {
    pub fn new(health: Arc<TaskHealth>) -> prometheus::Result<Self> {
        let up = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(
                "ccbridge_background_task_up",
                "Whether a background task runs and succeeds (0: stopped, or failing too long)",
            ),
            &["task"],
        )?;
        Ok(Self { health, up })
    }
}

impl prometheus::core::Collector for TaskHealthMetric {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.up.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let tasks = self.health.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, state) in tasks.iter() {
            let failing_too_long = state
                .failing
                .as_ref()
                .is_some_and(|(since, _)| since.elapsed() >= self.health.unhealthy_after);
            let up = state.stopped.is_none() && !failing_too_long;
            self.up.with_label_values(&[name]).set(i64::from(up));
        }
        drop(tasks);
        self.up.collect()
    }
}

/// A task's line to [`TaskHealth`]: report each unit of work's outcome.
#[derive(Clone)]
pub struct Health {
    name: &'static str,
    registry: Arc<TaskHealth>,
}

impl Health {
    pub fn succeeded(&self) {
        self.registry.update(self.name, |state| state.failing = None);
    }

    /// `reason` names what failed, never personal data.
    pub fn failed(&self, reason: &str) {
        self.registry.update(self.name, |state| {
            let since = state.failing.take().map_or_else(Instant::now, |(since, _)| since);
            state.failing = Some((since, reason.to_owned()));
        });
    }
}

/// The service's background tasks.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    health: Arc<TaskHealth>,
}

impl Background {
    pub fn new(health: Arc<TaskHealth>) -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: Mutex::default(),
            health,
        }
    }

    /// Starts `task` on the current runtime with its [`Shutdown`] and [`Health`]. If it returns or
    /// panics before shutdown is asked for, that is logged and `/healthz` fails.
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F)
    where
        F: FnOnce(Shutdown, Health) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let health = Health {
            name,
            registry: self.health.clone(),
        };
        self.health.update(name, |state| *state = TaskState::default());
        let running = tokio::spawn(task(Shutdown(self.stop.subscribe()), health));
        let stop = self.stop.subscribe();
        let registry = self.health.clone();
        let watched = tokio::spawn(async move {
            let outcome = running.await;
            if *stop.borrow() {
                return;
            }
            let why = match outcome {
                Ok(()) => "stopped by itself".to_owned(),
                Err(error) if error.is_panic() => "panicked".to_owned(),
                Err(_) => "was cancelled".to_owned(),
            };
            tracing::error!(
                task = name,
                "a background task {why}; the service is unhealthy until restarted"
            );
            registry.update(name, |state| state.stopped = Some(why));
        });
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(watched);
    }

    /// Asks every task to stop and waits up to `timeout` for them.
    pub async fn stop(&self, timeout: Duration) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let count = tasks.len();
        if tokio::time::timeout(timeout, futures_util::future::join_all(tasks))
            .await
            .is_err()
        {
            tracing::warn!(count, "background tasks did not stop in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn background() -> (Background, Arc<TaskHealth>) {
        let health = Arc::new(TaskHealth::new(Duration::from_secs(3600)));
        (Background::new(health.clone()), health)
    }

    #[tokio::test]
    async fn tasks_finish_their_unit_of_work_then_stop() {
        let (background, health) = background();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        background.spawn("worker", |mut shutdown, _| async move {
            while !shutdown.sleep(Duration::from_millis(10)).await {}
            flag.store(true, Ordering::SeqCst);
        });
        background.stop(Duration::from_secs(5)).await;
        assert!(finished.load(Ordering::SeqCst));
        assert!(health.problems().is_empty(), "{:?}", health.problems());
    }

    #[test]
    fn the_up_metric_is_zero_for_a_stopped_task_or_one_failing_too_long() {
        use prometheus::core::Collector;
        let health = Arc::new(TaskHealth::new(Duration::ZERO));
        health.update("working", |_| {});
        health.update("stopped", |state| state.stopped = Some("panicked".to_owned()));
        Health {
            name: "failing",
            registry: health.clone(),
        }
        .failed("the database does not answer");
        let metric = TaskHealthMetric::new(health).unwrap();
        let families = metric.collect();
        let up: BTreeMap<String, i64> = families[0]
            .get_metric()
            .iter()
            .map(|m| (m.get_label()[0].value().to_owned(), m.get_gauge().get_value() as i64))
            .collect();
        assert_eq!(
            up,
            BTreeMap::from([
                ("failing".to_owned(), 0),
                ("stopped".to_owned(), 0),
                ("working".to_owned(), 1)
            ])
        );
    }

    #[tokio::test]
    async fn a_task_that_panics_or_returns_early_is_reported() {
        let (background, health) = background();
        background.spawn("panicking", |_, _| async { panic!("boom") });
        background.spawn("returning", |_, _| async {});
        for _ in 0..200 {
            if health.stopped().len() == 2 {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(health.stopped(), ["panicking panicked", "returning stopped by itself"]);
    }

    #[test]
    fn failing_without_a_success_counts_from_the_first_failure() {
        let registry = Arc::new(TaskHealth::new(Duration::ZERO));
        let health = Health {
            name: "worker",
            registry: registry.clone(),
        };
        health.failed("database unavailable");
        health.failed("database unavailable again");
        let problems = registry.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("database unavailable again"), "{problems:?}");
        health.succeeded();
        assert!(registry.problems().is_empty());
    }
}
