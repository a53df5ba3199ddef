//! OTLP metrics to remote-write series, as `pkg/translator/prometheusremotewrite`
//! (`metrics_to_prw.go`, `helper.go`, `number_data_points.go`, `histograms.go`):
//!
//! - gauges and non-monotonic cumulative sums: one sample (metadata `GAUGE`); monotonic
//!   cumulative sums: one sample under the `_total` name (`COUNTER`);
//! - cumulative histograms: `_sum` (only when set), `_count`, `_bucket{le}` with cumulative
//!   counts in the point's bound order and `le="+Inf"` equal to the count (`HISTOGRAM`); `le`
//!   and `quantile` are written as Go's `'f', -1` (`0.005`, `1000000`);
//! - cumulative exponential histograms: the same series with the exact bucket bounds
//!   ([`crate::translate::exponential`]); the Collector sends native histograms;
//! - summaries: `_sum`, `_count`, `{quantile}` (`SUMMARY`);
//! - delta or unspecified temporality: dropped (remote write carries cumulative series);
//! - "no recorded value": Prometheus' stale marker (NaN with bits `0x7ff0000000000002`);
//! - per resource with attributes besides `service.*`: `target_info` = 1 at the resource's
//!   latest sample time, labels as [`Translator::target_info_labels`] plus external labels.
//!
//! Series with equal label sets are merged, their samples sorted by timestamp.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, NumberDataPoint};

use super::proto::{Label, MetricMetadata, MetricType, Sample, TimeSeries};
use crate::dropped::{DropReason, WarnOnce};
use crate::translate::exponential::ExpHistogram;
use crate::translate::{Labels, ResourceLabels, Translator, float, labels, naming};

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
const NO_RECORDED_VALUE: u32 = 1;

/// Prometheus' stale marker.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Series, metadata and drop counts of one export.
#[derive(Debug, Default)]
pub(crate) struct Converted {
    pub series: Vec<TimeSeries>,
    pub metadata: Vec<MetricMetadata>,
    pub samples: usize,
    pub dropped: usize,
}

/// How one export is converted.
pub(crate) struct Options<'a> {
    pub exporter: &'a str,
    pub translator: &'a Translator,
    pub target_info: bool,
    pub warn: &'a WarnOnce,
}

struct Builder<'a> {
    options: &'a Options<'a>,
    series: BTreeMap<Labels, Vec<Sample>>,
    metadata: BTreeMap<String, MetricMetadata>,
    dropped: usize,
}

fn millis(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// What every point of one scope shares.
struct Scope<'a> {
    resource: &'a [KeyValue],
    resource_labels: &'a ResourceLabels,
    labels: &'a [(String, String)],
}

