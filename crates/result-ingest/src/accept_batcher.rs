//! Group commit for the webhook: concurrent requests' inbox inserts share one transaction, so N
//! accepted results cost one durable commit instead of N. A request is answered only after the
//! commit that holds its row, so "202" still means "stored".

use crate::gdpr::SuppressionKey;
use crate::inbox::{self, Acceptance, Delivery};
use diesel::Connection;
use domain::{SupportResult, Timestamp};
use service_kit::database::DbPool;
use service_kit::problem::ApiError;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

struct Pending {
    delivery: Delivery,
    reply: oneshot::Sender<Result<Acceptance, String>>,
}

pub struct AcceptBatcher {
    sender: mpsc::Sender<Pending>,
    suppression: SuppressionKey,
}

impl AcceptBatcher {
    /// `flushers` transactions may be in flight at once, each holding up to `max_batch` rows.
    pub fn start(pool: DbPool, suppression: SuppressionKey, flushers: usize, max_batch: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Pending>(max_batch * flushers * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..flushers.max(1) {
            let receiver = receiver.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut receiver = receiver.lock().await;
                        let Some(first) = receiver.recv().await else { return };
                        let mut batch = vec![first];
                        while batch.len() < max_batch {
                            match receiver.try_recv() {
                                Ok(next) => batch.push(next),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    flush(&pool, batch).await;
                }
            });
        }
        Self { sender, suppression }
    }

    /// Stores the result (with whatever else arrived meanwhile) and answers once committed.
    pub async fn accept(&self, result: SupportResult) -> Result<Acceptance, ApiError> {
        // Everything a row needs is prepared here, by the request, in parallel with the others:
        // one flush at a time commits, and it should wait on nothing but the database.
        // The request's trace is kept with the event so the worker's work joins it.
        let trace_context = service_kit::telemetry::current_traceparent();
        let delivery =
            Delivery::prepare(result, &self.suppression, trace_context).map_err(|e| ApiError::Unexpected(e.into()))?;
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

async fn flush(pool: &DbPool, batch: Vec<Pending>) {
    let (deliveries, replies): (Vec<Delivery>, Vec<_>) = batch.into_iter().map(|p| (p.delivery, p.reply)).unzip();
    let rows = deliveries.len();
    let outcome = pool
        .run(move |connection| {
            connection
                .transaction(|c| inbox::accept_batch(c, &deliveries, Timestamp::now()))
                .map_err(ApiError::from)
        })
        .await;
    match outcome {
        Ok(accepted) => {
            for (reply, accepted) in replies.into_iter().zip(accepted) {
                let _ = reply.send(Ok(accepted));
            }
        }
        Err(error) => {
            tracing::error!(error = %error, rows, "an inbox batch could not be stored");
            for reply in replies {
                let _ = reply.send(Err("the inbox could not be written".to_owned()));
            }
        }
    }
}
