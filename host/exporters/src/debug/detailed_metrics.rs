//! `detailed` verbosity for metrics: descriptor, then every data point with its type-specific
//! fields, as the Collector's `otlptext` metrics marshaler.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, number_data_point,
};

use super::detailed::Buffer;
use super::text::{float_f, hex_id, temporality, timestamp};

pub fn metrics(request: &ExportMetricsServiceRequest) -> String {
    let mut b = Buffer::default();
    for (i, rm) in request.resource_metrics.iter().enumerate() {
        b.entry(format_args!("ResourceMetrics #{i}"));
        b.entry(format_args!("Resource SchemaURL: {}", rm.schema_url));
        b.attributes(
            "Resource attributes",
            rm.resource.as_ref().map_or(&[], |r| &r.attributes),
        );
        for (j, sm) in rm.scope_metrics.iter().enumerate() {
            b.entry(format_args!("ScopeMetrics #{j}"));
            b.entry(format_args!("ScopeMetrics SchemaURL: {}", sm.schema_url));
            b.scope(sm.scope.as_ref());
            for (k, metric) in sm.metrics.iter().enumerate() {
                b.entry(format_args!("Metric #{k}"));
                descriptor(&mut b, metric);
                data_points(&mut b, metric);
            }
        }
    }
    b.finish()
}

fn descriptor(b: &mut Buffer, m: &Metric) {
    let data_type = match m.data {
        Some(Data::Gauge(_)) => "Gauge",
        Some(Data::Sum(_)) => "Sum",
        Some(Data::Histogram(_)) => "Histogram",
        Some(Data::ExponentialHistogram(_)) => "ExponentialHistogram",
        Some(Data::Summary(_)) => "Summary",
        None => "Empty",
    };
    b.entry(format_args!("Descriptor:"));
    b.entry(format_args!("     -> Name: {}", m.name));
    b.entry(format_args!("     -> Description: {}", m.description));
    b.entry(format_args!("     -> Unit: {}", m.unit));
    b.entry(format_args!("     -> DataType: {data_type}"));
}

