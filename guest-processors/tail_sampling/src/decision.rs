//! Policy decisions and how the processor combines them into a trace's final decision
//! (`makeDecision` in the Collector's `processor.go`).

/// What one policy says about a trace (`samplingpolicy.Decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Keep the trace.
    Sampled,
    /// This policy does not keep the trace.
    NotSampled,
    /// Drop the trace whatever other policies say (`drop` policies).
    Dropped,
    /// An `invert_match` policy found no matching attribute: keep, unless another policy
    /// returned `NotSampled`.
    InvertSampled,
    /// An `invert_match` policy found a matching attribute: do not keep, whatever `Sampled`
    /// decisions say (only `Dropped` ranks higher).
    InvertNotSampled,
}

/// Combines the decisions of the top-level policies, in evaluation order:
/// `Dropped` wins, then `InvertNotSampled` (not kept), then `Sampled` (kept), then
/// `InvertSampled` when no policy returned `NotSampled` (kept); otherwise not kept.
pub fn final_decision(decisions: &[Decision]) -> Decision {
    let has = |d: Decision| decisions.contains(&d);
    if has(Decision::Dropped) {
        Decision::Dropped
    } else if has(Decision::InvertNotSampled) {
        Decision::NotSampled
    } else if has(Decision::Sampled) || (has(Decision::InvertSampled) && !has(Decision::NotSampled))
    {
        Decision::Sampled
    } else {
        Decision::NotSampled
    }
}
