//! Idle instances of one processor, and the crash-loop back-off.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::instance::Instance;

/// Idle instances, reused one call at a time.
pub(crate) struct Pool {
    idle: Mutex<Vec<Instance>>,
    max_idle: usize,
}

impl Pool {
    pub(crate) fn new(max_idle: usize) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// An idle instance of `generation` if there is one, and every idle instance of an older
    /// generation (to retire). Newer instances stay: a batch that started before a swap must
    /// not retire the new version's instances.
    pub(crate) fn take(&self, generation: u64) -> (Option<Instance>, Vec<Instance>) {
        let mut idle = self.idle.lock();
        let stale: Vec<Instance> = idle.extract_if(.., |i| i.generation < generation).collect();
        let found = idle
            .iter()
            .rposition(|i| i.generation == generation)
            .map(|at| idle.swap_remove(at));
        (found, stale)
    }

    /// Returns an instance to the pool; hands it back when the pool is full.
    pub(crate) fn put(&self, instance: Instance) -> Option<Instance> {
        let mut idle = self.idle.lock();
        if idle.len() >= self.max_idle {
            return Some(instance);
        }
        idle.push(instance);
        None
    }

    /// Every idle instance.
    pub(crate) fn drain(&self) -> Vec<Instance> {
        std::mem::take(&mut *self.idle.lock())
    }

    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().len()
    }
}

/// Failures in a row (traps, timeouts, memory, malformed output, failed starts) after which a
/// processor is in a crash loop.
pub(crate) const CRASH_LOOP_AFTER: u32 = 5;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Consecutive failures and the back-off they caused. While backing off, batches skip the
/// guest and follow `on_error`; afterwards one batch tries again, and another failure doubles
/// the back-off.
pub(crate) struct Health {
    state: Mutex<HealthState>,
}

#[derive(Default)]
struct HealthState {
    consecutive: u32,
    backoffs: u32,
    until: Option<Instant>,
}

impl Health {
    pub(crate) fn new() -> Self {
        Health {
            state: Mutex::new(HealthState::default()),
        }
    }

    pub(crate) fn backing_off(&self) -> bool {
        self.state
            .lock()
            .until
            .is_some_and(|until| Instant::now() < until)
    }

    pub(crate) fn success(&self) {
        *self.state.lock() = HealthState::default();
    }

    /// Records a failure; the back-off it starts, if any.
    pub(crate) fn failure(&self) -> Option<Duration> {
        let mut s = self.state.lock();
        s.consecutive = s.consecutive.saturating_add(1);
        if s.consecutive < CRASH_LOOP_AFTER {
            return None;
        }
        let backoff = BACKOFF_FIRST
            .saturating_mul(1 << s.backoffs.min(16))
            .min(BACKOFF_MAX);
        s.backoffs = s.backoffs.saturating_add(1);
        s.until = Some(Instant::now() + backoff);
        Some(backoff)
    }

    pub(crate) fn consecutive(&self) -> u32 {
        self.state.lock().consecutive
    }

    pub(crate) fn reset(&self) {
        self.success();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_after_repeated_failures() {
        let health = Health::new();
        for _ in 1..CRASH_LOOP_AFTER {
            assert_eq!(health.failure(), None);
            assert!(!health.backing_off());
        }
        assert_eq!(health.failure(), Some(BACKOFF_FIRST));
        assert!(health.backing_off());
        assert_eq!(health.failure(), Some(BACKOFF_FIRST * 2));
        assert_eq!(health.failure(), Some(BACKOFF_FIRST * 4));
        health.success();
        assert!(!health.backing_off());
        assert_eq!(health.consecutive(), 0);
    }

    #[test]
    fn back_off_is_capped() {
        let health = Health::new();
        let mut last = None;
        for _ in 0..64 {
            last = health.failure();
        }
        assert_eq!(last, Some(BACKOFF_MAX));
    }
}
