//! Builders of OTLP metric requests for the tests.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// 2023-11-14T22:13:20Z in nanoseconds.
pub const T0: u64 = 1_700_000_000_000_000_000;
/// One second in nanoseconds.
pub const SEC: u64 = 1_000_000_000;

pub const CUMULATIVE: AggregationTemporality = AggregationTemporality::Cumulative;
pub const DELTA: AggregationTemporality = AggregationTemporality::Delta;

pub fn any(value: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: any(Value::StringValue(value.to_owned())),
        ..Default::default()
    }
}

pub fn kv_value(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: any(value),
        ..Default::default()
    }
}

pub fn scope(name: &str, version: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    }
}

/// A resource with `service.name=checkout`, `service.instance.id=i-1`, `host.name=web-1`.
pub fn service() -> Vec<KeyValue> {
    vec![
        kv("service.name", "checkout"),
        kv("service.instance.id", "i-1"),
        kv("host.name", "web-1"),
    ]
}

pub fn request(
    resource: Vec<KeyValue>,
    scope: Option<InstrumentationScope>,
    metrics: Vec<Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric(name: &str, unit: &str, description: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        description: description.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

pub fn number(attributes: Vec<KeyValue>, value: f64, time: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 0,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

pub fn int(attributes: Vec<KeyValue>, value: i64, start: u64, time: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

pub fn gauge(name: &str, unit: &str, description: &str, points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        unit,
        description,
        Data::Gauge(Gauge {
            data_points: points,
        }),
    )
}

pub fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    metric(
        name,
        unit,
        "",
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        }),
    )
}

pub fn histogram_point(
    attributes: Vec<KeyValue>,
    bounds: &[f64],
    counts: &[u64],
    sum: Option<f64>,
    start: u64,
    time: u64,
) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum,
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        ..Default::default()
    }
}

pub fn histogram(
    name: &str,
    unit: &str,
    description: &str,
    temporality: AggregationTemporality,
    points: Vec<HistogramDataPoint>,
) -> Metric {
    metric(
        name,
        unit,
        description,
        Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality as i32,
        }),
    )
}

/// An exponential point at `scale` with positive buckets from `offset`.
pub fn exponential_point(
    scale: i32,
    zero_count: u64,
    offset: i32,
    counts: &[u64],
    start: u64,
    time: u64,
) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: zero_count + counts.iter().sum::<u64>(),
        sum: Some(10.0),
        scale,
        zero_count,
        positive: Some(Buckets {
            offset,
            bucket_counts: counts.to_vec(),
        }),
        ..Default::default()
    }
}

pub fn exponential(
    name: &str,
    unit: &str,
    temporality: AggregationTemporality,
    points: Vec<ExponentialHistogramDataPoint>,
) -> Metric {
    metric(
        name,
        unit,
        "",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: temporality as i32,
        }),
    )
}

pub fn summary(
    name: &str,
    unit: &str,
    attributes: Vec<KeyValue>,
    count: u64,
    sum: f64,
    quantiles: &[(f64, f64)],
    time: u64,
) -> Metric {
    metric(
        name,
        unit,
        "",
        Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes,
                time_unix_nano: time,
                count,
                sum,
                quantile_values: quantiles
                    .iter()
                    .map(|(quantile, value)| ValueAtQuantile {
                        quantile: *quantile,
                        value: *value,
                    })
                    .collect(),
                ..Default::default()
            }],
        }),
    )
}
