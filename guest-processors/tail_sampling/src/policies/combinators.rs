//! `and` and `drop` (the Collector's `and.go`, `drop.go`): sub-policies evaluated in order,
//! stopping at the first that does not sample.

use super::Policy;
use crate::clock::Clock;
use crate::decision::Decision;
use crate::trace_view::TraceRef;

fn first_refusal(subs: &mut [Policy], trace: &TraceRef<'_>, clock: &dyn Clock) -> bool {
    subs.iter_mut().any(|sub| {
        matches!(
            sub.evaluate(trace, clock),
            Decision::NotSampled | Decision::InvertNotSampled
        )
    })
}

/// `Sampled` when no sub-policy returns `NotSampled` or `InvertNotSampled`, else
/// `NotSampled`.
pub fn and(subs: &mut [Policy], trace: &TraceRef<'_>, clock: &dyn Clock) -> Decision {
    if first_refusal(subs, trace, clock) {
        Decision::NotSampled
    } else {
        Decision::Sampled
    }
}

/// `Dropped` when no sub-policy returns `NotSampled` or `InvertNotSampled`, else
/// `NotSampled`.
pub fn drop(subs: &mut [Policy], trace: &TraceRef<'_>, clock: &dyn Clock) -> Decision {
    if first_refusal(subs, trace, clock) {
        Decision::NotSampled
    } else {
        Decision::Dropped
    }
}
