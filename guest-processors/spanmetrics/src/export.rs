//! A flush: the accumulated series written straight into OTLP `ExportMetricsServiceRequest`
//! bytes, [`CHUNK_POINTS`] data points per emitted batch, and what a flush then resets.
//!
//! Each `ResourceMetrics` has the resource's attributes and one scope, `spanmetricsconnector`,
//! with the metrics `calls`, `duration` and `events` that have points. Series keys are their
//! attributes already encoded, so writing a point copies bytes and allocates nothing.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use sluice_guest_sdk::EmitError;

use crate::config::{HistogramKind, Settings, Temporality};
use crate::exponential::ExponentialHistogram;
use crate::histogram::{ExplicitHistogram, Histogram};
use crate::proto::{self, bytes_field, double_field, fixed64_field, varint, varint_len};
use crate::resources::{ResourceState, Resources};
use crate::series::{Exemplar, Series, SeriesId, SeriesMap};
use crate::timestamps::DeltaStarts;

/// The instrumentation scope of every metric, as the Collector names it.
pub const SCOPE_NAME: &str = "spanmetricsconnector";
/// Data points per emitted batch. A flush holds one batch's bytes at a time.
pub const CHUNK_POINTS: usize = 2000;

/// The three metrics, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Calls,
    Duration,
    Events,
}

/// What a flush did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Data points the flush had to send.
    pub points: usize,
    /// Data points the host accepted.
    pub sent: usize,
    /// Why the host refused a batch, if it did (the flush stops there).
    pub refused: Option<EmitError>,
}

/// `namespace.name`, or `name` without a namespace.
pub fn metric_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    }
}

/// Sends everything `resources` holds through `emit`, then resets what a flush resets: delta
/// state starts over, cumulative state keeps its counts but forgets exemplars, evicted and
/// expired resources. When the host is `busy`, what it accepted is settled the same way and
/// the rest kept for the next flush; any other refusal drops the rest (the Collector drops a
/// flush its next consumer fails).
pub fn flush(
    resources: &mut Resources,
    delta: &mut DeltaStarts,
    settings: &Settings,
    now: u64,
    emit: &mut dyn FnMut(Vec<u8>) -> Result<(), EmitError>,
) -> Report {
    let is_delta = settings.temporality == Temporality::Delta;
    let mut writer = ChunkWriter::new(settings, now);
    // Delta only: the delta-start key of every point written, in order.
    let mut delta_keys: Vec<u64> = Vec::new();
    let mut sent = 0;
    let mut refused = None;
    let mut send =
        |writer: &mut ChunkWriter<'_>, bytes: Vec<u8>, refused: &mut Option<EmitError>| {
            let points = writer.take_points();
            match emit(bytes) {
                Ok(()) => {
                    sent += points;
                    true
                }
                Err(e) => {
                    *refused = Some(e);
                    false
                }
            }
        };

    'resources: for (resource_key, state) in resources.ordered() {
        writer.begin_resource(&state.resource);
        for kind in [Kind::Calls, Kind::Duration, Kind::Events] {
            let points = points_of(state, kind, settings);
            if points.is_empty() {
                continue;
            }
            writer.begin_metric(kind);
            for (id, attributes, point) in points {
                let start = if is_delta {
                    let key = delta_key(resource_key, kind, id);
                    delta_keys.push(key);
                    delta.get(key).unwrap_or(point.start())
                } else {
                    point.start()
                };
                writer.point(attributes, &point, start);
                if writer.full() {
                    let bytes = writer.take_chunk();
                    if !send(&mut writer, bytes, &mut refused) {
                        break 'resources;
                    }
                }
            }
            writer.end_metric();
        }
        writer.end_resource();
    }
    if refused.is_none()
        && let Some(bytes) = writer.finish()
    {
        send(&mut writer, bytes, &mut refused);
    }
    let points = writer.written;

    match (&refused, is_delta) {
        (Some(EmitError::Busy), true) => {
            delta.record(delta_keys.iter().take(sent).copied(), now);
            forget_sent(resources, settings, sent);
        }
        (Some(EmitError::Busy), false) => {}
        (_, true) => {
            delta.record(delta_keys, now);
            resources.clear();
        }
        (_, false) => resources.after_cumulative_flush(now, settings.metrics_expiration),
    }
    Report {
        points,
        sent,
        refused,
    }
}

