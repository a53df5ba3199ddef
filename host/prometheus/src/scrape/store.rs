//! The latest value of every series, as the Collector's `lastValueAccumulator`
//! (`exporter/prometheusexporter/accumulator.go`):
//!
//! - gauges, cumulative sums, cumulative histograms and summaries keep the newest point; a
//!   point older than the stored one is ignored;
//! - monotonic delta sums are added up when a point starts where the stored one ended
//!   (otherwise the point replaces the sum, as a reset); non-monotonic delta sums are dropped;
//! - delta histograms (explicit and exponential) are added up when aligned, replace the stored
//!   point when they start after it ended (a reset), and are dropped when they start before;
//!   explicit buckets with different bounds take the newer point;
//! - a point flagged "no recorded value" removes its series;
//! - a series not updated within `metric_expiration` is dropped at the next scrape or export.
//!
//! Series are keyed by their Prometheus name and label set, so two OTLP series that translate
//! to the same Prometheus series are one series here (the newest point wins) instead of a
//! duplicate line in the exposition. A name keeps the type of its first series until all its
//! series expired; points of another type under that name are dropped (`TypeConflict`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
};

use crate::dropped::{DropReason, WarnOnce};
use crate::translate::exponential::ExpHistogram;
use crate::translate::{Labels, ResourceLabels, Translator, labels, naming};

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
const NO_RECORDED_VALUE: u32 = 1;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// An explicit-bucket histogram point (counts per bucket, not cumulative).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Explicit {
    pub count: u64,
    pub sum: Option<f64>,
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
}

impl Explicit {
    fn of(p: &HistogramDataPoint) -> Explicit {
        Explicit {
            count: p.count,
            sum: p.sum,
            bounds: p.explicit_bounds.clone(),
            counts: p.bucket_counts.clone(),
        }
    }

    /// `self` plus the delta `newer`; the newer point alone when the bounds differ.
    fn merge(&self, newer: &Explicit) -> Explicit {
        if self.bounds != newer.bounds || self.counts.len() != newer.counts.len() {
            return newer.clone();
        }
        Explicit {
            count: self.count.saturating_add(newer.count),
            sum: match (self.sum, newer.sum) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            },
            bounds: newer.bounds.clone(),
            counts: self
                .counts
                .iter()
                .zip(&newer.counts)
                .map(|(a, b)| a.saturating_add(*b))
                .collect(),
        }
    }

    /// `(le, cumulative count)`, bounds sorted and de-duplicated (the first of equal bounds
    /// keeps its count, as the Collector), without `+Inf`.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut indexed: Vec<(f64, usize)> = Vec::new();
        for (i, bound) in self.bounds.iter().enumerate() {
            if !indexed.iter().any(|(b, _)| b == bound) {
                indexed.push((*bound, i));
            }
        }
        indexed.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cumulative = 0u64;
        indexed
            .into_iter()
            .map(|(bound, i)| {
                cumulative = cumulative.saturating_add(self.counts.get(i).copied().unwrap_or(0));
                (bound, cumulative)
            })
            .collect()
    }
}

/// A summary point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub count: u64,
    pub sum: f64,
    /// `(quantile, value)` sorted by quantile.
    pub quantiles: Vec<(f64, f64)>,
}

impl Summary {
    fn of(p: &SummaryDataPoint) -> Summary {
        let mut quantiles: Vec<(f64, f64)> = p
            .quantile_values
            .iter()
            .map(|q| (q.quantile, q.value))
            .collect();
        quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
        Summary {
            count: p.count,
            sum: p.sum,
            quantiles,
        }
    }
}

/// The value of a stored point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    Explicit(Explicit),
    Exponential(ExpHistogram),
    Summary(Summary),
}

/// A stored point with its OTLP times (nanoseconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub value: Value,
    pub start: u64,
    pub time: u64,
}

/// What `target_info` needs from the resource of a series.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    pub job: Option<String>,
    pub instance: Option<String>,
    /// The `target_info` labels.
    pub info: Labels,
}

#[derive(Debug)]
pub(crate) struct Series {
    pub point: Point,
    pub updated: Instant,
    pub resource: Arc<Resource>,
}

#[derive(Debug)]
pub(crate) struct Family {
    pub kind: Kind,
    pub help: String,
    pub series: BTreeMap<Labels, Series>,
}

