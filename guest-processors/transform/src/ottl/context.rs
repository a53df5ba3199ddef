//! OTTL contexts (resource, scope, span, spanevent, metric, datapoint, log) and enums.

use sluice_guest_sdk::Signal;

/// Where a statement runs: once per resource, per scope, per span...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    Resource,
    Scope,
    Span,
    SpanEvent,
    Metric,
    DataPoint,
    Log,
}

impl Context {
    /// The context named by a path prefix or a `context:` value.
    pub fn parse(name: &str) -> Option<Context> {
        Some(match name {
            "resource" => Context::Resource,
            "scope" | "instrumentation_scope" => Context::Scope,
            "span" => Context::Span,
            "spanevent" => Context::SpanEvent,
            "metric" => Context::Metric,
            "datapoint" => Context::DataPoint,
            "log" => Context::Log,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Context::Resource => "resource",
            Context::Scope => "scope",
            Context::Span => "span",
            Context::SpanEvent => "spanevent",
            Context::Metric => "metric",
            Context::DataPoint => "datapoint",
            Context::Log => "log",
        }
    }

    /// How deep in the OTLP tree the context sits.
    pub fn depth(self) -> u8 {
        match self {
            Context::Resource => 0,
            Context::Scope => 1,
            Context::Span | Context::Metric | Context::Log => 2,
            Context::SpanEvent | Context::DataPoint => 3,
        }
    }

    /// The contexts a signal's statements may use, outermost first.
    pub fn for_signal(signal: Signal) -> &'static [Context] {
        match signal {
            Signal::Traces => &[
                Context::Resource,
                Context::Scope,
                Context::Span,
                Context::SpanEvent,
            ],
            Signal::Metrics => &[
                Context::Resource,
                Context::Scope,
                Context::Metric,
                Context::DataPoint,
            ],
            Signal::Logs => &[Context::Resource, Context::Scope, Context::Log],
        }
    }

    /// Whether a statement running in `self` can reach `other`'s fields (`other` is `self`
    /// or encloses it).
    pub fn reaches(self, other: Context) -> bool {
        use Context::*;
        match other {
            Resource => true,
            Scope => self != Resource,
            Span => matches!(self, Span | SpanEvent),
            Metric => matches!(self, Metric | DataPoint),
            _ => self == other,
        }
    }
}

/// The value of an enum symbol usable in any statement.
pub fn enum_value(name: &str) -> Option<i64> {
    Some(match name {
        "SPAN_KIND_UNSPECIFIED" => 0,
        "SPAN_KIND_INTERNAL" => 1,
        "SPAN_KIND_SERVER" => 2,
        "SPAN_KIND_CLIENT" => 3,
        "SPAN_KIND_PRODUCER" => 4,
        "SPAN_KIND_CONSUMER" => 5,
        "STATUS_CODE_UNSET" => 0,
        "STATUS_CODE_OK" => 1,
        "STATUS_CODE_ERROR" => 2,
        "METRIC_DATA_TYPE_NONE" => 0,
        "METRIC_DATA_TYPE_GAUGE" => 1,
        "METRIC_DATA_TYPE_SUM" => 2,
        "METRIC_DATA_TYPE_HISTOGRAM" => 3,
        "METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM" => 4,
        "METRIC_DATA_TYPE_SUMMARY" => 5,
        "AGGREGATION_TEMPORALITY_UNSPECIFIED" => 0,
        "AGGREGATION_TEMPORALITY_DELTA" => 1,
        "AGGREGATION_TEMPORALITY_CUMULATIVE" => 2,
        "FLAG_NONE" => 0,
        "FLAG_NO_RECORDED_VALUE" => 1,
        other => return severity(other),
    })
}

fn severity(name: &str) -> Option<i64> {
    const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let rest = name.strip_prefix("SEVERITY_NUMBER_")?;
    if rest == "UNSPECIFIED" {
        return Some(0);
    }
    let (level, n) = match rest.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, _)) => (&rest[..i], rest[i..].parse::<i64>().ok()?),
        None => (rest, 1),
    };
    let base = LEVELS.iter().position(|l| *l == level)? as i64;
    (1..=4).contains(&n).then_some(base * 4 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_enums_follow_the_log_data_model() {
        assert_eq!(enum_value("SEVERITY_NUMBER_TRACE"), Some(1));
        assert_eq!(enum_value("SEVERITY_NUMBER_INFO"), Some(9));
        assert_eq!(enum_value("SEVERITY_NUMBER_WARN"), Some(13));
        assert_eq!(enum_value("SEVERITY_NUMBER_ERROR3"), Some(19));
        assert_eq!(enum_value("SEVERITY_NUMBER_FATAL4"), Some(24));
        assert_eq!(enum_value("SEVERITY_NUMBER_FATAL5"), None);
        assert_eq!(enum_value("SPAN_KIND_SERVER"), Some(2));
    }

    #[test]
    fn inner_contexts_reach_outer_ones_only() {
        assert!(Context::DataPoint.reaches(Context::Metric));
        assert!(Context::SpanEvent.reaches(Context::Resource));
        assert!(!Context::Metric.reaches(Context::DataPoint));
        assert!(!Context::Log.reaches(Context::Span));
    }
}
