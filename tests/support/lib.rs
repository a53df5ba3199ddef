//! Test support for Sluice's end-to-end tests: certificates made at test time ([`certs`]), a
//! Sluice started in-process from a config built in the test ([`app`]) or as a process
//! ([`process`]), what its `file` exporter wrote ([`output`]), OTLP payload builders with unique
//! names ([`fake`]), exporting the same way over either protocol ([`export`]), HTTP and gRPC
//! clients over plain TCP or rustls ([`http`], [`grpc`]), htpasswd entries ([`htpasswd`]), the
//! OpenTelemetry Python SDK ([`python`]) and the test process's own memory ([`memory`]).
//!
//! Everything listens on `127.0.0.1:0` and writes into its own temporary directory, so tests run
//! in parallel. Waits are bounded polls ([`poll`]), not fixed sleeps.

pub mod app;
pub mod backend;
pub mod certs;
pub mod export;
pub mod fake;
pub mod fixture_guests;
pub mod grpc;
pub mod htpasswd;
pub mod http;
pub mod loki;
pub mod memory;
pub mod output;
pub mod process;
pub mod prometheus;
pub mod python;

use std::future::Future;
use std::time::{Duration, Instant};

pub use app::{Setup, Sluice};
pub use certs::{Certs, Identity};
pub use export::{Compression, Export, Protocol, Refusal, Via};

/// How long a test waits for something that normally takes milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Call `check` every 20 ms until it returns `Some`, for at most `within`.
pub async fn poll<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An error with its whole `source()` chain on one line, for asserting on the cause of a refusal.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sum of the samples of metric `name` (exact name, e.g. `otelcol_exporter_sent_spans_total`)
/// whose label set contains every `key="value"` in `labels`, in a Prometheus text exposition.
pub fn metric_sum(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = metric == name
                && labels
                    .iter()
                    .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