/// Accepted and dropped data points of one export.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub accepted: usize,
    pub dropped: usize,
}

/// Every live series, by family name.
#[derive(Debug)]
pub(crate) struct Store {
    exporter: String,
    translator: Translator,
    expiration: Duration,
    pub families: BTreeMap<String, Family>,
    last_expiry: Option<Instant>,
    warn: WarnOnce,
}

/// One data point, translated, waiting to be stored.
struct Incoming<'a> {
    name: &'a str,
    kind: Kind,
    help: &'a str,
    labels: Labels,
    point: Point,
    delta: bool,
}

impl Store {
    pub fn new(exporter: &str, translator: Translator, expiration: Duration) -> Store {
        Store {
            exporter: exporter.to_owned(),
            translator,
            expiration,
            families: BTreeMap::new(),
            last_expiry: None,
            warn: WarnOnce::default(),
        }
    }

    pub fn translator(&self) -> &Translator {
        &self.translator
    }

    /// Store every data point of `request`.
    pub fn accept(&mut self, request: &ExportMetricsServiceRequest, now: Instant) -> Outcome {
        // Also expire here (at most once a second), so memory stays bounded without scrapes.
        if self
            .last_expiry
            .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1))
        {
            self.expire(now);
        }
        let mut outcome = Outcome::default();
        for rm in &request.resource_metrics {
            let attributes = rm
                .resource
                .as_ref()
                .map_or(&[][..], |r| r.attributes.as_slice());
            let resource_labels = ResourceLabels::of(attributes);
            let resource = Arc::new(Resource {
                job: resource_labels.job.clone(),
                instance: resource_labels.instance.clone(),
                info: self.translator.target_info_labels(attributes, false),
            });
            for sm in &rm.scope_metrics {
                let scope = labels::scope_labels(sm.scope.as_ref(), &sm.schema_url);
                for metric in &sm.metrics {
                    let context = Context {
                        attributes,
                        resource_labels: &resource_labels,
                        scope: &scope,
                        resource: &resource,
                        now,
                    };
                    let result = self.metric(metric, &context);
                    outcome.accepted += result.accepted;
                    outcome.dropped += result.dropped;
                }
            }
        }
        outcome
    }

    fn drop_points(&self, reason: DropReason, metric: &str, points: usize) -> Outcome {
        if points > 0 {
            self.warn.warn(&self.exporter, reason, metric, points);
        }
        Outcome {
            accepted: 0,
            dropped: points,
        }
    }

    fn metric(&mut self, metric: &Metric, cx: &Context<'_>) -> Outcome {
        let points = sluice_pipeline::data_point_count(metric);
        let name = self.translator.metric_name(metric);
        if name.is_empty() {
            return self.drop_points(DropReason::EmptyName, &metric.name, points);
        }
        let delta = match naming::temporality(metric) {
            None | Some(AggregationTemporality::Cumulative) => false,
            Some(AggregationTemporality::Delta) => true,
            Some(AggregationTemporality::Unspecified) => {
                return self.drop_points(DropReason::UnspecifiedTemporality, &name, points);
            }
        };
        let help = metric.description.as_str();
        let mut outcome = Outcome::default();
        let mut add = |store: &mut Store,
                       kind: Kind,
                       attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
                       flags: u32,
                       point: Option<Point>| {
            let labels =
                store
                    .translator
                    .labels(cx.attributes, cx.resource_labels, cx.scope, attrs);
            let result = if flags & NO_RECORDED_VALUE != 0 {
                store.remove(&name, &labels);
                Ok(())
            } else if let Some(point) = point {
                store.update(
                    Incoming {
                        name: &name,
                        kind,
                        help,
                        labels,
                        point,
                        delta,
                    },
                    cx,
                )
            } else {
                Err(DropReason::NoValue)
            };
            match result {
                Ok(()) => outcome.accepted += 1,
                Err(reason) => {
                    store.warn.warn(&store.exporter, reason, &name, 1);
                    outcome.dropped += 1;
                }
            }
        };
        match &metric.data {
            None => {}
            Some(Data::Gauge(g)) => {
                for p in &g.data_points {
                    add(self, Kind::Gauge, &p.attributes, p.flags, number(p));
                }
            }
            Some(Data::Sum(s)) => {
                if delta && !s.is_monotonic {
                    return self.drop_points(DropReason::DeltaNonMonotonicSum, &name, points);
                }
                let kind = if s.is_monotonic {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                for p in &s.data_points {
                    add(self, kind, &p.attributes, p.flags, number(p));
                }
            }
            Some(Data::Histogram(h)) => {
                for p in &h.data_points {
                    let point = Point {
                        value: Value::Explicit(Explicit::of(p)),
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                    };
                    add(self, Kind::Histogram, &p.attributes, p.flags, Some(point));
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for p in &h.data_points {
                    let point = Point {
                        value: Value::Exponential(ExpHistogram::from_point(p)),
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                    };
                    add(self, Kind::Histogram, &p.attributes, p.flags, Some(point));
                }
            }
            Some(Data::Summary(s)) => {
                for p in &s.data_points {
                    let point = Point {
                        value: Value::Summary(Summary::of(p)),
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                    };
                    add(self, Kind::Summary, &p.attributes, p.flags, Some(point));
                }
            }
        }
        outcome
    }

    fn remove(&mut self, name: &str, labels: &Labels) {
        if let Some(family) = self.families.get_mut(name) {
            family.series.remove(labels);
            if family.series.is_empty() {
                self.families.remove(name);
            }
        }
    }

    fn update(&mut self, incoming: Incoming<'_>, cx: &Context<'_>) -> Result<(), DropReason> {
        let family = self
            .families
            .entry(incoming.name.to_owned())
            .or_insert_with(|| Family {
                kind: incoming.kind,
                help: incoming.help.to_owned(),
                series: BTreeMap::new(),
            });
        if family.kind != incoming.kind {
            return Err(DropReason::TypeConflict);
        }
        let point = match family.series.get(&incoming.labels) {
            None => incoming.point,
            Some(stored) => match accumulate(&stored.point, incoming.point, incoming.delta)? {
                Some(point) => point,
                // Older than what is stored: keep the stored point (not an error).
                None => return Ok(()),
            },
        };
        family.series.insert(
            incoming.labels,
            Series {
                point,
                updated: cx.now,
                resource: cx.resource.clone(),
            },
        );
        Ok(())
    }

    /// Drop series not updated within the expiration, and families left empty.
    pub fn expire(&mut self, now: Instant) {
        self.last_expiry = Some(now);
        let expiration = self.expiration;
        self.families.retain(|_, family| {
            family
                .series
                .retain(|_, s| now.saturating_duration_since(s.updated) <= expiration);
            !family.series.is_empty()
        });
    }
}

/// What every point of one scope shares.
struct Context<'a> {
    attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
    resource_labels: &'a ResourceLabels,
    scope: &'a [(String, String)],
    resource: &'a Arc<Resource>,
    now: Instant,
}

