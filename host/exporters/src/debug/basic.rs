//! `basic` verbosity: one summary line per batch, with the Collector's counts.

use std::fmt;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use sluice_pipeline::{DecodeError, Payload};

/// The counts the Collector logs for every batch, whatever the verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    Traces {
        resource_spans: usize,
        spans: usize,
    },
    Metrics {
        resource_metrics: usize,
        metrics: usize,
        data_points: usize,
    },
    Logs {
        resource_logs: usize,
        log_records: usize,
    },
}

impl Summary {
    /// The summary of a request; an `Encoded` one is decoded (the error when it does not).
    pub fn of(payload: &Payload) -> Result<Summary, DecodeError> {
        Ok(match payload {
            Payload::Traces(r) => traces(r),
            Payload::Metrics(r) => metrics(r),
            Payload::Logs(r) => logs(r),
            Payload::Encoded(_) => Summary::of(&*payload.decoded()?)?,
        })
    }
}

pub fn traces(request: &ExportTraceServiceRequest) -> Summary {
    Summary::Traces {
        resource_spans: request.resource_spans.len(),
        spans: request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum(),
    }
}

pub fn metrics(request: &ExportMetricsServiceRequest) -> Summary {
    Summary::Metrics {
        resource_metrics: request.resource_metrics.len(),
        metrics: request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .map(|sm| sm.metrics.len())
            .sum(),
        data_points: request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(sluice_pipeline::data_point_count)
            .sum(),
    }
}

pub fn logs(request: &ExportLogsServiceRequest) -> Summary {
    Summary::Logs {
        resource_logs: request.resource_logs.len(),
        log_records: request
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum(),
    }
}

/// `Traces resource spans=1 spans=2`: the line as a text log formatter prints the event.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Summary::Traces {
                resource_spans,
                spans,
            } => write!(f, "Traces resource spans={resource_spans} spans={spans}"),
            Summary::Metrics {
                resource_metrics,
                metrics,
                data_points,
            } => write!(
                f,
                "Metrics resource metrics={resource_metrics} metrics={metrics} \
                 data points={data_points}"
            ),
            Summary::Logs {
                resource_logs,
                log_records,
            } => write!(
                f,
                "Logs resource logs={resource_logs} log records={log_records}"
            ),
        }
    }
}
