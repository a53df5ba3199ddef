//! The SDK's lean OTLP messages must carry every field `opentelemetry-proto` knows: prost drops
//! unknown fields on decode, so a missing one would silently lose data whenever a guest
//! re-encodes a batch. Each test builds a request with every field set through
//! `opentelemetry-proto`, passes it through the SDK's types and back, and compares.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest as TheirLogs;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest as TheirMetrics;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as TheirTraces;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;
use sluice_guest_sdk::otlp;

fn through_sdk<Theirs: Message + Default, Ours: Message + Default>(theirs: &Theirs) -> Theirs {
    let ours = Ours::decode(theirs.encode_to_vec().as_slice()).expect("SDK decodes");
    Theirs::decode(ours.encode_to_vec().as_slice()).expect("opentelemetry-proto decodes")
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 7,
    }
}

/// One attribute of every value kind, nested maps and arrays included.
fn every_value() -> Vec<KeyValue> {
    use any_value::Value as V;
    let array = ArrayValue {
        values: vec![
            AnyValue {
                value: Some(V::IntValue(1)),
            },
            AnyValue { value: None },
        ],
    };
    let map = KeyValueList {
        values: vec![kv("inner", V::StringValue("y".into()))],
    };
    vec![
        kv("s", V::StringValue("x".into())),
        kv("b", V::BoolValue(true)),
        kv("i", V::IntValue(-3)),
        kv("d", V::DoubleValue(1.5)),
        kv("bytes", V::BytesValue(vec![1, 2, 3])),
        kv("strindex", V::StringValueStrindex(4)),
        kv("arr", V::ArrayValue(array)),
        kv("map", V::KvlistValue(map)),
    ]
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: every_value(),
        dropped_attributes_count: 2,
        entity_refs: vec![EntityRef {
            schema_url: "https://schema".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec!["service.version".into()],
        }],
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "lib".into(),
        version: "1.2".into(),
        attributes: every_value(),
        dropped_attributes_count: 3,
    })
}

#[test]
fn traces_keep_every_field() {
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        trace_state: "k=v".into(),
        parent_span_id: vec![3; 8],
        flags: 0x301,
        name: "op".into(),
        kind: 3,
        start_time_unix_nano: 10,
        end_time_unix_nano: 20,
        attributes: every_value(),
        dropped_attributes_count: 1,
        events: vec![span::Event {
            time_unix_nano: 15,
            name: "ev".into(),
            attributes: every_value(),
            dropped_attributes_count: 4,
        }],
        dropped_events_count: 5,
        links: vec![span::Link {
            trace_id: vec![4; 16],
            span_id: vec![5; 8],
            trace_state: "a=b".into(),
            attributes: every_value(),
            dropped_attributes_count: 6,
            flags: 0x100,
        }],
        dropped_links_count: 7,
        status: Some(Status {
            message: "boom".into(),
            code: 2,
        }),
    };
    let req = TheirTraces {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![span],
                schema_url: "s1".into(),
            }],
            schema_url: "s2".into(),
        }],
    };
    assert_eq!(through_sdk::<_, otlp::ExportTraceServiceRequest>(&req), req);
}

fn exemplars() -> Vec<Exemplar> {
    vec![
        Exemplar {
            filtered_attributes: every_value(),
            time_unix_nano: 9,
            span_id: vec![1; 8],
            trace_id: vec![2; 16],
            value: Some(exemplar::Value::AsDouble(0.5)),
        },
        Exemplar {
            value: Some(exemplar::Value::AsInt(8)),
            ..Default::default()
        },
    ]
}

fn number_points() -> Vec<NumberDataPoint> {
    vec![
        NumberDataPoint {
            attributes: every_value(),
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            exemplars: exemplars(),
            flags: 1,
            value: Some(number_data_point::Value::AsInt(-4)),
        },
        NumberDataPoint {
            value: Some(number_data_point::Value::AsDouble(2.5)),
            ..Default::default()
        },
    ]
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: "d".into(),
        unit: "ms".into(),
        metadata: every_value(),
        data: Some(data),
    }
}

#[test]
fn metrics_keep_every_field_of_every_metric_type() {
    let histogram = HistogramDataPoint {
        attributes: every_value(),
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        count: 3,
        sum: Some(4.0),
        bucket_counts: vec![1, 2],
        explicit_bounds: vec![0.5],
        exemplars: exemplars(),
        flags: 1,
        min: Some(0.1),
        max: Some(9.9),
    };
    let exp = ExponentialHistogramDataPoint {
        attributes: every_value(),
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        count: 3,
        sum: Some(4.0),
        scale: -2,
        zero_count: 1,
        positive: Some(Buckets {
            offset: -1,
            bucket_counts: vec![1, 2],
        }),
        negative: Some(Buckets {
            offset: 3,
            bucket_counts: vec![4],
        }),
        flags: 1,
        exemplars: exemplars(),
        min: Some(0.1),
        max: Some(9.9),
        zero_threshold: 0.001,
    };
    let summary = SummaryDataPoint {
        attributes: every_value(),
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        count: 3,
        sum: 4.0,
        quantile_values: vec![ValueAtQuantile {
            quantile: 0.99,
            value: 7.0,
        }],
        flags: 1,
    };
    let metrics = vec![
        metric(
            "gauge",
            Data::Gauge(Gauge {
                data_points: number_points(),
            }),
        ),
        metric(
            "sum",
            Data::Sum(Sum {
                data_points: number_points(),
                aggregation_temporality: 1,
                is_monotonic: true,
            }),
        ),
        metric(
            "hist",
            Data::Histogram(Histogram {
                data_points: vec![histogram],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "exp",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![exp],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "summary",
            Data::Summary(Summary {
                data_points: vec![summary],
            }),
        ),
    ];
    let req = TheirMetrics {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: "s1".into(),
            }],
            schema_url: "s2".into(),
        }],
    };
    assert_eq!(
        through_sdk::<_, otlp::ExportMetricsServiceRequest>(&req),
        req
    );
}

#[test]
fn logs_keep_every_field() {
    let record = LogRecord {
        time_unix_nano: 1,
        observed_time_unix_nano: 2,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: every_value(),
            })),
        }),
        attributes: every_value(),
        dropped_attributes_count: 3,
        flags: 1,
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        event_name: "app.started".into(),
    };
    let req = TheirLogs {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: vec![record],
                schema_url: "s1".into(),
            }],
            schema_url: "s2".into(),
        }],
    };
    assert_eq!(through_sdk::<_, otlp::ExportLogsServiceRequest>(&req), req);
}

#[test]
fn sdk_encoding_is_byte_identical_for_the_same_message() {
    // Same field order as the generated code, so a decode/encode round trip of a canonical
    // encoding reproduces the bytes exactly.
    let req = TheirTraces {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![Span {
                    name: "a".into(),
                    flags: 1,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let bytes = req.encode_to_vec();
    let ours = otlp::ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(ours.encode_to_vec(), bytes);
}
