//! Whole batches through the same bytes-in/bytes-out path as the component: traces split
//! across resources and scopes, several traces per batch, and the outcome.

use sluice_guest_sdk::testing::{Harness, Processed};

use super::*;

fn harness(config: &str) -> Harness<TailSampling> {
    Harness::new(config).expect("valid config")
}

/// (resource service.name, scope name, trace byte, span name) for every span of a batch.
fn layout(b: &ExportTraceServiceRequest) -> Vec<(String, String, u8, String)> {
    let mut out = Vec::new();
    for rs in &b.resource_spans {
        let svc = rs
            .resource
            .as_ref()
            .and_then(|r| r.str_attribute("service.name"))
            .unwrap_or("")
            .to_owned();
        for ss in &rs.scope_spans {
            let scope = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for s in &ss.spans {
                out.push((svc.clone(), scope.clone(), s.trace_id[0], s.name.clone()));
            }
        }
    }
    out
}

fn named(mut s: Span, name: &str) -> Span {
    s.name = name.to_owned();
    s
}

#[test]
fn a_trace_split_across_resources_is_evaluated_whole() {
    // Trace 1: a 10 ms span on "web" and a span ending 300 ms later on "db" (another
    // resource and scope): 310 ms in total. Trace 2: 20 ms, all on "web".
    let b = batch(vec![
        resource(
            vec![kv("service.name", "web")],
            vec![vec![
                named(span(1, 0, 10, vec![]), "a"),
                named(span(2, 0, 20, vec![]), "b"),
            ]],
        ),
        resource(
            vec![kv("service.name", "db")],
            vec![vec![], vec![named(span(1, 5, 310, vec![]), "c")]],
        ),
    ]);
    let mut h = harness(&policies(
        r#"{"name": "slow", "type": "latency", "latency": {"threshold_ms": 300}}"#,
    ));
    let out = h.process(&b).unwrap().replaced().expect("replaced");
    assert_eq!(
        layout(&out),
        [
            ("web".into(), "scope-0".into(), 1, "a".into()),
            ("db".into(), "scope-1".into(), 1, "c".into()),
        ]
    );
    // The empty scope and the emptied spans are gone; resources keep their attributes.
    assert_eq!(out.resource_spans[1].scope_spans.len(), 1);
}

#[test]
fn resource_attributes_count_only_for_resources_holding_the_trace() {
    let b = batch(vec![
        resource(
            vec![kv("service.name", "checkout")],
            vec![vec![span(1, 0, 1, vec![])]],
        ),
        resource(
            vec![kv("service.name", "web")],
            vec![vec![span(2, 0, 1, vec![])]],
        ),
        resource(
            vec![kv("service.name", "web")],
            vec![vec![span(1, 0, 1, vec![])]],
        ),
    ]);
    let mut h = harness(&policies(
        r#"{"name": "svc", "type": "string_attribute", "string_attribute": {"key": "service.name", "values": ["checkout"]}}"#,
    ));
    let out = h.process(&b).unwrap().replaced().expect("replaced");
    assert_eq!(
        layout(&out),
        [
            ("checkout".into(), "scope-0".into(), 1, "op-1".into()),
            ("web".into(), "scope-0".into(), 1, "op-1".into()),
        ]
    );
}

#[test]
fn mixed_batch_returns_exactly_the_kept_traces() {
    // Keep errors and slow traces; drop health checks whatever else matches.
    let config = policies(
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
           {"name": "slow", "type": "latency", "latency": {"threshold_ms": 1000}},
           {"name": "no-health", "type": "drop", "drop": {"drop_sub_policy": [
               {"type": "string_attribute", "string_attribute": {"key": "http.route", "values": ["/health"]}}]}}"#,
    );
    let mut h = harness(&config);
    let mut health_error = span_with_status(5, StatusCode::Error);
    health_error.attributes.push(kv("http.route", "/health"));
    let b = batch(vec![
        resource(
            vec![kv("service.name", "a")],
            vec![vec![
                span_with_status(1, StatusCode::Error),
                span(2, 0, 10, vec![]),
                span(3, 0, 2000, vec![]),
            ]],
        ),
        resource(
            vec![kv("service.name", "b")],
            vec![vec![
                span(2, 10, 20, vec![]),
                span(4, 0, 5, vec![]),
                health_error,
                span_with_status(1, StatusCode::Ok),
            ]],
        ),
    ]);
    let out = h.process(&b).unwrap().replaced().expect("replaced");
    let traces: Vec<(String, u8)> = layout(&out)
        .into_iter()
        .map(|(s, _, t, _)| (s, t))
        .collect();
    assert_eq!(
        traces,
        [("a".into(), 1), ("a".into(), 3), ("b".into(), 1)],
        "kept: trace 1 (error, both spans) and 3 (slow); not 2, 4, or 5 (health, dropped)"
    );
}

#[test]
fn outcome_is_unchanged_when_all_kept_and_dropped_when_none() {
    let mut h = harness(&policies(
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}"#,
    ));
    let all_errors = one_scope(vec![
        span_with_status(1, StatusCode::Error),
        span_with_status(2, StatusCode::Error),
    ]);
    assert_eq!(h.process(&all_errors).unwrap(), Processed::Unchanged);
    let none = one_scope(vec![span(1, 0, 1, vec![]), span(2, 0, 1, vec![])]);
    assert_eq!(h.process(&none).unwrap(), Processed::Dropped);
    assert_eq!(h.process(&batch(vec![])).unwrap(), Processed::Unchanged);
}

#[test]
fn spans_without_trace_ids_form_one_trace() {
    let mut a = span(1, 0, 1, vec![]);
    a.trace_id.clear();
    let mut b = span_with_status(2, StatusCode::Error);
    b.trace_id.clear();
    let mut h = harness(&policies(
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}"#,
    ));
    assert_eq!(
        h.process(&one_scope(vec![a, b, span(3, 0, 1, vec![])]))
            .unwrap()
            .replaced()
            .map(|o| o.resource_spans[0].scope_spans[0].spans.len()),
        Some(2)
    );
}

#[test]
fn malformed_bytes_and_other_signals() {
    let mut h = harness(&policies(r#"{"name": "all", "type": "always_sample"}"#));
    let err = h.process_bytes(Signal::Traces, &[0xff, 0xff]).unwrap_err();
    assert!(
        matches!(err, sluice_guest_sdk::runtime::Failure::Malformed(_)),
        "{err:?}"
    );
    let logs = sluice_guest_sdk::testing::fixtures::logs([], []);
    assert_eq!(h.process(&logs).unwrap(), Processed::Unchanged);
}
