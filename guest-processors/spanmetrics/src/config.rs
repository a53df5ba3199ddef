//! The connector's configuration: the Collector's `spanmetrics` YAML (as JSON), its defaults,
//! and validation that reports every problem at once with the path of each.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use sluice_guest_sdk::config::{self, ConfigProblem};
use sluice_guest_sdk::otlp::AnyValue;

use crate::dimensions::RESERVED;
use crate::duration;

/// The Collector's default explicit buckets, in milliseconds.
pub const DEFAULT_BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];
/// The Collector's `namespace` default.
pub const DEFAULT_NAMESPACE: &str = "traces.span.metrics";
/// The Collector's `metrics_flush_interval` default.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(60);
/// go-expohisto's default `max_size`, which the Collector uses when `max_size` is 0 or absent.
pub const DEFAULT_EXPONENTIAL_MAX_SIZE: u32 = 160;
/// The smallest and largest `max_size` go-expohisto accepts.
pub const EXPONENTIAL_MAX_SIZE_RANGE: std::ops::RangeInclusive<i64> = 2..=16_384;
const DEFAULT_RESOURCE_METRICS_CACHE_SIZE: usize = 1000;
const DEFAULT_TIMESTAMP_CACHE_SIZE: usize = 1000;
const DEFAULT_MAX_EXEMPLARS_PER_POINT: usize = 5;

const CUMULATIVE: &str = "AGGREGATION_TEMPORALITY_CUMULATIVE";
const DELTA: &str = "AGGREGATION_TEMPORALITY_DELTA";

/// A configured dimension: an attribute looked up on the span, then the resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// The attribute key, also the metric attribute's key.
    pub name: String,
    /// The value used when neither the span nor the resource has the attribute; without one,
    /// the attribute is left out of the series.
    pub default: Option<AnyValue>,
}

/// How data points relate to each other across flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    /// Counts keep growing from a fixed start time; state survives flushes.
    Cumulative,
    /// Each flush reports what happened since the previous one; state is cleared.
    Delta,
}

impl Temporality {
    /// The OTLP `AggregationTemporality` number.
    pub fn otlp(self) -> i32 {
        match self {
            Temporality::Delta => 1,
            Temporality::Cumulative => 2,
        }
    }
}

/// The unit of the duration histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Seconds,
}

impl Unit {
    /// The metric's `unit` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "ms",
            Unit::Seconds => "s",
        }
    }
    /// Nanoseconds per unit.
    pub fn nanos(self) -> f64 {
        match self {
            Unit::Milliseconds => 1e6,
            Unit::Seconds => 1e9,
        }
    }
}

/// Which histogram records durations.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramKind {
    /// Explicit bounds, already in the histogram's unit, strictly increasing.
    Explicit(Vec<f64>),
    /// Base-2 exponential buckets, at most `max_size` of them.
    Exponential { max_size: u32 },
}

/// Which of the four default dimensions are kept (`exclude_dimensions` removes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDimensions {
    pub service_name: bool,
    pub span_name: bool,
    pub span_kind: bool,
    pub status_code: bool,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub dimensions: Vec<Dimension>,
    pub calls_dimensions: Vec<Dimension>,
    pub histogram_dimensions: Vec<Dimension>,
    pub defaults: DefaultDimensions,
    pub include_instrumentation_scope: Vec<String>,
    /// `None`: the duration metric is disabled.
    pub histogram: Option<HistogramKind>,
    pub unit: Unit,
    pub temporality: Temporality,
    pub flush_interval: Duration,
    /// Nanoseconds; `None`: resources never expire.
    pub metrics_expiration: Option<u64>,
    pub namespace: String,
    /// Exemplars kept per data point and flush; `None`: exemplars are disabled.
    pub exemplars: Option<usize>,
    /// Dimensions of the events metric; `None`: the events metric is disabled.
    pub events: Option<Vec<Dimension>>,
    /// Series per metric and resource before new ones go to the overflow series; 0: no limit.
    pub cardinality_limit: usize,
    pub resource_metrics_cache_size: usize,
    /// `None`: every resource attribute identifies a resource.
    pub resource_metrics_key_attributes: Option<Vec<String>>,
    pub timestamp_cache_size: usize,
}

