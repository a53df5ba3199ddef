//! One round of decisions: traces out of the buffer, through the policy evaluator, into the
//! decision caches, their spans to `next` or dropped.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::TailSampler;
use super::buffer::{Decision, Parked, Taken};
use super::core::{Mark, Retry};
use super::group::request_of;
use crate::encoded::Encoded;
use crate::{AuthInfo, Batch, ConsumeError, Payload, Signal};

/// Decider refusals after which a due trace is sent on as sampled.
const MAX_REFUSALS: u32 = 3;

/// Why traces are being decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Their `decision_wait` is over (timer).
    Due,
    /// A bound of the buffer was reached.
    Early,
    /// Shutdown.
    Final,
}

/// How a decider call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The spans that came out are the sampled traces.
    Decided,
    /// The decider refused: its traces go back to the buffer for the next tick.
    Requeue,
    /// The decider failed: its traces are sent on as sampled.
    Failed,
}

impl TailSampler {
    /// Decide `taken` with one decider call per sender (receiver and authenticated identity,
    /// as the batch processor keys its batches), so the context each call carries is the one
    /// the first span of each of its traces arrived with. Returns true when the decider
    /// refused a call.
    pub(crate) async fn decide(&self, taken: Vec<Taken>, mode: Mode) -> bool {
        let mut index: HashMap<(Arc<str>, Arc<AuthInfo>), usize> = HashMap::new();
        let mut groups: Vec<Vec<Taken>> = Vec::new();
        for t in taken {
            let sender = (
                t.trace.context.receiver.clone(),
                t.trace.context.auth.clone(),
            );
            let i = *index.entry(sender).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[i].push(t);
        }
        let mut refused = false;
        for group in groups {
            refused |= self.decide_call(group, mode).await == Verdict::Requeue;
        }
        refused
    }

    async fn decide_call(&self, traces: Vec<Taken>, mode: Mode) -> Verdict {
        let core = &self.core;
        let Some(first) = traces.first() else {
            return Verdict::Decided;
        };
        let context = first.trace.context.clone();
        {
            let mut marks = core.marks.lock();
            for t in &traces {
                marks.insert(t.key, Mark::Registered);
            }
        }
        // The evaluator gets a copy (the traces' records concatenated): on failure the
        // originals are sent on.
        let result = self
            .decider
            .consume(Batch::new(encoded_copy(&traces), context.clone()))
            .await;
        let marks: Vec<Mark> = {
            let mut marks = core.marks.lock();
            traces
                .iter()
                .map(|t| marks.remove(&t.key).unwrap_or(Mark::Registered))
                .collect()
        };
        let verdict = match &result {
            Ok(()) => Verdict::Decided,
            // `next` refused what came out: decided; the recorder's refusal came back.
            Err(_) if marks.contains(&Mark::Refused) => Verdict::Decided,
            Err(ConsumeError::Refused { .. }) if mode == Mode::Due => Verdict::Requeue,
            Err(_) => Verdict::Failed,
        };
        if let Err(e) = &result
            && verdict != Verdict::Decided
        {
            core.metrics.decider_error();
            tracing::warn!(
                processor = core.metrics.processor(),
                traces = traces.len(),
                error = %e,
                "the tail sampling policy evaluator failed; {}",
                if verdict == Verdict::Requeue {
                    "its traces are tried again on the next tick"
                } else {
                    "its traces are sent on as sampled"
                }
            );
        }

        let (mut refused_by_next, mut refused_spans) = (Vec::new(), 0);
        let (mut forward, mut forward_spans) = (Vec::new(), 0);
        let mut parked_sampled: Vec<Parked> = Vec::new();
        let mut parked_dropped = 0;
        let mut counts = [0usize; 2];
        {
            let mut buffer = core.buffer.lock();
            for (mut t, mark) in traces.into_iter().zip(marks) {
                let decision = match (mark, verdict) {
                    (Mark::CameOut, _) => Decision::Sampled,
                    (Mark::Refused, _) => {
                        refused_spans += t.trace.spans;
                        refused_by_next.push(std::mem::take(&mut t.trace.bytes));
                        Decision::Sampled
                    }
                    (Mark::Registered, Verdict::Decided) => Decision::NotSampled,
                    (Mark::Registered, Verdict::Requeue) if t.trace.refusals + 1 < MAX_REFUSALS => {
                        t.trace.refusals += 1;
                        buffer.requeue(t);
                        continue;
                    }
                    (Mark::Registered, _) => {
                        forward_spans += t.trace.spans;
                        forward.push(std::mem::take(&mut t.trace.bytes));
                        Decision::Sampled
                    }
                };
                counts[usize::from(decision == Decision::Sampled)] += 1;
                let parked = buffer.settle(t.key, decision);
                if decision == Decision::Sampled {
                    parked_sampled.extend(parked);
                } else {
                    parked_dropped += parked.iter().map(|p| p.spans).sum::<usize>();
                }
            }
            core.gauges(&buffer);
        }
        core.metrics.decided(false, counts[0]);
        core.metrics.decided(true, counts[1]);
        core.metrics.late_spans(false, parked_dropped);

        if !refused_by_next.is_empty() {
            core.stash(Retry {
                spans: refused_spans,
                bytes: request_of(refused_by_next.iter().map(Vec::as_slice)),
                context: context.clone(),
                attempts: 1,
            });
        }
        if !forward.is_empty() {
            let bytes = request_of(forward.iter().map(Vec::as_slice));
            core.deliver(bytes, forward_spans, context).await;
        }
        for parked in parked_sampled {
            core.metrics.late_spans(true, parked.spans);
            core.deliver(Bytes::from(parked.bytes), parked.spans, parked.context)
                .await;
        }
        verdict
    }
}

/// The spans of `traces` as one encoded request: their records concatenated.
fn encoded_copy(traces: &[Taken]) -> Payload {
    let bytes = request_of(traces.iter().map(|t| t.trace.bytes.as_slice()));
    let spans = traces.iter().map(|t| t.trace.spans).sum();
    Encoded::from_host(Signal::Traces, bytes, spans)
}
