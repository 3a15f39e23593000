//! Group commit for the webhook: concurrent requests' inbox inserts share one transaction, so N
//! accepted results cost one durable commit instead of N. A request is answered only after the
//! commit that holds its row, so "202" still means "stored". It is the hand-off into the inbox's
//! queue, under the service's task health like the queue's runner: each batch reports its outcome
//! ([`AcceptBatcher::watch`], spawned as the background task `ingest_accept`), and a writer thread
//! that ends while the service runs makes `/healthz` fail.

use crate::inbox::{self, Acceptance, Delivery};
use crate::suppression::SuppressionKey;
use domain::{CustomerId, HandleNormaliser, SupportResult, Timestamp};
use service_kit::background::{Health, Shutdown};
use service_kit::database::{DbPool, PooledConnection};
use service_kit::problem::ApiError;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

struct Pending {
    delivery: Delivery,
    reply: oneshot::Sender<Result<Acceptance, String>>,
}

pub struct AcceptBatcher {
    sender: mpsc::Sender<Pending>,
    suppression: SuppressionKey,
    handles: HandleNormaliser,
    /// The writers' line to the task health, once [`AcceptBatcher::watch`] runs.
    health: Arc<OnceLock<Health>>,
    /// A writer thread says here that it ended.
    ended: Mutex<Option<mpsc::UnboundedReceiver<&'static str>>>,
}

impl AcceptBatcher {
    /// `flushers` transactions may be in flight at once, each holding up to `max_batch` rows.
    /// Each flusher is a thread of its own that keeps one pooled connection between batches: a
    /// batch then waits on nothing but the database (no hop to the blocking pool, no checkout
    /// and its liveness query). A batch that fails on the kept connection is tried once more on
    /// one the pool has just tested.
    pub fn start(
        pool: DbPool,
        suppression: SuppressionKey,
        handles: HandleNormaliser,
        flushers: NonZeroUsize,
        max_batch: NonZeroUsize,
    ) -> std::io::Result<Self> {
        let (flushers, max_batch) = (flushers.get(), max_batch.get());
        let (sender, receiver) = mpsc::channel::<Pending>(max_batch.saturating_mul(flushers).saturating_mul(4));
        let receiver = Arc::new(Mutex::new(receiver));
        let health = Arc::new(OnceLock::new());
        let (ended_tx, ended) = mpsc::unbounded_channel();
        for number in 0..flushers {
            let (receiver, pool, health, ended_tx) = (receiver.clone(), pool.clone(), health.clone(), ended_tx.clone());
            std::thread::Builder::new()
                .name(format!("inbox-writer-{number}"))
                .spawn(move || {
                    write_batches(&pool, &receiver, max_batch, &health);
                    let _ = ended_tx.send("an inbox writer thread ended");
                })?;
        }
        Ok(Self {
            sender,
            suppression,
            handles,
            health,
            ended: Mutex::new(Some(ended)),
        })
    }

    /// The batcher's background task: hands the writers their [`Health`] (each batch stored is a
    /// success, each the database refused a failure), and ends, so that `/healthz` fails, when
    /// a writer thread ends before shutdown. Run it once.
    pub async fn watch(&self, mut shutdown: Shutdown, health: Health) {
        let _ = self.health.set(health);
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(mut ended) = ended else {
            tracing::error!("the inbox writers are watched twice");
            return;
        };
        tokio::select! {
            () = shutdown.requested() => {}
            Some(why) = ended.recv() => tracing::error!(reason = why, "the webhook cannot store results"),
        }
    }

