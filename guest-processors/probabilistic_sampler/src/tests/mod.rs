//! Tests. Expected values come from the Collector's own tests
//! (`tracesprocessor_test.go`, `logsprocessor_test.go`) where cited, or from the Go-derived
//! reference in [`reference`].

mod config;
mod consistent;
mod hash_seed;
mod logs;
mod reference;
mod sampling_math;

use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::testing::{Harness, Processed, fixtures};

use crate::ProbabilisticSampler;

/// Parses a 32-hex-digit trace id.
fn tid(hex: &str) -> [u8; 16] {
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    id
}

/// A span with the given trace id, tracestate and attributes.
fn span(trace_id: [u8; 16], tracestate: &str, attrs: Vec<KeyValue>) -> Span {
    let mut s = fixtures::span("op", attrs);
    s.trace_id = trace_id.to_vec();
    s.trace_state = tracestate.to_owned();
    s
}

fn harness(config: &str) -> Harness<ProbabilisticSampler> {
    Harness::new(config).expect("valid config")
}

/// Processes one span; returns its tracestate if it was kept.
fn process_one(h: &mut Harness<ProbabilisticSampler>, s: Span) -> Option<String> {
    let original = s.trace_state.clone();
    match h.process(&fixtures::traces([], [s])).expect("processed") {
        Processed::Unchanged => Some(original),
        Processed::Dropped => None,
        Processed::Replaced(out) => {
            let spans: Vec<&Span> = out
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .collect();
            assert_eq!(spans.len(), 1, "{out:?}");
            Some(spans[0].trace_state.clone())
        }
    }
}

#[test]
fn malformed_bytes_are_an_error_value_not_a_panic() {
    let mut h = harness(r#"{"sampling_percentage": 50}"#);
    let err = h
        .process_bytes(Signal::Traces, &[0xff, 0xff, 0xff])
        .unwrap_err();
    assert!(
        matches!(err, sluice_guest_sdk::runtime::Failure::Malformed(_)),
        "{err:?}"
    );
}

#[test]
fn metrics_pass_through_untouched() {
    let mut h = harness(r#"{"sampling_percentage": 0}"#);
    let batch = fixtures::metrics([], [fixtures::gauge("g", [fixtures::int_point(1, [])])]);
    assert_eq!(h.process(&batch).unwrap(), Processed::Unchanged);
}

#[test]
fn outcome_is_unchanged_dropped_or_replaced() {
    // Consistent mode, 100%, spans already carrying th:0 are kept untouched: unchanged.
    let mut h = harness(r#"{"sampling_percentage": 100, "mode": "proportional"}"#);
    let keep = span(tid("0102030405060708090a0b0c0d0e0f10"), "ot=th:0", vec![]);
    assert_eq!(
        h.process(&fixtures::traces([], [keep.clone(), keep.clone()]))
            .unwrap(),
        Processed::Unchanged
    );
    // 0%: nothing kept: dropped.
    let mut h = harness(r#"{"sampling_percentage": 0}"#);
    assert_eq!(
        h.process(&fixtures::traces([], [keep.clone()])).unwrap(),
        Processed::Dropped
    );
    // Priority splits the batch: replaced with only the kept span.
    let mut h = harness(r#"{"sampling_percentage": 100, "mode": "proportional"}"#);
    let drop = span(
        tid("0102030405060708090a0b0c0d0e0f10"),
        "ot=th:0",
        vec![KeyValue::new("sampling.priority", 0i64)],
    );
    let out = h
        .process(&fixtures::traces([], [keep, drop]))
        .unwrap()
        .replaced()
        .expect("replaced");
    let spans = &out.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 1);
    assert!(spans[0].attribute("sampling.priority").is_none());
}
