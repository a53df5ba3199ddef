#![forbid(unsafe_code)]
//! The OpenTelemetry Collector's `prometheus` and `prometheusremotewrite` exporters.
//!
//! - [`translate`]: OTLP metrics to Prometheus names, labels and series, as the Collector's
//!   translator (`pkg/translator/prometheus` and `pkg/translator/prometheusremotewrite` in
//!   opentelemetry-collector-contrib).
//! - [`scrape`]: [`PrometheusExporter`], a [`sluice_pipeline::Consumer`] that keeps the latest
//!   value of every series and serves them on `GET /metrics` in the Prometheus text format 0.0.4.
//! - [`remote_write`]: remote write 1.0 encoding (`prometheus.WriteRequest`, snappy) and
//!   [`RemoteWriteEncoder`] for the HTTP sender, which lives with the other network exporters.
//!
//! # Decisions
//!
//! - **Classic names only.** Metric and label names are escaped to `[a-zA-Z0-9_:]` (non-ASCII
//!   letters too), because the text format 0.0.4 and remote write 1.0 cannot carry others. The
//!   UTF-8 `translation_strategy` values are refused with an error.
//! - **Empty label values are left out**: Prometheus treats `l=""` as "no label `l`".
//! - **Collisions are resolved, not fatal.** Two attributes that sanitise to the same label name
//!   have their values joined with `;` (sorted by the original key), as the Collector's
//!   remote-write translator does; `job`/`instance` from the resource and `otel_scope_*` replace
//!   an attribute of the same name; `const_labels`/`external_labels` never replace one. (The
//!   Collector's scrape exporter drops such a metric with a "duplicate label" error.)
//! - **Exponential histograms become classic histograms** whose `le` bounds are the exponential
//!   buckets' exact upper bounds (see [`translate::exponential`]). The Collector serves native
//!   histograms instead, which only the protobuf scrape format and remote write's `histograms`
//!   field can carry.

mod dropped;
mod error;
#[cfg(test)]
mod fixtures;
pub mod remote_write;
pub mod scrape;
pub mod translate;

pub use dropped::DropReason;
pub use error::PromError;
pub use remote_write::{RemoteWriteEncoder, write_requests};
pub use scrape::PrometheusExporter;
