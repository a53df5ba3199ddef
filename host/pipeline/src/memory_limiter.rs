//! The `memory_limiter` processor: measures the process's memory every `check_interval` and,
//! while it is above `limit_mib - spike_limit_mib`, refuses data so receivers answer
//! 503 / `Unavailable` and clients retry later. Nothing is dropped: refused data never entered.
//!
//! Before it refuses, it asks the probe to give freed memory back to the system and measures
//! again: the allocator keeps freed memory for a while (Sluice's `sluice-alloc`), and memory the
//! process no longer uses must not make it refuse data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sluice_config::MemoryLimiterSettings;

use crate::metrics::ProcessorMetrics;
use crate::{Batch, ConsumeError, Consumer, Form};

/// Where memory use comes from: the process's resident set in production, a dial in tests.
pub trait MemoryProbe: Send + Sync + 'static {
    /// Bytes in use, or `None` if unknown (the limiter then lets data through).
    fn used_bytes(&self) -> Option<u64>;

    /// Return memory that is freed but still held (by the allocator) to the system. Called
    /// before the limiter refuses data; by default nothing is held.
    fn reclaim(&self) {}
}

/// Resident set size from `/proc/self/statm`.
pub struct ProcessRss;

impl MemoryProbe for ProcessRss {
    fn used_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }
}

/// Total memory of the machine or, when limited, of the cgroup (for `limit_percentage`).
pub fn total_memory_bytes() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    match (cgroup, meminfo) {
        (Some(c), Some(m)) => Some(c.min(m)),
        (c, m) => c.or(m),
    }
}

pub struct MemoryLimiter {
    next: Arc<dyn Consumer>,
    refusing: AtomicBool,
    soft_limit: u64,
    probe: Box<dyn MemoryProbe>,
    metrics: ProcessorMetrics,
}

impl MemoryLimiter {
    /// Build the limiter and start measuring (requires a tokio runtime).
    pub fn new(
        settings: &MemoryLimiterSettings,
        next: Arc<dyn Consumer>,
        probe: Box<dyn MemoryProbe>,
        metrics: ProcessorMetrics,
    ) -> Arc<Self> {
        const MIB: u64 = 1024 * 1024;
        let (limit, spike) = match settings.limit_percentage {
            Some(pct) => {
                let total = total_memory_bytes().unwrap_or(u64::MAX);
                let spike_pct = settings.spike_limit_percentage.unwrap_or(pct / 5);
                (total / 100 * pct, total / 100 * spike_pct)
            }
            None => {
                let limit = settings.limit_mib * MIB;
                (
                    limit,
                    settings.spike_limit_mib.map_or(limit / 5, |s| s * MIB),
                )
            }
        };
        let limiter = Arc::new(MemoryLimiter {
            next,
            refusing: AtomicBool::new(false),
            soft_limit: limit.saturating_sub(spike),
            probe,
            metrics,
        });
        limiter.check();
        tokio::spawn(watch(Arc::downgrade(&limiter), settings.check_interval));
        limiter
    }

    /// Measure once and update the refusing state.
    pub fn check(&self) {
        let Some(mut used) = self.probe.used_bytes() else {
            return;
        };
        if used >= self.soft_limit {
            // Above the limit: first give back what is freed but held, then measure again.
            self.probe.reclaim();
            match self.probe.used_bytes() {
                Some(after) => used = after,
                None => return,
            }
        }
        let refuse = used >= self.soft_limit;
        let was = self.refusing.swap(refuse, Ordering::Relaxed);
        self.metrics.set_refusing(refuse);
        if refuse != was {
            let used_mib = used / (1024 * 1024);
            let soft_mib = self.soft_limit / (1024 * 1024);
            if refuse {
                tracing::warn!(
                    used_mib,
                    soft_limit_mib = soft_mib,
                    "memory above the soft limit: refusing data until it drops"
                );
            } else {
                tracing::info!(
                    used_mib,
                    soft_limit_mib = soft_mib,
                    "memory back below the soft limit: accepting data"
                );
            }
        }
    }

    pub fn is_refusing(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }
}

async fn watch(limiter: Weak<MemoryLimiter>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        match limiter.upgrade() {
            Some(limiter) => limiter.check(),
            None => return,
        }
    }
}

#[async_trait::async_trait]
impl Consumer for MemoryLimiter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if self.is_refusing() {
            // Not a drop: the receiver counts the items as refused and the client retries.
            return Err(ConsumeError::Refused {
                reason: "memory limit reached (memory_limiter)".into(),
                retry_after: Some(Duration::from_secs(1)),
            });
        }
        self.next.consume(batch).await
    }

    async fn shutdown(&self) {
        self.next.shutdown().await;
    }

    fn wants(&self) -> Form {
        self.next.wants()
    }
}
