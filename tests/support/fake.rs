//! OTLP payloads for tests. Every call makes names (span names, metric names, log bodies) and
//! ids that no other call in the process makes, so a test can check exactly what arrived.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};

/// Resource attribute `service.name` of every fake resource.
pub const SERVICE_NAME: &str = "sluice-e2e";
/// A fixed start time (2018-12-13T14:51:00.3Z), in nanoseconds.
const T0: u64 = 1_544_712_660_300_000_000;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A name no other call in this process returns: `{prefix}-{pid}-{n}`.
pub fn unique(prefix: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// `resources` resources × `spans` spans, each span with `attrs` string attributes plus one int.
/// Span names are `{tag}-r{r}-s{s}` with a unique tag; trace and span ids are unique too.
pub fn traces(resources: usize, spans: usize, attrs: usize) -> ExportTraceServiceRequest {
    let tag = unique("span");
    let base = NEXT.fetch_add((resources * spans) as u64, Ordering::Relaxed);
    let resource_spans = (0..resources)
        .map(|r| ResourceSpans {
            resource: resource(r),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: (0..spans)
                    .map(|s| {
                        let n = base + (r * spans + s) as u64;
                        Span {
                            trace_id: id::<16>(n),
                            span_id: id::<8>(n),
                            name: format!("{tag}-r{r}-s{s}"),
                            kind: span::SpanKind::Server as i32,
                            start_time_unix_nano: T0 + n,
                            end_time_unix_nano: T0 + n + 1_000_000,
                            attributes: attributes(attrs, n),
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// `resources` resources × `metrics` monotonic int sums (one data point each, value 7, with
/// `attrs` attributes). Metric names are `{tag}.r{r}.m{m}` with a unique tag.
pub fn metrics(resources: usize, metrics: usize, attrs: usize) -> ExportMetricsServiceRequest {
    let tag = unique("metric");
    let resource_metrics = (0..resources)
        .map(|r| ResourceMetrics {
            resource: resource(r),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: (0..metrics)
                    .map(|m| Metric {
                        name: format!("{tag}.r{r}.m{m}"),
                        description: "a fake counter".into(),
                        unit: "1".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                attributes: attributes(attrs, m as u64),
                                start_time_unix_nano: T0,
                                time_unix_nano: T0 + 1_000_000_000,
                                value: Some(number_data_point::Value::AsInt(7)),
                                ..Default::default()
                            }],
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest { resource_metrics }
}

/// `resources` resources × `records` log records with `attrs` attributes. Bodies are
/// `{tag} r{r} l{l}` with a unique tag.
pub fn logs(resources: usize, records: usize, attrs: usize) -> ExportLogsServiceRequest {
    let tag = unique("log");
    let base = NEXT.fetch_add((resources * records) as u64, Ordering::Relaxed);
    let resource_logs = (0..resources)
        .map(|r| ResourceLogs {
            resource: resource(r),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: (0..records)
                    .map(|l| {
                        let n = base + (r * records + l) as u64;
                        LogRecord {
                            time_unix_nano: T0 + n,
                            observed_time_unix_nano: T0 + n,
                            severity_number: 9,
                            severity_text: "INFO".into(),
                            body: string(&format!("{tag} r{r} l{l}")),
                            attributes: attributes(attrs, n),
                            trace_id: id::<16>(n),
                            span_id: id::<8>(n),
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

/// The span names of a request, in order.
pub fn span_names(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

/// The metric names of a request, in order.
pub fn metric_names(request: &ExportMetricsServiceRequest) -> Vec<String> {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect()
}

/// The string bodies of a request's log records, in order.
pub fn log_bodies(request: &ExportLogsServiceRequest) -> Vec<String> {
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter_map(|l| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Protobuf encoding of any OTLP message.
pub fn protobuf(message: &impl prost::Message) -> Vec<u8> {
    message.encode_to_vec()
}

/// OTLP/JSON encoding (hex ids, lowerCamelCase, 64-bit integers as strings), made by
/// opentelemetry-proto's serde mapping: independent of Sluice's own JSON code.
pub fn json(message: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(message).expect("OTLP messages serialize")
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// zstd of `data`.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("writing to a Vec")
}

fn resource(r: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", string(SERVICE_NAME)),
            kv("e2e.resource", string(&format!("r{r}"))),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "sluice.e2e".into(),
        version: "1.0.0".into(),
        ..Default::default()
    })
}

fn attributes(count: usize, n: u64) -> Vec<KeyValue> {
    let mut attributes: Vec<KeyValue> = (0..count)
        .map(|i| {
            kv(
                &format!("e2e.attr.{i}"),
                string(&format!("value {i} of {n}")),
            )
        })
        .collect();
    let big = i64::try_from(n).unwrap_or(i64::MAX).saturating_add(1 << 53);
    attributes.push(kv(
        "e2e.n",
        Some(AnyValue {
            value: Some(Value::IntValue(big)),
        }),
    ));
    attributes
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
        ..Default::default()
    }
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(s.into())),
    })
}

/// An `N`-byte id from `n`: non-zero, unique per `n`, and different in every byte position.
fn id<const N: usize>(n: u64) -> Vec<u8> {
    let mut bytes = [0xa5u8; N];
    bytes[N - 8..].copy_from_slice(&n.to_be_bytes());
    bytes[0] = 0x5a;
    bytes.to_vec()
}

/// One span of [`service_spans`]: its duration, whether it failed, and its trace.
#[derive(Debug, Clone, Copy)]
pub struct SpanSpec {
    pub duration_ms: u64,
    pub error: bool,
    /// Spans with the same `trace` number share a trace id (unique to this process).
    pub trace: u64,
}

/// Server spans of service `service`, one per spec, all named `{operation}`, starting now.
pub fn service_spans(
    service: &str,
    operation: &str,
    specs: &[SpanSpec],
) -> ExportTraceServiceRequest {
    let base = NEXT.fetch_add(specs.len() as u64 + 1, Ordering::Relaxed);
    let trace_base = base << 20;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(T0, |d| d.as_nanos() as u64);
    let spans = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| Span {
            trace_id: id::<16>(trace_base + spec.trace),
            span_id: id::<8>(base + i as u64),
            name: operation.to_owned(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: now,
            end_time_unix_nano: now + spec.duration_ms * 1_000_000,
            status: spec
                .error
                .then(|| opentelemetry_proto::tonic::trace::v1::Status {
                    code: opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error as i32,
                    message: "failed".into(),
                }),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string(service))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A trace the test lays out span by span: a random-looking trace id unique in this process
/// ([`random_trace_id`]), a start time (now), and spans with explicit names, offsets from that
/// start, durations and parents. Spans are named `{name}-{label}`, the root `{name}-root`.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Unique in this process (from [`unique`]).
    pub name: String,
    pub trace_id: Vec<u8>,
    root_span_id: Vec<u8>,
    start_unix_nano: u64,
}

impl Trace {
    /// A new trace with a fresh trace id.
    pub fn new(prefix: &str) -> Trace {
        Trace::with_trace_id(prefix, random_trace_id())
    }

    /// A new trace (new name, new span ids) with a given trace id, e.g. to send a trace id again.
    pub fn with_trace_id(prefix: &str, trace_id: Vec<u8>) -> Trace {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(T0, |d| d.as_nanos() as u64);
        Trace {
            name: unique(prefix),
            trace_id,
            root_span_id: id::<8>(NEXT.fetch_add(1, Ordering::Relaxed)),
            start_unix_nano: now,
        }
    }

    /// The root span (server kind, no parent), `offset_ms` after the trace's start.
    pub fn root(&self, offset_ms: u64, duration_ms: u64) -> Span {
        Span {
            span_id: self.root_span_id.clone(),
            kind: span::SpanKind::Server as i32,
            ..self.span("root", offset_ms, duration_ms)
        }
    }

    /// A child of the root named `{name}-{label}`, `offset_ms` after the trace's start.
    pub fn child(&self, label: &str, offset_ms: u64, duration_ms: u64) -> Span {
        Span {
            parent_span_id: self.root_span_id.clone(),
            ..self.span(label, offset_ms, duration_ms)
        }
    }

    fn span(&self, label: &str, offset_ms: u64, duration_ms: u64) -> Span {
        let start = self.start_unix_nano + offset_ms * 1_000_000;
        Span {
            trace_id: self.trace_id.clone(),
            span_id: id::<8>(NEXT.fetch_add(1, Ordering::Relaxed)),
            name: format!("{}-{label}", self.name),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration_ms * 1_000_000,
            ..Default::default()
        }
    }
}

/// `span` with status ERROR.
pub fn failed(span: Span) -> Span {
    with_status(
        span,
        opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error,
    )
}

/// `span` with status OK.
pub fn ok(span: Span) -> Span {
    with_status(
        span,
        opentelemetry_proto::tonic::trace::v1::status::StatusCode::Ok,
    )
}

fn with_status(
    mut span: Span,
    code: opentelemetry_proto::tonic::trace::v1::status::StatusCode,
) -> Span {
    span.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: code as i32,
        message: String::new(),
    });
    span
}

/// A 16-byte trace id that looks random (SplitMix64 of a process-wide counter, as real ids are
/// random: hash-based samplers see realistic input) and is unique in this process.
pub fn random_trace_id() -> Vec<u8> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed) | (u64::from(std::process::id()) << 40);
    // SplitMix64 is a bijection of its input, so the first half alone is unique per `n`.
    let mut bytes = splitmix64(n).to_be_bytes().to_vec();
    bytes.extend(splitmix64(n ^ 0x5851_f42d_4c95_7f2d).to_be_bytes());
    bytes
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A traces request with one resource (`service.name` = the service) per `(service, spans)`, in
/// that order; spans keep the order given.
pub fn spans_request(resources: Vec<(&str, Vec<Span>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", string(service))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: scope(),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}
