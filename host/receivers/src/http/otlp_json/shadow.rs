//! Which flattened oneof keys a metrics document holds, to detect values serde dropped: the
//! document is read a second time into these types, which only note presence
//! (`IgnoredAny`), and [`check`] compares them with the decoded request.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric as Decoded, NumberDataPoint, metric};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Request {
    resource_metrics: Vec<Resource>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Resource {
    scope_metrics: Vec<Scope>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scope {
    metrics: Vec<Metric>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Metric {
    gauge: Option<Points>,
    sum: Option<Points>,
    histogram: Option<Points>,
    exponential_histogram: Option<Points>,
    summary: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Points {
    data_points: Vec<Point>,
}

/// A data point or an exemplar.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Point {
    as_double: Option<IgnoredAny>,
    as_int: Option<IgnoredAny>,
    exemplars: Vec<Point>,
}

impl Point {
    fn has_value(&self) -> bool {
        self.as_double.is_some() || self.as_int.is_some()
    }
}

impl Metric {
    fn data_keys(&self) -> usize {
        [
            self.gauge.is_some(),
            self.sum.is_some(),
            self.histogram.is_some(),
            self.exponential_histogram.is_some(),
            self.summary.is_some(),
        ]
        .into_iter()
        .filter(|present| *present)
        .count()
    }
}

/// Refuse a request whose decoded form lost a oneof the document holds.
pub fn check(request: &ExportMetricsServiceRequest, shadow: &Request) -> Result<(), String> {
    let resources = request
        .resource_metrics
        .iter()
        .zip(&shadow.resource_metrics);
    for (r, (resource, shadow_resource)) in resources.enumerate() {
        let scopes = resource
            .scope_metrics
            .iter()
            .zip(&shadow_resource.scope_metrics);
        for (s, (scope, shadow_scope)) in scopes.enumerate() {
            for (m, (metric, shadow_metric)) in
                scope.metrics.iter().zip(&shadow_scope.metrics).enumerate()
            {
                let at = format!(
                    "resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}] ({:?})",
                    metric.name
                );
                check_metric(metric, shadow_metric).map_err(|e| format!("{at}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn check_metric(metric: &Decoded, shadow: &Metric) -> Result<(), String> {
    if shadow.data_keys() > 1 {
        return Err(
            "holds more than one of gauge, sum, histogram, exponentialHistogram, summary".into(),
        );
    }
    let Some(data) = &metric.data else {
        if shadow.data_keys() == 1 {
            return Err(
                "its data is not a valid gauge, sum, histogram, exponentialHistogram or summary"
                    .into(),
            );
        }
        return Ok(());
    };
    let (kind, points) = match data {
        metric::Data::Gauge(_) => ("gauge", &shadow.gauge),
        metric::Data::Sum(_) => ("sum", &shadow.sum),
        metric::Data::Histogram(_) => ("histogram", &shadow.histogram),
        metric::Data::ExponentialHistogram(_) => {
            ("exponentialHistogram", &shadow.exponential_histogram)
        }
        metric::Data::Summary(_) => return Ok(()),
    };
    let Some(points) = points else {
        return Ok(());
    };
    // (value present in the decoded point, exemplar values present)
    let decoded: Vec<(Option<bool>, Vec<bool>)> = match data {
        metric::Data::Gauge(g) => number_points(&g.data_points),
        metric::Data::Sum(s) => number_points(&s.data_points),
        metric::Data::Histogram(h) => h
            .data_points
            .iter()
            .map(|p| {
                (
                    None,
                    p.exemplars.iter().map(|e| e.value.is_some()).collect(),
                )
            })
            .collect(),
        metric::Data::ExponentialHistogram(h) => h
            .data_points
            .iter()
            .map(|p| {
                (
                    None,
                    p.exemplars.iter().map(|e| e.value.is_some()).collect(),
                )
            })
            .collect(),
        metric::Data::Summary(_) => Vec::new(),
    };
    for (i, ((value, exemplars), shadow_point)) in
        decoded.iter().zip(&points.data_points).enumerate()
    {
        if *value == Some(false) && shadow_point.has_value() {
            return Err(format!(
                "{kind}.dataPoints[{i}]: asDouble / asInt is not a valid number"
            ));
        }
        for (e, (decoded, shadow)) in exemplars.iter().zip(&shadow_point.exemplars).enumerate() {
            if !decoded && shadow.has_value() {
                return Err(format!(
                    "{kind}.dataPoints[{i}].exemplars[{e}]: asDouble / asInt is not a valid number"
                ));
            }
        }
    }
    Ok(())
}

fn number_points(points: &[NumberDataPoint]) -> Vec<(Option<bool>, Vec<bool>)> {
    points
        .iter()
        .map(|p| {
            (
                Some(p.value.is_some()),
                p.exemplars.iter().map(|e| e.value.is_some()).collect(),
            )
        })
        .collect()
}
