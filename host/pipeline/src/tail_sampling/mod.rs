//! The native half of the Collector's `tail_sampling` processor: buffering spans by trace id
//! until `decision_wait` has passed, remembering decisions, bounding memory. The policies are
//! evaluated by a separate stage, the *decider* (in Sluice the `tail_sampling` WebAssembly
//! guest, wrapped as a processor), which passes on the spans of the traces it keeps.
//!
//! ```text
//! consume ─▶ buffer ─(timer: due traces)─▶ decider ─▶ recorder ─▶ next
//!   │  └─ decided before: sampled ─▶ next, not sampled ─▶ dropped
//! ```
//!
//! # Contract
//!
//! * Traces only: metrics and logs go to `next` unchanged.
//! * `consume` splits the request by trace id, keeping resource and scope envelopes (a trace
//!   may span several resources). Spans of a trace already decided follow the decision at
//!   once: sampled ones are sent to `next` inside the call (a refusal from `next` is returned
//!   and nothing of the request is kept, so the client's retry does not duplicate spans);
//!   not sampled ones are dropped and counted. The rest is buffered, remembering when each
//!   trace's first span arrived, and `consume` returns `Ok`: from then on the processor owns
//!   those spans (the acknowledgement rule of this crate).
//! * A timer (every `decision_wait / 10`, between 10 ms and 1 s; see [`next_tick`] for
//!   light load, when it waits up to 1 s) takes the traces whose first
//!   span arrived `decision_wait` ago or earlier, oldest first, and sends them to the decider
//!   in calls of at most [`TailSamplerOptions::max_traces_per_call`] traces and
//!   [`TailSamplerOptions::max_spans_per_call`] spans, one call per sender (receiver and
//!   authenticated identity; the call carries the request context of the first trace's first
//!   span), until none is due. A trace whose spans come out of the decider is *sampled*, one
//!   whose spans do not is *not sampled*. So a decision takes between `decision_wait` and
//!   `decision_wait` + one tick, at most `decision_wait` + 1 s (the Collector decides once a
//!   second).
//! * Bounds, checked on every `consume`: at most `num_traces` traces, at most
//!   [`TailSamplerOptions::max_spans`] spans and at most
//!   [`TailSamplerOptions::max_trace_spans`] spans per trace are buffered. A trace above its
//!   bound, then the oldest traces while a total is above its bound, are decided at once,
//!   inside that `consume` call, before `decision_wait` (the Collector drops them undecided).
//!   They are counted in `otelcol_processor_tail_sampling_sampling_trace_dropped_too_early`.
//! * Decisions are remembered in two caches of `decision_cache.sampled_cache_size` and
//!   `decision_cache.non_sampled_cache_size` trace ids (first in, first out); 0 means
//!   `num_traces` ids, because the Collector without caches keeps a decided trace in its
//!   buffer until `num_traces` newer traces push it out, so its late spans still follow the
//!   decision. Spans of a trace whose decision was forgotten start a new trace, as in the
//!   Collector. Spans arriving while their trace is in a decider call wait for the decision.
//! * Decider failures: the error is counted
//!   (`sluice_processor_tail_sampling_decider_errors`) and logged, and the call's traces that
//!   did not come out are sent to `next` as sampled: nothing is lost silently. A refusal
//!   (`ConsumeError::Refused`) of a timer call instead puts the traces back for the next tick;
//!   after the third refusal they are sent on as sampled. A trap of the guest with `on_error: pass` forwards the batch
//!   unchanged, so its traces are sampled; with `on_error: drop` they are not.
//! * When `next` refuses sampled spans (full queue), the processor keeps them and tries again
//!   on each tick, at most ten times, keeping at most `max_spans / 4` such spans; spans given
//!   up are counted in `otelcol_processor_dropped_spans` and logged. Other errors of `next`
//!   were counted by the stage that failed.
//! * [`Consumer::shutdown`]: waits for a running tick, decides every buffered trace through
//!   the decider (a refusal then sends them on as sampled), shuts the decider down (the
//!   recorder, its `next`, ignores that), tries refused spans for up to ten more ticks, then
//!   shuts `next` down, once. A `consume` after shutdown sends the request to `next`
//!   unchanged.
//! * Spans are buffered as they arrived, encoded, each trace's in `ResourceSpans` records of its
//!   own (copies of the envelopes it came in and of its spans' bytes): nothing is decoded, a
//!   decider call is the records of its traces concatenated, and what comes out is sent on as
//!   the decider's bytes. A request that arrives decoded is encoded once.
//! * Memory: buffered spans plus, per decider call in flight, that call's copy (the buffered
//!   spans stay here, to send on if the decider fails), plus the stash of refused spans.

