//! The duration histogram of one series: explicit buckets or base-2 exponential buckets.

use crate::config::HistogramKind;
use crate::exponential::ExponentialHistogram;

/// Counts per explicit bucket. Bucket `i` holds values `bounds[i-1] < v <= bounds[i]`; the
/// last one holds everything above the last bound (OTLP's layout, and Go's
/// `sort.SearchFloat64s` as the Collector uses it).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplicitHistogram {
    pub bucket_counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

impl ExplicitHistogram {
    /// An empty histogram for `bounds_len` bounds.
    pub fn new(bounds_len: usize) -> Self {
        Self {
            bucket_counts: vec![0; bounds_len + 1],
            count: 0,
            sum: 0.0,
        }
    }

    /// Records `value` `n` times.
    pub fn observe(&mut self, value: f64, n: u64, bounds: &[f64]) {
        let index = bounds.partition_point(|b| *b < value);
        if let Some(c) = self.bucket_counts.get_mut(index) {
            *c = c.saturating_add(n);
        }
        self.count = self.count.saturating_add(n);
        self.sum += value * n as f64;
    }
}

/// The histogram of one series, of the kind the config selected.
#[derive(Debug, Clone, PartialEq)]
pub enum Histogram {
    Explicit(ExplicitHistogram),
    Exponential(ExponentialHistogram),
}

impl Histogram {
    /// An empty histogram of `kind`.
    pub fn new(kind: &HistogramKind) -> Self {
        match kind {
            HistogramKind::Explicit(bounds) => {
                Histogram::Explicit(ExplicitHistogram::new(bounds.len()))
            }
            HistogramKind::Exponential { max_size } => {
                Histogram::Exponential(ExponentialHistogram::new(*max_size))
            }
        }
    }

    /// Records `value` `n` times (`n` is the span's adjusted count).
    pub fn observe(&mut self, value: f64, n: u64, kind: &HistogramKind) {
        match (self, kind) {
            (Histogram::Explicit(h), HistogramKind::Explicit(bounds)) => {
                h.observe(value, n, bounds)
            }
            (Histogram::Exponential(h), _) => h.observe(value, n),
            // A histogram is always built from the one kind in the settings.
            (Histogram::Explicit(_), HistogramKind::Exponential { .. }) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds_are_inclusive() {
        let bounds = [2.0, 4.0];
        let mut h = ExplicitHistogram::new(2);
        for v in [0.0, 2.0, 2.5, 4.0, 4.1, 100.0] {
            h.observe(v, 1, &bounds);
        }
        assert_eq!(h.bucket_counts, vec![2, 2, 2]);
        assert_eq!(h.count, 6);
        assert!((h.sum - 112.6).abs() < 1e-9, "{}", h.sum);
        h.observe(3.0, 3, &bounds);
        assert_eq!(h.bucket_counts, vec![2, 5, 2]);
        assert!((h.sum - 121.6).abs() < 1e-9, "{}", h.sum);
    }
}
