use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    metric::Data,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::*;
use crate::Payload;

fn span(trace: u8) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![1; 8],
        name: format!("span-{trace}"),
        ..Default::default()
    }
}

/// A traces request shaped `[[spans per scope] per resource]`.
fn traces(shape: &[&[usize]]) -> ExportTraceServiceRequest {
    let mut trace = 0u8;
    ExportTraceServiceRequest {
        resource_spans: shape
            .iter()
            .map(|scopes| ResourceSpans {
                scope_spans: scopes
                    .iter()
                    .map(|&n| ScopeSpans {
                        spans: (0..n)
                            .map(|_| {
                                trace = trace.wrapping_add(1);
                                span(trace)
                            })
                            .collect(),
                        schema_url: "s".into(),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: "r".into(),
                ..Default::default()
            })
            .collect(),
    }
}

fn logs(shape: &[&[usize]]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: shape
            .iter()
            .map(|scopes| ResourceLogs {
                scope_logs: scopes
                    .iter()
                    .map(|&n| ScopeLogs {
                        log_records: (0..n)
                            .map(|i| LogRecord {
                                severity_text: format!("log-{i}"),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
}

fn metric(data: Option<Data>) -> Metric {
    Metric {
        name: "m".into(),
        unit: "1".into(),
        data,
        ..Default::default()
    }
}

fn every_kind_of_metric() -> Vec<Metric> {
    let number = |n: usize| vec![NumberDataPoint::default(); n];
    vec![
        metric(Some(Data::Gauge(Gauge {
            data_points: number(2),
        }))),
        metric(Some(Data::Sum(Sum {
            data_points: number(3),
            aggregation_temporality: 2,
            is_monotonic: true,
        }))),
        metric(Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint::default(); 4],
            aggregation_temporality: 1,
        }))),
        metric(Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint::default(); 5],
            aggregation_temporality: 1,
        }))),
        metric(Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint::default(); 6],
        }))),
        metric(None),
    ]
}

fn metrics(resources: usize) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: (0..resources)
            .map(|_| ResourceMetrics {
                scope_metrics: vec![
                    ScopeMetrics {
                        metrics: every_kind_of_metric(),
                        ..Default::default()
                    },
                    ScopeMetrics::default(),
                ],
                ..Default::default()
            })
            .collect(),
    }
}

/// What prost makes of `bytes`, and its item count.
fn decoded_count(signal: Signal, bytes: &[u8]) -> Option<usize> {
    let payload = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(bytes).map(Payload::Traces),
        Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).map(Payload::Metrics),
        Signal::Logs => ExportLogsServiceRequest::decode(bytes).map(Payload::Logs),
    };
    payload.ok().map(|p| p.item_count())
}

fn samples() -> Vec<(Signal, Vec<u8>)> {
    vec![
        (Signal::Traces, traces(&[]).encode_to_vec()),
        (Signal::Traces, traces(&[&[]]).encode_to_vec()),
        (Signal::Traces, traces(&[&[3, 0, 2], &[1]]).encode_to_vec()),
        (Signal::Logs, logs(&[]).encode_to_vec()),
        (Signal::Logs, logs(&[&[2, 5], &[], &[1]]).encode_to_vec()),
        (Signal::Metrics, metrics(0).encode_to_vec()),
        (Signal::Metrics, metrics(2).encode_to_vec()),
    ]
}

#[test]
fn counts_equal_the_decoded_item_counts() {
    for (signal, bytes) in samples() {
        let expected = decoded_count(signal, &bytes).unwrap();
        assert_eq!(count_items(signal, &bytes), Ok(expected), "{signal}");
    }
    assert_eq!(count_items(Signal::Traces, &[]), Ok(0));
    let metrics = metrics(2).encode_to_vec();
    assert_eq!(count_items(Signal::Metrics, &metrics), Ok(40));
}

/// Protobuf writing helpers, for requests prost would not write.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn len_field(number: u32, value: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(number << 3 | 2), out);
    varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// One unknown field of each wire type (varint, i64, len, i32) with field number `number`.
fn unknown_fields(number: u32) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(number << 3), &mut out);
    varint(300, &mut out);
    varint(u64::from(number << 3 | 1), &mut out);
    out.extend_from_slice(&[7; 8]);
    len_field(number, b"unknown", &mut out);
    varint(u64::from(number << 3 | 5), &mut out);
    out.extend_from_slice(&[9; 4]);
    out
}