mod buffer;
mod cache;
mod core;
mod decide;
mod group;
mod recorder;

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use sluice_config::TailSamplingSettings;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::buffer::{Buffer, Limits};
use self::core::{Core, RETRY_ATTEMPTS};
use self::decide::Mode;
use self::group::{group_by_trace, join_parts};
use self::recorder::Recorder;
use crate::encoded::Encoded;
use crate::metrics::TailSamplingMetrics;
use crate::{Batch, ConsumeError, Consumer, Form, Signal};

/// Tuning that is not part of the configuration.
#[derive(Debug, Clone)]
pub struct TailSamplerOptions {
    /// Buffered spans at most, all traces together (default 1 000 000, roughly 0.5 to 2 GiB
    /// depending on the attributes). Above it the oldest traces are decided early.
    pub max_spans: usize,
    /// Spans of one buffered trace at most (default 20 000). A trace above it is decided early;
    /// its later spans follow that decision.
    pub max_trace_spans: usize,
    /// Traces per decider call at most (default 1000).
    pub max_traces_per_call: usize,
    /// Spans per decider call at most, unless one trace alone has more (default 2 000: a call
    /// of ~1 MiB stays in the CPU's caches; calls of 20 000 spans cost ~10% more CPU per span
    /// in `bench/prod_pipeline.sh`).
    pub max_spans_per_call: usize,
}

impl Default for TailSamplerOptions {
    fn default() -> Self {
        TailSamplerOptions {
            max_spans: 1_000_000,
            max_trace_spans: 20_000,
            max_traces_per_call: 1000,
            max_spans_per_call: 2_000,
        }
    }
}

/// The `tail_sampling` processor; see the [module documentation](self) for its contract.
pub struct TailSampler {
    core: Arc<Core>,
    decider: Arc<dyn Consumer>,
    options: TailSamplerOptions,
    tick: Duration,
    /// Held by a running tick; shutdown takes it to wait for the tick.
    ticking: tokio::sync::Mutex<()>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

impl TailSampler {
    /// Build the processor and start its timer. `build_decider` gets the recorder, which must
    /// be the decider's `next`, and returns the decider (the policy guest around it).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the timer is a task), as [`crate::BatchProcessor::new`].
    pub fn new<E>(
        settings: &TailSamplingSettings,
        next: Arc<dyn Consumer>,
        metrics: TailSamplingMetrics,
        build_decider: impl FnOnce(Arc<dyn Consumer>) -> Result<Arc<dyn Consumer>, E>,
    ) -> Result<Arc<TailSampler>, E> {
        Self::with_options(
            settings,
            TailSamplerOptions::default(),
            next,
            metrics,
            build_decider,
        )
    }

