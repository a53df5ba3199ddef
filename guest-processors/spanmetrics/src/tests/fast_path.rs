//! The fast path (spans decoded without the fields no metric reads) against decoding whole
//! spans: the same batches must give the same metrics, for configs that read attributes,
//! events and exemplars and for one that reads none of them.

use sluice_guest_sdk::otlp::trace::span::{Event, Link};

use super::*;

fn busy_span(name: &str, i: u64) -> Span {
    Span {
        parent_span_id: vec![9; 8],
        events: vec![Event {
            name: "exception".into(),
            attributes: vec![kv("exception.type", "E"), kv("http.method", "GET")],
            ..Default::default()
        }],
        links: vec![Link {
            trace_id: vec![7; 16],
            span_id: vec![7; 8],
            ..Default::default()
        }],
        ..span_with(
            name,
            1 + i % 50,
            1 + (i % 3) as i32,
            (i % 3) as i32,
            vec![
                kv(
                    "http.method",
                    if i.is_multiple_of(2) { "GET" } else { "POST" },
                ),
                kv("http.status_code", 200 + (i % 4) as i64),
                kv("filler", "x".repeat(20)),
            ],
        )
    }
}

#[test]
fn stripped_spans_give_the_same_metrics() {
    for config in [
        "{}",
        r#"{"dimensions": [{"name": "http.method"}, {"name": "missing", "default": "d"}]}"#,
        r#"{"events": {"enabled": true, "dimensions": [{"name": "exception.type"}]}}"#,
        r#"{"exemplars": {"enabled": true}, "calls_dimensions": [{"name": "http.status_code"}]}"#,
        r#"{"histogram": {"exponential": {"max_size": 40}, "dimensions": [{"name": "http.method"}]}}"#,
    ] {
        let mut fast = harness(config);
        let mut whole = harness(config);
        for round in 0..3u64 {
            let spans = (0..40)
                .map(|i| busy_span(&format!("op-{}", i % 5), i + round))
                .collect();
            let batch = traces(vec![
                (vec![kv("service.name", "a")], spans),
                (vec![kv("service.name", "b")], vec![busy_span("x", round)]),
            ]);
            send(&mut fast, &batch);
            whole.processor().expect("initialised").record(&batch);
        }
        assert_eq!(flush(&mut fast), flush(&mut whole), "config {config}");
    }
}

#[test]
fn only_unread_fields_are_stripped() {
    let fields = |config: &str| {
        let mut h = harness(config);
        crate::unused_span_fields(h.processor().expect("initialised").settings())
    };
    assert_eq!(fields("{}"), vec![4, 13, 1, 2, 11, 9]);
    assert_eq!(
        fields(r#"{"dimensions": [{"name": "a"}]}"#),
        vec![4, 13, 1, 2, 11]
    );
    assert_eq!(
        fields(r#"{"events": {"enabled": true, "dimensions": [{"name": "e"}]}}"#),
        vec![4, 13, 1, 2]
    );
    assert_eq!(
        fields(r#"{"exemplars": {"enabled": true}}"#),
        vec![4, 13, 11, 9]
    );
}
