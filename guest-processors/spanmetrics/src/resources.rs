//! Per-resource state, kept in a least-recently-used cache of `resource_metrics_cache_size`
//! resources. As in the Collector, a resource pushed out of the cache is not lost at once: it is
//! still reported at the next flush (and revived if its spans come back before), then dropped.

use std::collections::HashMap;

use crate::histogram::Histogram;
use crate::series::SeriesMap;

/// What is accumulated for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    /// The `Resource` message of the `ResourceMetrics`, encoded: the attributes of the first
    /// resource seen with this key.
    pub resource: Vec<u8>,
    pub calls: SeriesMap<u64>,
    pub durations: SeriesMap<Histogram>,
    pub events: SeriesMap<u64>,
    seq: u64,
    last_seen: u64,
    last_used: u64,
    evicted: bool,
}

impl ResourceState {
    /// Whether no series exists yet.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.durations.is_empty() && self.events.is_empty()
    }
}

/// Every resource's state, by resource key.
#[derive(Debug, Clone)]
pub struct Resources {
    entries: HashMap<Vec<u8>, ResourceState>,
    capacity: usize,
    live: usize,
    tick: u64,
    next_seq: u64,
}

impl Resources {
    /// An empty cache of `capacity` resources (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            live: 0,
            tick: 0,
            next_seq: 0,
        }
    }

    /// The state of the resource with `key`, created with `resource()` (its encoded
    /// `Resource`) if new; marks it seen at `now` and most recently used. `None` never happens
    /// in practice.
    pub fn get_or_create(
        &mut self,
        key: &[u8],
        now: u64,
        resource: impl FnOnce() -> Vec<u8>,
    ) -> Option<&mut ResourceState> {
        self.tick += 1;
        let tick = self.tick;
        let mut added = false;
        match self.entries.get_mut(key) {
            Some(entry) => {
                if entry.evicted {
                    entry.evicted = false;
                    added = true;
                }
                entry.last_used = tick;
                entry.last_seen = now;
            }
            None => {
                self.entries.insert(
                    key.to_vec(),
                    ResourceState {
                        resource: resource(),
                        calls: SeriesMap::default(),
                        durations: SeriesMap::default(),
                        events: SeriesMap::default(),
                        seq: self.next_seq,
                        last_seen: now,
                        last_used: tick,
                        evicted: false,
                    },
                );
                self.next_seq += 1;
                added = true;
            }
        }
        if added {
            self.live += 1;
            while self.live > self.capacity && self.evict_least_recently_used(key) {}
        }
        self.entries.get_mut(key)
    }

    /// Marks the least recently used live resource other than `keep` evicted; false if none.
    fn evict_least_recently_used(&mut self, keep: &[u8]) -> bool {
        let victim = self
            .entries
            .iter_mut()
            .filter(|(k, e)| !e.evicted && k.as_slice() != keep)
            .min_by_key(|(_, e)| e.last_used);
        match victim {
            Some((_, e)) => {
                e.evicted = true;
                self.live -= 1;
                true
            }
            None => false,
        }
    }

    /// Every resource (evicted ones included) in creation order, with its key.
    pub fn ordered(&self) -> Vec<(&[u8], &ResourceState)> {
        let mut out: Vec<(&[u8], &ResourceState)> = self
            .entries
            .iter()
            .map(|(k, e)| (k.as_slice(), e))
            .collect();
        out.sort_by_key(|(_, e)| e.seq);
        out
    }

    /// The state of the resource with `key`, if held.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut ResourceState> {
        self.entries.get_mut(key)
    }

    /// Forgets the resource with `key`.
    pub fn remove(&mut self, key: &[u8]) {
        if let Some(e) = self.entries.remove(key)
            && !e.evicted
        {
            self.live -= 1;
        }
    }

    /// Forgets everything (delta temporality, after a flush).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.live = 0;
    }

    /// After a cumulative flush: drops evicted resources, and those not seen for `expiration`
    /// nanoseconds (when set); forgets every exemplar.
    pub fn after_cumulative_flush(&mut self, now: u64, expiration: Option<u64>) {
        self.entries.retain(|_, e| {
            !e.evicted && expiration.is_none_or(|exp| now.saturating_sub(e.last_seen) < exp)
        });
        self.live = self.entries.len();
        for e in self.entries.values_mut() {
            e.calls.clear_exemplars();
            e.durations.clear_exemplars();
            e.events.clear_exemplars();
        }
    }

    /// Number of resources held, evicted ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no resource is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(r: &mut Resources, key: &[u8]) {
        r.get_or_create(key, 0, Vec::new).expect("resource");
    }

    #[test]
    fn evicted_resources_stay_until_the_next_flush() {
        let mut r = Resources::new(2);
        touch(&mut r, b"a");
        touch(&mut r, b"b");
        touch(&mut r, b"a");
        touch(&mut r, b"c"); // evicts b, the least recently used
        assert_eq!(r.len(), 3);
        r.after_cumulative_flush(0, None);
        let keys: Vec<&[u8]> = r.ordered().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"a"[..], &b"c"[..]]);
    }

    #[test]
    fn a_returning_resource_is_revived() {
        let mut r = Resources::new(1);
        touch(&mut r, b"a");
        touch(&mut r, b"b"); // evicts a
        touch(&mut r, b"a"); // revives a, evicts b
        r.after_cumulative_flush(0, None);
        let keys: Vec<&[u8]> = r.ordered().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"a"[..]]);
    }

    #[test]
    fn stale_resources_expire() {
        let mut r = Resources::new(10);
        r.get_or_create(b"old", 100, Vec::new);
        r.get_or_create(b"new", 900, Vec::new);
        r.after_cumulative_flush(1000, Some(500));
        let keys: Vec<&[u8]> = r.ordered().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"new"[..]]);
    }
}