fn number(p: &NumberDataPoint) -> Option<Point> {
    let value = match p.value? {
        NumberValue::AsDouble(d) => d,
        NumberValue::AsInt(i) => i as f64,
    };
    Some(Point {
        value: Value::Number(value),
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
    })
}

/// The point to store given the stored one: `Ok(None)` keeps the stored point.
fn accumulate(stored: &Point, new: Point, delta: bool) -> Result<Option<Point>, DropReason> {
    if !delta {
        return Ok((new.time >= stored.time).then_some(new));
    }
    match (&stored.value, new.value) {
        (Value::Number(old), Value::Number(value)) => {
            if new.time < stored.time {
                Ok(None)
            } else if new.start == stored.time {
                Ok(Some(Point {
                    value: Value::Number(old + value),
                    start: stored.start,
                    time: new.time,
                }))
            } else {
                Ok(Some(Point {
                    value: Value::Number(value),
                    ..new
                }))
            }
        }
        (old, value) => {
            let new = Point { value, ..new };
            if new.start > stored.time {
                // A gap: the sender restarted. Start over from this point.
                return Ok(Some(new));
            }
            if new.start < stored.time {
                return Err(DropReason::MisalignedDelta);
            }
            let value = match (old, &new.value) {
                (Value::Explicit(a), Value::Explicit(b)) => Value::Explicit(a.merge(b)),
                (Value::Exponential(a), Value::Exponential(b)) => Value::Exponential(a.merge(b)),
                // Same name and labels but another point type: take the new one.
                _ => new.value,
            };
            Ok(Some(Point {
                value,
                start: stored.start,
                time: new.time,
            }))
        }
    }
}
