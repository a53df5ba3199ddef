//! Sluice end to end: the real app (in-process, or the `sluice` binary) with certificates made
//! at test time, real gRPC and HTTP clients, and the real OpenTelemetry Python SDK.
//!
//! One test binary with modules keeps link time down. Every test has its own temporary
//! directory and listens on port 0, so they run in parallel.
//!
//! Process-mode tests (`shutdown`, `cli`) need the `sluice` binary built first:
//! `cargo build --workspace --all-targets && cargo test --workspace`.

mod alert_rules;
mod basic_auth;
mod cli;
mod compose;
mod compression;
mod environments;
mod export;
mod gzip_bomb;
mod health;
mod hot_swap;
mod http_status;
mod json;
mod mtls;
mod operations;
mod plaintext;
mod python_interop;
mod rotation;
mod seed_000;
mod shutdown;
mod span_metrics;
mod tail_sampling;
mod tenants;
mod tls;
mod tls_versions;
