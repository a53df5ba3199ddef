//! A small cache of successful slow (bcrypt) verifications.
//!
//! Keys are SHA-256(random salt || user || 0 || password): the cache never holds a password,
//! and without the per-cache salt a key cannot be checked against a guess. Entries expire after
//! a TTL, the oldest are evicted beyond the capacity, and [`VerifiedCache::clear`] forgets
//! everything when the user list changes. A generation number stops a check that started
//! before a clear from inserting a now-stale success after it.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

pub(crate) const DEFAULT_CAPACITY: usize = 4096;
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(300);

pub(crate) type Key = [u8; 32];

pub(crate) struct VerifiedCache {
    salt: [u8; 32],
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Key to the time it was inserted.
    entries: HashMap<Key, Instant>,
    /// Insertion order, oldest first; may hold stale pairs whose key was re-inserted or removed.
    order: VecDeque<(Key, Instant)>,
    generation: u64,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        VerifiedCache {
            salt: random_salt(),
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn key(&self, user: &str, password: &[u8]) -> Key {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(user.as_bytes());
        h.update([0u8]);
        h.update(password);
        h.finalize().into()
    }

    /// Take this before a slow check and give it back to [`VerifiedCache::insert`].
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// `true` if `key` was verified less than a TTL ago.
    pub(crate) fn contains(&self, key: &Key, now: Instant) -> bool {
        let mut inner = self.inner.lock();
        match inner.entries.get(key) {
            Some(&at) if now.saturating_duration_since(at) < self.ttl => true,
            Some(_) => {
                inner.entries.remove(key);
                false
            }
            None => false,
        }
    }

    /// Records a success, unless the cache was cleared since `generation` was taken.
    pub(crate) fn insert(&self, key: Key, generation: u64, now: Instant) {
        let mut inner = self.inner.lock();
        if inner.generation != generation {
            return;
        }
        while let Some(&(old, at)) = inner.order.front() {
            let live = inner.entries.get(&old) == Some(&at);
            let expired = now.saturating_duration_since(at) >= self.ttl;
            if live && !expired && inner.entries.len() < self.capacity {
                break;
            }
            inner.order.pop_front();
            if live {
                inner.entries.remove(&old);
            }
        }
        inner.entries.insert(key, now);
        inner.order.push_back((key, now));
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(k, at)| entries.get(k) == Some(at));
        }
    }

    /// Forgets every entry (the user list changed).
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.entries.clear();
        inner.order.clear();
        inner.generation = inner.generation.wrapping_add(1);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

/// 32 bytes from the OS. Should the OS refuse, fall back to std's randomly keyed SipHash
/// (itself seeded from the OS at some earlier point) rather than fail authentication.
fn random_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    if getrandom::fill(&mut salt).is_err() {
        let state = RandomState::new();
        for (i, chunk) in salt.chunks_mut(8).enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_user_password_and_salt() {
        let a = VerifiedCache::new(4, DEFAULT_TTL);
        let b = VerifiedCache::new(4, DEFAULT_TTL);
        assert_eq!(a.key("alice", b"pw"), a.key("alice", b"pw"));
        assert_ne!(a.key("alice", b"pw"), a.key("alice", b"pw2"));
        // The 0 separator keeps "ab"+"c" apart from "a"+"bc".
        assert_ne!(a.key("ab", b"c"), a.key("a", b"bc"));
        assert_ne!(a.key("alice", b"pw"), b.key("alice", b"pw"));
        let unsalted: Key = Sha256::digest(b"alice\0pw").into();
        assert_ne!(a.key("alice", b"pw"), unsalted);
    }

    #[test]
    fn entries_expire_after_ttl() {
        let cache = VerifiedCache::new(4, Duration::from_secs(60));
        let t0 = Instant::now();
        let k = cache.key("alice", b"pw");
        cache.insert(k, cache.generation(), t0);
        assert!(cache.contains(&k, t0 + Duration::from_secs(59)));
        assert!(!cache.contains(&k, t0 + Duration::from_secs(60)));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn oldest_entry_is_evicted_at_capacity() {
        let cache = VerifiedCache::new(3, DEFAULT_TTL);
        let t0 = Instant::now();
        let keys: Vec<Key> = (0..4u8).map(|i| cache.key("u", &[i])).collect();
        for (i, k) in keys.iter().enumerate() {
            cache.insert(*k, cache.generation(), t0 + Duration::from_millis(i as u64));
        }
        let now = t0 + Duration::from_secs(1);
        assert!(!cache.contains(&keys[0], now));
        assert!(keys[1..].iter().all(|k| cache.contains(k, now)));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn order_queue_stays_bounded_under_reinserts() {
        let cache = VerifiedCache::new(2, DEFAULT_TTL);
        let t0 = Instant::now();
        let k = cache.key("u", b"p");
        for i in 0..100 {
            cache.insert(k, cache.generation(), t0 + Duration::from_millis(i));
        }
        assert!(cache.inner.lock().order.len() <= 4);
        assert!(cache.contains(&k, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn clear_forgets_and_refuses_stale_inserts() {
        let cache = VerifiedCache::new(4, DEFAULT_TTL);
        let now = Instant::now();
        let k = cache.key("alice", b"pw");
        cache.insert(k, cache.generation(), now);
        let before = cache.generation();
        cache.clear();
        assert!(!cache.contains(&k, now));
        cache.insert(k, before, now);
        assert!(
            !cache.contains(&k, now),
            "a check started before the clear must not land"
        );
        cache.insert(k, cache.generation(), now);
        assert!(cache.contains(&k, now));
    }
}
