//! Process metrics (`otelcol_process_uptime`, `otelcol_process_memory_rss`,
//! `otelcol_process_cpu_seconds`), read from /proc when scraped.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{MemoryProbe, ProcessRss};

/// Gauges refreshed before every scrape.
#[derive(Clone)]
pub struct ProcessMetrics {
    started: Instant,
    uptime: Gauge<f64, AtomicU64>,
    rss: Gauge,
    cpu: Gauge<f64, AtomicU64>,
}

impl ProcessMetrics {
    pub fn register(metrics: &Metrics) -> Arc<Self> {
        let p = ProcessMetrics {
            started: Instant::now(),
            uptime: Gauge::default(),
            rss: Gauge::default(),
            cpu: Gauge::default(),
        };
        metrics.register(
            "process_uptime",
            "Uptime of the process in seconds",
            p.uptime.clone(),
        );
        metrics.register(
            "process_memory_rss",
            "Total physical memory (resident set size) in bytes",
            p.rss.clone(),
        );
        metrics.register(
            "process_cpu_seconds",
            "Total CPU user and system time in seconds",
            p.cpu.clone(),
        );
        Arc::new(p)
    }

    pub fn refresh(&self) {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        if let Some(rss) = ProcessRss.used_bytes() {
            self.rss.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        if let Some(cpu) = cpu_seconds() {
            self.cpu.set(cpu);
        }
    }
}

fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after the last ')').
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
