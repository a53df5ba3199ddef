//! Bounded memory of decided trace ids.

use std::collections::VecDeque;

use foldhash::{HashSet, HashSetExt};

use super::group::TraceKey;

/// The last `capacity` trace ids recorded, forgotten oldest first (first in, first out: a
/// late span does not refresh its entry, unlike the Collector's LRU; the difference only shows
/// for traces whose spans keep arriving long after their decision).
pub(crate) struct DecisionCache {
    ids: HashSet<TraceKey>,
    order: VecDeque<TraceKey>,
    capacity: usize,
}

impl DecisionCache {
    pub(crate) fn new(capacity: usize) -> Self {
        DecisionCache {
            ids: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn contains(&self, key: &TraceKey) -> bool {
        self.ids.contains(key)
    }

    /// Remember `key`, forgetting the oldest id beyond capacity.
    pub(crate) fn insert(&mut self, key: TraceKey) {
        if self.capacity == 0 || !self.ids.insert(key) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TraceKey {
        TraceKey::of(&[n; 16])
    }

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut cache = DecisionCache::new(2);
        cache.insert(key(1));
        cache.insert(key(2));
        cache.insert(key(2));
        cache.insert(key(3));
        assert!(!cache.contains(&key(1)));
        assert!(cache.contains(&key(2)) && cache.contains(&key(3)));
        cache.insert(key(4));
        assert!(!cache.contains(&key(2)));
        let mut off = DecisionCache::new(0);
        off.insert(key(1));
        assert!(!off.contains(&key(1)));
    }
}
