//! The test process's own memory, from `/proc/self/status`.

/// Peak resident set size (`VmHWM`) in bytes.
pub fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Current resident set size (`VmRSS`) in bytes.
pub fn rss() -> Option<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Reset the peak (`VmHWM`) to the current RSS (Linux ≥ 4.0: `5` to `/proc/self/clear_refs`).
/// Returns whether it worked; without it, a peak reached earlier can hide a later one.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