fn data_points(b: &mut Buffer, m: &Metric) {
    match &m.data {
        None => {}
        Some(Data::Gauge(g)) => number_points(b, &g.data_points),
        Some(Data::Sum(s)) => {
            b.entry(format_args!("     -> IsMonotonic: {}", s.is_monotonic));
            aggregation_temporality(b, s.aggregation_temporality);
            number_points(b, &s.data_points);
        }
        Some(Data::Histogram(h)) => {
            aggregation_temporality(b, h.aggregation_temporality);
            for (i, p) in h.data_points.iter().enumerate() {
                histogram_point(b, i, p);
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            aggregation_temporality(b, h.aggregation_temporality);
            for (i, p) in h.data_points.iter().enumerate() {
                exponential_histogram_point(b, i, p);
            }
        }
        Some(Data::Summary(s)) => {
            for (i, p) in s.data_points.iter().enumerate() {
                summary_point(b, i, p);
            }
        }
    }
}

fn aggregation_temporality(b: &mut Buffer, value: i32) {
    b.entry(format_args!(
        "     -> AggregationTemporality: {}",
        temporality(value)
    ));
}

fn times(b: &mut Buffer, start: u64, time: u64) {
    b.entry(format_args!("StartTimestamp: {}", timestamp(start)));
    b.entry(format_args!("Timestamp: {}", timestamp(time)));
}

fn number_points(b: &mut Buffer, points: &[NumberDataPoint]) {
    for (i, p) in points.iter().enumerate() {
        b.entry(format_args!("NumberDataPoints #{i}"));
        b.attributes("Data point attributes", &p.attributes);
        times(b, p.start_time_unix_nano, p.time_unix_nano);
        match p.value {
            Some(number_data_point::Value::AsInt(v)) => b.entry(format_args!("Value: {v}")),
            Some(number_data_point::Value::AsDouble(v)) => {
                b.entry(format_args!("Value: {}", float_f(v)));
            }
            None => {}
        }
        exemplars(b, &p.exemplars);
    }
}

/// `Count`, then `Sum`, `Min` and `Max` when present.
fn count_sum_min_max(
    b: &mut Buffer,
    count: u64,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
) {
    b.entry(format_args!("Count: {count}"));
    for (label, value) in [("Sum", sum), ("Min", min), ("Max", max)] {
        if let Some(v) = value {
            b.entry(format_args!("{label}: {}", float_f(v)));
        }
    }
}

fn histogram_point(b: &mut Buffer, i: usize, p: &HistogramDataPoint) {
    b.entry(format_args!("HistogramDataPoints #{i}"));
    b.attributes("Data point attributes", &p.attributes);
    times(b, p.start_time_unix_nano, p.time_unix_nano);
    count_sum_min_max(b, p.count, p.sum, p.min, p.max);
    for (i, bound) in p.explicit_bounds.iter().enumerate() {
        b.entry(format_args!("ExplicitBounds #{i}: {}", float_f(*bound)));
    }
    for (j, count) in p.bucket_counts.iter().enumerate() {
        b.entry(format_args!("Buckets #{j}, Count: {count}"));
    }
    exemplars(b, &p.exemplars);
}

fn exponential_histogram_point(b: &mut Buffer, i: usize, p: &ExponentialHistogramDataPoint) {
    b.entry(format_args!("ExponentialHistogramDataPoints #{i}"));
    b.attributes("Data point attributes", &p.attributes);
    times(b, p.start_time_unix_nano, p.time_unix_nano);
    count_sum_min_max(b, p.count, p.sum, p.min, p.max);

    // Bucket boundaries are exp(index * ln2 / 2^scale), as the Collector computes them.
    let factor = std::f64::consts::LN_2 * 2f64.powi(-p.scale);
    if let Some(negative) = &p.negative {
        for (pos, count) in negative.bucket_counts.iter().enumerate().rev() {
            let index = f64::from(negative.offset) + pos as f64;
            let lower = (index * factor).exp();
            let upper = ((index + 1.0) * factor).exp();
            b.entry(format_args!(
                "Bucket [{}, {}), Count: {count}",
                float_f(-upper),
                float_f(-lower)
            ));
        }
    }
    if p.zero_count != 0 {
        b.entry(format_args!("Bucket [0, 0], Count: {}", p.zero_count));
    }
    if let Some(positive) = &p.positive {
        for (pos, count) in positive.bucket_counts.iter().enumerate() {
            let index = f64::from(positive.offset) + pos as f64;
            let lower = (index * factor).exp();
            let upper = ((index + 1.0) * factor).exp();
            b.entry(format_args!(
                "Bucket ({}, {}], Count: {count}",
                float_f(lower),
                float_f(upper)
            ));
        }
    }
    exemplars(b, &p.exemplars);
}

fn summary_point(b: &mut Buffer, i: usize, p: &SummaryDataPoint) {
    b.entry(format_args!("SummaryDataPoints #{i}"));
    b.attributes("Data point attributes", &p.attributes);
    times(b, p.start_time_unix_nano, p.time_unix_nano);
    b.entry(format_args!("Count: {}", p.count));
    b.entry(format_args!("Sum: {}", float_f(p.sum)));
    for (i, q) in p.quantile_values.iter().enumerate() {
        b.entry(format_args!(
            "QuantileValue #{i}: Quantile {}, Value {}",
            float_f(q.quantile),
            float_f(q.value)
        ));
    }
}

fn exemplars(b: &mut Buffer, exemplars: &[Exemplar]) {
    if exemplars.is_empty() {
        return;
    }
    b.entry(format_args!("Exemplars:"));
    for (i, e) in exemplars.iter().enumerate() {
        b.entry(format_args!("Exemplar #{i}"));
        b.entry(format_args!("     -> Trace ID: {}", hex_id(&e.trace_id)));
        b.entry(format_args!("     -> Span ID: {}", hex_id(&e.span_id)));
        b.entry(format_args!(
            "     -> Timestamp: {}",
            timestamp(e.time_unix_nano)
        ));
        match e.value {
            Some(exemplar::Value::AsInt(v)) => b.entry(format_args!("     -> Value: {v}")),
            Some(exemplar::Value::AsDouble(v)) => {
                b.entry(format_args!("     -> Value: {}", float_f(v)));
            }
            None => {}
        }
        b.attributes("     -> FilteredAttributes", &e.filtered_attributes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn every_metric_type_prints_its_data_points() {
        let out = metrics(&fixtures::metrics());
        let expected = include_str!("../../testdata/metrics_all_types.detailed.out");
        assert_eq!(out, expected);
    }
}
