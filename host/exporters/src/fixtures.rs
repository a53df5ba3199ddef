//! Test fixtures: small OTLP requests of every signal with fixed ids and timestamps, shaped like
//! the Collector's debug exporter test data (`resource-attr`, `operationA`, …).

use std::path::PathBuf;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};

/// A fresh, empty directory for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("sluice-exporters-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn join(&self, path: &str) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub const TRACE_ID: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
pub const SPAN_ID: [u8; 8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];
/// 2020-02-11 20:26:12.000000321 UTC
pub const START: u64 = 1_581_452_772_000_000_321;
/// 2020-02-11 20:26:13.000000789 UTC
pub const END: u64 = 1_581_452_773_000_000_789;

pub fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub fn str_kv(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_owned()))
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![str_kv("resource-attr", "resource-attr-val-1")],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "lib".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// `resources` resources with `spans` spans each; span `i` is named `operation<i>`.
pub fn traces(resources: usize, spans: usize) -> ExportTraceServiceRequest {
    let span = |i: usize| Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        name: format!("operation{i}"),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: START,
        end_time_unix_nano: END,
        attributes: vec![
            str_kv("http.method", "GET"),
            kv("http.status", Value::IntValue(200)),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: (0..resources)
            .map(|_| ResourceSpans {
                resource: resource(),
                scope_spans: vec![ScopeSpans {
                    scope: scope(),
                    spans: (0..spans).map(span).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

/// One span with every field the detailed output prints: events, links, status, drop counts.
pub fn rich_span() -> Span {
    Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        trace_state: "ot=th:0".into(),
        name: "operationA".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: START,
        end_time_unix_nano: END,
        attributes: vec![str_kv("span-attr", "span-attr-val")],
        dropped_attributes_count: 1,
        events: vec![Event {
            time_unix_nano: END,
            name: "event-with-attr".into(),
            attributes: vec![str_kv("span-event-attr", "span-event-attr-val")],
            dropped_attributes_count: 2,
        }],
        links: vec![Link {
            trace_id: TRACE_ID.to_vec(),
            span_id: SPAN_ID.to_vec(),
            dropped_attributes_count: 4,
            ..Default::default()
        }],
        status: Some(Status {
            message: "status-cancelled".into(),
            code: status::StatusCode::Error as i32,
        }),
        ..Default::default()
    }
}

fn number(value: number_data_point::Value, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: START,
        time_unix_nano: END,
        value: Some(value),
        ..Default::default()
    }
}

fn metric(name: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: "1".into(),
        data: Some(data),
        ..Default::default()
    }
}

/// One metric of every type: gauge (int), sum (double), histogram, exponential histogram, summary.
pub fn metrics() -> ExportMetricsServiceRequest {
    let label = || vec![str_kv("label-1", "label-value-1")];
    let metrics = vec![
        metric(
            "gauge-int",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(number_data_point::Value::AsInt(123), label())],
            }),
        ),
        metric(
            "sum-double",
            metric::Data::Sum(Sum {
                data_points: vec![number(number_data_point::Value::AsDouble(1.23), label())],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        ),
        metric(
            "histogram",
            metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: label(),
                    start_time_unix_nano: START,
                    time_unix_nano: END,
                    count: 1,
                    sum: Some(15.0),
                    bucket_counts: vec![0, 1],
                    explicit_bounds: vec![1.0],
                    exemplars: vec![Exemplar {
                        time_unix_nano: END,
                        span_id: SPAN_ID.to_vec(),
                        trace_id: TRACE_ID.to_vec(),
                        value: Some(exemplar::Value::AsDouble(15.0)),
                        ..Default::default()
                    }],
                    min: Some(15.0),
                    max: Some(15.0),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        ),
        metric(
            "exponential-histogram",
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    start_time_unix_nano: START,
                    time_unix_nano: END,
                    count: 5,
                    sum: Some(0.15),
                    scale: 1,
                    zero_count: 1,
                    positive: Some(exponential_histogram_data_point::Buckets {
                        offset: 1,
                        bucket_counts: vec![1, 1],
                    }),
                    negative: Some(exponential_histogram_data_point::Buckets {
                        offset: -1,
                        bucket_counts: vec![1, 1],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        ),
        metric(
            "summary",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    start_time_unix_nano: START,
                    time_unix_nano: END,
                    count: 1,
                    sum: 15.0,
                    quantile_values: vec![summary_data_point::ValueAtQuantile {
                        quantile: 0.01,
                        value: 15.0,
                    }],
                    ..Default::default()
                }],
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One resource with `records` log records, bodies `record <i>`, severity INFO.
pub fn logs(records: usize) -> ExportLogsServiceRequest {
    let record = |i: usize| LogRecord {
        time_unix_nano: END,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(format!("record {i}"))),
        }),
        attributes: vec![
            str_kv("app", "server"),
            kv("instance_num", Value::IntValue(1)),
        ],
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        flags: 1,
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: (0..records).map(record).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
