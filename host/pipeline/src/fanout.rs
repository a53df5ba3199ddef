//! Fan-out: hands one batch to several consumers (the pipelines that share a receiver, or the
//! exporters of one pipeline).

use std::sync::Arc;

use futures::future::join_all;

use crate::{Batch, ConsumeError, Consumer};

/// Sends every batch to all its consumers concurrently. It succeeds only if every consumer took
/// the batch, so a refusal anywhere is seen by the client, who retries; a consumer that fails
/// owns and reports its own loss.
pub struct Fanout {
    consumers: Vec<Arc<dyn Consumer>>,
}

impl Fanout {
    pub fn new(consumers: Vec<Arc<dyn Consumer>>) -> Self {
        Fanout { consumers }
    }

    /// One consumer needs no fan-out: return it as it is.
    pub fn of(mut consumers: Vec<Arc<dyn Consumer>>) -> Arc<dyn Consumer> {
        if consumers.len() == 1
            && let Some(only) = consumers.pop()
        {
            return only;
        }
        Arc::new(Fanout::new(consumers))
    }
}

#[async_trait::async_trait]
impl Consumer for Fanout {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let Some((last, rest)) = self.consumers.split_last() else {
            return Ok(());
        };
        let mut calls: Vec<_> = rest.iter().map(|c| c.consume(batch.clone())).collect();
        calls.push(last.consume(batch));
        // Report the most actionable error: a refusal (retry) over a failure.
        let mut outcome = Ok(());
        for result in join_all(calls).await {
            match (result, &outcome) {
                (Ok(()), _) => {}
                (Err(e @ ConsumeError::Refused { .. }), _) => outcome = Err(e),
                (Err(e), Ok(())) => outcome = Err(e),
                (Err(_), Err(_)) => {}
            }
        }
        outcome
    }

    async fn shutdown(&self) {
        join_all(self.consumers.iter().map(|c| c.shutdown())).await;
    }
}