/// A duration in the config: a Go duration string or a number of nanoseconds.
#[derive(Debug, Clone, PartialEq)]
enum RawDuration {
    Text(String),
    Nanos(i64),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"15s\" or \"200ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration::Nanos(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                i64::try_from(v)
                    .map(RawDuration::Nanos)
                    .map_err(|_| E::custom("duration is too long"))
            }
        }
        d.deserialize_any(V)
    }
}

impl RawDuration {
    fn nanos(&self) -> Result<i64, String> {
        match self {
            RawDuration::Text(t) => duration::parse(t),
            RawDuration::Nanos(n) => Ok(*n),
        }
    }
    fn display(&self) -> String {
        match self {
            RawDuration::Text(t) => t.clone(),
            RawDuration::Nanos(n) => format!("{n}ns"),
        }
    }
}

/// A dimension's `default`: YAML scalars are taken as their text, like the Collector's string.
#[derive(Debug, Clone, PartialEq)]
struct RawScalar(String);

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    name: Option<String>,
    default: Option<RawScalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExplicit {
    buckets: Option<Vec<RawDuration>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExponential {
    max_size: Option<i64>,
}

/// Distinguishes a key written with no value (`exponential:`, JSON `null`) from an absent one.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistogram {
    disable: Option<bool>,
    unit: Option<String>,
    #[serde(default, deserialize_with = "present")]
    explicit: Option<Option<RawExplicit>>,
    #[serde(default, deserialize_with = "present")]
    exponential: Option<Option<RawExponential>>,
    dimensions: Option<Vec<RawDimension>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemplars {
    enabled: Option<bool>,
    max_per_data_point: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    enabled: Option<bool>,
    dimensions: Option<Vec<RawDimension>>,
}

/// The config as written. Every field is optional: YAML keys without a value arrive as `null`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    dimensions: Option<Vec<RawDimension>>,
    calls_dimensions: Option<Vec<RawDimension>>,
    exclude_dimensions: Option<Vec<String>>,
    dimensions_cache_size: Option<i64>,
    resource_metrics_cache_size: Option<i64>,
    resource_metrics_key_attributes: Option<Vec<String>>,
    aggregation_temporality: Option<String>,
    histogram: Option<RawHistogram>,
    metrics_flush_interval: Option<RawDuration>,
    metrics_expiration: Option<RawDuration>,
    metric_timestamp_cache_size: Option<i64>,
    namespace: Option<String>,
    exemplars: Option<RawExemplars>,
    events: Option<RawEvents>,
    include_instrumentation_scope: Option<Vec<String>>,
    aggregation_cardinality_limit: Option<i64>,
    add_resource_attributes: Option<bool>,
}

/// Collects problems while validating.
#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem::new(path, message));
    }
}

