//! `span_count` (the Collector's `span_count_sampler.go`).

use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// `span_count` policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanCount {
    /// `min_spans`.
    pub min_spans: i32,
    /// `max_spans`; 0 means no maximum.
    pub max_spans: i32,
}

impl SpanCount {
    /// Sampled when `min_spans <= spans` and, unless `max_spans` is 0, `spans <= max_spans`.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        let n = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        let min = i64::from(self.min_spans);
        let max = i64::from(self.max_spans);
        if n >= min && (self.max_spans == 0 || n <= max) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        }
    }
}
