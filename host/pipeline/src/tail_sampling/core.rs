//! What the processor and its recorder share: the buffer, the marks of the traces in decider
//! calls, and the stash of sampled spans that `next` refused.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use foldhash::{HashMap, HashMapExt};
use parking_lot::Mutex;

use super::buffer::Buffer;
use super::group::TraceKey;
use crate::encoded::Encoded;
use crate::metrics::TailSamplingMetrics;
use crate::{Batch, ConsumeError, Consumer, RequestContext, Signal};

/// Ticks a refused delivery is tried again before its spans are counted as lost.
pub(crate) const RETRY_ATTEMPTS: u32 = 10;

/// What became of a trace sent to the decider, as the recorder saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Sent; no span of it came out (yet).
    Registered,
    /// Its spans came out and `next` took them.
    CameOut,
    /// Its spans came out and `next` refused them.
    Refused,
}

/// Spans `next` refused, to try again on the next tick.
pub(crate) struct Retry {
    /// An encoded traces request.
    pub bytes: Bytes,
    pub context: RequestContext,
    pub spans: usize,
    /// Deliveries tried so far.
    pub attempts: u32,
}

#[derive(Default)]
struct Stash {
    entries: VecDeque<Retry>,
    spans: usize,
}

pub(crate) struct Core {
    pub next: Arc<dyn Consumer>,
    pub buffer: Mutex<Buffer>,
    pub marks: Mutex<HashMap<TraceKey, Mark>>,
    pub metrics: TailSamplingMetrics,
    stash: Mutex<Stash>,
    /// Stashed spans at most; the oldest are lost beyond.
    stash_max_spans: usize,
}

impl Core {
    pub(crate) fn new(
        next: Arc<dyn Consumer>,
        buffer: Buffer,
        metrics: TailSamplingMetrics,
        stash_max_spans: usize,
    ) -> Self {
        Core {
            next,
            buffer: Mutex::new(buffer),
            marks: Mutex::new(HashMap::new()),
            metrics,
            stash: Mutex::default(),
            stash_max_spans: stash_max_spans.max(1),
        }
    }

    /// Publish what `buffer` (the locked buffer) holds.
    pub(crate) fn gauges(&self, buffer: &Buffer) {
        self.metrics
            .set_on_memory(buffer.traces_on_memory(), buffer.spans_on_memory());
    }

    /// Send spans the processor owns (`bytes`, an encoded request of `spans` spans) to `next`.
    /// A refusal stashes them for the next tick; other errors were counted and logged by the
    /// stage that failed.
    pub(crate) async fn deliver(&self, bytes: Bytes, spans: usize, context: RequestContext) {
        if spans == 0 {
            return;
        }
        let payload = Encoded::from_host(Signal::Traces, bytes.clone(), spans);
        match self
            .next
            .consume(Batch::new(payload, context.clone()))
            .await
        {
            Ok(()) => {}
            Err(ConsumeError::Refused { .. }) => self.stash(Retry {
                bytes,
                context,
                spans,
                attempts: 1,
            }),
            Err(e) => tracing::debug!(
                processor = self.metrics.processor(),
                spans,
                error = %e,
                "sampled spans not delivered"
            ),
        }
    }

    /// Keep `retry` for the next tick, losing the oldest stashed spans beyond the bound.
    pub(crate) fn stash(&self, retry: Retry) {
        let lost = {
            let mut stash = self.stash.lock();
            stash.spans += retry.spans;
            stash.entries.push_back(retry);
            let mut lost = Vec::new();
            while stash.spans > self.stash_max_spans && stash.entries.len() > 1 {
                if let Some(old) = stash.entries.pop_front() {
                    stash.spans -= old.spans;
                    lost.push(old);
                }
            }
            lost
        };
        for retry in lost {
            self.lose(&retry, "too many refused spans are waiting to be delivered");
        }
    }

    /// Try every stashed delivery once more (after the first refusal of a pass, the rest wait
    /// for the next pass). Returns how many remain stashed.
    pub(crate) async fn retry_stashed(&self) -> usize {
        let entries = {
            let mut stash = self.stash.lock();
            stash.spans = 0;
            std::mem::take(&mut stash.entries)
        };
        let mut refused = false;
        for mut retry in entries {
            if !refused {
                let payload = Encoded::from_host(Signal::Traces, retry.bytes.clone(), retry.spans);
                let batch = Batch::new(payload, retry.context.clone());
                match self.next.consume(batch).await {
                    Ok(()) => continue,
                    Err(ConsumeError::Refused { .. }) => refused = true,
                    Err(e) => {
                        tracing::debug!(
                            processor = self.metrics.processor(),
                            spans = retry.spans,
                            error = %e,
                            "sampled spans not delivered"
                        );
                        continue;
                    }
                }
            }
            retry.attempts += 1;
            if retry.attempts > RETRY_ATTEMPTS {
                self.lose(&retry, "the next stage kept refusing them");
            } else {
                self.stash(retry);
            }
        }
        self.stash.lock().entries.len()
    }

    /// Count everything still stashed as lost (end of shutdown).
    pub(crate) fn lose_stash(&self) {
        let entries = std::mem::take(&mut *self.stash.lock());
        for retry in entries.entries {
            self.lose(&retry, "the next stage still refused them at shutdown");
        }
    }

    fn lose(&self, retry: &Retry, why: &str) {
        self.metrics.lost(retry.spans);
        tracing::error!(
            processor = self.metrics.processor(),
            spans = retry.spans,
            attempts = retry.attempts,
            "sampled spans lost: {why}"
        );
    }
}
