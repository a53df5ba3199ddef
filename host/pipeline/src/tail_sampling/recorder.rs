//! The decider's `next`: notes which traces come out of the policy evaluator and sends their
//! spans on to the processor's `next`.

use std::sync::Arc;

use super::core::{Core, Mark};
use super::group::keys_of;
use crate::{Batch, ConsumeError, Consumer, Payload};

pub(crate) struct Recorder {
    pub(crate) core: Arc<Core>,
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    /// Marks the traces of the batch that are in a decider call as sampled, then forwards the
    /// batch. A refusal from `next` is passed back (the processor keeps the spans and tries
    /// again); other errors were counted and logged by the stage that failed, so the guest is
    /// told `Ok`, which keeps them from being mistaken for a failure of the evaluator.
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let mut marked = Vec::new();
        if let Payload::Traces(request) = &batch.payload {
            let mut marks = self.core.marks.lock();
            for key in keys_of(request) {
                if let Some(mark) = marks.get_mut(&key)
                    && *mark == Mark::Registered
                {
                    *mark = Mark::CameOut;
                    marked.push(key);
                }
            }
        }
        match self.core.next.consume(batch).await {
            Ok(()) => Ok(()),
            Err(e @ ConsumeError::Refused { .. }) => {
                let mut marks = self.core.marks.lock();
                for key in &marked {
                    if let Some(mark) = marks.get_mut(key) {
                        *mark = Mark::Refused;
                    }
                }
                Err(e)
            }
            Err(e) => {
                tracing::debug!(
                    processor = self.core.metrics.processor(),
                    error = %e,
                    "sampled spans not delivered"
                );
                Ok(())
            }
        }
    }

    /// Nothing: the processor shuts `next` down itself, once, after its last delivery.
    async fn shutdown(&self) {}
}
