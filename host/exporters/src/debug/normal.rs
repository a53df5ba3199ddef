//! `normal` verbosity: a line per resource and scope, then one line per span, data point or log
//! record, as the Collector's `internal/normal` marshalers.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::text::{attribute_pairs, float_f, float_v, hex_id, value_as_string};

pub fn traces(request: &ExportTraceServiceRequest) -> String {
    let mut out = String::new();
    for (i, rs) in request.resource_spans.iter().enumerate() {
        resource_line(
            &mut out,
            "ResourceTraces",
            i,
            rs.resource.as_ref(),
            &rs.schema_url,
        );
        for (j, ss) in rs.scope_spans.iter().enumerate() {
            scope_line(
                &mut out,
                "ScopeTraces",
                j,
                ss.scope.as_ref(),
                &ss.schema_url,
            );
            for span in &ss.spans {
                let _ = write!(
                    out,
                    "{} {} {}",
                    span.name,
                    hex_id(&span.trace_id),
                    hex_id(&span.span_id)
                );
                let attributes = attribute_pairs(&span.attributes);
                if !attributes.is_empty() {
                    out.push(' ');
                    out.push_str(&attributes.join(" "));
                }
                out.push('\n');
            }
        }
    }
    out
}

pub fn metrics(request: &ExportMetricsServiceRequest) -> String {
    let mut out = String::new();
    for (i, rm) in request.resource_metrics.iter().enumerate() {
        resource_line(
            &mut out,
            "ResourceMetrics",
            i,
            rm.resource.as_ref(),
            &rm.schema_url,
        );
        for (j, sm) in rm.scope_metrics.iter().enumerate() {
            scope_line(
                &mut out,
                "ScopeMetrics",
                j,
                sm.scope.as_ref(),
                &sm.schema_url,
            );
            for metric in &sm.metrics {
                match &metric.data {
                    Some(Data::Gauge(g)) => number_points(&mut out, metric, &g.data_points),
                    Some(Data::Sum(s)) => number_points(&mut out, metric, &s.data_points),
                    Some(Data::Histogram(h)) => {
                        h.data_points
                            .iter()
                            .for_each(|p| histogram(&mut out, metric, p));
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        h.data_points
                            .iter()
                            .for_each(|p| exponential_histogram(&mut out, metric, p));
                    }
                    Some(Data::Summary(s)) => {
                        s.data_points
                            .iter()
                            .for_each(|p| summary(&mut out, metric, p));
                    }
                    None => {}
                }
            }
        }
    }
    out
}

