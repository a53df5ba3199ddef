//! Per-processor resource limits and the per-instance memory limiter.

use std::time::Duration;

/// How much one instance of a processor may use.
///
/// The wasm stack limit (`max_wasm_stack`) is engine-wide in wasmtime, so it is set on the
/// [`Runtime`](crate::Runtime), not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap per instance, in MiB. A guest that needs more traps (a Rust guest
    /// aborts on allocation failure). Default 64.
    pub memory_mib: u64,
    /// Deadline of one call (`process`, `flush`; `init` gets ten times this, at least one
    /// second). Enforced by epoch interruption with a 10 ms tick, so a call ends between
    /// `timeout` and `timeout + 10 ms`. Default 100 ms.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            timeout: Duration::from_millis(100),
        }
    }
}

impl Limits {
    pub(crate) fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    /// Linear memory never shrinks: an instance whose memory grew above this is retired
    /// after its call and created again (75% of the cap).
    pub(crate) fn high_water_bytes(&self) -> usize {
        self.memory_bytes() / 4 * 3
    }

    pub(crate) fn init_timeout(&self) -> Duration {
        (self.timeout * 10).max(Duration::from_secs(1))
    }
}

/// Enforces the memory cap of one store and remembers what happened, so that a trap after a
/// refused growth is reported as `memory` rather than as a generic trap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    /// Largest linear memory size granted so far (memory never shrinks).
    peak: usize,
    /// A growth was refused since the last [`MemoryLimiter::reset_refused`].
    refused: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: usize) -> Self {
        MemoryLimiter {
            cap,
            peak: 0,
            refused: false,
        }
    }

    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    pub(crate) fn reset_refused(&mut self) {
        self.refused = false;
    }
}

/// Tables, instances and memories a component may create; generous for any Rust guest.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;
const MAX_INSTANCES: usize = 100;
const MAX_TABLES: usize = 100;
const MAX_MEMORIES: usize = 10;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn refuses_growth_above_the_cap_and_remembers_it() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 19, None).unwrap_or(false));
        assert_eq!(limiter.peak(), 1 << 19);
        assert!(!limiter.refused());
        assert!(
            !limiter
                .memory_growing(1 << 19, 2 << 20, None)
                .unwrap_or(true)
        );
        assert!(limiter.refused());
        assert_eq!(limiter.peak(), 1 << 19);
        limiter.reset_refused();
        assert!(!limiter.refused());
    }

    #[test]
    fn high_water_mark_is_three_quarters_of_the_cap() {
        let limits = Limits::default();
        assert_eq!(limits.memory_bytes(), 64 << 20);
        assert_eq!(limits.high_water_bytes(), 48 << 20);
        assert_eq!(limits.init_timeout(), std::time::Duration::from_secs(1));
    }
}
