//! `latency` (the Collector's `latency.go`): the trace's duration, from its earliest span
//! start to its latest span end, against `threshold_ms` (and `upper_threshold_ms`).

use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// `latency` policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latency {
    /// `threshold_ms`.
    pub threshold_ms: i64,
    /// `upper_threshold_ms`; 0 means no upper bound.
    pub upper_threshold_ms: i64,
}

impl Latency {
    /// Without an upper bound: sampled when the duration is `>= threshold_ms`; with one:
    /// when `threshold_ms < duration <= upper_threshold_ms`. As in the Collector the
    /// duration grows span by span in batch order and the first span that satisfies the
    /// condition decides. Durations are whole milliseconds, truncated.
    pub fn evaluate(&self, trace: &TraceRef<'_>) -> Decision {
        let mut min_time = 0u64;
        let mut max_time = 0u64;
        trace.has_span(|span| {
            if min_time == 0 || span.start_time_unix_nano < min_time {
                min_time = span.start_time_unix_nano;
            }
            if max_time == 0 || span.end_time_unix_nano > max_time {
                max_time = span.end_time_unix_nano;
            }
            // time.Unix(0, int64(ts)); Time.Sub saturates at the Duration range.
            let duration_ns = (max_time as i64).saturating_sub(min_time as i64);
            let ms = duration_ns / 1_000_000;
            if self.upper_threshold_ms == 0 {
                ms >= self.threshold_ms
            } else {
                self.threshold_ms < ms && ms <= self.upper_threshold_ms
            }
        })
    }
}
