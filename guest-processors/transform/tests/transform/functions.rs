//! Editors, converters, paths and conditions, one behaviour each.

use serde_json::json;
use sluice_guest_sdk::otlp::{AnyValue, KeyValue};
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::testing::{Processed, fixtures};

use crate::support::{changed, harness};

fn kv(k: &str, v: impl Into<AnyValue>) -> KeyValue {
    KeyValue::new(k, v)
}

/// Runs `statements` as span statements on one span with `attrs`; returns the span.
fn on_span(statements: &[&str], attrs: Vec<KeyValue>) -> Span {
    let mut h = harness(json!({"trace_statements": statements}));
    let batch = fixtures::traces(
        [kv("service.name", "api")],
        [fixtures::span("GET /users/42", attrs)],
    );
    match h.process(&batch).unwrap() {
        Processed::Replaced(out) => out.resource_spans[0].scope_spans[0].spans[0].clone(),
        _ => batch.resource_spans[0].scope_spans[0].spans[0].clone(),
    }
}

fn keys(span: &Span) -> Vec<&str> {
    span.attributes.iter().map(|kv| kv.key.as_str()).collect()
}

#[test]
fn map_editors() {
    let attrs = || {
        vec![
            kv("a", "1"),
            kv("password", "x"),
            kv("db.password", "y"),
            kv("b", "2"),
            kv("c", "3"),
        ]
    };
    assert_eq!(
        keys(&on_span(
            &[r#"delete_matching_keys(span.attributes, "(?i).*password.*")"#],
            attrs()
        )),
        ["a", "b", "c"]
    );
    assert_eq!(
        keys(&on_span(
            &[r#"keep_matching_keys(span.attributes, "^[ab]$")"#],
            attrs()
        )),
        ["a", "b"]
    );
    assert_eq!(
        keys(&on_span(&[r#"limit(span.attributes, 2, ["c"])"#], attrs())),
        ["a", "c"]
    );
    assert_eq!(
        keys(&on_span(&[r#"delete_key(span.attributes, "a")"#], attrs())).len(),
        4
    );
}

#[test]
fn truncate_all_keeps_utf8_valid_and_appends_the_marker() {
    let s = on_span(
        &[r#"truncate_all(span.attributes, 6, true, "..")"#],
        vec![kv("a", "héllo wörld"), kv("n", 5i64)],
    );
    assert_eq!(s.str_attribute("a"), Some("hél.."));
    assert_eq!(s.attribute("n"), Some(&AnyValue::int(5)));
}

#[test]
fn replace_pattern_expands_groups_and_applies_function_and_format() {
    let s = on_span(
        &[r#"replace_pattern(span.name, "^GET /users/(\\d+)$", "user-$1")"#],
        vec![],
    );
    assert_eq!(s.name, "user-42");
    let s = on_span(
        &[r#"replace_pattern(span.name, "\\d+", "$0", SHA256, "id:%s")"#],
        vec![],
    );
    assert_eq!(
        s.name,
        format!(
            "GET /users/id:{}",
            "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049"
        )
    );
    let s = on_span(
        &[r#"replace_match(span.name, "GET /users/*", "GET /users/{id}")"#],
        vec![],
    );
    assert_eq!(s.name, "GET /users/{id}");
}

#[test]
fn merge_maps_strategies() {
    let statements = |strategy: &str| {
        vec![
            r#"set(span.cache["m"], {"a": "new", "z": "added"})"#.to_owned(),
            format!(r#"merge_maps(span.attributes, span.cache["m"], "{strategy}")"#),
        ]
    };
    let run = |strategy: &str| {
        let owned = statements(strategy);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        on_span(&refs, vec![kv("a", "old")])
    };
    let s = run("insert");
    assert_eq!(
        (s.str_attribute("a"), s.str_attribute("z")),
        (Some("old"), Some("added"))
    );
    let s = run("update");
    assert_eq!(
        (s.str_attribute("a"), s.str_attribute("z")),
        (Some("new"), None)
    );
    let s = run("upsert");
    assert_eq!(
        (s.str_attribute("a"), s.str_attribute("z")),
        (Some("new"), Some("added"))
    );
}

#[test]
fn converters() {
    let s = on_span(
        &[
            r#"set(span.attributes["concat"], Concat([span.name, 1, 2.5, true, span.attributes["missing"]], "|"))"#,
            r#"set(span.attributes["int"], Int("42"))"#,
            r#"set(span.attributes["trunc"], Int(3.9))"#,
            r#"set(span.attributes["bad"], Int("4.5"))"#,
            r#"set(span.attributes["double"], Double(2))"#,
            r#"set(span.attributes["bool"], Bool("T"))"#,
            r#"set(span.attributes["string"], String(span.span_id))"#,
            r#"set(span.attributes["json"], String({"k": [1, "x"]}))"#,
            r#"set(span.attributes["sha"], SHA256("name"))"#,
            r#"set(span.attributes["len"], Len(span.name))"#,
            r#"set(span.attributes["upper"], ToUpperCase(span.kind.string))"#,
            r#"set(span.attributes["second"], Split(span.name, "/")[1])"#,
            r#"set(span.attributes["sub"], Substring(span.name, 0, 3))"#,
            r#"set(span.attributes["first"], Coalesce([span.attributes["missing"], "fallback"]))"#,
            r#"set(span.attributes["math"], (span.end_time_unix_nano - span.start_time_unix_nano) / 1000000)"#,
        ],
        vec![],
    );
    assert_eq!(
        s.str_attribute("concat"),
        Some("GET /users/42|1|2.5|true|<nil>")
    );
    assert_eq!(s.attribute("int"), Some(&AnyValue::int(42)));
    assert_eq!(s.attribute("trunc"), Some(&AnyValue::int(3)));
    assert_eq!(s.attribute("bad"), None, "set(..., nil) does nothing");
    assert_eq!(s.attribute("double"), Some(&AnyValue::double(2.0)));
    assert_eq!(s.attribute("bool"), Some(&AnyValue::bool(true)));
    assert_eq!(s.str_attribute("string"), Some("0102030405060708"));
    assert_eq!(s.str_attribute("json"), Some(r#"{"k":[1,"x"]}"#));
    assert_eq!(
        s.str_attribute("sha"),
        Some("82a3537ff0dbce7eec35d69edc3a189ee6f17d82f353a553f9aa96cb0be3ce89")
    );
    assert_eq!(s.attribute("len"), Some(&AnyValue::int(13)));
    assert_eq!(s.str_attribute("upper"), Some("SERVER"));
    assert_eq!(s.str_attribute("second"), Some("users"));
    assert_eq!(s.str_attribute("sub"), Some("GET"));
    assert_eq!(s.str_attribute("first"), Some("fallback"));
    assert_eq!(s.attribute("math"), Some(&AnyValue::int(1000)));
}

#[test]
fn conditions() {
    let tagged = |cond: &str, attrs: Vec<KeyValue>| {
        on_span(
            &[&format!(
                r#"set(span.attributes["hit"], true) where {cond}"#
            )],
            attrs,
        )
        .attribute("hit")
        .is_some()
    };
    assert!(tagged(r#"span.kind == SPAN_KIND_SERVER"#, vec![]));
    assert!(tagged(
        r#"IsMatch(span.attributes["code"], "^5")"#,
        vec![kv("code", 503i64)]
    ));
    assert!(tagged(
        r#"span.attributes["code"] >= 500 and span.attributes["code"] < 600"#,
        vec![kv("code", 503i64)]
    ));
    assert!(tagged(
        r#"span.attributes["ratio"] > 0.5"#,
        vec![kv("ratio", 1i64)]
    ));
    assert!(!tagged(
        r#"span.attributes["code"] == "503""#,
        vec![kv("code", 503i64)]
    ));
    assert!(tagged(
        r#"not (span.name == "x" or span.name == "y")"#,
        vec![]
    ));
    assert!(tagged(
        r#"span.name == "x" or span.name != "y" and true"#,
        vec![]
    ));
    assert!(tagged(
        r#"resource.attributes["service.name"] == "api""#,
        vec![]
    ));
    assert!(tagged(
        r#"span.trace_id.string == "0102030405060708090a0b0c0d0e0f10""#,
        vec![]
    ));
    assert!(tagged(r#"span.span_id == 0x0102030405060708"#, vec![]));
    assert!(tagged(
        r#"HasPrefix(span.name, "GET ") and IsString(span.name) and not IsMap(span.name)"#,
        vec![]
    ));
    assert!(!tagged(r#"span.attributes["missing"] != nil"#, vec![]));
}

#[test]
fn scalar_paths_are_written_with_type_checks() {
    let s = on_span(
        &[
            "set(span.status.code, STATUS_CODE_ERROR)",
            r#"set(span.status.message, "boom")"#,
            r#"set(span.kind.string, "Client")"#,
            r#"set(span.trace_id.string, "ffffffffffffffffffffffffffffffff")"#,
            r#"set(span.name, 5)"#,
        ],
        vec![],
    );
    let status = s.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "boom"));
    assert_eq!(s.kind, 3);
    assert_eq!(s.trace_id, vec![0xff; 16]);
    assert_eq!(
        s.name, "GET /users/42",
        "an int is not written to a string field"
    );
}

#[test]
fn nested_maps_in_attributes_and_bodies() {
    let s = on_span(
        &[
            r#"set(span.attributes["a"]["b"], "c")"#,
            r#"set(span.attributes["copy"], span.attributes["a"]["b"])"#,
        ],
        vec![],
    );
    assert_eq!(s.attribute("a"), Some(&AnyValue::map([kv("b", "c")])));
    assert_eq!(s.str_attribute("copy"), Some("c"));

    let mut h = harness(json!({"log_statements": [
        r#"set(log.body["user"]["id"], 7)"#,
        r#"delete_key(log.body, "secret")"#,
    ]}));
    let mut record = fixtures::log_record("", []);
    record.body = Some(AnyValue::map([
        kv("secret", "s"),
        kv("user", AnyValue::map([])),
    ]));
    let out = changed(&mut h, &fixtures::logs([], [record]));
    let body = out.resource_logs[0].scope_logs[0].log_records[0]
        .body
        .clone();
    assert_eq!(
        body,
        Some(AnyValue::map([kv("user", AnyValue::map([kv("id", 7i64)]))]))
    );
}

#[test]
fn span_event_and_scope_contexts() {
    let mut h = harness(json!({"trace_statements": [
        r#"set(spanevent.attributes["span"], span.name) where spanevent.name == "exception""#,
        r#"set(scope.attributes["seen"], scope.name)"#,
    ]}));
    let mut span = fixtures::span("op", []);
    span.events = vec![
        SpanEvent {
            name: "exception".into(),
            ..Default::default()
        },
        SpanEvent {
            name: "log".into(),
            ..Default::default()
        },
    ];
    let out = changed(&mut h, &fixtures::traces([], [span]));
    let ss = &out.resource_spans[0].scope_spans[0];
    assert_eq!(ss.spans[0].events[0].str_attribute("span"), Some("op"));
    assert_eq!(ss.spans[0].events[1].attribute("span"), None);
    assert_eq!(
        ss.scope.as_ref().unwrap().str_attribute("seen"),
        Some("test")
    );
}

#[test]
fn metric_and_datapoint_fields() {
    let mut h = harness(json!({"metric_statements": [
        r#"set(metric.unit, "ms") where metric.name == "latency""#,
        r#"set(datapoint.attributes["big"], true) where datapoint.value_int > 10"#,
        r#"set(metric.description, "cumulative") where metric.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE"#,
    ]}));
    let batch = fixtures::metrics(
        [],
        [fixtures::sum(
            "latency",
            [fixtures::int_point(5, []), fixtures::int_point(50, [])],
        )],
    );
    let out = changed(&mut h, &batch);
    let m = &out.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(
        (m.unit.as_str(), m.description.as_str()),
        ("ms", "cumulative")
    );
    assert!(m.data_point(0).unwrap().attributes().is_empty());
    assert_eq!(m.data_point(1).unwrap().attributes(), [kv("big", true)]);
}
