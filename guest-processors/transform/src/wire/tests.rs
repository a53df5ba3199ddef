//! The fast path against the decoded path: the same statements on the same generated
//! batches (duplicate keys, absent resources and values, events, several resources and
//! scopes) must give the same result, and the same "unchanged".

use serde_json::json;
use sluice_guest_sdk::otlp::any_value::Value as Any;
use sluice_guest_sdk::otlp::logs::{LogRecord, ResourceLogs, ScopeLogs};
use sluice_guest_sdk::otlp::trace::span::Event;
use sluice_guest_sdk::otlp::{
    AnyValue, ExportLogsServiceRequest, ExportTraceServiceRequest, KeyValue, Resource,
    ResourceSpans, ScopeSpans, Span,
};
use sluice_guest_sdk::prost::Message;

use super::*;
use crate::config;
use crate::exec::{self, Report};

/// A small deterministic generator (no dependencies needed for test data).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

const KEYS: [&str; 5] = ["a", "b", "env", "bench", ""];

fn value(rng: &mut Rng) -> Option<AnyValue> {
    let value = match rng.below(6) {
        0 => return None,
        1 => Any::StringValue("x".into()),
        2 => Any::StringValue("prod".into()),
        3 => Any::IntValue(1),
        4 => Any::BoolValue(true),
        _ => Any::DoubleValue(2.5),
    };
    Some(AnyValue { value: Some(value) })
}

fn attributes(rng: &mut Rng) -> Vec<KeyValue> {
    (0..rng.below(5))
        .map(|_| KeyValue {
            key: KEYS[rng.below(KEYS.len() as u64)].into(),
            value: value(rng),
            ..Default::default()
        })
        .collect()
}

fn resource(rng: &mut Rng) -> Option<Resource> {
    (rng.below(4) != 0).then(|| Resource {
        attributes: attributes(rng),
        ..Default::default()
    })
}

