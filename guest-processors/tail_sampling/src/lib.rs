//! The policy evaluator of the OpenTelemetry Collector's `tail_sampling` processor, as a
//! Sluice guest.
//!
//! The host buffers spans by trace id for `decision_wait` and then calls `process` with a
//! batch holding all buffered spans of one or more complete traces (a trace's spans may be
//! spread over several resources and scopes). This guest evaluates the configured policies
//! for each trace, as the Collector's `makeDecision` does, and returns the spans of the kept
//! traces: `unchanged` when every trace is kept, `dropped` when none is, otherwise the kept
//! traces' spans in their original resource and scope structure. The host derives each
//! trace's decision from which trace ids come back.
//!
//! ```yaml
//! processors:
//!   tail_sampling:
//!     decision_wait: 10s          # host fields: accepted, ignored here
//!     num_traces: 50000
//!     policies:
//!       - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
//!       - {name: slow, type: latency, latency: {threshold_ms: 500}}
//!       - {name: some, type: probabilistic, probabilistic: {sampling_percentage: 10}}
//! ```

pub mod clock;
pub mod config;
pub mod decision;
pub mod policies;
pub mod trace_view;

use hashbrown::HashSet;

use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::runtime::Output;
use sluice_guest_sdk::wire::{self, Malformed, SpanDecoder};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, NamedPolicy};
use crate::decision::{Decision, final_decision};
use crate::policies::Policy;
use crate::trace_view::{TraceRef, TraceView, group_traces};

/// The processor: the policies, evaluated per trace, and a clock for the stateful ones.
pub struct TailSampling {
    policies: Vec<NamedPolicy>,
    sample_on_first_match: bool,
    clock: Box<dyn Clock>,
    /// Decodes batches without the span fields no policy reads.
    spans: SpanDecoder,
    /// The last batch decoded, whose spans the next one is decoded into.
    decoded: ExportTraceServiceRequest,
}

impl TailSampling {
    /// Builds the evaluator from `config_json` with `clock` (tests use a manual clock).
    pub fn with_clock(
        config_json: &str,
        clock: Box<dyn Clock>,
    ) -> Result<(Self, Vec<ConfigProblem>), Vec<ConfigProblem>> {
        let (
            Config {
                policies,
                sample_on_first_match,
            },
            warnings,
        ) = config::parse(config_json)?;
        // Policies read a span's trace id, times, status and (some) attributes: span id (2),
        // trace state (3), parent (4), name (5), kind (6), events (11) and links (13) are never
        // decoded.
        let mut unused_span_fields = vec![2, 3, 4, 5, 6, 11, 13];
        if !policies.iter().any(|p| reads_attributes(&p.policy)) {
            unused_span_fields.push(9);
        }
        Ok((
            Self {
                policies,
                sample_on_first_match,
                clock,
                spans: SpanDecoder::skipping(unused_span_fields),
                decoded: ExportTraceServiceRequest::default(),
            },
            warnings,
        ))
    }

    /// Policy names in evaluation order (`drop` policies first).
    pub fn policy_names(&self) -> Vec<&str> {
        self.policies.iter().map(|p| p.name.as_str()).collect()
    }

    /// The final decision for one trace (`makeDecision`): policies in order, stopping at a
    /// `Dropped` decision, or at the first `Sampled` one with `sample_on_first_match`.
    pub fn decide(&mut self, trace: &TraceRef<'_>) -> Decision {
        let mut decisions = Vec::with_capacity(self.policies.len());
        for p in &mut self.policies {
            let d = p.policy.evaluate(trace, self.clock.as_ref());
            decisions.push(d);
            if d == Decision::Dropped || (self.sample_on_first_match && d == Decision::Sampled) {
                break;
            }
        }
        final_decision(&decisions)
    }

    /// Decides every trace of `batch`, in order of first appearance; returns the views and
    /// which are kept.
    pub fn decide_batch(
        &mut self,
        batch: &ExportTraceServiceRequest,
    ) -> (Vec<TraceView>, Vec<bool>) {
        let views = group_traces(batch);
        let kept = views
            .iter()
            .map(|v| self.decide(&TraceRef::new(batch, v)) == Decision::Sampled)
            .collect();
        (views, kept)
    }

