//! Per-client counters and latency histograms, merged at the end of the run.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::transport::Outcome;

/// Failures of one kind: how many, and the first one's explanation.
#[derive(Debug, Clone)]
pub struct Failures {
    pub count: u64,
    pub example: String,
}

pub struct Stats {
    pub ok: u64,
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    pub failures: BTreeMap<String, Failures>,
    /// Latency of successful requests, in microseconds.
    pub latency: Histogram<u64>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            ok: 0,
            accepted_spans: 0,
            rejected_spans: 0,
            failures: BTreeMap::new(),
            // 1 µs to 1 hour at three significant digits; longer values are clamped.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }

    pub fn record(&mut self, outcome: Outcome, latency: Duration, spans: u64) {
        match outcome {
            Outcome::Ok { rejected } => {
                let rejected = rejected.min(spans);
                self.ok += 1;
                self.accepted_spans += spans - rejected;
                self.rejected_spans += rejected;
                self.latency
                    .saturating_record(latency.as_micros().max(1) as u64);
            }
            Outcome::Failed { kind, detail } => {
                self.failures
                    .entry(kind)
                    .or_insert(Failures {
                        count: 0,
                        example: detail,
                    })
                    .count += 1;
            }
        }
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().map(|f| f.count).sum()
    }

    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        self.accepted_spans += other.accepted_spans;
        self.rejected_spans += other.rejected_spans;
        for (kind, f) in other.failures {
            self.failures
                .entry(kind)
                .or_insert(Failures {
                    count: 0,
                    example: f.example,
                })
                .count += f.count;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// Latency quantile in milliseconds (0 when nothing succeeded).
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        if self.latency.is_empty() {
            return 0.0;
        }
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_keeps_first_example() {
        let mut a = Stats::new();
        a.record(Outcome::Ok { rejected: 10 }, Duration::from_millis(5), 100);
        a.record(
            Outcome::Failed {
                kind: "http 503".into(),
                detail: "first".into(),
            },
            Duration::ZERO,
            100,
        );
        let mut b = Stats::new();
        b.record(
            Outcome::Failed {
                kind: "http 503".into(),
                detail: "second".into(),
            },
            Duration::ZERO,
            100,
        );
        b.record(Outcome::Ok { rejected: 0 }, Duration::from_millis(7), 100);
        a.merge(b);
        assert_eq!(
            (a.ok, a.accepted_spans, a.rejected_spans, a.failed()),
            (2, 190, 10, 2)
        );
        assert_eq!(a.failures["http 503"].example, "first");
        let max = a.latency_ms(1.0);
        assert!((max - 7.0).abs() < 0.05, "max {max} ms"); // 3 significant digits
    }
}
