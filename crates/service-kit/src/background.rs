//! Background tasks of a service (queue workers, clean-ups): started with the server, told to
//! stop when it stops, and given the shutdown timeout to finish what they hold.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
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

/// The service's background tasks.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: Mutex::default(),
        }
    }
}

impl Background {
    /// Starts `task` on the current runtime with its [`Shutdown`].
    pub fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task(Shutdown(self.stop.subscribe())));
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(handle);
    }

    /// Asks every task to stop and waits up to `timeout` for them.
    pub async fn stop(&self, timeout: Duration) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
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
    use std::sync::Arc;

    #[tokio::test]
    async fn tasks_finish_their_unit_of_work_then_stop() {
        let background = Background::default();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        background.spawn(|mut shutdown| async move {
            while !shutdown.sleep(Duration::from_millis(10)).await {}
            flag.store(true, Ordering::SeqCst);
        });
        background.stop(Duration::from_secs(5)).await;
        assert!(finished.load(Ordering::SeqCst));
    }
}