    /// The answer to `batch`, decoded as `decoded`: decides, and keeps or drops traces on the
    /// bytes as they arrived. `None` lets the decoded path answer.
    fn answer_encoded(
        &mut self,
        batch: &[u8],
        decoded: &ExportTraceServiceRequest,
    ) -> Option<Result<Output, Error>> {
        let (views, kept) = self.decide_batch(decoded);
        let kept_count = kept.iter().filter(|&&k| k).count();
        if kept_count == views.len() {
            return Some(Ok(Output::Unchanged));
        }
        if kept_count == 0 {
            return Some(Ok(Output::Dropped));
        }
        // The bytes' spans come in the decoded batch's order: a flag per span, in that order,
        // says which to keep without reading their trace ids again.
        let flags = span_flags(decoded, &views, &kept);
        let mut next = 0;
        let mut keep_span = |_: &[u8]| {
            let keep = flags.get(next).copied().ok_or(Malformed)?;
            next += 1;
            Ok(keep)
        };
        let mut out = Vec::new();
        match wire::filter_items(batch, &mut keep_span, &mut out) {
            Ok(()) if next == flags.len() => Some(Ok(Output::Replaced(out))),
            // The walk saw other spans than the decoder: let the decoded path answer.
            Ok(()) | Err(Malformed) => None,
        }
    }
}

impl Processor for TailSampling {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let (processor, warnings) = TailSampling::with_clock(config_json, Box::new(SystemClock))?;
        Ok(Init::new(processor).warnings(warnings))
    }

    fn handles(&self, signal: Signal) -> bool {
        signal == Signal::Traces
    }

    /// Decides on the spans decoded without the fields no policy reads, and keeps or drops
    /// traces on the bytes as they arrived.
    fn process_encoded(
        &mut self,
        signal: Signal,
        batch: &[u8],
        _context: &RequestContext,
    ) -> Option<Result<Output, Error>> {
        if signal != Signal::Traces {
            return None;
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        let answer = self
            .spans
            .decode_into(batch, &mut decoded)
            .then(|| self.answer_encoded(batch, &decoded))
            .flatten();
        self.decoded = decoded;
        answer
    }

    fn process_traces(
        &mut self,
        batch: &mut ExportTraceServiceRequest,
        _context: &RequestContext,
    ) -> Result<Outcome, Error> {
        let (views, kept) = self.decide_batch(batch);
        let kept_count = kept.iter().filter(|&&k| k).count();
        if kept_count == views.len() {
            return Ok(Outcome::Unchanged);
        }
        if kept_count == 0 {
            return Ok(Outcome::Dropped);
        }
        let keep: HashSet<Vec<u8>> = views
            .into_iter()
            .zip(kept)
            .filter_map(|(v, k)| k.then_some(v.trace_id))
            .collect();
        for rs in &mut batch.resource_spans {
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|s| keep.contains(&s.trace_id));
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        batch.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
        Ok(Outcome::Modified)
    }
}

/// Whether `policy` (or a policy inside it) reads span or resource attributes.
fn reads_attributes(policy: &Policy) -> bool {
    match policy {
        Policy::StringAttribute(_) | Policy::NumericAttribute(_) | Policy::BooleanAttribute(_) => {
            true
        }
        Policy::And(subs) | Policy::Drop(subs) => subs.iter().any(reads_attributes),
        Policy::Composite(c) => c.subs.iter().any(|s| reads_attributes(&s.policy)),
        Policy::AlwaysSample
        | Policy::Latency(_)
        | Policy::StatusCode(_)
        | Policy::Probabilistic(_)
        | Policy::RateLimiting(_)
        | Policy::SpanCount(_) => false,
    }
}

/// Whether each span of `batch` is kept, in batch order (resource, scope, span), from the
/// traces' views and decisions.
fn span_flags(batch: &ExportTraceServiceRequest, views: &[TraceView], kept: &[bool]) -> Vec<bool> {
    // Where each resource's scopes start in batch order.
    let mut starts: Vec<Vec<usize>> = Vec::with_capacity(batch.resource_spans.len());
    let mut total = 0;
    for rs in &batch.resource_spans {
        let mut scope_starts = Vec::with_capacity(rs.scope_spans.len());
        for ss in &rs.scope_spans {
            scope_starts.push(total);
            total += ss.spans.len();
        }
        starts.push(scope_starts);
    }
    let mut flags = vec![false; total];
    for view in views.iter().zip(kept).filter_map(|(v, &k)| k.then_some(v)) {
        for group in &view.groups {
            for &(scope, span) in &group.spans {
                flags[starts[group.resource][scope] + span] = true;
            }
        }
    }
    flags
}

sluice_guest_sdk::export_processor!(TailSampling);

#[cfg(test)]
mod tests;