/// A point to write: a reference into a series of one of the three metrics.
enum Point<'a> {
    Sum(&'a Series<u64>),
    Histogram(&'a Series<Histogram>),
}

impl Point<'_> {
    fn start(&self) -> u64 {
        match self {
            Point::Sum(s) => s.start,
            Point::Histogram(s) => s.start,
        }
    }
}

/// The series of `kind` in `state`, in order (none for a disabled metric).
fn points_of<'a>(
    state: &'a ResourceState,
    kind: Kind,
    settings: &Settings,
) -> Vec<(SeriesId<'a>, &'a [u8], Point<'a>)> {
    fn sums(map: &SeriesMap<u64>) -> Vec<(SeriesId<'_>, &[u8], Point<'_>)> {
        map.ordered()
            .into_iter()
            .map(|(id, attrs, s)| (id, attrs, Point::Sum(s)))
            .collect()
    }
    match kind {
        Kind::Calls => sums(&state.calls),
        Kind::Events if settings.events.is_some() => sums(&state.events),
        Kind::Duration if settings.histogram.is_some() => state
            .durations
            .ordered()
            .into_iter()
            .map(|(id, attrs, s)| (id, attrs, Point::Histogram(s)))
            .collect(),
        Kind::Events | Kind::Duration => Vec::new(),
    }
}

/// The delta-start key of a series: its resource, its metric and its attributes, hashed.
fn delta_key(resource_key: &[u8], kind: Kind, id: SeriesId<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    resource_key.hash(&mut h);
    (kind as u8).hash(&mut h);
    match id {
        SeriesId::Key(k) => k.hash(&mut h),
        SeriesId::Overflow => "overflow".hash(&mut h),
    }
    h.finish()
}

/// After a `busy` refusal in delta mode: forgets the first `sent` points' series (in the order
/// they were written), which the host has; what was not sent stays for the next flush.
fn forget_sent(resources: &mut Resources, settings: &Settings, sent: usize) {
    let mut remaining = sent;
    let mut done: Vec<(Vec<u8>, Kind, Option<Vec<u8>>)> = Vec::new();
    'resources: for (resource_key, state) in resources.ordered() {
        for kind in [Kind::Calls, Kind::Duration, Kind::Events] {
            for (id, _, _) in points_of(state, kind, settings) {
                if remaining == 0 {
                    break 'resources;
                }
                remaining -= 1;
                let id = match id {
                    SeriesId::Key(k) => Some(k.to_vec()),
                    SeriesId::Overflow => None,
                };
                done.push((resource_key.to_vec(), kind, id));
            }
        }
    }
    for (resource_key, kind, id) in done {
        let Some(state) = resources.get_mut(&resource_key) else {
            continue;
        };
        let id = id.as_deref().map_or(SeriesId::Overflow, SeriesId::Key);
        match kind {
            Kind::Calls => state.calls.remove(id),
            Kind::Duration => state.durations.remove(id),
            Kind::Events => state.events.remove(id),
        }
        if state.is_empty() {
            resources.remove(&resource_key);
        }
    }
}

/// Writes data points into request bytes, closing a batch every [`CHUNK_POINTS`] points and
/// reopening the resource and metric it was in.
struct ChunkWriter<'a> {
    settings: &'a Settings,
    now: u64,
    names: [String; 3],
    /// Finished `resource_metrics` fields.
    request: Vec<u8>,
    /// Finished `metrics` fields of the open resource.
    scope: Vec<u8>,
    /// Finished `data_points` fields of the open metric.
    data: Vec<u8>,
    /// One data point being written.
    point: Vec<u8>,
    /// Exponential buckets being written.
    buckets: Vec<u8>,
    resource: Option<&'a [u8]>,
    metric: Option<Kind>,
    /// Points in the batch being written.
    points: usize,
    /// Points written in all.
    written: usize,
}

impl<'a> ChunkWriter<'a> {
    fn new(settings: &'a Settings, now: u64) -> Self {
        let name = |n: &str| metric_name(&settings.namespace, n);
        Self {
            settings,
            now,
            names: [name("calls"), name("duration"), name("events")],
            request: Vec::new(),
            scope: Vec::new(),
            data: Vec::new(),
            point: Vec::new(),
            buckets: Vec::new(),
            resource: None,
            metric: None,
            points: 0,
            written: 0,
        }
    }

