//! Sluice's built-in exporters, as the OpenTelemetry Collector's:
//!
//! - [`debug::DebugExporter`] (`debug`): writes what it receives to Sluice's own log, at the
//!   Collector's `basic`, `normal` or `detailed` verbosity.
//! - [`file::FileExporter`] (`file`): appends every request to a file, one OTLP/JSON request per
//!   line, or length-prefixed protobuf.
//!
//! Both implement [`sluice_pipeline::Consumer`] and count what they send and fail in
//! [`sluice_pipeline::metrics::ExporterMetrics`].
#![forbid(unsafe_code)]

pub mod debug;
pub mod file;

#[cfg(test)]
mod fixtures;

pub use file::ExportError;
