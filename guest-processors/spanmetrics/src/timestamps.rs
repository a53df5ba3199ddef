//! Time: the clock the connector reads, and the start times of delta points.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock (WASI wall clock in the component).
    #[default]
    System,
    /// A fixed time, in Unix nanoseconds (tests).
    Manual(u64),
}

impl Clock {
    /// Unix nanoseconds now (0 if the clock reads before 1970).
    pub fn now(self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            Clock::Manual(t) => t,
        }
    }
}

/// When each delta series was last flushed: the start time of its next point, so that the
/// points of a series tile time without gaps, `(T1, T2), (T2, T3), ...`. Bounded to
/// `metric_timestamp_cache_size` series, the least recently flushed forgotten first.
#[derive(Debug, Clone)]
pub struct DeltaStarts {
    starts: HashMap<u64, (u64, u64)>,
    capacity: usize,
    flushes: u64,
}

impl DeltaStarts {
    /// An empty cache of `capacity` series (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            starts: HashMap::new(),
            capacity: capacity.max(1),
            flushes: 0,
        }
    }

    /// When the series with `key` (a hash of its resource and attributes) was last flushed,
    /// if remembered.
    pub fn get(&self, key: u64) -> Option<u64> {
        self.starts.get(&key).map(|(time, _)| *time)
    }

    /// Records that the series with `keys` were flushed at `time`.
    pub fn record(&mut self, keys: impl IntoIterator<Item = u64>, time: u64) {
        self.flushes += 1;
        for key in keys {
            self.starts.insert(key, (time, self.flushes));
        }
        if self.starts.len() > self.capacity {
            let mut by_age: Vec<(u64, u64)> = self
                .starts
                .iter()
                .map(|(k, (_, flush))| (*flush, *k))
                .collect();
            by_age.sort_by_key(|(flush, _)| *flush);
            let excess = self.starts.len() - self.capacity;
            for (_, key) in by_age.into_iter().take(excess) {
                self.starts.remove(&key);
            }
        }
    }

    /// Number of series remembered.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether no series is remembered.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_least_recently_flushed() {
        let mut d = DeltaStarts::new(2);
        d.record([1, 2], 10);
        d.record([3, 1], 20);
        assert_eq!(d.len(), 2);
        assert_eq!(d.get(1), Some(20));
        assert_eq!(d.get(2), None);
        assert_eq!(d.get(3), Some(20));
    }
}
