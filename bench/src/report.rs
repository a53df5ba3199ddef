//! The end-of-run report: human text or one JSON line.

use std::fmt::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::stats::Stats;

/// What was sent and how.
pub struct Setup {
    pub label: Option<String>,
    pub protocol: &'static str,
    pub endpoint: String,
    pub tls: bool,
    pub mtls: bool,
    pub basic_auth: bool,
    pub gzip: bool,
    pub concurrency: usize,
    pub spans_per_request: u64,
    pub attributes_per_span: usize,
    pub rate: Option<f64>,
    pub warmup_s: f64,
    /// Mean protobuf size of a request.
    pub request_bytes: usize,
    /// Mean body size on the wire (after gzip, with gRPC framing).
    pub wire_bytes: usize,
}

/// Resources a process used during the measured window.
pub struct Usage {
    pub cpu_s: f64,
    /// Largest `VmRSS` sampled during the window (server only).
    pub peak_rss_kib: Option<u64>,
    /// `VmHWM` at the end: the peak since the process started, warm-up and earlier runs included.
    pub vmhwm_kib: Option<u64>,
}

pub struct Report {
    pub setup: Setup,
    pub elapsed: Duration,
    pub stats: Stats,
    pub server_pid: Option<u32>,
    /// `Err` explains why the server could not be measured (e.g. it exited).
    pub server: Option<Result<Usage, String>>,
    pub loadgen: Option<Usage>,
}

impl Report {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    fn spans_per_s(&self) -> f64 {
        self.stats.accepted_spans as f64 / self.secs()
    }

    fn spans_per_cpu_s(&self, usage: &Usage) -> Option<f64> {
        (usage.cpu_s > 0.0).then(|| self.stats.accepted_spans as f64 / usage.cpu_s)
    }

    pub fn json(&self) -> Value {
        let s = &self.setup;
        let failures: serde_json::Map<String, Value> = self
            .stats
            .failures
            .iter()
            .map(|(kind, f)| {
                (
                    kind.clone(),
                    json!({"count": f.count, "example": f.example}),
                )
            })
            .collect();
        let server = match &self.server {
            None => Value::Null,
            Some(Err(error)) => json!({"pid": self.server_pid, "error": error}),
            Some(Ok(u)) => json!({
                "pid": self.server_pid,
                "cpu_s": round(u.cpu_s, 2),
                "cpu_cores": round(u.cpu_s / self.secs(), 3),
                "spans_per_cpu_s": self.spans_per_cpu_s(u).map(|v| v.round()),
                "peak_rss_mib": u.peak_rss_kib.map(mib),
                "vmhwm_mib": u.vmhwm_kib.map(mib),
            }),
        };
        let loadgen = self.loadgen.as_ref().map_or(
            Value::Null,
            |u| json!({"cpu_s": round(u.cpu_s, 2), "cpu_cores": round(u.cpu_s / self.secs(), 3)}),
        );
        json!({
            "label": s.label,
            "protocol": s.protocol,
            "endpoint": s.endpoint,
            "tls": s.tls,
            "mtls": s.mtls,
            "basic_auth": s.basic_auth,
            "gzip": s.gzip,
            "concurrency": s.concurrency,
            "spans_per_request": s.spans_per_request,
            "attributes_per_span": s.attributes_per_span,
            "rate_offered": s.rate,
            "warmup_s": s.warmup_s,
            "request_bytes": s.request_bytes,
            "wire_bytes": s.wire_bytes,
            "elapsed_s": round(self.secs(), 3),
            "requests_ok": self.stats.ok,
            "requests_failed": self.stats.failed(),
            "failures": failures,
            "spans_accepted": self.stats.accepted_spans,
            "spans_rejected": self.stats.rejected_spans,
            "spans_per_s": self.spans_per_s().round(),
            "latency_ms": {
                "p50": round(self.stats.latency_ms(0.50), 3),
                "p90": round(self.stats.latency_ms(0.90), 3),
                "p99": round(self.stats.latency_ms(0.99), 3),
                "max": round(self.stats.latency_ms(1.0), 3),
            },
            "server": server,
            "loadgen": loadgen,
        })
    }

    pub fn human(&self) -> String {
        let s = &self.setup;
        let mut out = String::new();
        let yes = |b: bool| if b { "yes" } else { "no" };
        if let Some(label) = &s.label {
            let _ = writeln!(out, "== {label}");
        }
        let _ = writeln!(
            out,
            "target      {} {} (tls {}, mtls {}, basic auth {}, gzip {})",
            s.protocol,
            s.endpoint,
            yes(s.tls),
            yes(s.mtls),
            yes(s.basic_auth),
            yes(s.gzip)
        );
        let rate = s.rate.map_or("flat out".to_string(), |r| {
            format!("{r:.0} spans/s offered")
        });
        let _ = writeln!(
            out,
            "load        {} clients, {rate}, {} spans x {} attributes per request \
             ({} KiB protobuf, {} KiB on the wire), warm-up {} s",
            s.concurrency,
            s.spans_per_request,
            s.attributes_per_span,
            s.request_bytes / 1024,
            s.wire_bytes / 1024,
            s.warmup_s
        );
        let _ = writeln!(out, "measured    {:.2} s", self.secs());
        let _ = write!(
            out,
            "requests    {} ok, {} failed",
            self.stats.ok,
            self.stats.failed()
        );
        for (kind, f) in &self.stats.failures {
            let _ = write!(
                out,
                "\n              {kind}: {} (e.g. {})",
                f.count, f.example
            );
        }
        let _ = writeln!(
            out,
            "\nspans       {:.0}/s accepted ({} accepted, {} rejected)",
            self.spans_per_s(),
            self.stats.accepted_spans,
            self.stats.rejected_spans
        );
        let _ = writeln!(
            out,
            "latency     p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.stats.latency_ms(0.50),
            self.stats.latency_ms(0.90),
            self.stats.latency_ms(0.99),
            self.stats.latency_ms(1.0)
        );
        match &self.server {
            None => {}
            Some(Err(error)) => {
                let _ = writeln!(out, "server      not measured: {error}");
            }
            Some(Ok(u)) => {
                let per_cpu = self
                    .spans_per_cpu_s(u)
                    .map_or("n/a".into(), |v| format!("{v:.0}"));
                let _ = writeln!(
                    out,
                    "server      pid {}: {:.2} CPU-s ({:.0}% of a core), {per_cpu} spans per CPU-second",
                    self.server_pid.unwrap_or(0),
                    u.cpu_s,
                    100.0 * u.cpu_s / self.secs()
                );
                let _ = writeln!(
                    out,
                    "            peak RSS {:.1} MiB during the run (VmHWM since start {:.1} MiB)",
                    u.peak_rss_kib.map_or(0.0, mib),
                    u.vmhwm_kib.map_or(0.0, mib)
                );
            }
        }
        if let Some(u) = &self.loadgen {
            let _ = writeln!(
                out,
                "loadgen     {:.2} CPU-s ({:.0}% of a core)",
                u.cpu_s,
                100.0 * u.cpu_s / self.secs()
            );
        }
        out
    }
}

fn mib(kib: u64) -> f64 {
    round(kib as f64 / 1024.0, 1)
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
