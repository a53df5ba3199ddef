//! `composite` (the Collector's `composite.go` and `composite_helper.go`): sub-policies in
//! order, each with a share of `max_total_spans_per_second`, counted per wall-clock second.

use super::Policy;
use crate::clock::Clock;
use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// One sub-policy with its budget.
#[derive(Debug)]
pub struct SubPolicy {
    /// The sub-policy's name (`composite_sub_policy[].name`).
    pub name: String,
    /// Its evaluator.
    pub policy: Policy,
    /// Spans per second it may sample.
    pub allocated_sps: i64,
    /// Spans it sampled in the current second.
    pub sampled_sps: i64,
}

/// `composite` policy state.
#[derive(Debug)]
pub struct Composite {
    /// `max_total_spans_per_second`.
    pub max_total_sps: i64,
    /// Sub-policies in `composite_sub_policy` order.
    pub subs: Vec<SubPolicy>,
    current_second: i64,
}

/// `getRateAllocationMap`: each `rate_allocation` entry gets `percent`% of the total, or an
/// equal share (`total / number of sub-policies`) when its percent is not positive; a
/// sub-policy without an entry gets 0. Fractions are truncated.
pub fn allocations(
    max_total_sps: i64,
    sub_policy_count: usize,
    rate_allocation: &[(String, i64)],
    name: &str,
) -> i64 {
    let total = max_total_sps as f64;
    let default_sps = total / sub_policy_count as f64;
    let mut sps = None;
    for (policy, percent) in rate_allocation {
        if policy == name {
            sps = Some(if *percent > 0 {
                (*percent as f64 / 100.0) * total
            } else {
                default_sps
            });
        }
    }
    sps.map_or(0, |s| s as i64)
}

impl Composite {
    /// A composite over `subs`.
    pub fn new(max_total_sps: i64, subs: Vec<SubPolicy>) -> Self {
        Self {
            max_total_sps,
            subs,
            current_second: 0,
        }
    }

    /// The first sub-policy that samples decides: `Sampled` if the trace's spans fit in that
    /// sub-policy's budget for this second (and in the total), otherwise `NotSampled`.
    pub fn evaluate(&mut self, trace: &TraceRef<'_>, clock: &dyn Clock) -> Decision {
        let second = i64::try_from(clock.now().as_secs()).unwrap_or(i64::MAX);
        if second != self.current_second {
            self.current_second = second;
            for sub in &mut self.subs {
                sub.sampled_sps = 0;
            }
        }
        let spans = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        for sub in &mut self.subs {
            let decision = sub.policy.evaluate(trace, clock);
            if matches!(decision, Decision::Sampled | Decision::InvertSampled) {
                let if_sampled = sub.sampled_sps.saturating_add(spans);
                if if_sampled <= sub.allocated_sps && if_sampled <= self.max_total_sps {
                    sub.sampled_sps = if_sampled;
                    return Decision::Sampled;
                }
                return Decision::NotSampled;
            }
        }
        Decision::NotSampled
    }
}