pub fn logs(request: &ExportLogsServiceRequest) -> String {
    let mut out = String::new();
    for (i, rl) in request.resource_logs.iter().enumerate() {
        resource_line(
            &mut out,
            "ResourceLog",
            i,
            rl.resource.as_ref(),
            &rl.schema_url,
        );
        for (j, sl) in rl.scope_logs.iter().enumerate() {
            scope_line(&mut out, "ScopeLog", j, sl.scope.as_ref(), &sl.schema_url);
            for record in &sl.log_records {
                out.push_str(&value_as_string(record.body.as_ref()));
                let attributes = attribute_pairs(&record.attributes);
                if !attributes.is_empty() {
                    out.push(' ');
                    out.push_str(&attributes.join(" "));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// `ResourceTraces #0 [schema] key=value key2=value2`
fn resource_line(
    out: &mut String,
    label: &str,
    index: usize,
    resource: Option<&Resource>,
    schema_url: &str,
) {
    let _ = write!(out, "{label} #{index}");
    if !schema_url.is_empty() {
        let _ = write!(out, " [{schema_url}]");
    }
    attributes_suffix(out, resource.map_or(&[], |r| &r.attributes));
    out.push('\n');
}

/// `ScopeTraces #0 name@version [schema] key=value`
fn scope_line(
    out: &mut String,
    label: &str,
    index: usize,
    scope: Option<&InstrumentationScope>,
    schema_url: &str,
) {
    let _ = write!(out, "{label} #{index}");
    let name = scope.map_or("", |s| s.name.as_str());
    let version = scope.map_or("", |s| s.version.as_str());
    let mut details = name.to_owned();
    if !version.is_empty() {
        details.push('@');
        details.push_str(version);
    }
    if !schema_url.is_empty() {
        if !details.is_empty() {
            details.push(' ');
        }
        let _ = write!(details, "[{schema_url}]");
    }
    if !details.is_empty() {
        out.push(' ');
        out.push_str(&details);
    }
    attributes_suffix(out, scope.map_or(&[], |s| &s.attributes));
    out.push('\n');
}

fn attributes_suffix(out: &mut String, attributes: &[KeyValue]) {
    let pairs = attribute_pairs(attributes);
    if !pairs.is_empty() {
        out.push(' ');
        out.push_str(&pairs.join(" "));
    }
}

/// `name{k=v,k2=v2} value`
fn point_line(out: &mut String, metric: &Metric, attributes: &[KeyValue], value: &str) {
    let _ = writeln!(
        out,
        "{}{{{}}} {value}",
        metric.name,
        attribute_pairs(attributes).join(",")
    );
}

fn number_points(out: &mut String, metric: &Metric, points: &[NumberDataPoint]) {
    for p in points {
        let value = match p.value {
            Some(number_data_point::Value::AsInt(i)) => i.to_string(),
            Some(number_data_point::Value::AsDouble(d)) => float_v(d),
            None => String::new(),
        };
        point_line(out, metric, &p.attributes, &value);
    }
}

/// `count=N sum=S min=M max=X`, the optional parts only when present.
fn count_sum_min_max(count: u64, sum: Option<f64>, min: Option<f64>, max: Option<f64>) -> String {
    let mut value = format!("count={count}");
    for (label, v) in [("sum", sum), ("min", min), ("max", max)] {
        if let Some(v) = v {
            let _ = write!(value, " {label}={}", float_v(v));
        }
    }
    value
}

fn histogram(out: &mut String, metric: &Metric, p: &HistogramDataPoint) {
    let mut value = count_sum_min_max(p.count, p.sum, p.min, p.max);
    for (i, count) in p.bucket_counts.iter().enumerate() {
        match p.explicit_bounds.get(i) {
            Some(bound) => {
                let _ = write!(value, " le{}={count}", float_v(*bound));
            }
            None => {
                let _ = write!(value, " {count}");
            }
        }
    }
    point_line(out, metric, &p.attributes, &value);
}

fn exponential_histogram(out: &mut String, metric: &Metric, p: &ExponentialHistogramDataPoint) {
    let mut value = count_sum_min_max(p.count, p.sum, p.min, p.max);
    let base = 2f64.powf(2f64.powf(-f64::from(p.scale)));
    for buckets in [&p.negative, &p.positive].into_iter().flatten() {
        for (i, count) in buckets.bucket_counts.iter().enumerate() {
            let index = i64::from(buckets.offset) + i as i64;
            let lower = base.powf(index as f64);
            let _ = write!(value, " le{}={count}", float_v(lower));
        }
    }
    if p.zero_count > 0 {
        let _ = write!(
            value,
            " zero_count{}={}",
            float_v(p.zero_threshold),
            p.zero_count
        );
    }
    point_line(out, metric, &p.attributes, &value);
}

fn summary(out: &mut String, metric: &Metric, p: &SummaryDataPoint) {
    let mut value = format!("count={} sum={}", p.count, float_f(p.sum));
    for q in &p.quantile_values {
        let _ = write!(value, " q{}={}", float_v(q.quantile), float_v(q.value));
    }
    point_line(out, metric, &p.attributes, &value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn traces_print_one_line_per_span_after_resource_and_scope() {
        assert_eq!(
            traces(&fixtures::traces(1, 2)),
            "ResourceTraces #0 resource-attr=resource-attr-val-1\n\
             ScopeTraces #0 lib@1.0\n\
             operation0 0102030405060708090a0b0c0d0e0f10 1112131415161718 http.method=GET http.status=200\n\
             operation1 0102030405060708090a0b0c0d0e0f10 1112131415161718 http.method=GET http.status=200\n"
        );
    }

    #[test]
    fn empty_requests_print_nothing() {
        assert_eq!(traces(&Default::default()), "");
        assert_eq!(metrics(&Default::default()), "");
        assert_eq!(logs(&Default::default()), "");
    }

    #[test]
    fn metrics_print_one_line_per_data_point() {
        assert_eq!(
            metrics(&fixtures::metrics()),
            "ResourceMetrics #0 resource-attr=resource-attr-val-1\n\
             ScopeMetrics #0 lib@1.0\n\
             gauge-int{label-1=label-value-1} 123\n\
             sum-double{label-1=label-value-1} 1.23\n\
             histogram{label-1=label-value-1} count=1 sum=15 min=15 max=15 le1=0 1\n\
             exponential-histogram{} count=5 sum=0.15 le0.7071067811865475=1 le1=1 \
             le1.4142135623730951=1 le2.0000000000000004=1 zero_count0=1\n\
             summary{} count=1 sum=15.000000 q0.01=15\n"
        );
    }

    #[test]
    fn logs_print_body_and_attributes() {
        assert_eq!(
            logs(&fixtures::logs(2)),
            "ResourceLog #0 resource-attr=resource-attr-val-1\n\
             ScopeLog #0 lib@1.0\n\
             record 0 app=server instance_num=1\n\
             record 1 app=server instance_num=1\n"
        );
    }
}
