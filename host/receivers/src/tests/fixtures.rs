//! Test payloads: the OTLP specification's example documents built in Rust, and sized batches.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};

pub const TRACE_JSON: &str = include_str!("data/trace.json");
pub const METRICS_JSON: &str = include_str!("data/metrics.json");
pub const LOGS_JSON: &str = include_str!("data/logs.json");

const T0: u64 = 1_544_712_660_300_000_000;

fn value(value: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn string(s: &str) -> Option<AnyValue> {
    value(Value::StringValue(s.into()))
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", string("my.service"))],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "my.library".into(),
        version: "1.0.0".into(),
        attributes: vec![kv("my.scope.attribute", string("some scope attribute"))],
        ..Default::default()
    })
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `examples/trace.json`.
pub fn spec_traces() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![Span {
                    trace_id: hex("5B8EFFF798038103D269B633813FC60C"),
                    span_id: hex("EEE19B7EC3C1B174"),
                    parent_span_id: hex("EEE19B7EC3C1B173"),
                    name: "I'm a server span".into(),
                    start_time_unix_nano: 1_544_712_660_000_000_000,
                    end_time_unix_nano: 1_544_712_661_000_000_000,
                    kind: span::SpanKind::Server as i32,
                    attributes: vec![kv("my.span.attr", string("some value"))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn point(value: f64, start: u64, attr: &str) -> NumberDataPoint {
    NumberDataPoint {
        value: Some(number_data_point::Value::AsDouble(value)),
        start_time_unix_nano: start,
        time_unix_nano: T0,
        attributes: vec![kv(attr, string("some value"))],
        ..Default::default()
    }
}

fn metric(name: &str, description: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        description: description.into(),
        data: Some(data),
        ..Default::default()
    }
}

/// `examples/metrics.json`.
pub fn spec_metrics() -> ExportMetricsServiceRequest {
    let delta = AggregationTemporality::Delta as i32;
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![
                    metric(
                        "my.counter",
                        "I`m a Counter",
                        metric::Data::Sum(Sum {
                            aggregation_temporality: delta,
                            is_monotonic: true,
                            data_points: vec![point(5.0, T0, "my.counter.attr")],
                        }),
                    ),
                    metric(
                        "my.gauge",
                        "I`m a Gauge",
                        metric::Data::Gauge(Gauge {
                            data_points: vec![point(10.0, 0, "my.gauge.attr")],
                        }),
                    ),
                    metric(
                        "my.histogram",
                        "I`m a Histogram",
                        metric::Data::Histogram(Histogram {
                            aggregation_temporality: delta,
                            data_points: vec![HistogramDataPoint {
                                start_time_unix_nano: T0,
                                time_unix_nano: T0,
                                count: 3,
                                sum: Some(3.0),
                                bucket_counts: vec![1, 1, 1],
                                explicit_bounds: vec![1.0],
                                min: Some(1.0),
                                max: Some(1.0),
                                attributes: vec![kv("my.histogram.attr", string("some value"))],
                                ..Default::default()
                            }],
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `examples/logs.json`.
pub fn spec_logs() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: vec![LogRecord {
                    time_unix_nano: T0,
                    observed_time_unix_nano: T0,
                    severity_text: "Information".into(),
                    trace_id: hex("5B8EFFF798038103D269B633813FC60C"),
                    span_id: hex("EEE19B7EC3C1B174"),
                    body: string("Example log record"),
                    attributes: vec![
                        kv("string.attribute", string("some string")),
                        kv("boolean.attribute", value(Value::BoolValue(true))),
                        kv("int.attribute", value(Value::IntValue(10))),
                        kv("double.attribute", value(Value::DoubleValue(637.704))),
                        kv(
                            "array.attribute",
                            value(Value::ArrayValue(ArrayValue {
                                values: vec![string("many").unwrap(), string("values").unwrap()],
                            })),
                        ),
                        kv(
                            "map.attribute",
                            value(Value::KvlistValue(KeyValueList {
                                values: vec![kv("some.map.key", string("some value"))],
                            })),
                        ),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `spans` spans of ~`attr_bytes` attribute payload each, in one resource and scope.
pub fn traces(spans: usize, attr_bytes: usize) -> ExportTraceServiceRequest {
    let mut request = spec_traces();
    let template = request.resource_spans[0].scope_spans[0].spans[0].clone();
    request.resource_spans[0].scope_spans[0].spans = (0..spans)
        .map(|i| {
            let mut span = template.clone();
            span.name = format!("span {i}");
            span.attributes
                .push(kv("padding", string(&"x".repeat(attr_bytes))));
            span
        })
        .collect();
    request
}
