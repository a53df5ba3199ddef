//! The policy evaluators. Each returns a [`Decision`] for one trace; `rate_limiting` and
//! `composite` keep state between traces and calls.

pub mod attributes;
pub mod combinators;
pub mod composite;
pub mod latency;
pub mod probabilistic;
pub mod rate_limiting;
pub mod span_count;
pub mod status_code;

use crate::clock::Clock;
use crate::decision::Decision;
use crate::trace_view::TraceRef;

use attributes::{BooleanAttribute, NumericAttribute, StringAttribute};
use composite::Composite;
use latency::Latency;
use probabilistic::Probabilistic;
use rate_limiting::RateLimiting;
use span_count::SpanCount;
use status_code::StatusCodes;

/// A configured policy evaluator.
#[derive(Debug)]
pub enum Policy {
    /// `always_sample`.
    AlwaysSample,
    /// `latency`.
    Latency(Latency),
    /// `status_code`.
    StatusCode(StatusCodes),
    /// `probabilistic`.
    Probabilistic(Probabilistic),
    /// `string_attribute`.
    StringAttribute(StringAttribute),
    /// `numeric_attribute`.
    NumericAttribute(NumericAttribute),
    /// `boolean_attribute`.
    BooleanAttribute(BooleanAttribute),
    /// `rate_limiting`.
    RateLimiting(RateLimiting),
    /// `span_count`.
    SpanCount(SpanCount),
    /// `and`: sampled when every sub-policy samples.
    And(Vec<Policy>),
    /// `drop`: dropped when every sub-policy samples.
    Drop(Vec<Policy>),
    /// `composite`.
    Composite(Composite),
}

impl Policy {
    /// Evaluates the policy for one trace.
    pub fn evaluate(&mut self, trace: &TraceRef<'_>, clock: &dyn Clock) -> Decision {
        match self {
            Policy::AlwaysSample => Decision::Sampled,
            Policy::Latency(p) => p.evaluate(trace),
            Policy::StatusCode(p) => p.evaluate(trace),
            Policy::Probabilistic(p) => p.evaluate(trace),
            Policy::StringAttribute(p) => p.evaluate(trace),
            Policy::NumericAttribute(p) => p.evaluate(trace),
            Policy::BooleanAttribute(p) => p.evaluate(trace),
            Policy::RateLimiting(p) => p.evaluate(trace, clock),
            Policy::SpanCount(p) => p.evaluate(trace),
            Policy::And(subs) => combinators::and(subs, trace, clock),
            Policy::Drop(subs) => combinators::drop(subs, trace, clock),
            Policy::Composite(p) => p.evaluate(trace, clock),
        }
    }
}
