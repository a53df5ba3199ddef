//! One `ResourceMetrics` per resource, keyed by its attributes (or the key attributes); the
//! resource cache and metrics expiration.

use super::*;

const CALLS: &str = "traces.span.metrics.calls";

fn calls_total(out: &ExportMetricsServiceRequest, resource: usize) -> i64 {
    sum_points(metric(out, resource, CALLS))
        .iter()
        .map(int_value)
        .sum()
}

fn service_of(out: &ExportMetricsServiceRequest, resource: usize) -> Option<&str> {
    let attrs = &out.resource_metrics[resource].resource.as_ref()?.attributes;
    str_attr(attrs, "service.name")
}

#[test]
fn one_resource_metrics_per_distinct_resource() {
    let mut h = harness("{}");
    let batch = traces(vec![
        (
            vec![kv("service.name", "a"), kv("host", "h1")],
            vec![span("op", 1)],
        ),
        (
            vec![kv("host", "h1"), kv("service.name", "a")],
            vec![span("op", 1)],
        ),
        (
            vec![kv("service.name", "a"), kv("host", "h2")],
            vec![span("op", 1)],
        ),
        (vec![kv("host", "h3")], vec![span("no service", 1)]),
        (vec![kv("service.name", "empty")], vec![]),
    ]);
    send(&mut h, &batch);
    let out = flush(&mut h);
    assert_eq!(out.resource_metrics.len(), 2, "{out:#?}");
    let first = out.resource_metrics[0].resource.as_ref().expect("resource");
    assert_eq!(
        first.attributes,
        vec![kv("service.name", "a"), kv("host", "h1")]
    );
    assert_eq!(
        calls_total(&out, 0),
        2,
        "same attributes in another order: same resource"
    );
    let second = out.resource_metrics[1].resource.as_ref().expect("resource");
    assert_eq!(str_attr(&second.attributes, "host"), Some("h2"));
    assert_eq!(calls_total(&out, 1), 1);
    for rm in &out.resource_metrics {
        assert_eq!(rm.scope_metrics.len(), 1);
        assert_eq!(
            rm.scope_metrics[0].scope.as_ref().map(|s| s.name.as_str()),
            Some("spanmetricsconnector")
        );
    }
}

#[test]
fn key_attributes_merge_resources_that_differ_elsewhere() {
    let mut h = harness(r#"{"resource_metrics_key_attributes": ["service.name"]}"#);
    let batch = traces(vec![
        (
            vec![kv("service.name", "a"), kv("pod", "p1")],
            vec![span("op", 1)],
        ),
        (
            vec![kv("service.name", "a"), kv("pod", "p2")],
            vec![span("op", 1)],
        ),
        (
            vec![kv("service.name", "b"), kv("pod", "p1")],
            vec![span("op", 1)],
        ),
    ]);
    send(&mut h, &batch);
    let out = flush(&mut h);
    assert_eq!(out.resource_metrics.len(), 2);
    assert_eq!((service_of(&out, 0), calls_total(&out, 0)), (Some("a"), 2));
    let first = out.resource_metrics[0].resource.as_ref().expect("resource");
    assert_eq!(
        str_attr(&first.attributes, "pod"),
        Some("p1"),
        "the first resource's attributes"
    );
    assert_eq!((service_of(&out, 1), calls_total(&out, 1)), (Some("b"), 1));
}

#[test]
fn stale_resources_expire_after_being_reported() {
    let mut h = harness(r#"{"metrics_expiration": "5m"}"#);
    send(&mut h, &service("old", vec![span("op", 1)]));
    at(&mut h, T0 + 240 * SECOND);
    send(&mut h, &service("new", vec![span("op", 1)]));
    at(&mut h, T0 + 360 * SECOND);
    let out = flush(&mut h);
    assert_eq!(
        out.resource_metrics.len(),
        2,
        "both are reported one last time"
    );
    at(&mut h, T0 + 420 * SECOND);
    let out = flush(&mut h);
    assert_eq!(out.resource_metrics.len(), 1);
    assert_eq!(service_of(&out, 0), Some("new"));
}

#[test]
fn resources_pushed_out_of_the_cache_are_flushed_then_forgotten() {
    let mut h = harness(r#"{"resource_metrics_cache_size": 1}"#);
    send(&mut h, &service("a", vec![span("op", 1)]));
    send(&mut h, &service("b", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(
        out.resource_metrics.len(),
        2,
        "a was evicted but still counts"
    );
    let out = flush(&mut h);
    assert_eq!(out.resource_metrics.len(), 1);
    assert_eq!(service_of(&out, 0), Some("b"));

    // `a` comes back as a new series, with a new start time.
    at(&mut h, T0 + 60 * SECOND);
    send(&mut h, &service("a", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(
        out.resource_metrics.len(),
        2,
        "b is evicted by a, reported once more"
    );
    let a = out
        .resource_metrics
        .iter()
        .position(|rm| {
            rm.resource
                .as_ref()
                .and_then(|r| str_attr(&r.attributes, "service.name"))
                == Some("a")
        })
        .expect("a");
    let p = &sum_points(metric(&out, a, CALLS))[0];
    assert_eq!(
        (int_value(p), p.start_time_unix_nano),
        (1, T0 + 60 * SECOND)
    );
}
