//! Span sampling (the Collector's `tracesprocessor.go`): randomness from the trace id or the
//! tracestate's `rv`, the decision, `sampling.priority`, and the `th` (and, in `hash_seed`
//! mode, `rv`) written into kept spans' tracestate.

use sluice_guest_sdk::otlp::any_value::Value;
use sluice_guest_sdk::prelude::*;

use crate::fnv::randomness_from_bytes;
use crate::sampler::{Carrier, ItemError, Rnd, Sampler, Verdict, should_sample};
use crate::sampling::{Randomness, Threshold};
use crate::tracestate::W3CTraceState;

/// A span's sampling state: its parsed tracestate (`tracestateCarrier`).
pub struct SpanCarrier {
    state: W3CTraceState,
    serialized: Option<String>,
}

impl SpanCarrier {
    fn new(state: W3CTraceState) -> Self {
        Self {
            state,
            serialized: None,
        }
    }
}

impl Carrier for SpanCarrier {
    fn threshold(&self) -> Option<Threshold> {
        self.state.otel().threshold()
    }
    fn explicit_randomness(&self) -> Option<Randomness> {
        self.state.otel().randomness()
    }
    fn set_explicit_randomness(&mut self, rnd: Randomness) {
        self.state.otel_mut().set_randomness(rnd);
    }
    fn clear_threshold(&mut self) {
        self.state.otel_mut().clear_threshold();
    }
    fn update_threshold(&mut self, threshold: Threshold) {
        // Refusing to raise an arriving probability is working as intended (the Collector
        // logs it at debug level).
        let _ = self.state.otel_mut().update_threshold(threshold);
    }
    fn reserialize(&mut self) {
        self.serialized = Some(self.state.serialize());
    }
}

/// A trace id that is 16 bytes and not all zero (`!TraceID().IsEmpty()`). Other lengths are
/// treated as invalid (the Collector's decoder would have refused the request).
pub fn valid_trace_id(id: &[u8]) -> Option<[u8; 16]> {
    let id: [u8; 16] = id.try_into().ok()?;
    (id != [0; 16]).then_some(id)
}

/// `randomnessFromSpan` of each mode.
fn randomness_from_span(
    sampler: &Sampler,
    span: &Span,
) -> (Rnd, Option<SpanCarrier>, Option<ItemError>) {
    let (state, parse_error) = W3CTraceState::parse_partial(&span.trace_state);
    let parse_error = parse_error.map(|e| ItemError::Parse(e.to_string()));
    let trace_id = valid_trace_id(&span.trace_id);
    match sampler {
        Sampler::Never => (
            // A stand-in value so that the missing-randomness check passes; never used.
            Rnd::Priority(Randomness::ALL_PROBABILITIES),
            Some(SpanCarrier::new(state)),
            parse_error,
        ),
        Sampler::Hashing { seed, .. } => {
            let rnd = match trace_id {
                Some(id) => Rnd::TraceIdHash(randomness_from_bytes(&id, *seed)),
                None => Rnd::Missing,
            };
            if parse_error.is_some() {
                return (rnd, None, parse_error);
            }
            let mut carrier = SpanCarrier::new(state);
            if carrier.explicit_randomness().is_some() {
                (rnd, None, Some(ItemError::RandomnessInUse))
            } else if carrier.threshold().is_some() {
                (rnd, None, Some(ItemError::ThresholdInUse))
            } else {
                carrier.set_explicit_randomness(rnd.value());
                (rnd, Some(carrier), None)
            }
        }
        Sampler::Equalizing { .. } | Sampler::Proportional { .. } => {
            if parse_error.is_some() {
                return (Rnd::Missing, None, parse_error);
            }
            let carrier = SpanCarrier::new(state);
            let rnd = match (carrier.explicit_randomness(), trace_id) {
                (Some(r), _) => Rnd::Explicit(r),
                (None, Some(id)) => Rnd::TraceIdW3c(Randomness::from_trace_id(&id)),
                (None, None) => Rnd::Missing,
            };
            (rnd, Some(carrier), None)
        }
    }
}

/// The `sampling.priority` hint (OpenTracing semantic conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanPriority {
    /// No usable attribute: the sampler decides.
    Defer,
    /// A positive priority: always sample.
    MustSample,
    /// Priority zero: never sample.
    DoNotSample,
}

/// `parseSpanSamplingPriority`: ints, doubles and numeric strings; 0 means do-not-sample, a
/// positive value must-sample, anything else defers.
pub fn span_priority(span: &Span) -> SpanPriority {
    let value = match span
        .attribute("sampling.priority")
        .and_then(|v| v.value.as_ref())
    {
        Some(Value::IntValue(i)) => *i as f64,
        Some(Value::DoubleValue(d)) => *d,
        Some(Value::StringValue(s)) => match go_parse_float(s) {
            Some(d) => d,
            None => return SpanPriority::Defer,
        },
        _ => return SpanPriority::Defer,
    };
    if value == 0.0 {
        SpanPriority::DoNotSample
    } else if value > 0.0 {
        SpanPriority::MustSample
    } else {
        SpanPriority::Defer
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: Rust's parser accepts the same decimal,
/// `inf`/`infinity`/`nan` spellings, and Go refuses values that overflow to infinity. (Go's
/// hexadecimal floats such as `0x1p-2` are not accepted here.)
pub fn go_parse_float(s: &str) -> Option<f64> {
    let value: f64 = s.parse().ok()?;
    if value.is_infinite() && !s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(value)
}

/// What sampling did to a traces batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TracesResult {
    /// Spans seen.
    pub total: usize,
    /// Spans kept.
    pub kept: usize,
    /// Kept spans whose tracestate changed.
    pub rewritten: usize,
    /// Spans that had a sampling error (`fail_closed` decided them), and the first error.
    pub errors: usize,
    /// The first error.
    pub first_error: Option<String>,
}

/// Samples every span of `batch` in place, removing unsampled spans and emptied scopes and
/// resources.
pub fn sample_traces(
    sampler: &Sampler,
    fail_closed: bool,
    batch: &mut ExportTraceServiceRequest,
) -> TracesResult {
    let mut result = TracesResult::default();
    for rs in &mut batch.resource_spans {
        for ss in &mut rs.scope_spans {
            ss.spans.retain_mut(|span| {
                result.total += 1;
                let (verdict, carrier) = sample_span(sampler, fail_closed, span);
                if let Some(e) = verdict.error {
                    result.errors += 1;
                    result.first_error.get_or_insert_with(|| e.to_string());
                }
                if !verdict.sampled {
                    return false;
                }
                result.kept += 1;
                if let Some(serialized) = carrier.and_then(|c| c.serialized)
                    && serialized != span.trace_state
                {
                    span.trace_state = serialized;
                    result.rewritten += 1;
                }
                true
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    batch.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    result
}

/// The decision for one span; the carrier holds its new tracestate when it was sampled.
pub fn sample_span(
    sampler: &Sampler,
    fail_closed: bool,
    span: &Span,
) -> (Verdict, Option<SpanCarrier>) {
    let (rnd, carrier, error) = randomness_from_span(sampler, span);
    should_sample(
        sampler,
        fail_closed,
        rnd,
        carrier,
        error,
        |rnd, threshold| match span_priority(span) {
            SpanPriority::DoNotSample => (Rnd::Priority(rnd.value()), Threshold::NEVER_SAMPLE),
            SpanPriority::MustSample => (Rnd::Priority(rnd.value()), Threshold::ALWAYS_SAMPLE),
            SpanPriority::Defer => (rnd, threshold),
        },
    )
}
