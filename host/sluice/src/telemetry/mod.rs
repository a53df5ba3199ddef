//! Sluice's own telemetry: its logs and its Prometheus metrics endpoint.

pub mod logging;
pub mod metrics_server;
pub mod process;
