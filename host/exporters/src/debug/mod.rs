//! The `debug` exporter: writes every batch to Sluice's log, as the Collector's debug exporter.
//!
//! Each batch logs a summary event at INFO (`Traces resource spans=1 spans=2`) with the counts
//! as fields. At `normal` and `detailed` verbosity a second INFO event carries the text dump:
//! one line per span, data point or log record (`normal`), or every field (`detailed`). Events
//! have target `sluice::exporter::debug` and an `exporter` field with the component id.
//!
//! The formatting is pure ([`format_traces`], [`format_metrics`], [`format_logs`]); the exporter
//! itself never fails, so every item counts as sent.

mod basic;
mod detailed;
mod detailed_metrics;
mod normal;
mod text;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use sluice_config::{ComponentId, DebugSettings, Verbosity};
use sluice_pipeline::metrics::{ExporterMetrics, Metrics};
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload};

pub use basic::Summary;

/// The text the exporter logs for a traces request at `verbosity`: the summary line, then for
/// `normal` and `detailed` the dump. Ends with a newline.
pub fn format_traces(request: &ExportTraceServiceRequest, verbosity: Verbosity) -> String {
    let body = match verbosity {
        Verbosity::Basic => String::new(),
        Verbosity::Normal => normal::traces(request),
        Verbosity::Detailed => detailed::traces(request),
    };
    format!("{}\n{body}", basic::traces(request))
}

/// The text the exporter logs for a metrics request at `verbosity` (see [`format_traces`]).
pub fn format_metrics(request: &ExportMetricsServiceRequest, verbosity: Verbosity) -> String {
    let body = match verbosity {
        Verbosity::Basic => String::new(),
        Verbosity::Normal => normal::metrics(request),
        Verbosity::Detailed => detailed_metrics::metrics(request),
    };
    format!("{}\n{body}", basic::metrics(request))
}

/// The text the exporter logs for a logs request at `verbosity` (see [`format_traces`]).
pub fn format_logs(request: &ExportLogsServiceRequest, verbosity: Verbosity) -> String {
    let body = match verbosity {
        Verbosity::Basic => String::new(),
        Verbosity::Normal => normal::logs(request),
        Verbosity::Detailed => detailed::logs(request),
    };
    format!("{}\n{body}", basic::logs(request))
}

/// The dump logged after the summary; empty at `basic`.
fn body(payload: &Payload, verbosity: Verbosity) -> String {
    match (payload, verbosity) {
        (_, Verbosity::Basic) => String::new(),
        (Payload::Traces(r), Verbosity::Normal) => normal::traces(r),
        (Payload::Metrics(r), Verbosity::Normal) => normal::metrics(r),
        (Payload::Logs(r), Verbosity::Normal) => normal::logs(r),
        (Payload::Traces(r), Verbosity::Detailed) => detailed::traces(r),
        (Payload::Metrics(r), Verbosity::Detailed) => detailed_metrics::metrics(r),
        (Payload::Logs(r), Verbosity::Detailed) => detailed::logs(r),
        (Payload::Encoded(_), _) => match payload.decoded() {
            Ok(decoded) => body(&decoded, verbosity),
            Err(e) => e.to_string(),
        },
    }
}

/// `exporters.debug[/name]`.
pub struct DebugExporter {
    id: String,
    verbosity: Verbosity,
    metrics: ExporterMetrics,
}

impl DebugExporter {
    pub fn new(id: &ComponentId, settings: &DebugSettings, metrics: &Metrics) -> Self {
        let id = id.to_string();
        DebugExporter {
            metrics: metrics.exporter(&id),
            id,
            verbosity: settings.verbosity,
        }
    }

    fn log_summary(&self, summary: Summary) {
        let exporter = self.id.as_str();
        match summary {
            Summary::Traces {
                resource_spans,
                spans,
            } => tracing::info!(
                target: "sluice::exporter::debug",
                exporter,
                "resource spans" = resource_spans,
                spans,
                "Traces"
            ),
            Summary::Metrics {
                resource_metrics,
                metrics,
                data_points,
            } => tracing::info!(
                target: "sluice::exporter::debug",
                exporter,
                "resource metrics" = resource_metrics,
                metrics,
                "data points" = data_points,
                "Metrics"
            ),
            Summary::Logs {
                resource_logs,
                log_records,
            } => tracing::info!(
                target: "sluice::exporter::debug",
                exporter,
                "resource logs" = resource_logs,
                "log records" = log_records,
                "Logs"
            ),
        }
    }
}

#[async_trait::async_trait]
impl Consumer for DebugExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let (signal, items) = (batch.payload.signal(), batch.payload.item_count());
        let payload = match batch.payload.decoded() {
            Ok(payload) => payload,
            Err(error) => {
                self.metrics.failed(signal, items);
                tracing::error!(
                    exporter = self.id.as_str(),
                    %signal,
                    items,
                    %error,
                    "cannot show the data; it is dropped"
                );
                return Err(error.into());
            }
        };
        let payload = &*payload;
        // Decoded above: nothing can fail here.
        if let Ok(summary) = Summary::of(payload) {
            self.log_summary(summary);
        }
        let text = body(payload, self.verbosity);
        if !text.is_empty() {
            tracing::info!(
                target: "sluice::exporter::debug",
                exporter = self.id.as_str(),
                "{}",
                text.trim_end_matches('\n')
            );
        }
        self.metrics.sent(payload.signal(), payload.item_count());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
