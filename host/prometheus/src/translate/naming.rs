//! Metric names, units and label names, as `pkg/translator/prometheus` (`normalize_name.go`,
//! `normalize_unit.go`, `normalize_label.go`) in opentelemetry-collector-contrib, with its
//! default feature gates (`pkg.translator.prometheus.NormalizeName` on,
//! `PermissiveLabelSanitization` off).
//!
//! One difference: "letters and digits" are ASCII only. Go's `unicode.IsLetter` keeps `é`,
//! which makes a name Prometheus' classic parser refuses; newer upstream translators (the
//! `otlptranslator` module) escape it too.

use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric};

/// OTLP (UCUM) units and their Prometheus names (`unitMap`).
const UNITS: &[(&str, &str)] = &[
    // time
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    // bytes
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    // SI
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    // misc
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("1", ""),
    ("%", "percent"),
    ("$", "dollars"),
];

/// The unit after `/`, singular (`perUnitMap`): `m/s` is `meters_per_second`.
const PER_UNITS: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Words of `s`: runs of ASCII letters and digits (`strings.FieldsFunc`).
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !is_alnum(c)).filter(|t| !t.is_empty())
}

/// `CleanUpString`: the words of `s` joined with `_`.
fn clean_up(s: &str) -> String {
    tokens(s).collect::<Vec<_>>().join("_")
}

fn lookup(table: &[(&str, &'static str)], unit: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == unit).map(|(_, v)| *v)
}

/// The Prometheus word for the part of a unit before `/` (`BuildCompliantMainUnit`): mapped
/// through the table, unknown units kept (cleaned), `{annotations}` dropped.
pub fn main_unit(unit: &str) -> String {
    let main = unit.split('/').next().unwrap_or("").trim();
    if main.is_empty() || main.contains(['{', '}']) {
        return String::new();
    }
    clean_up(lookup(UNITS, main).unwrap_or(main))
}

/// The Prometheus word for the part of a unit after `/` (`BuildCompliantPerUnit`).
pub fn per_unit(unit: &str) -> String {
    let Some((_, per)) = unit.split_once('/') else {
        return String::new();
    };
    let per = per.trim();
    if per.is_empty() || per.contains(['{', '}']) {
        return String::new();
    }
    clean_up(lookup(PER_UNITS, per).unwrap_or(per))
}

/// The whole unit in Prometheus words (`BuildCompliantPrometheusUnit`): `m/s` is
/// `meters_per_second`, `{requests}/s` is `per_second`, `1` is empty.
pub fn prometheus_unit(unit: &str) -> String {
    let (main, per) = (main_unit(unit), per_unit(unit));
    match (main.is_empty(), per.is_empty()) {
        (_, true) => main,
        (true, false) => format!("per_{per}"),
        (false, false) => format!("{main}_per_{per}"),
    }
}

/// A counter in Prometheus terms: a monotonic sum (either temporality).
pub fn is_counter(metric: &Metric) -> bool {
    matches!(&metric.data, Some(Data::Sum(s)) if s.is_monotonic)
}

fn is_gauge(metric: &Metric) -> bool {
    matches!(&metric.data, Some(Data::Gauge(_)))
}

/// The name of `metric` (`BuildCompliantName`). `namespace` must already be sanitised.
///
/// With suffixes: the name's words, the unit's words unless already in the name, `per_<unit>`
/// for `x/y` units, `total` last for counters, `ratio` last for gauges with unit `1`, the
/// namespace first, and `_` in front of a leading digit. Without: characters outside
/// `[a-zA-Z0-9_:]` become `_` (runs collapse), the namespace first, `_` before a leading digit.
pub fn metric_name(metric: &Metric, namespace: &str, add_suffixes: bool) -> String {
    let name = if add_suffixes {
        normalized_name(metric, namespace)
    } else {
        let body = metric
            .name
            .split(|c: char| !(is_alnum(c) || c == '_' || c == ':'))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        if namespace.is_empty() || body.is_empty() {
            body
        } else {
            format!("{namespace}_{body}")
        }
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

fn normalized_name(metric: &Metric, namespace: &str) -> String {
    let mut words: Vec<String> = tokens(&metric.name).map(str::to_owned).collect();
    if words.is_empty() {
        return String::new();
    }
    let main = main_unit(&metric.unit);
    if !main.is_empty() && !words.contains(&main) {
        words.push(main);
    }
    let per = per_unit(&metric.unit);
    if !per.is_empty() && !words.contains(&per) {
        words.push("per".to_owned());
        words.push(per);
    }
    if is_counter(metric) {
        words.retain(|w| w != "total");
        words.push("total".to_owned());
    }
    if metric.unit == "1" && is_gauge(metric) {
        words.retain(|w| w != "ratio");
        words.push("ratio".to_owned());
    }
    if !namespace.is_empty() {
        words.insert(0, namespace.to_owned());
    }
    words.join("_")
}

/// A label name (`NormalizeLabel`): characters other than ASCII letters and digits become
/// `_`; a leading digit gets `key_` in front, a single leading `_` gets `key` (a leading `__`
/// is kept). Empty stays empty (the caller drops the label).
pub fn label_name(name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    let mapped: String = name
        .chars()
        .map(|c| if is_alnum(c) { c } else { '_' })
        .collect();
    if mapped.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{mapped}")
    } else if mapped.starts_with('_') && !mapped.starts_with("__") {
        format!("key{mapped}")
    } else {
        mapped
    }
}

/// A metric-name prefix from `namespace:`: invalid characters become `_`.
pub fn namespace(namespace: &str) -> String {
    namespace
        .chars()
        .map(|c| if is_alnum(c) || c == ':' { c } else { '_' })
        .collect()
}

/// The temporality of a sum or histogram; `None` for other types.
pub fn temporality(metric: &Metric) -> Option<AggregationTemporality> {
    let raw = match &metric.data {
        Some(Data::Sum(s)) => s.aggregation_temporality,
        Some(Data::Histogram(h)) => h.aggregation_temporality,
        Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality,
        _ => return None,
    };
    Some(AggregationTemporality::try_from(raw).unwrap_or(AggregationTemporality::Unspecified))
}