/// Parses and validates `config_json`; returns the settings and warnings, or every problem.
pub fn load(config_json: &str) -> Result<(Settings, Vec<ConfigProblem>), Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(config_json)?;
    let mut problems = Problems::default();
    let mut warnings = Vec::new();

    let dimensions = parse_dimensions(raw.dimensions, "dimensions", &mut problems);
    let calls_dimensions =
        parse_dimensions(raw.calls_dimensions, "calls_dimensions", &mut problems);

    let exclude = raw.exclude_dimensions.unwrap_or_default();
    let keep = |name: &str| !exclude.iter().any(|e| e == name);
    let defaults = DefaultDimensions {
        service_name: keep("service.name"),
        span_name: keep("span.name"),
        span_kind: keep("span.kind"),
        status_code: keep("status.code"),
    };

    if let Some(size) = raw.dimensions_cache_size
        && size != 0
    {
        warnings.push(ConfigProblem::new(
            "dimensions_cache_size",
            "deprecated and has no effect (as in the Collector since v0.130.0); \
             use aggregation_cardinality_limit to bound the number of series",
        ));
    }

    let resource_metrics_cache_size = match raw.resource_metrics_cache_size {
        None => DEFAULT_RESOURCE_METRICS_CACHE_SIZE,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            problems.add(
                "resource_metrics_cache_size",
                format!(
                    "invalid cache size: {n}, the maximum number of resources should be positive"
                ),
            );
            DEFAULT_RESOURCE_METRICS_CACHE_SIZE
        }
    };

    let temporality = match raw.aggregation_temporality.as_deref() {
        None | Some(CUMULATIVE) => Temporality::Cumulative,
        Some(DELTA) => Temporality::Delta,
        Some(other) => {
            problems.add(
                "aggregation_temporality",
                format!("unknown aggregation temporality {other:?}: use {CUMULATIVE} or {DELTA}"),
            );
            Temporality::Cumulative
        }
    };

    let timestamp_cache_size = match raw.metric_timestamp_cache_size {
        None => DEFAULT_TIMESTAMP_CACHE_SIZE,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            if temporality == Temporality::Delta {
                problems.add(
                    "metric_timestamp_cache_size",
                    format!(
                        "invalid delta timestamp cache size: {n}, the maximum number of the items in the cache should be positive"
                    ),
                );
            }
            DEFAULT_TIMESTAMP_CACHE_SIZE
        }
    };

    let raw_histogram = raw.histogram.unwrap_or_default();
    let unit = match raw_histogram.unit.as_deref() {
        None | Some("ms") => Unit::Milliseconds,
        Some("s") => Unit::Seconds,
        Some(other) => {
            problems.add(
                "histogram.unit",
                format!("unknown unit {other:?}: use \"ms\" or \"s\""),
            );
            Unit::Milliseconds
        }
    };
    let histogram_dimensions = parse_dimensions(
        raw_histogram.dimensions,
        "histogram.dimensions",
        &mut problems,
    );
    let histogram = histogram(
        raw_histogram.explicit,
        raw_histogram.exponential,
        raw_histogram.disable.unwrap_or(false),
        unit,
        &mut problems,
    );

    let flush_interval = match raw.metrics_flush_interval {
        None => DEFAULT_FLUSH_INTERVAL,
        Some(d) => match d.nanos() {
            Ok(n) if n >= 1_000_000 => Duration::from_nanos(n.unsigned_abs()),
            Ok(_) => {
                problems.add(
                    "metrics_flush_interval",
                    format!(
                        "invalid metrics_flush_interval: {}, the duration should be positive (at least 1ms)",
                        d.display()
                    ),
                );
                DEFAULT_FLUSH_INTERVAL
            }
            Err(e) => {
                problems.add("metrics_flush_interval", e);
                DEFAULT_FLUSH_INTERVAL
            }
        },
    };

    let metrics_expiration = match raw.metrics_expiration {
        None => None,
        Some(d) => match d.nanos() {
            Ok(0) => None,
            Ok(n) if n > 0 => Some(n.unsigned_abs()),
            Ok(_) => {
                problems.add(
                    "metrics_expiration",
                    format!(
                        "invalid metrics_expiration: {}, the duration should be positive",
                        d.display()
                    ),
                );
                None
            }
            Err(e) => {
                problems.add("metrics_expiration", e);
                None
            }
        },
    };

    let raw_exemplars = raw.exemplars.unwrap_or_default();
    let exemplars = if raw_exemplars.enabled.unwrap_or(false) {
        match raw_exemplars.max_per_data_point {
            None => Some(DEFAULT_MAX_EXEMPLARS_PER_POINT),
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Some(n) => {
                problems.add(
                    "exemplars.max_per_data_point",
                    format!("invalid max_per_data_point: {n}, the value should be positive"),
                );
                None
            }
        }
    } else {
        None
    };

    let raw_events = raw.events.unwrap_or_default();
    let events = if raw_events.enabled.unwrap_or(false) {
        let dims = parse_dimensions(raw_events.dimensions, "events.dimensions", &mut problems);
        if dims.is_empty() {
            problems.add(
                "events.dimensions",
                "no dimensions configured for events: list at least one event attribute",
            );
        }
        Some(dims)
    } else {
        None
    };

    let cardinality_limit = match raw.aggregation_cardinality_limit {
        None => 0,
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            problems.add(
                "aggregation_cardinality_limit",
                format!("invalid aggregation_cardinality_limit: {n}, the limit should be positive"),
            );
            0
        }
    };
    if cardinality_limit == 0 {
        warnings.push(ConfigProblem::new(
            "aggregation_cardinality_limit",
            "no limit on the number of series (0, the default): state grows with every distinct \
             dimension value and an instance that reaches its memory cap traps and loses its \
             unflushed metrics; set a limit",
        ));
    }

    // Accepted for compatibility: with the Collector's `excludeResourceMetrics` feature gate
    // off (its default), resource attributes are always copied, whatever this says.
    let _ = raw.add_resource_attributes;

    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let settings = Settings {
        dimensions,
        calls_dimensions,
        histogram_dimensions,
        defaults,
        include_instrumentation_scope: raw.include_instrumentation_scope.unwrap_or_default(),
        histogram,
        unit,
        temporality,
        flush_interval,
        metrics_expiration,
        namespace: raw
            .namespace
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        exemplars,
        events,
        cardinality_limit,
        resource_metrics_cache_size,
        resource_metrics_key_attributes: raw.resource_metrics_key_attributes,
        timestamp_cache_size,
    };
    Ok((settings, warnings))
}

