//! Default dimensions and their value formats, configured dimensions and their defaults.

use super::*;

fn attrs_of(p: &NumberDataPoint) -> Vec<(String, AnyValue)> {
    p.attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect()
}

fn s(key: &str, value: &str) -> (String, AnyValue) {
    (key.to_owned(), AnyValue::string(value))
}

#[test]
fn default_dimensions_use_the_collector_formats() {
    let mut h = harness("{}");
    let spans = vec![
        span_with("a", 1, 0, 0, vec![]),
        span_with("b", 1, 1, 1, vec![]),
        span_with("c", 1, 2, 2, vec![]),
        span_with("d", 1, 3, 0, vec![]),
        span_with("e", 1, 4, 0, vec![]),
        span_with("f", 1, 5, 0, vec![]),
        span_with("g", 1, 9, 7, vec![]),
    ];
    send(&mut h, &service("checkout", spans));
    let out = flush(&mut h);
    let calls = metric(&out, 0, "traces.span.metrics.calls");
    let expect = [
        ("a", "SPAN_KIND_UNSPECIFIED", "STATUS_CODE_UNSET"),
        ("b", "SPAN_KIND_INTERNAL", "STATUS_CODE_OK"),
        ("c", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR"),
        ("d", "SPAN_KIND_CLIENT", "STATUS_CODE_UNSET"),
        ("e", "SPAN_KIND_PRODUCER", "STATUS_CODE_UNSET"),
        ("f", "SPAN_KIND_CONSUMER", "STATUS_CODE_UNSET"),
        ("g", "", ""),
    ];
    for (name, kind, status) in expect {
        assert_eq!(
            attrs_of(calls_for(calls, name)),
            vec![
                s("service.name", "checkout"),
                s("span.name", name),
                s("span.kind", kind),
                s("status.code", status),
            ],
            "{name}"
        );
    }
    // A span without a status is STATUS_CODE_UNSET.
    let mut h = harness("{}");
    send(&mut h, &service("checkout", vec![span("no status", 1)]));
    let out = flush(&mut h);
    let p = calls_for(metric(&out, 0, "traces.span.metrics.calls"), "no status");
    assert_eq!(
        str_attr(&p.attributes, "status.code"),
        Some("STATUS_CODE_UNSET")
    );
}

#[test]
fn configured_dimensions_come_from_the_span_then_the_resource_then_the_default() {
    let mut h = harness(
        r#"{"dimensions": [
            {"name": "http.method", "default": "GET"},
            {"name": "region"},
            {"name": "http.status_code"},
            {"name": "absent"},
            {"name": "tier", "default": 2}
        ]}"#,
    );
    let resource = vec![kv("service.name", "api"), kv("region", "eu")];
    let a = span_with("a", 1, 2, 0, vec![kv("http.status_code", 200i64)]);
    let b = span_with(
        "b",
        1,
        2,
        0,
        vec![kv("http.method", "POST"), kv("region", "us")],
    );
    send(&mut h, &traces(vec![(resource, vec![a, b])]));
    let out = flush(&mut h);
    let calls = metric(&out, 0, "traces.span.metrics.calls");
    let base = |name: &str| {
        vec![
            s("service.name", "api"),
            s("span.name", name),
            s("span.kind", "SPAN_KIND_SERVER"),
            s("status.code", "STATUS_CODE_UNSET"),
        ]
    };
    let mut want_a = base("a");
    want_a.extend([
        s("http.method", "GET"),
        s("region", "eu"),
        ("http.status_code".to_owned(), AnyValue::int(200)),
        s("tier", "2"),
    ]);
    assert_eq!(attrs_of(calls_for(calls, "a")), want_a);
    let mut want_b = base("b");
    want_b.extend([s("http.method", "POST"), s("region", "us"), s("tier", "2")]);
    assert_eq!(attrs_of(calls_for(calls, "b")), want_b);

    // The duration histogram has the same attributes.
    let durations = histogram_points(metric(&out, 0, "traces.span.metrics.duration"));
    assert_eq!(durations[0].attributes, calls_for(calls, "a").attributes);
}

#[test]
fn dimension_values_split_series() {
    let mut h = harness(r#"{"dimensions": [{"name": "http.method"}]}"#);
    let spans = vec![
        span_with("op", 1, 2, 0, vec![kv("http.method", "GET")]),
        span_with("op", 1, 2, 0, vec![kv("http.method", "GET")]),
        span_with("op", 1, 2, 0, vec![kv("http.method", "PUT")]),
        span_with("op", 1, 2, 0, vec![]),
    ];
    send(&mut h, &service("api", spans));
    let out = flush(&mut h);
    let counts: Vec<(Option<&str>, i64)> = sum_points(metric(&out, 0, "traces.span.metrics.calls"))
        .iter()
        .map(|p| (str_attr(&p.attributes, "http.method"), int_value(p)))
        .collect();
    assert_eq!(counts, vec![(Some("GET"), 2), (Some("PUT"), 1), (None, 1)]);
}

#[test]
fn exclude_dimensions_drops_defaults() {
    let mut h = harness(r#"{"exclude_dimensions": ["status.code", "span.kind"]}"#);
    send(
        &mut h,
        &service(
            "api",
            vec![
                span_with("op", 1, 2, 2, vec![]),
                span_with("op", 1, 3, 0, vec![]),
            ],
        ),
    );
    let out = flush(&mut h);
    let points = sum_points(metric(&out, 0, "traces.span.metrics.calls"));
    assert_eq!(points.len(), 1, "kind and status no longer split series");
    assert_eq!(
        attrs_of(&points[0]),
        vec![s("service.name", "api"), s("span.name", "op")]
    );
    assert_eq!(int_value(&points[0]), 2);
}

#[test]
fn per_metric_dimensions_apply_to_their_metric_only() {
    let mut h = harness(
        r#"{"calls_dimensions": [{"name": "a"}], "histogram": {"dimensions": [{"name": "b"}]}}"#,
    );
    send(
        &mut h,
        &service(
            "api",
            vec![span_with("op", 1, 2, 0, vec![kv("a", "1"), kv("b", "2")])],
        ),
    );
    let out = flush(&mut h);
    let call = &sum_points(metric(&out, 0, "traces.span.metrics.calls"))[0];
    assert_eq!(
        (
            str_attr(&call.attributes, "a"),
            str_attr(&call.attributes, "b")
        ),
        (Some("1"), None)
    );
    let d = &histogram_points(metric(&out, 0, "traces.span.metrics.duration"))[0];
    assert_eq!(
        (str_attr(&d.attributes, "a"), str_attr(&d.attributes, "b")),
        (None, Some("2"))
    );
}

#[test]
fn listed_instrumentation_scopes_become_attributes() {
    let mut h = harness(r#"{"include_instrumentation_scope": ["test"]}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    let p = &sum_points(metric(&out, 0, "traces.span.metrics.calls"))[0];
    assert_eq!(
        str_attr(&p.attributes, "span.instrumentation.scope.name"),
        Some("test")
    );
    assert_eq!(
        str_attr(&p.attributes, "span.instrumentation.scope.version"),
        Some("1.0")
    );

    let mut h = harness(r#"{"include_instrumentation_scope": ["other"]}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    let p = &sum_points(metric(&out, 0, "traces.span.metrics.calls"))[0];
    assert_eq!(p.attributes.len(), 4);
}