    /// [`TailSampler::new`] with non-default [`TailSamplerOptions`].
    pub fn with_options<E>(
        settings: &TailSamplingSettings,
        options: TailSamplerOptions,
        next: Arc<dyn Consumer>,
        metrics: TailSamplingMetrics,
        build_decider: impl FnOnce(Arc<dyn Consumer>) -> Result<Arc<dyn Consumer>, E>,
    ) -> Result<Arc<TailSampler>, E> {
        let limits = limits(settings, &options);
        let stash_max_spans = limits.max_spans / 4;
        let core = Arc::new(Core::new(
            next,
            Buffer::new(limits),
            metrics,
            stash_max_spans,
        ));
        let decider = build_decider(Arc::new(Recorder { core: core.clone() }))?;
        let tick =
            (settings.decision_wait / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let sampler = Arc::new(TailSampler {
            core,
            decider,
            options,
            tick,
            ticking: tokio::sync::Mutex::new(()),
            timer: Mutex::new(None),
        });
        let handle = tokio::spawn(timer(Arc::downgrade(&sampler), tick));
        *sampler.timer.lock() = Some(handle);
        Ok(sampler)
    }

    /// How often due traces are decided under load: `decision_wait / 10`, between 10 ms and
    /// 1 s. Lightly loaded, the timer waits longer, up to [`TailSampler::longest_tick`].
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// The longest wait between two ticks: 1 s, or the tick if that is longer.
    pub fn longest_tick(&self) -> Duration {
        self.tick.max(LONGEST_TICK)
    }

    /// Decide the due traces and retry refused deliveries; returns the spans of the traces
    /// taken for decisions.
    async fn on_tick(&self) -> usize {
        self.core.retry_stashed().await;
        let mut taken = 0;
        loop {
            let due = self.core.buffer.lock().take_due(
                Instant::now(),
                self.options.max_traces_per_call,
                self.options.max_spans_per_call,
            );
            taken += due.iter().map(|t| t.trace.spans).sum::<usize>();
            if due.is_empty() || self.decide(due, Mode::Due).await {
                break;
            }
        }
        let buffer = self.core.buffer.lock();
        self.core.gauges(&buffer);
        taken
    }
}

/// The buffer's bounds from the configuration and the options.
fn limits(settings: &TailSamplingSettings, options: &TailSamplerOptions) -> Limits {
    let num_traces = settings.num_traces.max(1);
    let or_num_traces = |size: usize| if size > 0 { size } else { num_traces };
    let expected = settings
        .expected_new_traces_per_sec
        .saturating_mul(settings.decision_wait.as_secs().max(1));
    Limits {
        decision_wait: settings.decision_wait,
        num_traces,
        max_spans: options.max_spans.max(1),
        max_trace_spans: options.max_trace_spans.max(1),
        sampled_cache: or_num_traces(settings.decision_cache.sampled_cache_size),
        not_sampled_cache: or_num_traces(settings.decision_cache.non_sampled_cache_size),
        initial_capacity: usize::try_from(expected).map_or(num_traces, |e| e.min(num_traces)),
    }
}

/// The Collector's tick, and the longest wait between two of Sluice's.
const LONGEST_TICK: Duration = Duration::from_secs(1);

/// Decider calls' worth of spans a tick aims to find due: fewer, and the next tick comes later.
const CALLS_PER_TICK: usize = 4;

/// The wait before the next tick, after one that waited `current` and found `taken` spans due.
///
/// Under load every tick finds plenty due and the timer runs every `shortest`, which spreads
/// decisions out. Lightly loaded, a tick every `shortest` wakes the process for a decider call
/// of a few spans and an export of fewer; instead the wait stretches so that a tick finds about
/// `target` spans due (a few full decider calls, run back to back while the caches are warm),
/// but never beyond `longest`. At 10k spans/s with a 2 s `decision_wait` this saved seed 002's
/// pipeline ~4% of its CPU; under load nothing changes (bench/README.md).
fn next_tick(
    shortest: Duration,
    longest: Duration,
    current: Duration,
    taken: usize,
    target: usize,
) -> Duration {
    if taken == 0 {
        return longest;
    }
    // Spans due per tick grow with the wait: scale it towards `target`.
    let scale = target as f64 / taken as f64;
    current
        .mul_f64(scale.min(1e3))
        .clamp(shortest, longest.max(shortest))
}

async fn timer(sampler: Weak<TailSampler>, tick: Duration) {
    let mut wait = tick;
    loop {
        tokio::time::sleep(wait).await;
        let Some(sampler) = sampler.upgrade() else {
            return;
        };
        let _ticking = sampler.ticking.lock().await;
        if sampler.core.buffer.lock().is_closed() {
            return;
        }
        let taken = sampler.on_tick().await;
        let target = CALLS_PER_TICK * sampler.options.max_spans_per_call;
        wait = next_tick(tick, sampler.longest_tick(), wait, taken, target);
    }
}

impl Drop for TailSampler {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.get_mut().take() {
            timer.abort();
        }
        let buffer = self.core.buffer.lock();
        let traces = buffer.traces_on_memory();
        if !buffer.is_closed() && traces > 0 {
            tracing::warn!(
                processor = self.core.metrics.processor(),
                traces,
                spans = buffer.spans_on_memory(),
                "tail sampling processor dropped without shutdown: its buffered traces are lost"
            );
        }
    }
}

#[async_trait::async_trait]
impl Consumer for TailSampler {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let core = &self.core;
        let Batch { payload, context } = batch;
        if payload.signal() != Signal::Traces || core.buffer.lock().is_closed() {
            return core.next.consume(Batch::new(payload, context)).await;
        }
        // Spans are buffered as bytes: a request that arrives decoded only is encoded once.
        let bytes = payload.to_wire();
        let parts = match group_by_trace(&bytes) {
            Ok(parts) => parts,
            Err(error) => {
                tracing::warn!(
                    processor = core.metrics.processor(),
                    %error,
                    "spans refused: their encoding is broken"
                );
                return Err(ConsumeError::Invalid(format!(
                    "malformed OTLP traces request: {error}"
                )));
            }
        };
        drop((payload, bytes));
        if parts.is_empty() {
            return Ok(());
        }
        let classified = core.buffer.lock().classify(parts);

