//! The walk against prost: on rich requests, every truncation and every corrupted byte, it
//! accepts exactly what prost decodes, and counts what prost's decoding counts.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use super::*;
use crate::Payload;

fn value(v: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value(v),
        ..Default::default()
    }
}

/// Attributes of every value type, nested ones included.
fn attributes() -> Vec<KeyValue> {
    use any_value::Value as V;
    vec![
        kv("s", V::StringValue("é".into())),
        kv("b", V::BoolValue(true)),
        kv("i", V::IntValue(-3)),
        kv("d", V::DoubleValue(1.5)),
        kv("y", V::BytesValue(vec![0xff, 0])),
        kv(
            "a",
            V::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(V::KvlistValue(KeyValueList {
                        values: vec![kv("in", V::StringValue("x".into()))],
                    })),
                }],
            }),
        ),
    ]
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: attributes(),
        dropped_attributes_count: 1,
        entity_refs: vec![EntityRef {
            schema_url: "u".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec!["d".into()],
        }],
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "lib".into(),
        version: "1".into(),
        attributes: attributes(),
        dropped_attributes_count: 2,
    })
}

fn traces() -> ExportTraceServiceRequest {
    let span = |i: u8| Span {
        trace_id: vec![i; 16],
        span_id: vec![i; 8],
        trace_state: "ot=th:8".into(),
        parent_span_id: vec![1; 8],
        flags: 0x301,
        name: "GET /".into(),
        kind: 2,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        attributes: attributes(),
        dropped_attributes_count: 3,
        events: vec![Event {
            time_unix_nano: 5,
            name: "e".into(),
            attributes: attributes(),
            dropped_attributes_count: 1,
        }],
        dropped_events_count: 4,
        links: vec![Link {
            trace_id: vec![9; 16],
            span_id: vec![9; 8],
            trace_state: "t".into(),
            attributes: attributes(),
            dropped_attributes_count: 1,
            flags: 1,
        }],
        dropped_links_count: 5,
        status: Some(Status {
            message: "m".into(),
            code: 2,
        }),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource(),
                scope_spans: vec![
                    ScopeSpans {
                        scope: scope(),
                        spans: vec![span(1), span(2)],
                        schema_url: "s".into(),
                    },
                    ScopeSpans::default(),
                ],
                schema_url: "r".into(),
            },
            ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default()],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

fn logs() -> ExportLogsServiceRequest {
    let record = LogRecord {
        time_unix_nano: 1,
        observed_time_unix_nano: 2,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: value(any_value::Value::StringValue("hello".into())),
        attributes: attributes(),
        dropped_attributes_count: 1,
        flags: 1,
        trace_id: vec![1; 16],
        span_id: vec![1; 8],
        event_name: "ev".into(),
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: vec![record.clone(), record],
                schema_url: "s".into(),
            }],
            schema_url: "r".into(),
        }],
    }
}