    /// Stores the result (with whatever else arrived meanwhile) and answers once committed.
    /// `participant_customer`: the customer its (minimised) participant data names.
    pub async fn accept(
        &self,
        result: SupportResult,
        participant_customer: Option<CustomerId>,
    ) -> Result<Acceptance, ApiError> {
        // Everything a row needs is prepared here, by the request, in parallel with the others:
        // one flush at a time commits, and it should wait on nothing but the database.
        // The request's trace is kept with the event so the worker's work joins it.
        let trace_context = service_kit::telemetry::current_traceparent();
        let delivery = Delivery::prepare(
            result,
            participant_customer,
            &self.suppression,
            &self.handles,
            trace_context,
        )
        .map_err(|e| ApiError::Unexpected(e.into()))?;
        let (reply, answer) = oneshot::channel();
        let unavailable = |reason: &str| ApiError::Unavailable {
            retry_after_seconds: 1,
            cause: anyhow::anyhow!(reason.to_owned()),
        };
        self.sender
            .send(Pending { delivery, reply })
            .await
            .map_err(|_| unavailable("the inbox writer stopped"))?;
        answer
            .await
            .map_err(|_| unavailable("the inbox writer stopped"))?
            .map_err(|reason| unavailable(&reason))
    }
}

/// One flusher's loop: takes what has arrived (up to `max_batch`), commits it, answers it; ends
/// when the webhook's side is gone.
fn write_batches(
    pool: &DbPool,
    receiver: &Mutex<mpsc::Receiver<Pending>>,
    max_batch: usize,
    health: &OnceLock<Health>,
) {
    let mut connection = None;
    loop {
        let batch = {
            let mut receiver = receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(first) = receiver.blocking_recv() else { return };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        // A bug that panics in one batch must not stop the webhook for good: that batch's
        // requests are answered 503 (their replies are dropped), its connection was discarded
        // while unwinding, and the next batch starts afresh.
        let health = health.get();
        let flushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            flush(pool, &mut connection, batch, health);
        }));
        if flushed.is_err() {
            tracing::error!("an inbox batch panicked; its requests were answered 503");
            health.into_iter().for_each(|h| h.failed("an inbox batch panicked"));
        }
    }
}

/// Stores a batch, reports the outcome to the task health (before the answers, so that a caller
/// answered has been counted), and answers its requests.
fn flush(pool: &DbPool, connection: &mut Option<PooledConnection>, batch: Vec<Pending>, health: Option<&Health>) {
    let (deliveries, replies): (Vec<Delivery>, Vec<_>) = batch.into_iter().map(|p| (p.delivery, p.reply)).unzip();
    let rows = deliveries.len();
    // The batch is atomic by itself (one statement on PostgreSQL, its own transaction on SQLite).
    let store =
        |c: &mut PooledConnection| inbox::accept_batch(c, &deliveries, Timestamp::now()).map_err(ApiError::from);
    // A connection kept since an earlier batch may have gone stale (the database restarted or
    // failed over, an idle connection was cut): the batch is tried once more on a connection the
    // pool has just tested, as the pool's checkout test did before every batch. Safe to repeat:
    // a row whose commit did reach the database is found again by its natural key.
    let on_a_fresh_connection = || -> Result<_, ApiError> {
        let mut fresh = pool.get_blocking()?;
        store(&mut fresh).map(|accepted| (accepted, fresh))
    };
    let outcome = match connection.take() {
        Some(mut kept) => store(&mut kept).map(|accepted| (accepted, kept)).or_else(|error| {
            tracing::warn!(error = %error, rows, "an inbox batch failed on a kept connection; trying a fresh one");
            on_a_fresh_connection()
        }),
        None => on_a_fresh_connection(),
    }
    .map(|(accepted, used)| {
        *connection = Some(used);
        accepted
    });
    match outcome {
        Ok(accepted) => {
            health.into_iter().for_each(Health::succeeded);
            for (reply, accepted) in replies.into_iter().zip(accepted) {
                let _ = reply.send(Ok(accepted));
            }
        }
        Err(error) => {
            // The connection that failed went back to the pool, which tests it on checkout.
            tracing::error!(error = %error, rows, "an inbox batch could not be stored");
            health
                .into_iter()
                .for_each(|h| h.failed("an inbox batch could not be stored"));
            for reply in replies {
                let _ = reply.send(Err("the inbox could not be written".to_owned()));
            }
        }
    }
}
