//! Configuration: defaults, and every problem reported at once with its path.

use super::*;
use crate::config::{self, HistogramKind, Temporality, Unit};

fn problems(config_json: &str) -> Vec<(String, String)> {
    match Harness::<SpanMetrics>::new(config_json) {
        Ok(_) => panic!("{config_json} should be refused"),
        Err(problems) => problems.into_iter().map(|p| (p.path, p.message)).collect(),
    }
}

#[test]
fn defaults_follow_the_collector() {
    let (s, warnings) = config::load("{}").expect("valid");
    assert_eq!(s.namespace, "traces.span.metrics");
    assert_eq!(s.unit, Unit::Milliseconds);
    assert_eq!(
        s.histogram,
        Some(HistogramKind::Explicit(config::DEFAULT_BUCKETS_MS.to_vec()))
    );
    assert_eq!(s.temporality, Temporality::Cumulative);
    assert_eq!(s.flush_interval, std::time::Duration::from_secs(60));
    assert_eq!(s.metrics_expiration, None);
    assert_eq!(s.exemplars, None);
    assert_eq!(s.events, None);
    assert_eq!(s.cardinality_limit, 0);
    assert_eq!(s.resource_metrics_cache_size, 1000);
    assert_eq!(s.timestamp_cache_size, 1000);
    assert!(s.dimensions.is_empty());
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path, "aggregation_cardinality_limit");

    let (s, _) =
        config::load(r#"{"exemplars": {"enabled": true}, "histogram": {"exponential": null}}"#)
            .expect("valid");
    assert_eq!(s.exemplars, Some(5));
    assert_eq!(
        s.histogram,
        Some(HistogramKind::Exponential { max_size: 160 })
    );
}

#[test]
fn a_full_collector_config_is_accepted() {
    let (s, warnings) = config::load(
        r#"{
        "histogram": {"unit": "ms", "explicit": {"buckets": ["100us", "1ms", "2ms", "6ms", "10ms", "100ms", "250ms"]}},
        "dimensions": [{"name": "http.method", "default": "GET"}, {"name": "http.status_code"}],
        "exemplars": {"enabled": true, "max_per_data_point": 10},
        "exclude_dimensions": ["status.code"],
        "dimensions_cache_size": 1000,
        "aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA",
        "metrics_flush_interval": "15s",
        "metrics_expiration": "5m",
        "metric_timestamp_cache_size": 500,
        "resource_metrics_cache_size": 100,
        "resource_metrics_key_attributes": ["service.name", "telemetry.sdk.language"],
        "events": {"enabled": true, "dimensions": [{"name": "exception.type"}]},
        "aggregation_cardinality_limit": 1000,
        "include_instrumentation_scope": ["io.opentelemetry.http"],
        "add_resource_attributes": true,
        "namespace": "span.metrics"
    }"#,
    )
    .expect("valid");
    assert_eq!(s.temporality, Temporality::Delta);
    assert_eq!(s.metrics_expiration, Some(300 * SECOND));
    assert_eq!(s.exemplars, Some(10));
    assert!(!s.defaults.status_code && s.defaults.span_kind);
    let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["dimensions_cache_size"], "deprecated, no effect");
}

#[test]
fn invalid_config_reports_every_problem() {
    let got = problems(
        r#"{
        "histogram": {
            "unit": "min",
            "explicit": {"buckets": ["2ms", "1ms", "2 parsecs", "-1s"]},
            "exponential": {"max_size": 1}
        },
        "dimensions": [{"name": "service.name"}, {"name": "a"}, {"name": "a"}, {"default": "x"}],
        "calls_dimensions": [{"name": "span.kind"}],
        "aggregation_temporality": "DELTA",
        "metrics_flush_interval": "0s",
        "metrics_expiration": "-1m",
        "aggregation_cardinality_limit": -1,
        "exemplars": {"enabled": true, "max_per_data_point": -2},
        "events": {"enabled": true},
        "resource_metrics_cache_size": 0
    }"#,
    );
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "dimensions[0].name",
            "dimensions[2].name",
            "dimensions[3].name",
            "calls_dimensions[0].name",
            "resource_metrics_cache_size",
            "aggregation_temporality",
            "histogram.unit",
            "histogram",
            "histogram.explicit.buckets[1]",
            "histogram.explicit.buckets[2]",
            "histogram.explicit.buckets[3]",
            "histogram.exponential.max_size",
            "metrics_flush_interval",
            "metrics_expiration",
            "exemplars.max_per_data_point",
            "events.dimensions",
            "aggregation_cardinality_limit",
        ],
        "{got:#?}"
    );
    let message = |path: &str| {
        got.iter()
            .find(|(p, _)| p == path)
            .map(|(_, m)| m.as_str())
            .unwrap_or_default()
    };
    assert!(message("dimensions[0].name").contains("duplicate dimension name \"service.name\""));
    assert!(message("dimensions[2].name").contains("duplicate dimension name \"a\""));
    assert!(message("aggregation_temporality").contains("AGGREGATION_TEMPORALITY_DELTA"));
    assert!(message("histogram").contains("use either `explicit` or `exponential`"));
    assert!(message("histogram.explicit.buckets[1]").contains("increasing order"));
    assert!(message("histogram.explicit.buckets[2]").contains("unknown unit \" parsecs\""));
    assert!(message("metrics_flush_interval").contains("should be positive"));
    assert!(message("events.dimensions").contains("no dimensions configured for events"));
}

#[test]
fn structural_errors_name_the_field() {
    let got = problems(r#"{"dimension": [{"name": "a"}]}"#);
    assert_eq!(got[0].0, "dimension");
    assert!(got[0].1.starts_with("unknown field `dimension`"), "{got:?}");

    let got = problems(r#"{"histogram": {"explicit": {"buckets": "2ms"}}}"#);
    assert_eq!(got[0].0, "histogram.explicit.buckets");

    let got = problems(r#"{"metrics_flush_interval": true}"#);
    assert!(got[0].1.contains("a duration such as"), "{got:?}");

    let got = problems(r#"{"dimensions": [{"name": "a", "glob": "a.*"}]}"#);
    assert!(got[0].1.contains("unknown field `glob`"), "{got:?}");
}

#[test]
fn yaml_keys_without_values_are_accepted() {
    let (s, _) = config::load(
        r#"{"dimensions": null, "histogram": {"explicit": null}, "exemplars": null, "namespace": null}"#,
    )
    .expect("valid");
    assert_eq!(
        s.histogram,
        Some(HistogramKind::Explicit(config::DEFAULT_BUCKETS_MS.to_vec()))
    );
    assert_eq!(s.namespace, "traces.span.metrics");
}
