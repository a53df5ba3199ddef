//! Small builders for test batches: one resource, one scope, the items you pass.

use crate::otlp::logs::{ExportLogsServiceRequest, LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::{
    ExportMetricsServiceRequest, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use crate::otlp::trace::{ExportTraceServiceRequest, ResourceSpans, ScopeSpans, Span};
use crate::otlp::{AnyValue, InstrumentationScope, KeyValue, Resource};

/// Attributes from `(key, value)` pairs of one value type.
pub fn attrs<V: Into<AnyValue>>(
    pairs: impl IntoIterator<Item = (&'static str, V)>,
) -> Vec<KeyValue> {
    pairs
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect()
}

fn resource(attributes: impl IntoIterator<Item = KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attributes.into_iter().collect(),
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "test".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// A span with fixed ids and times.
pub fn span(name: &str, attributes: impl IntoIterator<Item = KeyValue>) -> Span {
    Span {
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes: attributes.into_iter().collect(),
        ..Default::default()
    }
}

/// A traces batch: one resource with `resource_attrs`, one scope, `spans`.
pub fn traces(
    resource_attrs: impl IntoIterator<Item = KeyValue>,
    spans: impl IntoIterator<Item = Span>,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(resource_attrs),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: spans.into_iter().collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A number data point holding an int.
pub fn int_point(value: i64, attributes: impl IntoIterator<Item = KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes.into_iter().collect(),
        time_unix_nano: 1_700_000_000_000_000_000,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

/// A gauge metric.
pub fn gauge(name: &str, points: impl IntoIterator<Item = NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points.into_iter().collect(),
        })),
        ..Default::default()
    }
}

/// A cumulative, monotonic sum metric.
pub fn sum(name: &str, points: impl IntoIterator<Item = NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: points.into_iter().collect(),
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// A metrics batch: one resource with `resource_attrs`, one scope, `metrics`.
pub fn metrics(
    resource_attrs: impl IntoIterator<Item = KeyValue>,
    metrics: impl IntoIterator<Item = Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(resource_attrs),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: metrics.into_iter().collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A log record with a string body.
pub fn log_record(body: &str, attributes: impl IntoIterator<Item = KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        body: Some(AnyValue::string(body)),
        attributes: attributes.into_iter().collect(),
        ..Default::default()
    }
}

/// A logs batch: one resource with `resource_attrs`, one scope, `records`.
pub fn logs(
    resource_attrs: impl IntoIterator<Item = KeyValue>,
    records: impl IntoIterator<Item = LogRecord>,
) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(resource_attrs),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: records.into_iter().collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