/// Every kind of metric, data point and exemplar, with packed repeated fields.
fn metrics() -> ExportMetricsServiceRequest {
    let exemplars = || {
        vec![
            Exemplar {
                filtered_attributes: attributes(),
                time_unix_nano: 1,
                span_id: vec![1; 8],
                trace_id: vec![1; 16],
                value: Some(exemplar::Value::AsDouble(0.5)),
            },
            Exemplar {
                value: Some(exemplar::Value::AsInt(-7)),
                ..Default::default()
            },
        ]
    };
    let number = |v: number_data_point::Value| NumberDataPoint {
        attributes: attributes(),
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        exemplars: exemplars(),
        flags: 1,
        value: Some(v),
    };
    let buckets = Buckets {
        offset: -3,
        bucket_counts: vec![0, 1, 300, u64::MAX],
    };
    let metric = |name: &str, data: metric::Data| Metric {
        name: name.into(),
        description: "d".into(),
        unit: "ms".into(),
        metadata: attributes(),
        data: Some(data),
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![
                ScopeMetrics {
                    scope: scope(),
                    metrics: vec![
                        metric(
                            "g",
                            metric::Data::Gauge(Gauge {
                                data_points: vec![
                                    number(number_data_point::Value::AsDouble(1.5)),
                                    number(number_data_point::Value::AsInt(-2)),
                                ],
                            }),
                        ),
                        metric(
                            "s",
                            metric::Data::Sum(Sum {
                                data_points: vec![number(number_data_point::Value::AsInt(3))],
                                aggregation_temporality: 2,
                                is_monotonic: true,
                            }),
                        ),
                        metric(
                            "h",
                            metric::Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    attributes: attributes(),
                                    count: 4,
                                    sum: Some(9.5),
                                    bucket_counts: vec![1, 2, 1],
                                    explicit_bounds: vec![1.0, 5.0],
                                    exemplars: exemplars(),
                                    min: Some(0.1),
                                    max: Some(7.0),
                                    ..Default::default()
                                }],
                                aggregation_temporality: 1,
                            }),
                        ),
                        metric(
                            "e",
                            metric::Data::ExponentialHistogram(ExponentialHistogram {
                                data_points: vec![ExponentialHistogramDataPoint {
                                    attributes: attributes(),
                                    count: 5,
                                    sum: Some(1.0),
                                    scale: -2,
                                    zero_count: 1,
                                    positive: Some(buckets.clone()),
                                    negative: Some(buckets.clone()),
                                    exemplars: exemplars(),
                                    zero_threshold: 0.001,
                                    ..Default::default()
                                }],
                                aggregation_temporality: 2,
                            }),
                        ),
                        metric(
                            "q",
                            metric::Data::Summary(Summary {
                                data_points: vec![SummaryDataPoint {
                                    attributes: attributes(),
                                    count: 2,
                                    sum: 3.0,
                                    quantile_values: vec![ValueAtQuantile {
                                        quantile: 0.5,
                                        value: 1.0,
                                    }],
                                    ..Default::default()
                                }],
                            }),
                        ),
                        Metric::default(),
                    ],
                    schema_url: "s".into(),
                },
                ScopeMetrics::default(),
            ],
            schema_url: "r".into(),
        }],
    }
}

/// prost's verdict and item count.
fn prost_decodes(signal: Signal, bytes: &[u8]) -> Option<usize> {
    match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(bytes)
            .ok()
            .map(|r| Payload::Traces(r).item_count()),
        Signal::Logs => ExportLogsServiceRequest::decode(bytes)
            .ok()
            .map(|r| Payload::Logs(r).item_count()),
        Signal::Metrics => ExportMetricsServiceRequest::decode(bytes)
            .ok()
            .map(|r| Payload::Metrics(r).item_count()),
    }
}

fn agrees(signal: Signal, bytes: &[u8]) -> Result<(), String> {
    let ours = validate(signal, bytes);
    match (ours, prost_decodes(signal, bytes)) {
        (Ok(n), Some(m)) if n == m => Ok(()),
        (Err(_), None) => Ok(()),
        (ours, theirs) => Err(format!("ours {ours:?}, prost {theirs:?}")),
    }
}

fn samples() -> Vec<(Signal, Vec<u8>)> {
    vec![
        (Signal::Traces, traces().encode_to_vec()),
        (Signal::Logs, logs().encode_to_vec()),
        (Signal::Metrics, metrics().encode_to_vec()),
    ]
}

#[test]
fn valid_requests_pass_with_their_item_counts() {
    assert_eq!(validate(Signal::Traces, &traces().encode_to_vec()), Ok(3));
    assert_eq!(validate(Signal::Logs, &logs().encode_to_vec()), Ok(2));
    assert_eq!(validate(Signal::Traces, &[]), Ok(0));
    assert_eq!(validate(Signal::Metrics, &metrics().encode_to_vec()), Ok(6));
    assert_eq!(validate(Signal::Metrics, &[]), Ok(0));
}

