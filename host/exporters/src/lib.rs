//! Sluice's built-in exporters, as the OpenTelemetry Collector's:
//!
//! - [`debug::DebugExporter`] (`debug`): writes what it receives to Sluice's own log, at the
//!   Collector's `basic`, `normal` or `detailed` verbosity.
//! - [`file::FileExporter`] (`file`): appends every request to a file, one OTLP/JSON request per
//!   line, or length-prefixed protobuf.
//! - [`OtlpGrpcExporter`] (`otlp`, `otlp_grpc`): OTLP over gRPC.
//! - [`OtlpHttpExporter`] (`otlphttp`, `otlp_http`): OTLP over HTTP, protobuf or JSON.
//! - [`LokiExporter`] (`loki`): logs to Loki's push API.
//! - [`RemoteWriteExporter`] (`prometheusremotewrite`): metrics as Prometheus remote write 1.0,
//!   encoded by [`sluice_prometheus::RemoteWriteEncoder`].
//!
//! All implement [`sluice_pipeline::Consumer`] and count what they send and fail in
//! [`sluice_pipeline::metrics::ExporterMetrics`].
//!
//! # The network exporters' contract with their caller
//!
//! `otlp`, `otlphttp`, `loki` and `prometheusremotewrite` are built with
//! `new(id, settings, auth, metrics)`, where `auth` is the [`ClientAuth`] resolved from the
//! extension that `auth.authenticator` names ([`ClientAuth::from_extension`]; required when the
//! settings name one). Construction checks the settings and reads TLS files, failing with an
//! [`ExporterError`] that names the field; it never dials: connections are made on the first
//! export, so Sluice starts even when a backend is down. It must run inside a tokio runtime
//! (TLS `reload_interval` and bearer token files are re-read in the background).
//!
//! A sending queue (not in this crate) sits in front and calls [`Consumer::consume`](sluice_pipeline::Consumer::consume) from its
//! workers. `consume` sends the batch, retrying retryable failures inside the call as
//! `retry_on_failure` says (see [`retry`] for the back-off and the server hints),
//! and answers:
//!
//! | outcome | returns | metrics | log |
//! | --- | --- | --- | --- |
//! | delivered | `Ok(())` | `sent` += items | — |
//! | partial success (OTLP) | `Ok(())` | `sent` += accepted, `failed` += rejected | WARN |
//! | points remote write cannot carry (`prometheusremotewrite`: delta temporality, …) | as for the rest of the batch, which is sent | `failed` += those points (not in the other rows' items) | WARN once per exporter |
//! | retryable failure, will retry | (keeps trying) | `retried` += items per retry | WARN per attempt |
//! | permanent failure (HTTP 400, gRPC `InvalidArgument`) | `Err(ConsumeError::Invalid)` | `failed` += items | ERROR |
//! | other permanent failure (401, 403, 404, 413, gRPC `Unauthenticated`, …) | `Err(ConsumeError::Internal)` | `failed` += items | ERROR |
//! | retries exhausted (`max_elapsed_time`) or retry disabled | `Err(ConsumeError::Internal)` | `failed` += items | ERROR |
//! | [`Consumer::shutdown`](sluice_pipeline::Consumer::shutdown) while waiting to retry | `Err(ConsumeError::Refused)`, at once | nothing | INFO |
//! | `consume` after shutdown | `Err(ConsumeError::Refused)` | nothing | — |
//!
//! ERROR lines carry the exporter id, the signal, the item count, the status
//! (`HTTP 400 Bad Request`, `gRPC InvalidArgument`) and the server's message. A refusal at
//! shutdown counts nothing as failed: the batch is still the queue's, which keeps it (on disk
//! for a persistent queue). `shutdown` does not cut short an attempt already on the wire; that
//! attempt ends within the exporter's `timeout`, and if it then fails retryably the batch is
//! refused without waiting.
#![forbid(unsafe_code)]

pub mod debug;
pub mod file;

mod client;
mod error;
pub mod loki;
pub mod otlp;
pub mod remote_write;
pub mod retry;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use client::auth::ClientAuth;
pub use error::ExporterError;
pub use file::ExportError;
pub use loki::LokiExporter;
pub use otlp::grpc::OtlpGrpcExporter;
pub use otlp::http::OtlpHttpExporter;
pub use remote_write::RemoteWriteExporter;
