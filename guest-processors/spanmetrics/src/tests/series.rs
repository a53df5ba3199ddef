//! Exemplars, the cardinality limit and its overflow series, the events metric.

use sluice_guest_sdk::otlp::metrics::exemplar;
use sluice_guest_sdk::otlp::trace::span::Event;

use super::*;

/// An exemplar's trace id, span id, value and time.
type ExemplarParts = (Vec<u8>, Vec<u8>, Option<exemplar::Value>, u64);

const CALLS: &str = "traces.span.metrics.calls";
const DURATION: &str = "traces.span.metrics.duration";

fn traced(name: &str, duration_ms: u64, id: u8) -> Span {
    Span {
        trace_id: vec![id; 16],
        span_id: vec![id; 8],
        ..span(name, duration_ms)
    }
}

#[test]
fn exemplars_carry_trace_and_span_ids_and_durations() {
    let mut h = harness(r#"{"exemplars": {"enabled": true, "max_per_data_point": 2}}"#);
    let mut untraced = span("op", 9);
    untraced.trace_id = vec![0; 16];
    send(
        &mut h,
        &service(
            "api",
            vec![
                untraced,
                traced("op", 3, 0xa1),
                traced("op", 7, 0xb2),
                traced("op", 8, 0xc3),
            ],
        ),
    );
    at(&mut h, T0 + 60 * SECOND);
    let out = flush(&mut h);
    let call = calls_for(metric(&out, 0, CALLS), "op");
    let dur = &histogram_points(metric(&out, 0, DURATION))[0];
    for exemplars in [&call.exemplars, &dur.exemplars] {
        let got: Vec<ExemplarParts> = exemplars
            .iter()
            .map(|e| {
                (
                    e.trace_id.clone(),
                    e.span_id.clone(),
                    e.value,
                    e.time_unix_nano,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    vec![0xa1; 16],
                    vec![0xa1; 8],
                    Some(exemplar::Value::AsDouble(3.0)),
                    T0 + 60 * SECOND
                ),
                (
                    vec![0xb2; 16],
                    vec![0xb2; 8],
                    Some(exemplar::Value::AsDouble(7.0)),
                    T0 + 60 * SECOND
                ),
            ],
            "the all-zero trace id is skipped, then at most 2"
        );
    }
    // Exemplars belong to one interval: the next cumulative flush has none.
    let out = flush(&mut h);
    assert!(calls_for(metric(&out, 0, CALLS), "op").exemplars.is_empty());
    assert_eq!(int_value(calls_for(metric(&out, 0, CALLS), "op")), 4);
}

#[test]
fn exemplars_are_off_by_default() {
    let mut h = harness("{}");
    send(&mut h, &service("api", vec![traced("op", 3, 1)]));
    let out = flush(&mut h);
    assert!(calls_for(metric(&out, 0, CALLS), "op").exemplars.is_empty());
    assert!(
        histogram_points(metric(&out, 0, DURATION))[0]
            .exemplars
            .is_empty()
    );
}

#[test]
fn series_beyond_the_cardinality_limit_go_to_one_overflow_series() {
    let mut h = harness(r#"{"aggregation_cardinality_limit": 2, "exemplars": {"enabled": true}}"#);
    let spans = ["a", "b", "c", "d", "a", "c"]
        .iter()
        .enumerate()
        .map(|(i, n)| traced(n, 3, i as u8 + 1))
        .collect();
    send(&mut h, &service("api", spans));
    let out = flush(&mut h);

    let points = sum_points(metric(&out, 0, CALLS));
    assert_eq!(points.len(), 3, "two series and the overflow series");
    assert_eq!(int_value(calls_for(metric(&out, 0, CALLS), "a")), 2);
    assert_eq!(int_value(calls_for(metric(&out, 0, CALLS), "b")), 1);
    let overflow = &points[2];
    assert_eq!(
        overflow.attributes,
        vec![KeyValue::new("otel.metric.overflow", true)]
    );
    assert_eq!(int_value(overflow), 3, "c, d, c: no span is lost");
    assert!(
        overflow.exemplars.is_empty(),
        "no exemplars on the overflow series"
    );
    assert_eq!(overflow.start_time_unix_nano, T0);
    let total: i64 = points.iter().map(int_value).sum();
    assert_eq!(total, 6);

    let durations = histogram_points(metric(&out, 0, DURATION));
    assert_eq!(durations.len(), 3);
    assert_eq!(
        durations[2].attributes,
        vec![KeyValue::new("otel.metric.overflow", true)]
    );
    assert_eq!(durations[2].count, 3);

    // The limit holds across flushes (cumulative state keeps its series).
    send(&mut h, &service("api", vec![traced("e", 1, 9)]));
    let out = flush(&mut h);
    let points = sum_points(metric(&out, 0, CALLS));
    assert_eq!(points.len(), 3);
    assert_eq!(int_value(&points[2]), 4);
}

#[test]
fn the_limit_applies_per_resource() {
    let mut h = harness(r#"{"aggregation_cardinality_limit": 1}"#);
    send(&mut h, &service("a", vec![span("x", 1)]));
    send(&mut h, &service("b", vec![span("y", 1)]));
    let out = flush(&mut h);
    for r in 0..2 {
        let points = sum_points(metric(&out, r, CALLS));
        assert_eq!(points.len(), 1);
        assert!(str_attr(&points[0].attributes, "span.name").is_some());
    }
}

#[test]
fn events_are_counted_by_event_dimensions() {
    let mut h = harness(
        r#"{"events": {"enabled": true, "dimensions": [{"name": "exception.type"}]},
            "exemplars": {"enabled": true}}"#,
    );
    let event = |t: &str| Event {
        name: "exception".into(),
        attributes: vec![kv("exception.type", t)],
        ..Default::default()
    };
    let mut a = traced("op", 4, 1);
    a.events = vec![event("NPE"), event("IOE")];
    let mut b = traced("op", 4, 2);
    b.events = vec![event("NPE"), Event::default()];
    send(&mut h, &service("api", vec![a, b, span("quiet", 1)]));
    let out = flush(&mut h);
    assert_eq!(
        metric_names(&out, 0),
        [CALLS, DURATION, "traces.span.metrics.events"]
    );
    let events = sum_points(metric(&out, 0, "traces.span.metrics.events"));
    let got: Vec<(Option<&str>, i64, usize)> = events
        .iter()
        .map(|p| {
            (
                str_attr(&p.attributes, "exception.type"),
                int_value(p),
                p.exemplars.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(Some("NPE"), 2, 2), (Some("IOE"), 1, 1), (None, 1, 1)]
    );
    assert_eq!(str_attr(&events[0].attributes, "span.name"), Some("op"));
    assert_eq!(
        events[0].exemplars[0].value,
        Some(exemplar::Value::AsDouble(4.0)),
        "event exemplars carry the span's duration"
    );
}

#[test]
fn events_are_off_by_default() {
    let mut h = harness("{}");
    let mut a = span("op", 1);
    a.events = vec![Event::default()];
    send(&mut h, &service("api", vec![a]));
    let out = flush(&mut h);
    assert_eq!(metric_names(&out, 0), [CALLS, DURATION]);
}