impl Builder<'_> {
    fn add(
        &mut self,
        labels: &Labels,
        name: &str,
        extra: Option<(&str, &str)>,
        value: f64,
        t: i64,
    ) {
        let mut labels = labels.with("__name__", name);
        if let Some((k, v)) = extra {
            labels = labels.with(k, v);
        }
        self.series.entry(labels).or_default().push(Sample {
            value,
            timestamp: t,
        });
    }

    fn drop_points(&mut self, reason: DropReason, metric: &str, points: usize) {
        if points > 0 {
            self.options
                .warn
                .warn(self.options.exporter, reason, metric, points);
            self.dropped += points;
        }
    }

    fn metadata(&mut self, name: &str, metric: &Metric, kind: MetricType) {
        self.metadata
            .entry(name.to_owned())
            .or_insert_with(|| MetricMetadata {
                r#type: kind as i32,
                metric_family_name: name.to_owned(),
                help: metric.description.clone(),
                unit: naming::prometheus_unit(&metric.unit),
            });
    }

    /// Add one metric's points; returns the latest point time in nanoseconds.
    fn metric(&mut self, metric: &Metric, scope: &Scope<'_>) -> u64 {
        let translator = self.options.translator;
        let points = sluice_pipeline::data_point_count(metric);
        let name = translator.metric_name(metric);
        if name.is_empty() {
            self.drop_points(DropReason::EmptyName, &metric.name, points);
            return 0;
        }
        match naming::temporality(metric) {
            None | Some(AggregationTemporality::Cumulative) => {}
            Some(AggregationTemporality::Delta) => {
                self.drop_points(DropReason::Delta, &name, points);
                return 0;
            }
            Some(AggregationTemporality::Unspecified) => {
                self.drop_points(DropReason::UnspecifiedTemporality, &name, points);
                return 0;
            }
        }
        let point_labels = |attributes: &[KeyValue]| {
            translator.labels(
                scope.resource,
                scope.resource_labels,
                scope.labels,
                attributes,
            )
        };
        let mut latest = 0;
        match &metric.data {
            None => {}
            Some(Data::Gauge(g)) => {
                self.metadata(&name, metric, MetricType::Gauge);
                for p in &g.data_points {
                    latest = latest.max(p.time_unix_nano);
                    self.number(&name, &point_labels(&p.attributes), p);
                }
            }
            Some(Data::Sum(s)) => {
                let kind = if s.is_monotonic {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                };
                self.metadata(&name, metric, kind);
                for p in &s.data_points {
                    latest = latest.max(p.time_unix_nano);
                    self.number(&name, &point_labels(&p.attributes), p);
                }
            }
            Some(Data::Histogram(h)) => {
                self.metadata(&name, metric, MetricType::Histogram);
                for p in &h.data_points {
                    latest = latest.max(p.time_unix_nano);
                    let mut cumulative = 0u64;
                    let buckets: Vec<(f64, u64)> = p
                        .explicit_bounds
                        .iter()
                        .zip(&p.bucket_counts)
                        .map(|(bound, count)| {
                            cumulative = cumulative.saturating_add(*count);
                            (*bound, cumulative)
                        })
                        .collect();
                    let histogram = Histogram {
                        buckets: &buckets,
                        count: p.count,
                        sum: p.sum,
                        stale: p.flags & NO_RECORDED_VALUE != 0,
                        time: millis(p.time_unix_nano),
                    };
                    self.histogram(&name, &point_labels(&p.attributes), &histogram);
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                self.metadata(&name, metric, MetricType::Histogram);
                for p in &h.data_points {
                    latest = latest.max(p.time_unix_nano);
                    let buckets = ExpHistogram::from_point(p).classic_buckets();
                    let histogram = Histogram {
                        buckets: &buckets,
                        count: p.count,
                        sum: p.sum,
                        stale: p.flags & NO_RECORDED_VALUE != 0,
                        time: millis(p.time_unix_nano),
                    };
                    self.histogram(&name, &point_labels(&p.attributes), &histogram);
                }
            }
            Some(Data::Summary(s)) => {
                self.metadata(&name, metric, MetricType::Summary);
                for p in &s.data_points {
                    latest = latest.max(p.time_unix_nano);
                    let labels = point_labels(&p.attributes);
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let value = |v: f64| if stale { STALE_NAN } else { v };
                    let t = millis(p.time_unix_nano);
                    self.add(&labels, &format!("{name}_sum"), None, value(p.sum), t);
                    self.add(
                        &labels,
                        &format!("{name}_count"),
                        None,
                        value(p.count as f64),
                        t,
                    );
                    for q in &p.quantile_values {
                        let quantile = float::decimal(q.quantile);
                        self.add(
                            &labels,
                            &name,
                            Some(("quantile", &quantile)),
                            value(q.value),
                            t,
                        );
                    }
                }
            }
        }
        latest
    }

    fn number(&mut self, name: &str, labels: &Labels, p: &NumberDataPoint) {
        let value = if p.flags & NO_RECORDED_VALUE != 0 {
            STALE_NAN
        } else {
            match p.value {
                Some(NumberValue::AsDouble(d)) => d,
                Some(NumberValue::AsInt(i)) => i as f64,
                None => {
                    self.drop_points(DropReason::NoValue, name, 1);
                    return;
                }
            }
        };
        self.add(labels, name, None, value, millis(p.time_unix_nano));
    }

    fn histogram(&mut self, name: &str, labels: &Labels, h: &Histogram<'_>) {
        let value = |v: f64| if h.stale { STALE_NAN } else { v };
        if let Some(sum) = h.sum {
            self.add(labels, &format!("{name}_sum"), None, value(sum), h.time);
        }
        self.add(
            labels,
            &format!("{name}_count"),
            None,
            value(h.count as f64),
            h.time,
        );
        let bucket = format!("{name}_bucket");
        for (bound, cumulative) in h.buckets.iter().filter(|(b, _)| b.is_finite()) {
            let le = float::decimal(*bound);
            self.add(
                labels,
                &bucket,
                Some(("le", &le)),
                value(*cumulative as f64),
                h.time,
            );
        }
        self.add(
            labels,
            &bucket,
            Some(("le", "+Inf")),
            value(h.count as f64),
            h.time,
        );
    }
}

struct Histogram<'a> {
    buckets: &'a [(f64, u64)],
    count: u64,
    sum: Option<f64>,
    stale: bool,
    time: i64,
}

/// Convert one export request.
pub(crate) fn convert(request: &ExportMetricsServiceRequest, options: &Options<'_>) -> Converted {
    let mut builder = Builder {
        options,
        series: BTreeMap::new(),
        metadata: BTreeMap::new(),
        dropped: 0,
    };
    for rm in &request.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice());
        let resource_labels = ResourceLabels::of(resource);
        let mut latest = 0u64;
        for sm in &rm.scope_metrics {
            let scope_labels = labels::scope_labels(sm.scope.as_ref(), &sm.schema_url);
            let scope = Scope {
                resource,
                resource_labels: &resource_labels,
                labels: &scope_labels,
            };
            for metric in &sm.metrics {
                latest = latest.max(builder.metric(metric, &scope));
            }
        }
        if options.target_info && latest > 0 && Translator::has_info_attributes(resource) {
            let info = options.translator.target_info_labels(resource, true);
            let name = options.translator.target_info_name();
            builder.add(&info, &name, None, 1.0, millis(latest));
        }
    }
    let mut samples = 0;
    let series = builder
        .series
        .into_iter()
        .map(|(labels, mut points)| {
            points.sort_by_key(|s| s.timestamp);
            samples += points.len();
            TimeSeries {
                labels: labels
                    .iter()
                    .map(|(name, value)| Label {
                        name: name.to_owned(),
                        value: value.to_owned(),
                    })
                    .collect(),
                samples: points,
            }
        })
        .collect();
    Converted {
        series,
        metadata: builder.metadata.into_values().collect(),
        samples,
        dropped: builder.dropped,
    }
}