fn traces(rng: &mut Rng) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: (0..rng.below(3))
            .map(|_| ResourceSpans {
                resource: resource(rng),
                scope_spans: (0..rng.below(3))
                    .map(|_| ScopeSpans {
                        spans: (0..rng.below(4))
                            .map(|i| Span {
                                name: format!("span-{i}"),
                                trace_id: vec![7; 16],
                                span_id: vec![i as u8; 8],
                                attributes: attributes(rng),
                                events: (0..rng.below(2))
                                    .map(|_| Event {
                                        name: "e".into(),
                                        attributes: attributes(rng),
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .collect(),
                        schema_url: "s".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
}

fn logs(rng: &mut Rng) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: (0..rng.below(3))
            .map(|_| ResourceLogs {
                resource: resource(rng),
                scope_logs: (0..rng.below(3))
                    .map(|_| ScopeLogs {
                        log_records: (0..rng.below(4))
                            .map(|_| LogRecord {
                                severity_text: "INFO".into(),
                                body: value(rng),
                                attributes: attributes(rng),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
}

/// An absent resource and an empty one are the same telemetry; the decoded path creates
/// the empty one when a resource statement looks at an absent resource.
fn normalise_traces(mut r: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    for rs in &mut r.resource_spans {
        rs.resource.get_or_insert_with(Resource::default);
    }
    r
}

fn normalise_logs(mut r: ExportLogsServiceRequest) -> ExportLogsServiceRequest {
    for rl in &mut r.resource_logs {
        rl.resource.get_or_insert_with(Resource::default);
    }
    r
}

fn statement_sets(kind: &str) -> Vec<serde_json::Value> {
    let item = if kind == "trace" { "span" } else { "log" };
    vec![
        json!([format!(r#"set({item}.attributes["bench"], "x")"#)]),
        json!([
            format!(r#"set({item}.attributes["a"], 1)"#),
            format!(r#"delete_key({item}.attributes, "b")"#)
        ]),
        json!([format!(r#"set({item}.attributes["a"], nil)"#)]),
        json!([
            format!(r#"delete_key({item}.attributes, "a")"#),
            format!(r#"set({item}.attributes["a"], true)"#),
            format!(r#"set({item}.attributes["a"], 2.5)"#),
            format!(r#"set({item}.attributes[""], "prod")"#)
        ]),
        json!([format!(r#"set({item}.attributes["env"], "prod")"#)]),
        json!([
            {"context": "resource", "statements": [
                r#"set(attributes["env"], "prod")"#, r#"delete_key(attributes, "a")"#
            ]},
            {"context": item, "statements": [
                r#"set(attributes["b"], "x")"#, r#"delete_key(attributes, "env")"#
            ]},
            {"context": "resource", "statements": [r#"set(attributes["b"], 1)"#]}
        ]),
        json!([{"context": "resource", "statements": [r#"delete_key(attributes, "env")"#]}]),
    ]
}

fn program(kind: &str, statements: &serde_json::Value) -> (config::Program, Plans) {
    let config = json!({ format!("{kind}_statements"): statements });
    let (program, _) = config::load(&config.to_string()).expect("config");
    let plans = Plans::new(&program);
    (program, plans)
}

#[test]
fn traces_match_the_decoded_path() {
    let mut rng = Rng(1);
    let mut buffers = Buffers::default();
    for statements in statement_sets("trace") {
        let (program, plans) = program("trace", &statements);
        let plan = plans.get(Signal::Traces).expect("qualifies");
        for _ in 0..300 {
            let batch = traces(&mut rng);
            let bytes = batch.encode_to_vec();
            let mut decoded = batch.clone();
            let changed = exec::traces(&program.traces, &mut decoded, &mut Report::default())
                .expect("no failure");
            let fast = run(plan, &bytes, &mut buffers).expect("well-formed");
            assert_eq!(fast.is_some(), changed, "{statements} on {batch:?}");
            let fast = match fast {
                Some(b) => ExportTraceServiceRequest::decode(b.as_slice()).expect("decodes"),
                None => batch.clone(),
            };
            assert_eq!(
                normalise_traces(fast),
                normalise_traces(decoded),
                "{statements} on {batch:?}"
            );
        }
    }
}

#[test]
fn logs_match_the_decoded_path() {
    let mut rng = Rng(2);
    let mut buffers = Buffers::default();
    for statements in statement_sets("log") {
        let (program, plans) = program("log", &statements);
        let plan = plans.get(Signal::Logs).expect("qualifies");
        for _ in 0..300 {
            let batch = logs(&mut rng);
            let bytes = batch.encode_to_vec();
            let mut decoded = batch.clone();
            let changed = exec::logs(&program.logs, &mut decoded, &mut Report::default())
                .expect("no failure");
            let fast = run(plan, &bytes, &mut buffers).expect("well-formed");
            assert_eq!(fast.is_some(), changed, "{statements} on {batch:?}");
            let fast = match fast {
                Some(b) => ExportLogsServiceRequest::decode(b.as_slice()).expect("decodes"),
                None => batch.clone(),
            };
            assert_eq!(normalise_logs(fast), normalise_logs(decoded));
        }
    }
}

#[test]
fn other_statements_take_the_decoded_path() {
    for (kind, statements) in [
        (
            "trace",
            json!([r#"set(span.attributes["a"], "x") where span.name == "b""#]),
        ),
        (
            "trace",
            json!([r#"set(span.attributes["a"], Concat(["x", "y"], "-"))"#]),
        ),
        ("trace", json!([r#"set(span.name, "x")"#])),
        ("trace", json!([r#"keep_keys(span.attributes, ["a"])"#])),
        ("trace", json!([r#"set(span.attributes["a"]["b"], "x")"#])),
        (
            "trace",
            json!([{"context": "span", "statements": [r#"set(resource.attributes["a"], "x")"#]}]),
        ),
        (
            "trace",
            json!([{"context": "scope", "statements": [r#"set(attributes["a"], "x")"#]}]),
        ),
        (
            "trace",
            json!([{"context": "span", "conditions": [r#"name == "a""#],
                     "statements": [r#"set(attributes["a"], "x")"#]}]),
        ),
        ("metric", json!([r#"set(datapoint.attributes["a"], "x")"#])),
    ] {
        let (_, plans) = program(kind, &statements);
        let signal = if kind == "metric" {
            Signal::Metrics
        } else {
            Signal::Traces
        };
        assert!(plans.get(signal).is_none(), "{statements} qualified");
    }
    let (_, plans) = program(
        "metric",
        &json!([{"context": "resource", "statements": [r#"set(attributes["a"], "x")"#]}]),
    );
    assert!(plans.get(Signal::Metrics).is_some());
}

#[test]
fn broken_framing_is_left_to_the_decoded_path() {
    let (_, plans) = program("trace", &json!([r#"set(span.attributes["a"], "x")"#]));
    let plan = plans.get(Signal::Traces).expect("qualifies");
    let bytes = traces(&mut Rng(3)).encode_to_vec();
    let mut buffers = Buffers::default();
    for cut in 0..bytes.len() {
        // Never panics; either an edit of a prefix that happens to be framed, or Malformed.
        let _ = run(plan, &bytes[..cut], &mut buffers);
    }
    assert_eq!(
        run(plan, b"\x0a\xff\xff\xff\xff\x0f", &mut buffers),
        Err(Malformed)
    );
}

#[test]
fn a_key_found_elsewhere_in_a_span_is_not_taken_for_an_attribute() {
    let (_, plans) = program("trace", &json!([r#"set(span.attributes["bench"], "x")"#]));
    let plan = plans.get(Signal::Traces).expect("qualifies");
    let kv = |key: &str, value: &str| KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Any::StringValue(value.into())),
        }),
        ..Default::default()
    };
    // The key's bytes in the name, in a value, in an event's key, as the key itself, nowhere.
    let spans = vec![
        Span {
            name: "bench".into(),
            ..Default::default()
        },
        Span {
            attributes: vec![kv("k", "bench")],
            ..Default::default()
        },
        Span {
            events: vec![Event {
                attributes: vec![kv("bench", "y")],
                ..Default::default()
            }],
            ..Default::default()
        },
        Span {
            attributes: vec![kv("bench", "y"), kv("k", "v")],
            ..Default::default()
        },
        Span::default(),
    ];
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes = run(plan, &request.encode_to_vec(), &mut Buffers::default())
        .expect("well-formed")
        .expect("changed");
    let out = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
    for span in &out.resource_spans[0].scope_spans[0].spans {
        let values: Vec<_> = span
            .attributes
            .iter()
            .filter(|a| a.key == "bench")
            .map(|a| a.value.clone())
            .collect();
        assert_eq!(values, vec![kv("", "x").value], "{span:?}");
    }
}
