//! The fast path (decide on spans decoded without unread fields, keep traces on the bytes)
//! against the decoded path, on batches with events, links, attributes and several
//! resources and scopes, for policies that read attributes and policies that don't.

use sluice_guest_sdk::otlp::trace::span::{Event, Link};
use sluice_guest_sdk::prost::Message;
use sluice_guest_sdk::runtime::Output;

use super::*;

fn busy(n: u8, i: u64) -> Span {
    let mut s = span(
        n,
        0,
        1 + (u64::from(n) * 7 + i) % 100,
        vec![
            kv("http.route", if n.is_multiple_of(2) { "/a" } else { "/b" }),
            kv("n", i64::from(n)),
        ],
    );
    s.parent_span_id = vec![3; 8];
    s.events = vec![Event {
        name: "e".into(),
        attributes: vec![kv("x", "y")],
        ..Default::default()
    }];
    s.links = vec![Link {
        trace_id: tid(99),
        ..Default::default()
    }];
    if n.is_multiple_of(5) {
        s.status = Some(Status {
            message: "boom".into(),
            code: StatusCode::Error as i32,
        });
    }
    s
}

fn mixed(i: u64) -> ExportTraceServiceRequest {
    batch(vec![
        resource(
            vec![kv("service.name", "a")],
            vec![
                (0..10).map(|n| busy(n, i)).collect(),
                vec![busy(3, i), busy(11, i)],
            ],
        ),
        resource(
            vec![kv("service.name", "b")],
            vec![(5..15).map(|n| busy(n, i)).collect()],
        ),
        resource(vec![], vec![vec![]]),
    ])
}

#[test]
fn fast_and_decoded_paths_keep_the_same_spans() {
    for config in [
        policies(r#"{"name": "slow", "type": "latency", "latency": {"threshold_ms": 50}}"#),
        policies(
            r#"{"name": "err", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
               {"name": "p", "type": "probabilistic", "probabilistic": {"sampling_percentage": 30}}"#,
        ),
        policies(
            r#"{"name": "route", "type": "string_attribute",
                "string_attribute": {"key": "http.route", "values": ["/a"]}}"#,
        ),
        policies(r#"{"name": "all", "type": "always_sample"}"#),
        policies(r#"{"name": "few", "type": "span_count", "span_count": {"min_spans": 50}}"#),
    ] {
        let (mut fast, _) = evaluator(&config);
        let (mut decoded, _) = evaluator(&config);
        for i in 0..5 {
            let b = mixed(i);
            let mut copy = b.clone();
            let expected = match decoded.process_traces(&mut copy, &RequestContext::default()) {
                Ok(Outcome::Unchanged) => Output::Unchanged,
                Ok(Outcome::Dropped) => Output::Dropped,
                Ok(Outcome::Modified) => Output::Replaced(copy.encode_to_vec()),
                Err(e) => panic!("decoded path failed: {e}"),
            };
            let got = fast
                .process_encoded(
                    Signal::Traces,
                    &b.encode_to_vec(),
                    &RequestContext::default(),
                )
                .expect("fast path taken")
                .expect("no error");
            match (got, expected) {
                (Output::Replaced(g), Output::Replaced(e)) => assert_eq!(
                    ExportTraceServiceRequest::decode(g.as_slice()).expect("decodes"),
                    ExportTraceServiceRequest::decode(e.as_slice()).expect("decodes"),
                    "{config}"
                ),
                (g, e) => assert_eq!(g, e, "{config}"),
            }
        }
    }
}