#[test]
fn unknown_fields_are_skipped_at_every_level() {
    // A span, inside a scope and a resource, each with unknown fields around the known ones.
    let mut scope = unknown_fields(100);
    for trace in 1..=3 {
        len_field(2, &span(trace).encode_to_vec(), &mut scope);
        scope.extend(unknown_fields(7));
    }
    let mut resource = unknown_fields(9);
    len_field(2, &scope, &mut resource);
    len_field(2, &scope, &mut resource);
    resource.extend(unknown_fields(536_870_911));
    let mut request = unknown_fields(2);
    len_field(1, &resource, &mut request);
    request.extend(unknown_fields(3));
    assert_eq!(decoded_count(Signal::Traces, &request), Some(6));
    assert_eq!(count_items(Signal::Traces, &request), Ok(6));
    let mut ids = Vec::new();
    each_trace_id(&request, |id| ids.push(id[0])).unwrap();
    assert_eq!(ids, [1, 2, 3, 1, 2, 3]);
}

#[test]
fn metric_data_of_one_kind_merges_and_of_another_replaces_as_prost_decodes() {
    let gauge = |n: usize| {
        Gauge {
            data_points: vec![NumberDataPoint::default(); n],
        }
        .encode_to_vec()
    };
    let summary = Summary {
        data_points: vec![SummaryDataPoint::default(); 5],
    }
    .encode_to_vec();
    for (fields, expected) in [
        (vec![(5, gauge(2)), (5, gauge(3))], 5),
        (vec![(5, gauge(2)), (11, summary.clone())], 5),
        (vec![(11, summary.clone()), (5, gauge(1))], 1),
        (vec![(5, gauge(2)), (11, summary), (5, gauge(4))], 4),
    ] {
        let mut metric = Vec::new();
        for (number, value) in &fields {
            len_field(*number, value, &mut metric);
        }
        let mut scope = Vec::new();
        len_field(2, &metric, &mut scope);
        let mut resource = Vec::new();
        len_field(2, &scope, &mut resource);
        let mut request = Vec::new();
        len_field(1, &resource, &mut request);
        assert_eq!(decoded_count(Signal::Metrics, &request), Some(expected));
        assert_eq!(count_items(Signal::Metrics, &request), Ok(expected));
    }
}

#[test]
fn broken_framing_is_an_error_with_its_offset() {
    let err = |signal, bytes: &[u8]| count_items(signal, bytes).unwrap_err();
    assert_eq!(
        err(Signal::Traces, b"\xff\xff not otlp").problem,
        Problem::InvalidWireType(7)
    );
    // Field 1 claims 5 bytes, 2 follow.
    let e = err(Signal::Traces, &[0x0a, 0x05, 0x12, 0x00]);
    assert_eq!(e.problem, Problem::TruncatedLength);
    assert_eq!(e.to_string(), "truncated length at byte 1");
    // The resource list as a varint.
    assert!(matches!(
        err(Signal::Logs, &[0x08, 0x01]).problem,
        Problem::WrongWireType { field: 1, found: 0 }
    ));
    assert_eq!(err(Signal::Metrics, &[0x0b]).problem, Problem::Group);
    assert_eq!(
        err(Signal::Metrics, &[0x00, 0x00]).problem,
        Problem::InvalidTag
    );
    assert_eq!(
        err(Signal::Metrics, &[0x0d, 0x01]).problem,
        Problem::TruncatedFixed
    );
    assert_eq!(
        err(Signal::Metrics, &[0x80; 11]).problem,
        Problem::OverlongVarint
    );
    assert_eq!(
        err(Signal::Metrics, &[0x80]).problem,
        Problem::TruncatedVarint
    );
    // A bad field deep inside: in the scope of the second resource.
    let mut bytes = traces(&[&[1], &[1]]).encode_to_vec();
    let good = bytes.len();
    bytes.extend([0x0a, 0x04, 0x12, 0x02, 0x20, 0xff]);
    let e = err(Signal::Traces, &bytes);
    assert_eq!(e.offset, good + 5);
    assert_eq!(e.problem, Problem::TruncatedVarint);
}

#[test]
fn truncations_and_corruptions_never_panic_and_agree_with_prost() {
    let mut agreed = 0;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (signal, bytes) in samples() {
        let mut cases: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for _ in 0..300 {
            let mut corrupt = bytes.clone();
            if corrupt.is_empty() {
                corrupt.push(next() as u8);
            }
            for _ in 0..1 + next() % 3 {
                let at = (next() % corrupt.len() as u64) as usize;
                corrupt[at] = next() as u8;
            }
            cases.push(corrupt);
        }
        for case in cases {
            let counted = count_items(signal, &case);
            if signal == Signal::Traces {
                let _ = each_trace_id(&case, |_| {});
            }
            if let (Ok(counted), Some(decoded)) = (counted, decoded_count(signal, &case)) {
                assert_eq!(counted, decoded, "{signal} {case:?}");
                agreed += 1;
            }
        }
    }
    assert!(agreed > 100, "only {agreed} cases were valid for both");
}