    fn begin_resource(&mut self, resource: &'a [u8]) {
        self.resource = Some(resource);
    }

    fn begin_metric(&mut self, kind: Kind) {
        self.metric = Some(kind);
    }

    fn full(&self) -> bool {
        self.points >= CHUNK_POINTS
    }

    /// The points of the batch just taken, and starts counting the next one.
    fn take_points(&mut self) -> usize {
        std::mem::take(&mut self.points)
    }

    /// Writes one data point of the open metric.
    fn point(&mut self, attributes: &[u8], point: &Point<'_>, start: u64) {
        self.point.clear();
        match point {
            Point::Sum(s) => self.sum_point(attributes, s, start),
            Point::Histogram(s) => match &s.data {
                Histogram::Explicit(h) => {
                    let bounds: &[f64] = match &self.settings.histogram {
                        Some(HistogramKind::Explicit(b)) => b,
                        _ => &[],
                    };
                    self.explicit_point(attributes, s, h, bounds, start);
                }
                Histogram::Exponential(h) => self.exponential_point(attributes, s, h, start),
            },
        }
        // `data_points` is field 1 of Sum, Histogram and ExponentialHistogram alike.
        bytes_field(&mut self.data, 1, &self.point);
        self.points += 1;
        self.written += 1;
    }

    /// `NumberDataPoint`: attributes 7, start 2, time 3, exemplars 5, as_int 6.
    fn sum_point(&mut self, attributes: &[u8], s: &Series<u64>, start: u64) {
        let p = &mut self.point;
        proto::repeated_field(p, 7, attributes);
        fixed64_field(p, 2, start);
        fixed64_field(p, 3, self.now);
        write_exemplars(p, 5, &s.exemplars, self.now);
        fixed64_field(p, 6, i64::try_from(s.data).unwrap_or(i64::MAX) as u64);
    }

    /// `HistogramDataPoint`: start 2, time 3, count 4, sum 5, bucket_counts 6, explicit_bounds
    /// 7, exemplars 8, attributes 9.
    fn explicit_point(
        &mut self,
        attributes: &[u8],
        s: &Series<Histogram>,
        h: &ExplicitHistogram,
        bounds: &[f64],
        start: u64,
    ) {
        let p = &mut self.point;
        fixed64_field(p, 2, start);
        fixed64_field(p, 3, self.now);
        fixed64_field(p, 4, h.count);
        double_field(p, 5, h.sum);
        p.push(proto::key(6, proto::LEN));
        varint(p, 8 * h.bucket_counts.len() as u64);
        for c in &h.bucket_counts {
            p.extend_from_slice(&c.to_le_bytes());
        }
        if !bounds.is_empty() {
            p.push(proto::key(7, proto::LEN));
            varint(p, 8 * bounds.len() as u64);
            for b in bounds {
                p.extend_from_slice(&b.to_bits().to_le_bytes());
            }
        }
        write_exemplars(p, 8, &s.exemplars, self.now);
        proto::repeated_field(p, 9, attributes);
    }

    /// `ExponentialHistogramDataPoint`: attributes 1, start 2, time 3, count 4, sum 5, scale 6,
    /// zero_count 7, positive 8, negative 9, exemplars 11, min 12, max 13.
    fn exponential_point(
        &mut self,
        attributes: &[u8],
        s: &Series<Histogram>,
        h: &ExponentialHistogram,
        start: u64,
    ) {
        let p = &mut self.point;
        proto::repeated_field(p, 1, attributes);
        fixed64_field(p, 2, start);
        fixed64_field(p, 3, self.now);
        fixed64_field(p, 4, h.count);
        double_field(p, 5, h.sum);
        proto::sint32_field(p, 6, h.scale);
        fixed64_field(p, 7, h.zero_count);
        // Buckets: offset 1 (sint32), bucket_counts 2 (packed uint64).
        let b = &mut self.buckets;
        b.clear();
        if !h.bucket_counts.is_empty() {
            proto::sint32_field(b, 1, h.offset);
            b.push(proto::key(2, proto::LEN));
            let len: usize = h.bucket_counts.iter().map(|c| varint_len(*c)).sum();
            varint(b, len as u64);
            for c in &h.bucket_counts {
                varint(b, *c);
            }
        }
        bytes_field(p, 8, b);
        bytes_field(p, 9, &[]);
        write_exemplars(p, 11, &s.exemplars, self.now);
        if h.count > 0 {
            double_field(p, 12, h.min);
            double_field(p, 13, h.max);
        }
    }

