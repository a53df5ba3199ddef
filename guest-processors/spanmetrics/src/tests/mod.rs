//! Native tests: the connector driven through the SDK harness (bytes in, emitted bytes out).

mod config;
mod dimensions;
mod fast_path;
mod flush;
mod histograms;
mod metrics;
mod resources;
mod series;

use sluice_guest_sdk::Signal;
use sluice_guest_sdk::otlp::metrics::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, metric::Data,
    number_data_point,
};
use sluice_guest_sdk::otlp::trace::{ResourceSpans, ScopeSpans, Status};
use sluice_guest_sdk::otlp::{
    AnyValue, ExportMetricsServiceRequest, ExportTraceServiceRequest, InstrumentationScope,
    KeyValue, Metric, Resource, Span,
};
use sluice_guest_sdk::prost::Message;
use sluice_guest_sdk::testing::{Harness, Processed, take_emitted};

use crate::SpanMetrics;
use crate::timestamps::Clock;

/// The time tests start at (Unix nanoseconds).
pub const T0: u64 = 1_700_000_000_000_000_000;
pub const MS: u64 = 1_000_000;
pub const SECOND: u64 = 1_000_000_000;

/// A connector with `config`, its clock at `T0`.
pub fn harness(config: &str) -> Harness<SpanMetrics> {
    let mut h = Harness::<SpanMetrics>::new(config).expect("valid config");
    at(&mut h, T0);
    h
}

/// Sets the connector's clock.
pub fn at(h: &mut Harness<SpanMetrics>, time: u64) {
    h.processor()
        .expect("initialised")
        .set_clock(Clock::Manual(time));
}

pub fn kv(key: &str, value: impl Into<AnyValue>) -> KeyValue {
    KeyValue::new(key, value)
}

/// A span of `duration_ms` milliseconds starting at `T0`.
pub fn span(name: &str, duration_ms: u64) -> Span {
    Span {
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + duration_ms * MS,
        ..Default::default()
    }
}

/// `span` with `kind`, `status` and `attributes`.
pub fn span_with(
    name: &str,
    duration_ms: u64,
    kind: i32,
    status: i32,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        kind,
        status: Some(Status {
            message: String::new(),
            code: status,
        }),
        attributes,
        ..span(name, duration_ms)
    }
}

/// A traces batch: one `ResourceSpans` per `(resource attributes, spans)`, scope `test` 1.0.
pub fn traces(resources: Vec<(Vec<KeyValue>, Vec<Span>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(attributes, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "test".into(),
                        version: "1.0".into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// One resource `service.name = service` with `spans`.
pub fn service(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    traces(vec![(vec![kv("service.name", service)], spans)])
}

/// Sends `batch` and checks the traces pass through unchanged.
pub fn send(h: &mut Harness<SpanMetrics>, batch: &ExportTraceServiceRequest) {
    assert_eq!(h.process(batch).expect("processed"), Processed::Unchanged);
}

/// Flushes and returns the one metrics batch emitted.
pub fn flush(h: &mut Harness<SpanMetrics>) -> ExportMetricsServiceRequest {
    h.flush().expect("flush");
    let mut emitted = take_emitted();
    assert_eq!(emitted.len(), 1, "one batch per flush");
    let (signal, bytes) = emitted.remove(0);
    assert_eq!(signal, Signal::Metrics);
    ExportMetricsServiceRequest::decode(bytes.as_slice()).expect("valid OTLP metrics")
}

/// Flushes and checks nothing was emitted.
pub fn flush_nothing(h: &mut Harness<SpanMetrics>) {
    h.flush().expect("flush");
    assert!(take_emitted().is_empty(), "nothing to emit");
}

/// The metric `name` of the `resource`-th `ResourceMetrics`.
pub fn metric<'a>(req: &'a ExportMetricsServiceRequest, resource: usize, name: &str) -> &'a Metric {
    req.resource_metrics[resource].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name} in {req:#?}"))
}

pub fn metric_names(req: &ExportMetricsServiceRequest, resource: usize) -> Vec<&str> {
    req.resource_metrics[resource].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect()
}

pub fn sum_points(m: &Metric) -> &[NumberDataPoint] {
    match &m.data {
        Some(Data::Sum(s)) => {
            assert!(s.is_monotonic);
            &s.data_points
        }
        other => panic!("{} is not a sum: {other:?}", m.name),
    }
}

pub fn histogram_points(m: &Metric) -> &[HistogramDataPoint] {
    match &m.data {
        Some(Data::Histogram(h)) => &h.data_points,
        other => panic!("{} is not a histogram: {other:?}", m.name),
    }
}

pub fn exponential_points(m: &Metric) -> &[ExponentialHistogramDataPoint] {
    match &m.data {
        Some(Data::ExponentialHistogram(h)) => &h.data_points,
        other => panic!("{} is not an exponential histogram: {other:?}", m.name),
    }
}

/// The OTLP temporality of a sum or histogram metric.
pub fn temporality(m: &Metric) -> i32 {
    match &m.data {
        Some(Data::Sum(s)) => s.aggregation_temporality,
        Some(Data::Histogram(h)) => h.aggregation_temporality,
        Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality,
        other => panic!("{other:?}"),
    }
}

pub fn int_value(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        other => panic!("not an int: {other:?}"),
    }
}

pub fn str_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(AnyValue::as_str)
}

/// The sum point whose `span.name` is `name`.
pub fn calls_for<'a>(m: &'a Metric, name: &str) -> &'a NumberDataPoint {
    sum_points(m)
        .iter()
        .find(|p| str_attr(&p.attributes, "span.name") == Some(name))
        .unwrap_or_else(|| panic!("no point for {name}"))
}
