//! Exporters end to end: Sluice exporting to a second Sluice (OTLP gRPC with mTLS + BasicAuth,
//! OTLP/HTTP with TLS + a bearer token), to a backend that goes away and comes back, through a
//! persistent queue across kill -9, to a backend that refuses data, and to a Loki stand-in.

mod chain;
mod isolation;
mod loki;
mod outage;
mod permanent_error;
mod persistent_queue;

use serde_json::{Value, json};

/// Retry quickly in tests: the Collector's 5 s first wait would make them slow.
pub fn fast_retry() -> Value {
    json!({ "initial_interval": "50ms", "max_interval": "500ms", "max_elapsed_time": "0s" })
}
