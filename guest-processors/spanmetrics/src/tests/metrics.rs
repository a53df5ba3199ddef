//! Calls and durations of known spans: names, units, exact bucket counts, sums, counts.

use super::*;
use crate::config::DEFAULT_BUCKETS_MS;

#[test]
fn calls_and_duration_buckets_for_known_spans() {
    let mut h = harness("{}");
    let durations = [1, 2, 3, 5, 5, 11, 2000, 20_000];
    let mut spans: Vec<Span> = durations.iter().map(|d| span("GET /users", *d)).collect();
    spans.push(span("GET /health", 7));
    send(&mut h, &service("api", spans));
    at(&mut h, T0 + 60 * SECOND);
    let out = flush(&mut h);

    assert_eq!(out.resource_metrics.len(), 1);
    let scope = &out.resource_metrics[0].scope_metrics[0];
    assert_eq!(
        scope.scope.as_ref().map(|s| s.name.as_str()),
        Some("spanmetricsconnector")
    );
    assert_eq!(
        metric_names(&out, 0),
        ["traces.span.metrics.calls", "traces.span.metrics.duration"]
    );

    let calls = metric(&out, 0, "traces.span.metrics.calls");
    assert_eq!(calls.unit, "");
    assert_eq!(temporality(calls), 2, "cumulative by default");
    let users = calls_for(calls, "GET /users");
    assert_eq!(int_value(users), 8);
    assert_eq!(int_value(calls_for(calls, "GET /health")), 1);
    assert_eq!(users.start_time_unix_nano, T0);
    assert_eq!(users.time_unix_nano, T0 + 60 * SECOND);

    let duration = metric(&out, 0, "traces.span.metrics.duration");
    assert_eq!(duration.unit, "ms");
    let points = histogram_points(duration);
    assert_eq!(points.len(), 2);
    let p = points
        .iter()
        .find(|p| str_attr(&p.attributes, "span.name") == Some("GET /users"))
        .expect("GET /users");
    assert_eq!(p.explicit_bounds, DEFAULT_BUCKETS_MS.to_vec());
    //                 <=2 <=4 <=6 <=8 <=10 <=50 ... <=2000 ... >15000
    let mut want = vec![0u64; 17];
    want[0] = 2; // 1ms, 2ms (bounds are inclusive)
    want[1] = 1; // 3ms
    want[2] = 2; // 5ms, 5ms
    want[5] = 1; // 11ms
    want[12] = 1; // 2000ms
    want[16] = 1; // 20s
    assert_eq!(p.bucket_counts, want);
    assert_eq!(p.count, 8);
    assert_eq!(p.sum, Some(22_027.0));
    assert_eq!(
        (p.start_time_unix_nano, p.time_unix_nano),
        (T0, T0 + 60 * SECOND)
    );
    assert_eq!(
        (p.min, p.max),
        (None, None),
        "explicit histograms carry no min/max"
    );
}

#[test]
fn an_end_before_the_start_counts_as_zero_duration() {
    let mut h = harness("{}");
    let mut backwards = span("clock skew", 0);
    backwards.start_time_unix_nano = T0 + 5 * SECOND;
    backwards.end_time_unix_nano = T0;
    send(&mut h, &service("api", vec![backwards]));
    let out = flush(&mut h);
    let p = &histogram_points(metric(&out, 0, "traces.span.metrics.duration"))[0];
    assert_eq!(p.bucket_counts[0], 1);
    assert_eq!(p.sum, Some(0.0));
    assert_eq!(
        int_value(calls_for(
            metric(&out, 0, "traces.span.metrics.calls"),
            "clock skew"
        )),
        1
    );
}

#[test]
fn namespace_prefixes_metric_names() {
    let mut h = harness(r#"{"namespace": "acme.red"}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(
        metric_names(&out, 0),
        ["acme.red.calls", "acme.red.duration"]
    );

    let mut h = harness(r#"{"namespace": ""}"#);
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(metric_names(&out, 0), ["calls", "duration"]);
}

#[test]
fn seconds_unit_scales_values_and_default_buckets() {
    let mut h = harness(r#"{"histogram": {"unit": "s"}}"#);
    send(&mut h, &service("api", vec![span("op", 1500)]));
    let out = flush(&mut h);
    let m = metric(&out, 0, "traces.span.metrics.duration");
    assert_eq!(m.unit, "s");
    let p = &histogram_points(m)[0];
    assert_eq!(p.explicit_bounds[0], 0.002);
    assert_eq!(p.explicit_bounds[15], 15.0);
    assert_eq!(p.sum, Some(1.5));
    assert_eq!(p.bucket_counts[12], 1, "1.5s goes to (1.4s, 2s]");
}

#[test]
fn configured_explicit_buckets_are_converted_to_the_unit() {
    let mut h = harness(
        r#"{"histogram": {"explicit": {"buckets": ["100us", "1ms", "2ms", "6ms", "10ms", "100ms", "250ms"]}}}"#,
    );
    send(
        &mut h,
        &service("api", vec![span("op", 0), span("op", 6), span("op", 300)]),
    );
    let out = flush(&mut h);
    let p = &histogram_points(metric(&out, 0, "traces.span.metrics.duration"))[0];
    assert_eq!(
        p.explicit_bounds,
        vec![0.1, 1.0, 2.0, 6.0, 10.0, 100.0, 250.0]
    );
    assert_eq!(p.bucket_counts, vec![1, 0, 0, 1, 0, 0, 0, 1]);
}

#[test]
fn other_signals_pass_and_are_not_counted() {
    use sluice_guest_sdk::testing::fixtures;
    let mut h = harness("{}");
    let metrics = fixtures::metrics([], [fixtures::gauge("g", [fixtures::int_point(1, [])])]);
    assert_eq!(
        h.process(&metrics).expect("processed"),
        Processed::Unchanged
    );
    let logs = fixtures::logs([], [fixtures::log_record("hi", [])]);
    assert_eq!(h.process(&logs).expect("processed"), Processed::Unchanged);
    flush_nothing(&mut h);
}

#[test]
fn undecodable_batches_fail_without_hurting_the_instance() {
    use sluice_guest_sdk::runtime::Failure;
    let mut h = harness("{}");
    let err = h
        .process_bytes(Signal::Traces, &[0xff, 0xff, 0xff])
        .unwrap_err();
    assert!(matches!(err, Failure::Malformed(_)), "{err:?}");
    send(&mut h, &service("api", vec![span("op", 1)]));
    let out = flush(&mut h);
    assert_eq!(
        int_value(calls_for(
            metric(&out, 0, "traces.span.metrics.calls"),
            "op"
        )),
        1
    );
}

#[test]
fn sampling_thresholds_weigh_spans() {
    let mut h = harness("{}");
    let mut quarter = span("sampled", 3);
    quarter.trace_state = "ot=th:c".into(); // 1 in 4 kept: counts 4
    let mut invalid = span("sampled", 3);
    invalid.trace_state = "ot=th:zz".into(); // not a threshold: counts 1
    send(&mut h, &service("api", vec![quarter, invalid]));
    let out = flush(&mut h);
    assert_eq!(
        int_value(calls_for(
            metric(&out, 0, "traces.span.metrics.calls"),
            "sampled"
        )),
        5
    );
    let p = &histogram_points(metric(&out, 0, "traces.span.metrics.duration"))[0];
    assert_eq!((p.count, p.sum, p.bucket_counts[1]), (5, Some(15.0), 5));
}
