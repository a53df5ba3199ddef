//! Data points the exporters cannot translate: why, and a WARN logged once per reason and
//! metric (so a steady stream of bad data does not flood the log). The points are counted as
//! failed in `otelcol_exporter_send_failed_metric_points`.

use std::collections::HashSet;

use parking_lot::Mutex;

/// Why data points were dropped. The text says what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The name has no ASCII letter or digit.
    EmptyName,
    /// A sum or histogram with `AGGREGATION_TEMPORALITY_UNSPECIFIED`.
    UnspecifiedTemporality,
    /// A delta sum that is not monotonic: it cannot be accumulated into a counter.
    DeltaNonMonotonicSum,
    /// Delta data in remote write, which carries cumulative series only.
    Delta,
    /// Another metric with the same Prometheus name already has another type.
    TypeConflict,
    /// A delta point that starts before the accumulated one ends.
    MisalignedDelta,
    /// A number data point without a value.
    NoValue,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::EmptyName => {
                "the metric name has no ASCII letter or digit; rename it with a transform processor"
            }
            DropReason::UnspecifiedTemporality => {
                "the aggregation temporality is unspecified; the sender must set cumulative or delta"
            }
            DropReason::DeltaNonMonotonicSum => {
                "a non-monotonic delta sum cannot be made cumulative (the Collector drops these \
                 too); send cumulative temporality"
            }
            DropReason::Delta => {
                "remote write carries cumulative data only; send cumulative temporality or put a \
                 deltatocumulative processor before this exporter"
            }
            DropReason::TypeConflict => {
                "another metric with the same Prometheus name has a different type; rename one of \
                 them"
            }
            DropReason::MisalignedDelta => {
                "the delta point starts before the previous one ended (out of order, or two \
                 writers for one series)"
            }
            DropReason::NoValue => "the data point has no value",
        })
    }
}

/// At most this many `(reason, metric)` pairs are remembered; later ones are not logged.
const MAX_REMEMBERED: usize = 1024;

/// Logs each `(reason, metric)` once.
#[derive(Debug, Default)]
pub(crate) struct WarnOnce {
    seen: Mutex<HashSet<(DropReason, String)>>,
}

impl WarnOnce {
    pub fn warn(&self, exporter: &str, reason: DropReason, metric: &str, points: usize) {
        let mut seen = self.seen.lock();
        if seen.len() >= MAX_REMEMBERED || !seen.insert((reason, metric.to_owned())) {
            return;
        }
        drop(seen);
        tracing::warn!(
            exporter,
            metric,
            points,
            "data points dropped (logged once per metric): {reason}"
        );
    }
}
