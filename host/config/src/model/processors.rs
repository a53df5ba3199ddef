//! Processor settings: `batch` and `memory_limiter`.

use std::time::Duration;

use serde::Deserialize;

/// `processors.batch[/name]`, as the Collector's batch processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchSettings {
    /// Items (spans, data points, log records) that trigger a send (default 8192).
    pub send_batch_size: usize,
    /// Upper bound of a sent batch; larger batches are split. 0 means no bound (default 0).
    pub send_batch_max_size: usize,
    /// Send a non-empty batch after this long even if it is small (default 200ms).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Accepted for Collector compatibility; batching by metadata is not supported yet.
    pub metadata_keys: Vec<String>,
    pub metadata_cardinality_limit: Option<u32>,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
            metadata_keys: Vec::new(),
            metadata_cardinality_limit: None,
        }
    }
}

/// `processors.memory_limiter[/name]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterSettings {
    /// How often memory is measured (the Collector requires it; default 1s here).
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
    /// Hard limit in MiB: above it, data is refused.
    pub limit_mib: u64,
    /// Headroom in MiB below the hard limit where refusing starts (default 20% of limit_mib).
    pub spike_limit_mib: Option<u64>,
    /// Limit as a percentage of the machine's (or cgroup's) memory, instead of `limit_mib`.
    pub limit_percentage: Option<u64>,
    pub spike_limit_percentage: Option<u64>,
}

impl Default for MemoryLimiterSettings {
    fn default() -> Self {
        MemoryLimiterSettings {
            check_interval: Duration::from_secs(1),
            limit_mib: 0,
            spike_limit_mib: None,
            limit_percentage: None,
            spike_limit_percentage: None,
        }
    }
}