/// Validates a dimension list: every entry has a name, no name repeats another or a default
/// dimension (`service.name`, `span.name`, `span.kind`, `status.code`).
fn parse_dimensions(
    raw: Option<Vec<RawDimension>>,
    path: &str,
    problems: &mut Problems,
) -> Vec<Dimension> {
    let mut out: Vec<Dimension> = Vec::new();
    for (i, d) in raw.unwrap_or_default().into_iter().enumerate() {
        let name = d.name.unwrap_or_default();
        if name.is_empty() {
            problems.add(
                format!("{path}[{i}].name"),
                "a dimension needs a non-empty `name`",
            );
            continue;
        }
        if RESERVED.contains(&name.as_str()) {
            problems.add(
                format!("{path}[{i}].name"),
                format!(
                    "duplicate dimension name {name:?}: service.name, span.name, span.kind and \
                     status.code are always added (use exclude_dimensions to drop them)"
                ),
            );
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            problems.add(
                format!("{path}[{i}].name"),
                format!("duplicate dimension name {name:?}"),
            );
            continue;
        }
        out.push(Dimension {
            name,
            default: d.default.map(|s| AnyValue::string(s.0)),
        });
    }
    out
}

fn histogram(
    explicit: Option<Option<RawExplicit>>,
    exponential: Option<Option<RawExponential>>,
    disable: bool,
    unit: Unit,
    problems: &mut Problems,
) -> Option<HistogramKind> {
    if explicit.is_some() && exponential.is_some() {
        problems.add(
            "histogram",
            "use either `explicit` or `exponential` buckets histogram",
        );
    }
    let explicit_bounds = explicit.map(|e| match e.and_then(|e| e.buckets) {
        Some(buckets) => bounds(&buckets, unit, problems),
        None => default_bounds(unit),
    });
    let exponential_size = exponential.map(|e| match e.and_then(|e| e.max_size) {
        None | Some(0) => DEFAULT_EXPONENTIAL_MAX_SIZE,
        Some(n) if EXPONENTIAL_MAX_SIZE_RANGE.contains(&n) => {
            u32::try_from(n).unwrap_or(DEFAULT_EXPONENTIAL_MAX_SIZE)
        }
        Some(n) => {
            problems.add(
                "histogram.exponential.max_size",
                format!(
                    "invalid max_size: {n}, use a number of buckets from 2 to 16384 (0 or absent: 160)"
                ),
            );
            DEFAULT_EXPONENTIAL_MAX_SIZE
        }
    });
    let kind = match (exponential_size, explicit_bounds) {
        (Some(max_size), _) => HistogramKind::Exponential { max_size },
        (None, Some(bounds)) => HistogramKind::Explicit(bounds),
        (None, None) => HistogramKind::Explicit(default_bounds(unit)),
    };
    (!disable).then_some(kind)
}

/// The default buckets in `unit`.
pub fn default_bounds(unit: Unit) -> Vec<f64> {
    DEFAULT_BUCKETS_MS
        .iter()
        .map(|ms| ms * 1e6 / unit.nanos())
        .collect()
}

/// Converts explicit buckets to `unit`, checking they are durations in increasing order.
fn bounds(buckets: &[RawDuration], unit: Unit, problems: &mut Problems) -> Vec<f64> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut previous: Option<i64> = None;
    for (i, b) in buckets.iter().enumerate() {
        let path = format!("histogram.explicit.buckets[{i}]");
        match b.nanos() {
            Err(e) => problems.add(path, e),
            Ok(n) if n < 0 => problems.add(path, format!("bucket {} is negative", b.display())),
            Ok(n) => {
                if let Some(p) = previous
                    && n <= p
                {
                    problems.add(
                        path,
                        format!(
                            "bucket {} is not greater than the one before it: list buckets in increasing order",
                            b.display()
                        ),
                    );
                }
                previous = Some(n);
                out.push(n as f64 / unit.nanos());
            }
        }
    }
    out
}
