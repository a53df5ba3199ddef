//! The traces waiting for their decision, the traces being decided and the decisions made:
//! the synchronous state behind the processor's lock (no I/O, no awaits).

use std::collections::BTreeMap;
use std::time::Duration;

use foldhash::{HashMap, HashMapExt};
use tokio::time::Instant;

use super::cache::DecisionCache;
use super::group::{TraceKey, TracePart};
use crate::RequestContext;

/// The outcome of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Sampled,
    NotSampled,
}

/// Sizes and times the buffer works with.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub decision_wait: Duration,
    /// Buffered traces at most (at least 1).
    pub num_traces: usize,
    /// Buffered spans at most, parked spans included.
    pub max_spans: usize,
    /// Spans of one buffered trace at most.
    pub max_trace_spans: usize,
    pub sampled_cache: usize,
    pub not_sampled_cache: usize,
    /// Traces to make room for up front.
    pub initial_capacity: usize,
}

/// A buffered trace.
pub(crate) struct Pending {
    seq: u64,
    /// When its first span arrived.
    pub first_seen: Instant,
    pub spans: usize,
    /// Its spans, encoded as `ResourceSpans` records (see [`TracePart`]).
    pub bytes: Vec<u8>,
    /// The context of the request that brought its first span.
    pub context: RequestContext,
    /// How often the decider refused to decide it.
    pub refusals: u32,
}

/// A trace taken out of the buffer to be decided. Until [`Buffer::settle`] or
/// [`Buffer::requeue`], spans arriving for it are parked.
pub(crate) struct Taken {
    pub key: TraceKey,
    pub trace: Pending,
}

/// Spans that arrived while their trace was being decided.
pub(crate) struct Parked {
    /// Encoded as `ResourceSpans` records (see [`TracePart`]).
    pub bytes: Vec<u8>,
    pub spans: usize,
    pub context: RequestContext,
}

/// The parts of a request sorted by the decision already made for their trace.
#[derive(Default)]
pub(crate) struct Classified {
    pub sampled: Vec<TracePart>,
    pub not_sampled: Vec<TracePart>,
    pub undecided: Vec<TracePart>,
}

/// What [`Buffer::admit`] leaves to the caller.
#[derive(Default)]
pub(crate) struct Admitted {
    /// Traces seen for the first time.
    pub new_traces: usize,
    /// Parts of traces sampled since they were classified: to deliver.
    pub sampled: Vec<TracePart>,
    /// Spans of traces not sampled since they were classified: dropped.
    pub not_sampled_spans: usize,
    /// Traces pushed out by the limits, to decide now.
    pub early: Vec<Taken>,
}

pub(crate) struct Buffer {
    limits: Limits,
    traces: HashMap<TraceKey, Pending>,
    /// Buffered traces by arrival of their first span (`Pending::seq`).
    order: BTreeMap<u64, TraceKey>,
    next_seq: u64,
    /// Spans in `traces`.
    spans: usize,
    /// Traces being decided, with the spans that arrived meanwhile.
    deciding: HashMap<TraceKey, Vec<Parked>>,
    parked_spans: usize,
    sampled: DecisionCache,
    not_sampled: DecisionCache,
    closed: bool,
}

impl Buffer {
    pub(crate) fn new(limits: Limits) -> Self {
        Buffer {
            traces: HashMap::with_capacity(limits.initial_capacity),
            order: BTreeMap::new(),
            next_seq: 0,
            spans: 0,
            deciding: HashMap::new(),
            parked_spans: 0,
            sampled: DecisionCache::new(limits.sampled_cache),
            not_sampled: DecisionCache::new(limits.not_sampled_cache),
            closed: false,
            limits,
        }
    }

    /// Stop taking traces (shutdown). Returns false when already closed.
    pub(crate) fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Traces buffered or being decided.
    pub(crate) fn traces_on_memory(&self) -> usize {
        self.traces.len() + self.deciding.len()
    }

    /// Spans buffered or parked.
    pub(crate) fn spans_on_memory(&self) -> usize {
        self.spans + self.parked_spans
    }

    /// Sort `parts` by the cached decision of their trace.
    pub(crate) fn classify(&self, parts: Vec<TracePart>) -> Classified {
        let mut out = Classified::default();
        for part in parts {
            if self.sampled.contains(&part.key) {
                out.sampled.push(part);
            } else if self.not_sampled.contains(&part.key) {
                out.not_sampled.push(part);
            } else {
                out.undecided.push(part);
            }
        }
        out
    }

