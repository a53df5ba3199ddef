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

use std::collections::HashSet;

use sluice_guest_sdk::prelude::*;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, NamedPolicy};
use crate::decision::{Decision, final_decision};
use crate::trace_view::{TraceRef, TraceView, group_traces};

/// The processor: the policies, evaluated per trace, and a clock for the stateful ones.
pub struct TailSampling {
    policies: Vec<NamedPolicy>,
    sample_on_first_match: bool,
    clock: Box<dyn Clock>,
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
        Ok((
            Self {
                policies,
                sample_on_first_match,
                clock,
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
}

impl Processor for TailSampling {
    fn init(config_json: &str) -> Result<Init<Self>, Vec<ConfigProblem>> {
        let (processor, warnings) = TailSampling::with_clock(config_json, Box::new(SystemClock))?;
        Ok(Init::new(processor).warnings(warnings))
    }

    fn handles(&self, signal: Signal) -> bool {
        signal == Signal::Traces
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

sluice_guest_sdk::export_processor!(TailSampling);

#[cfg(test)]
mod tests;