        // Traces decided before: sampled spans go on now, nothing else is kept yet.
        if !classified.sampled.is_empty() {
            let (request, spans) = join_parts(&classified.sampled);
            let payload = Encoded::from_host(Signal::Traces, request, spans);
            match core
                .next
                .consume(Batch::new(payload, context.clone()))
                .await
            {
                Ok(()) => core.metrics.late_spans(true, spans),
                Err(e @ ConsumeError::Refused { .. }) => return Err(e),
                Err(e) => tracing::debug!(
                    processor = core.metrics.processor(),
                    spans,
                    error = %e,
                    "late sampled spans not delivered"
                ),
            }
        }
        let dropped = classified.not_sampled.iter().map(|p| p.spans).sum();
        core.metrics.late_spans(false, dropped);

        let admitted = {
            let mut buffer = core.buffer.lock();
            if buffer.is_closed() {
                Err(classified.undecided)
            } else {
                let admitted = buffer.admit(classified.undecided, &context, Instant::now());
                core.gauges(&buffer);
                Ok(admitted)
            }
        };
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(undecided) => {
                // Shut down meanwhile (a producer outlived shutdown): send the rest on.
                let (request, spans) = join_parts(&undecided);
                core.deliver(request, spans, context).await;
                return Ok(());
            }
        };
        core.metrics.new_traces(admitted.new_traces);
        core.metrics.late_spans(false, admitted.not_sampled_spans);
        if !admitted.sampled.is_empty() {
            // Decided between the two looks at the caches.
            let (request, spans) = join_parts(&admitted.sampled);
            core.metrics.late_spans(true, spans);
            core.deliver(request, spans, context).await;
        }
        if !admitted.early.is_empty() {
            core.metrics.decided_too_early(admitted.early.len());
            self.decide(admitted.early, Mode::Early).await;
        }
        Ok(())
    }

    /// Spans are buffered as bytes.
    fn wants(&self) -> Form {
        Form::Wire
    }

    async fn shutdown(&self) {
        if !self.core.buffer.lock().close() {
            return;
        }
        let _ticking = self.ticking.lock().await;
        let timer = self.timer.lock().take();
        if let Some(timer) = timer {
            timer.abort();
        }
        loop {
            let rest = self.core.buffer.lock().take_any(
                self.options.max_traces_per_call,
                self.options.max_spans_per_call,
            );
            if rest.is_empty() {
                break;
            }
            self.decide(rest, Mode::Final).await;
        }
        self.decider.shutdown().await;
        for _ in 0..RETRY_ATTEMPTS {
            if self.core.retry_stashed().await == 0 {
                break;
            }
            tokio::time::sleep(self.tick).await;
        }
        self.core.lose_stash();
        {
            let buffer = self.core.buffer.lock();
            self.core.gauges(&buffer);
        }
        self.core.next.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