    /// Buffer `parts` (of one request that arrived with `context`), park the parts of traces
    /// being decided, and take out what the limits push out: traces above `max_trace_spans`,
    /// then the oldest traces while above `num_traces` or `max_spans`.
    pub(crate) fn admit(
        &mut self,
        parts: Vec<TracePart>,
        context: &RequestContext,
        now: Instant,
    ) -> Admitted {
        let mut out = Admitted::default();
        let mut oversized = Vec::new();
        for part in parts {
            let key = part.key;
            if self.sampled.contains(&key) {
                out.sampled.push(part);
            } else if self.not_sampled.contains(&key) {
                out.not_sampled_spans += part.spans;
            } else if let Some(parked) = self.deciding.get_mut(&key) {
                self.parked_spans += part.spans;
                parked.push(Parked {
                    bytes: part.bytes,
                    spans: part.spans,
                    context: context.clone(),
                });
            } else {
                self.spans += part.spans;
                let (order, next_seq, new_traces) =
                    (&mut self.order, &mut self.next_seq, &mut out.new_traces);
                let trace = self.traces.entry(key).or_insert_with(|| {
                    *new_traces += 1;
                    let seq = *next_seq;
                    *next_seq += 1;
                    order.insert(seq, key);
                    Pending {
                        seq,
                        first_seen: now,
                        spans: 0,
                        bytes: Vec::new(),
                        context: context.clone(),
                        refusals: 0,
                    }
                });
                trace.spans += part.spans;
                append(&mut trace.bytes, part.bytes);
                if trace.spans > self.limits.max_trace_spans {
                    oversized.push(key);
                }
            }
        }
        for key in oversized {
            out.early.extend(self.take(key));
        }
        while self.traces.len() > self.limits.num_traces
            || (self.spans_on_memory() > self.limits.max_spans && !self.traces.is_empty())
        {
            let Some((_, key)) = self.order.first_key_value() else {
                break;
            };
            let key = *key;
            match self.take(key) {
                Some(taken) => out.early.push(taken),
                None => {
                    // Cannot happen (`order` and `traces` change together); never loop on it.
                    self.order.pop_first();
                }
            }
        }
        out
    }

    /// Take the oldest traces whose first span arrived `decision_wait` ago or earlier: at most
    /// `max_traces`, and no more than `max_spans` spans unless a single trace has more.
    pub(crate) fn take_due(
        &mut self,
        now: Instant,
        max_traces: usize,
        max_spans: usize,
    ) -> Vec<Taken> {
        let wait = self.limits.decision_wait;
        self.take_oldest(max_traces, max_spans, |t| {
            now.saturating_duration_since(t.first_seen) >= wait
        })
    }

    /// Take the oldest traces, due or not (shutdown), within the same bounds as `take_due`.
    pub(crate) fn take_any(&mut self, max_traces: usize, max_spans: usize) -> Vec<Taken> {
        self.take_oldest(max_traces, max_spans, |_| true)
    }

    fn take_oldest(
        &mut self,
        max_traces: usize,
        max_spans: usize,
        due: impl Fn(&Pending) -> bool,
    ) -> Vec<Taken> {
        let mut out: Vec<Taken> = Vec::new();
        let mut spans = 0;
        while out.len() < max_traces.max(1) {
            let Some((_, key)) = self.order.first_key_value() else {
                break;
            };
            let key = *key;
            let Some(trace) = self.traces.get(&key) else {
                self.order.pop_first();
                continue;
            };
            if !due(trace) || (!out.is_empty() && spans + trace.spans > max_spans) {
                break;
            }
            spans += trace.spans;
            out.extend(self.take(key));
        }
        out
    }

    fn take(&mut self, key: TraceKey) -> Option<Taken> {
        let trace = self.traces.remove(&key)?;
        self.order.remove(&trace.seq);
        self.spans -= trace.spans;
        self.deciding.insert(key, Vec::new());
        Some(Taken { key, trace })
    }

    /// Record the decision for a trace taken out; returns the spans parked for it meanwhile.
    pub(crate) fn settle(&mut self, key: TraceKey, decision: Decision) -> Vec<Parked> {
        match decision {
            Decision::Sampled => self.sampled.insert(key),
            Decision::NotSampled => self.not_sampled.insert(key),
        }
        let parked = self.deciding.remove(&key).unwrap_or_default();
        self.parked_spans -= parked.iter().map(|p| p.spans).sum::<usize>();
        parked
    }

    /// Put a trace taken out back in its place (the decider refused it), with the spans parked
    /// for it meanwhile.
    pub(crate) fn requeue(&mut self, taken: Taken) {
        let Taken { key, mut trace } = taken;
        for parked in self.deciding.remove(&key).unwrap_or_default() {
            self.parked_spans -= parked.spans;
            trace.spans += parked.spans;
            append(&mut trace.bytes, parked.bytes);
        }
        self.spans += trace.spans;
        self.order.insert(trace.seq, key);
        self.traces.insert(key, trace);
    }
}

/// `more` after `bytes` (moved when `bytes` is empty, the common case of a trace whose spans
/// all come in one request).
fn append(bytes: &mut Vec<u8>, more: Vec<u8>) {
    if bytes.is_empty() {
        *bytes = more;
    } else {
        bytes.extend_from_slice(&more);
    }
}