#[test]
fn every_truncation_agrees_with_prost() {
    for (signal, bytes) in samples() {
        for cut in 0..bytes.len() {
            agrees(signal, &bytes[..cut]).unwrap_or_else(|e| panic!("{signal} cut at {cut}: {e}"));
        }
    }
}

#[test]
fn every_corrupted_byte_agrees_with_prost() {
    for (signal, bytes) in samples() {
        for at in 0..bytes.len() {
            for flip in [0xff, 0x80, 0x07, 0x01, 0x40] {
                let mut corrupt = bytes.clone();
                corrupt[at] ^= flip;
                agrees(signal, &corrupt)
                    .unwrap_or_else(|e| panic!("{signal} byte {at} ^ {flip:#x}: {e}"));
            }
        }
    }
}

#[test]
fn invalid_utf8_in_any_string_is_refused_with_its_field() {
    // Every "é" of the sample is a string; turn each into invalid UTF-8 in turn.
    let bytes = traces().encode_to_vec();
    let positions: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| *w == "é".as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert!(positions.len() >= 5);
    for at in positions {
        let mut corrupt = bytes.clone();
        corrupt[at + 1] = 0x28;
        let error = validate(Signal::Traces, &corrupt).unwrap_err();
        assert!(error.to_string().contains("KeyValue") || error.to_string().contains("AnyValue"));
        assert!(error.to_string().contains("UTF-8"), "{error}");
        assert!(prost_decodes(Signal::Traces, &corrupt).is_none());
    }
}

