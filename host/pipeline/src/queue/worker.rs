//! A worker: takes the next request of its signal's queue, hands it to the exporter and
//! settles it according to the outcome.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;

use crate::queue::signal_queue::{Entry, SignalQueue};
use crate::{ConsumeError, Consumer};

/// Send requests until the queue stops.
pub(crate) async fn run(queue: Arc<SignalQueue>, next: Arc<dyn Consumer>) {
    while let Some(entry) = queue.next_entry().await {
        deliver(&queue, next.as_ref(), entry).await;
    }
}

/// The exporter's contract: `Ok` is delivered; `Refused` is not delivered and not counted (the
/// exporter is shutting down); any other error was counted and logged by the exporter.
async fn deliver(queue: &SignalQueue, next: &dyn Consumer, entry: Entry) {
    let Entry {
        batch,
        items,
        bytes,
        id,
    } = entry;
    let outcome = AssertUnwindSafe(next.consume(batch)).catch_unwind().await;
    let settled = match outcome {
        Ok(Ok(())) | Ok(Err(ConsumeError::Invalid(_) | ConsumeError::Internal(_))) => true,
        Ok(Err(ConsumeError::Refused { reason, .. })) => {
            queue.refused_by_exporter(items, &reason);
            false
        }
        Err(_) => {
            // A panicking exporter would panic again on the same request after a restart.
            queue.metrics().failed(queue.signal(), items);
            tracing::error!(
                data_type = %queue.signal(),
                items,
                "the exporter panicked while sending a queued request; it is dropped and counted \
                 as failed"
            );
            true
        }
    };
    if settled && let (Some(id), Some(log)) = (id, queue.log()) {
        let log = log.clone();
        let acked = tokio::task::spawn_blocking(move || log.ack(id)).await;
        let error = match acked {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(error) = error {
            tracing::warn!(
                data_type = %queue.signal(),
                %error,
                "could not record a delivered request as done; it is sent again after a restart"
            );
        }
    }
    queue.done(bytes, items);
}
