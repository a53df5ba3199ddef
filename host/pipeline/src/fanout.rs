//! Fan-out: hands one batch to several consumers (the pipelines that share a receiver, or the
//! exporters of one pipeline).

use std::sync::Arc;

use futures::future::join_all;

use crate::{Batch, ConsumeError, Consumer, Form};

/// Sends every batch to all its consumers concurrently. It succeeds only if every consumer took
/// the batch, so a refusal anywhere is seen by the client, who retries; a consumer that fails
/// owns and reports its own loss.
///
/// A request that travels as bytes and decoded ([`Payload::Encoded`](crate::Payload)) is not
/// copied whole for each consumer: the first consumer that reads requests decoded (or the last
/// one) gets it as it is, the others only its bytes (shared, not copied).
pub struct Fanout {
    consumers: Vec<Arc<dyn Consumer>>,
}

impl Fanout {
    pub fn new(consumers: Vec<Arc<dyn Consumer>>) -> Self {
        Fanout { consumers }
    }

    /// The consumer that gets a request as it is. Asked per request: a consumer bound late
    /// (a connector's pipelines) may say what it reads only once the graph is complete.
    fn whole(&self) -> usize {
        self.consumers
            .iter()
            .position(|c| c.wants() == Form::Decoded)
            .unwrap_or(self.consumers.len().saturating_sub(1))
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
        if self.consumers.is_empty() {
            return Ok(());
        }
        let whole = self.whole();
        let mut calls = Vec::with_capacity(self.consumers.len());
        for (i, c) in self.consumers.iter().enumerate() {
            if i != whole {
                let copy = Batch::new(batch.payload.share(c.wants()), batch.context.clone());
                calls.push(c.consume(copy));
            }
        }
        if let Some(c) = self.consumers.get(whole) {
            calls.push(c.consume(batch));
        }
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

    /// Decoded when any consumer reads requests decoded.
    fn wants(&self) -> Form {
        if self.consumers.iter().any(|c| c.wants() == Form::Decoded) {
            Form::Decoded
        } else {
            Form::Wire
        }
    }

    async fn shutdown(&self) {
        join_all(self.consumers.iter().map(|c| c.shutdown())).await;
    }
}
