//! The Prometheus text exposition format, version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>), written
//! as client_golang's `expfmt` writes it (what the Collector serves):
//!
//! - per family `# HELP name text` (only when there is a text; `\` and line feeds escaped),
//!   `# TYPE name counter|gauge|histogram|summary`, then its samples, families sorted by name;
//! - samples `name{a="x",b="y"} value [timestamp_ms]`, labels sorted by name, `le` and
//!   `quantile` last, label values escaping `\`, `"` and line feeds;
//! - values as Go's `%v` ([`crate::translate::float::sample`]);
//! - histograms: `name_bucket{le="b"}` cumulative counts in increasing `le`, `le="+Inf"` equal
//!   to the count, `name_sum` (only when the point has a sum), `name_count`;
//! - summaries: `name{quantile="q"}`, `name_sum`, `name_count`.

use std::fmt::Write as _;

use super::store::{Kind, Point, Value};
use crate::translate::Labels;
use crate::translate::float;

/// `text/plain; version=0.0.4; charset=utf-8`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_value(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `# HELP` and `# TYPE` of a family.
pub fn header(out: &mut String, name: &str, kind: Kind, help: &str) {
    if !help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        escape_help(help, out);
        out.push('\n');
    }
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

/// One sample line; `extra` is `le` or `quantile`.
pub fn sample(
    out: &mut String,
    name: &str,
    labels: &Labels,
    extra: Option<(&str, &str)>,
    value: f64,
    timestamp_ms: Option<i64>,
) {
    out.push_str(name);
    let pairs = labels
        .iter()
        .filter(|(k, _)| extra.is_none_or(|(e, _)| e != *k))
        .chain(extra);
    let mut first = true;
    for (k, v) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_value(v, out);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&float::sample(value));
    if let Some(ts) = timestamp_ms {
        let _ = write!(out, " {ts}");
    }
    out.push('\n');
}

/// Every sample line of one series.
pub fn series(out: &mut String, name: &str, labels: &Labels, point: &Point, timestamps: bool) {
    let ts = timestamps.then(|| i64::try_from(point.time / 1_000_000).unwrap_or(i64::MAX));
    match &point.value {
        Value::Number(v) => sample(out, name, labels, None, *v, ts),
        Value::Explicit(h) => {
            histogram(out, name, labels, &h.cumulative(), h.count, h.sum, ts);
        }
        Value::Exponential(h) => {
            histogram(out, name, labels, &h.classic_buckets(), h.count, h.sum, ts);
        }
        Value::Summary(s) => {
            for (q, v) in &s.quantiles {
                let q = float::sample(*q);
                sample(out, name, labels, Some(("quantile", &q)), *v, ts);
            }
            sample(out, &format!("{name}_sum"), labels, None, s.sum, ts);
            sample(
                out,
                &format!("{name}_count"),
                labels,
                None,
                s.count as f64,
                ts,
            );
        }
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    labels: &Labels,
    buckets: &[(f64, u64)],
    count: u64,
    sum: Option<f64>,
    ts: Option<i64>,
) {
    let bucket = format!("{name}_bucket");
    for (le, cumulative) in buckets.iter().filter(|(le, _)| le.is_finite()) {
        let le = float::sample(*le);
        sample(
            out,
            &bucket,
            labels,
            Some(("le", &le)),
            *cumulative as f64,
            ts,
        );
    }
    sample(out, &bucket, labels, Some(("le", "+Inf")), count as f64, ts);
    if let Some(sum) = sum {
        sample(out, &format!("{name}_sum"), labels, None, sum, ts);
    }
    sample(
        out,
        &format!("{name}_count"),
        labels,
        None,
        count as f64,
        ts,
    );
}
