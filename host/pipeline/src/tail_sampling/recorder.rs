//! The decider's `next`: notes which traces come out of the policy evaluator and sends their
//! spans on to the processor's `next`.

use std::sync::Arc;

use super::core::{Core, Mark};
use super::group::{TraceKey, keys_of};
use crate::{Batch, ConsumeError, Consumer, Payload, Signal, wire};

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
        {
            let mut marks = self.core.marks.lock();
            let mut came_out = |key: TraceKey| {
                if let Some(mark) = marks.get_mut(&key)
                    && *mark == Mark::Registered
                {
                    *mark = Mark::CameOut;
                    marked.push(key);
                }
            };
            match &batch.payload {
                Payload::Traces(request) => keys_of(request).for_each(&mut came_out),
                Payload::Encoded(e) => match e.known_decoded() {
                    Some(Payload::Traces(request)) => keys_of(request).for_each(&mut came_out),
                    // What the evaluator returned as bytes: its trace ids are read from the
                    // framing, without decoding the spans.
                    _ if e.signal() == Signal::Traces => {
                        let read = wire::each_trace_id(e.bytes(), |id| came_out(TraceKey::of(id)));
                        if let Err(error) = read {
                            tracing::debug!(
                                processor = self.core.metrics.processor(),
                                %error,
                                "sampled spans whose trace ids cannot be read"
                            );
                        }
                    }
                    _ => {}
                },
                Payload::Metrics(_) | Payload::Logs(_) => {}
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
