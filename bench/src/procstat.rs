//! CPU time and resident memory of a process, from Linux `/proc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

/// Clock ticks per second of `utime`/`stime` (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// `pid` is a number or `self`.
pub fn cpu_seconds(pid: &str) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may contain spaces and parentheses: count fields after its last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("{path}: field {i} missing"))
    };
    Ok((ticks(14)? + ticks(15)?) as f64 / CLOCK_TICKS_PER_SEC)
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: &str, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("{path}: no {field}"))
}

/// Samples `VmRSS` of a process every 100 ms until stopped; the result is the largest sample.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: String) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut max = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                match status_kib(&pid, "VmRSS") {
                    Ok(kib) => max = max.max(kib),
                    // The process exited: keep what was seen.
                    Err(_) => break,
                }
            }
            max
        });
        RssSampler { stop, task }
    }

    /// Stops sampling (after at most one more sample) and returns the peak in KiB.
    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_and_memory() {
        assert!(cpu_seconds("self").unwrap() >= 0.0);
        assert!(status_kib("self", "VmRSS").unwrap() > 0);
        assert!(status_kib("self", "VmHWM").unwrap() > 0);
    }
}