#[test]
fn nesting_up_to_prosts_recursion_limit() {
    // A span attribute whose value is arrays in arrays: the span sits at depth 4 (request 0).
    let nested = |levels: usize| {
        let mut v = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        };
        for _ in 0..levels {
            v = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        attributes: vec![KeyValue {
                            key: "deep".into(),
                            value: Some(v),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    };
    let mut verdicts = Vec::new();
    for levels in 40..52 {
        let bytes = nested(levels);
        agrees(Signal::Traces, &bytes).unwrap_or_else(|e| panic!("{levels} levels: {e}"));
        verdicts.push(validate(Signal::Traces, &bytes).is_ok());
    }
    // Both verdicts occur: the limit lies inside the range tried.
    assert!(verdicts.contains(&true) && verdicts.contains(&false));
}

#[test]
fn unknown_fields_and_groups_are_skipped_as_prost_skips_them() {
    let mut bytes = traces().encode_to_vec();
    // Field 20 as a varint, a fixed64, bytes, and a group holding a varint.
    bytes.extend_from_slice(&[0xa0, 0x01, 0x05]);
    bytes.extend_from_slice(&[0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
    bytes.extend_from_slice(&[0xa2, 0x01, 0x02, 0xaa, 0xbb]);
    bytes.extend_from_slice(&[0xa3, 0x01, 0x08, 0x01, 0xa4, 0x01]);
    assert_eq!(validate(Signal::Traces, &bytes), Ok(3));
    agrees(Signal::Traces, &bytes).unwrap();
    // An end-group without its start.
    bytes.extend_from_slice(&[0xa4, 0x01]);
    agrees(Signal::Traces, &bytes).unwrap();
    assert!(validate(Signal::Traces, &bytes).is_err());
}

#[test]
fn the_usual_attribute_shape_is_recognised_and_nothing_else() {
    use any_value::Value as V;
    let encode = |v: Option<V>| {
        KeyValue {
            key: "k".into(),
            value: v.map(|v| AnyValue { value: Some(v) }),
            ..Default::default()
        }
        .encode_to_vec()
    };
    for usual in [
        V::StringValue("v".into()),
        V::BoolValue(true),
        V::IntValue(-1),
        V::DoubleValue(2.5),
    ] {
        assert!(
            usual_key_value(&encode(Some(usual.clone())), 1),
            "{usual:?}"
        );
        // No room left for the value's nesting: the general walk decides.
        assert!(!usual_key_value(&encode(Some(usual)), 0));
    }
    // Shapes left to the general walk: no value, bytes, arrays, long strings, bad UTF-8.
    assert!(!usual_key_value(&encode(None), 1));
    assert!(!usual_key_value(&encode(Some(V::BytesValue(vec![1]))), 1));
    assert!(!usual_key_value(
        &encode(Some(V::ArrayValue(ArrayValue::default()))),
        1
    ));
    assert!(!usual_key_value(
        &encode(Some(V::StringValue("x".repeat(200)))),
        1
    ));
    let mut bad = encode(Some(V::StringValue("v".into())));
    let last = bad.len() - 1;
    bad[last] = 0xff;
    assert!(!usual_key_value(&bad, 1));
    // A varint of 11 bytes, or of 10 whose last byte is too large: prost refuses both.
    let overlong = |last: u8, extra: usize| {
        let mut value = vec![0x18];
        value.extend(std::iter::repeat_n(0xff, 9 + extra));
        value.push(last);
        let mut kv = vec![0x0a, 1, b'k', 0x12, value.len() as u8];
        kv.extend(value);
        kv
    };
    assert!(usual_key_value(&overlong(0x01, 0), 1));
    assert!(!usual_key_value(&overlong(0x02, 0), 1));
    assert!(!usual_key_value(&overlong(0x01, 1), 1));
    assert!(KeyValue::decode(overlong(0x01, 0).as_slice()).is_ok());
    assert!(KeyValue::decode(overlong(0x02, 0).as_slice()).is_err());
    // A trailing byte after the value.
    let mut trailing = encode(Some(V::IntValue(1)));
    trailing.push(0);
    assert!(!usual_key_value(&trailing, 1));
}

#[test]
fn repeated_scalars_decode_packed_or_one_at_a_time_as_prost_decodes_them() {
    // A histogram point (field 1 of a Histogram, in field 9 of a Metric...) built by hand:
    // bucket_counts (6) and explicit_bounds (7) unpacked, then packed with a bad length; an
    // exponential histogram's bucket counts (Buckets field 2) unpacked, and packed with a
    // varint cut short.
    let wrap = |point: Vec<u8>, data_field: u8| {
        let mut histogram = vec![0x0a, point.len() as u8];
        histogram.extend(point);
        let mut metric = vec![(data_field << 3) | 2, histogram.len() as u8];
        metric.extend(histogram);
        let scope = [vec![0x12, metric.len() as u8], metric].concat();
        let resource = [vec![0x12, scope.len() as u8], scope].concat();
        [vec![0x0a, resource.len() as u8], resource].concat()
    };
    let mut unpacked = vec![0x31];
    unpacked.extend(3u64.to_le_bytes());
    unpacked.push(0x39);
    unpacked.extend(1.5f64.to_le_bytes());
    let bad_packed = [vec![0x32, 12], vec![0; 12]].concat();
    let buckets = |counts: Vec<u8>| {
        let mut b = vec![0x08, 0x05];
        b.extend(counts);
        [vec![0x42, b.len() as u8], b].concat()
    };
    let cases = [
        (wrap(unpacked.clone(), 9), true),
        (wrap([unpacked.clone(), bad_packed].concat(), 9), false),
        (wrap([vec![0x32, 0], unpacked].concat(), 9), true),
        (wrap(buckets(vec![0x10, 0x96, 0x01]), 10), true),
        (wrap(buckets(vec![0x12, 2, 0x96, 0x01]), 10), true),
        (wrap(buckets(vec![0x12, 2, 0x96, 0x81]), 10), false),
        (wrap(buckets(vec![0x12, 1, 0x96]), 10), false),
    ];
    for (i, (bytes, decodes)) in cases.iter().enumerate() {
        agrees(Signal::Metrics, bytes).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(
            prost_decodes(Signal::Metrics, bytes).is_some(),
            *decodes,
            "case {i}"
        );
    }
}