    /// Closes the open metric: `Metric` name 1, unit 3, sum 7 / histogram 9 /
    /// exponential_histogram 10; inside, temporality 2 and (sums) is_monotonic 3.
    fn end_metric(&mut self) {
        let Some(kind) = self.metric.take() else {
            return;
        };
        if self.data.is_empty() {
            return;
        }
        proto::varint_field(&mut self.data, 2, self.settings.temporality.otlp() as u64);
        let (name, unit, field) = match kind {
            Kind::Calls => (&self.names[0], "", 7),
            Kind::Events => (&self.names[2], "", 7),
            Kind::Duration => {
                let field = match self.settings.histogram {
                    Some(HistogramKind::Exponential { .. }) => 10,
                    _ => 9,
                };
                (&self.names[1], self.settings.unit.as_str(), field)
            }
        };
        if field == 7 {
            proto::varint_field(&mut self.data, 3, 1);
        }
        let field_len = |len: usize| 1 + varint_len(len as u64) + len;
        let unit_len = if unit.is_empty() {
            0
        } else {
            field_len(unit.len())
        };
        let metric_len = field_len(name.len()) + unit_len + field_len(self.data.len());
        self.scope.push(proto::key(2, proto::LEN));
        varint(&mut self.scope, metric_len as u64);
        bytes_field(&mut self.scope, 1, name.as_bytes());
        if !unit.is_empty() {
            bytes_field(&mut self.scope, 3, unit.as_bytes());
        }
        bytes_field(&mut self.scope, field, &self.data);
        self.data.clear();
    }

    /// Closes the open resource: `ResourceMetrics` resource 1, scope_metrics 2; the
    /// `ScopeMetrics` has scope 1 (name 1) and the metrics.
    fn end_resource(&mut self) {
        self.end_metric();
        let Some(resource) = self.resource.take() else {
            return;
        };
        if self.scope.is_empty() {
            return;
        }
        let field_len = |len: usize| 1 + varint_len(len as u64) + len;
        let scope_len = field_len(field_len(SCOPE_NAME.len())) + self.scope.len();
        let rm_len = field_len(resource.len()) + field_len(scope_len);
        self.request.push(proto::key(1, proto::LEN));
        varint(&mut self.request, rm_len as u64);
        bytes_field(&mut self.request, 1, resource);
        self.request.push(proto::key(2, proto::LEN));
        varint(&mut self.request, scope_len as u64);
        self.request.push(proto::key(1, proto::LEN));
        varint(&mut self.request, field_len(SCOPE_NAME.len()) as u64);
        bytes_field(&mut self.request, 1, SCOPE_NAME.as_bytes());
        self.request.extend_from_slice(&self.scope);
        self.scope.clear();
    }

    /// Closes the batch being written and returns it; the next points continue the same
    /// resource and metric.
    fn take_chunk(&mut self) -> Vec<u8> {
        let (resource, metric) = (self.resource, self.metric);
        self.end_resource();
        self.resource = resource;
        self.metric = metric;
        std::mem::take(&mut self.request)
    }

    /// Closes everything; the last batch, unless it is empty.
    fn finish(&mut self) -> Option<Vec<u8>> {
        self.end_resource();
        (!self.request.is_empty()).then(|| std::mem::take(&mut self.request))
    }
}

/// Appends `exemplars` as repeated `field`: `Exemplar` time 2, as_double 3, span_id 4,
/// trace_id 5.
fn write_exemplars(buf: &mut Vec<u8>, field: u8, exemplars: &[Exemplar], now: u64) {
    for e in exemplars {
        let len = 9 + 9 + 18 + if e.span_id.is_some() { 10 } else { 0 };
        buf.push(proto::key(field, proto::LEN));
        varint(buf, len);
        fixed64_field(buf, 2, now);
        double_field(buf, 3, e.value);
        if let Some(span_id) = &e.span_id {
            bytes_field(buf, 4, span_id);
        }
        bytes_field(buf, 5, &e.trace_id);
    }
}
