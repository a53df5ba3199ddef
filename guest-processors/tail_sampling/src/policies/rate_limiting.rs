//! `rate_limiting` (the Collector's `rate_limiting.go`): a token bucket of spans, as
//! `golang.org/x/time/rate`'s `Limiter.AllowN`: tokens refill continuously at
//! `spans_per_second`, the bucket holds `burst_capacity` (default twice the rate) and starts
//! full, and a trace passes when its whole span count can be taken now.

use std::time::Duration;

use crate::clock::Clock;
use crate::decision::Decision;
use crate::trace_view::TraceRef;

/// `rate_limiting` policy state.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimiting {
    limit: f64,
    burst: i64,
    tokens: f64,
    last: Option<Duration>,
}

impl RateLimiting {
    /// A limiter for `spans_per_second` with `burst_capacity` (0: twice the rate).
    pub fn new(spans_per_second: i64, burst_capacity: i64) -> Self {
        let burst = if burst_capacity > 0 {
            burst_capacity
        } else {
            spans_per_second.saturating_mul(2)
        };
        Self {
            limit: spans_per_second as f64,
            burst,
            tokens: 0.0,
            last: None,
        }
    }

    /// Sampled when the trace's spans fit in the bucket now (and are taken from it).
    pub fn evaluate(&mut self, trace: &TraceRef<'_>, clock: &dyn Clock) -> Decision {
        let n = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        if self.allow_n(clock.now(), n) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        }
    }

    /// `Limiter.AllowN(now, n)`.
    pub fn allow_n(&mut self, now: Duration, n: i64) -> bool {
        if self.limit == 0.0 {
            // A zero rate allows only the burst, once.
            if self.burst >= n {
                self.burst -= n;
                return true;
            }
            return false;
        }
        let burst = self.burst as f64;
        let mut tokens = match self.last {
            // Never used: the elapsed time since Go's zero time fills the bucket.
            None => burst,
            Some(last) => {
                let elapsed = now.saturating_sub(last).as_secs_f64();
                (self.tokens + elapsed * self.limit).min(burst)
            }
        };
        tokens -= n as f64;
        // The wait for a deficit is truncated to whole nanoseconds; AllowN accepts a zero wait.
        let wait_is_zero = tokens >= 0.0 || (-tokens / self.limit) * 1e9 < 1.0;
        let ok = n <= self.burst && wait_is_zero;
        if ok {
            self.last = Some(now);
            self.tokens = tokens;
        }
        ok
    }
}
