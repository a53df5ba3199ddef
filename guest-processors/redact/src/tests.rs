use sluice_guest_sdk::testing::{Harness, Processed, fixtures};

use super::*;

const CONFIG: &str = r#"{"patterns": ["password", "token.*"], "replacement": "***"}"#;

fn harness() -> Harness<Redact> {
    Harness::new(CONFIG).expect("valid config")
}

fn redacted() -> Option<&'static AnyValue> {
    static R: std::sync::OnceLock<AnyValue> = std::sync::OnceLock::new();
    Some(R.get_or_init(|| AnyValue::string("***")))
}

#[test]
fn redacts_matching_span_attributes_and_keeps_others() {
    let batch = fixtures::traces(
        fixtures::attrs([("service.name", "api")]),
        [fixtures::span(
            "login",
            fixtures::attrs([
                ("db.password", "hunter2"),
                ("user", "ann"),
                ("token_id", "t1"),
            ]),
        )],
    );
    let out = harness()
        .process(&batch)
        .unwrap()
        .replaced()
        .expect("changed");
    let span = &out.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.attribute("db.password"), redacted());
    assert_eq!(span.attribute("token_id"), redacted());
    assert_eq!(span.str_attribute("user"), Some("ann"));
    assert_eq!(
        out.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .str_attribute("service.name"),
        Some("api")
    );
}

#[test]
fn batch_without_matches_is_unchanged() {
    let batch = fixtures::traces(
        [],
        [fixtures::span("a", fixtures::attrs([("user", "ann")]))],
    );
    assert_eq!(harness().process(&batch).unwrap(), Processed::Unchanged);
}

#[test]
fn already_redacted_batch_is_unchanged() {
    let batch = fixtures::traces(
        [],
        [fixtures::span("a", fixtures::attrs([("password", "***")]))],
    );
    assert_eq!(harness().process(&batch).unwrap(), Processed::Unchanged);
}

#[test]
fn matching_is_case_insensitive_by_default() {
    let batch = fixtures::traces(fixtures::attrs([("DB_PASSWORD", "x")]), []);
    let out = harness().process(&batch).unwrap().replaced();
    // No spans left to forward would be "dropped"; one resource with no spans counts as empty.
    assert!(out.is_none());
    let batch = fixtures::logs(
        fixtures::attrs([("DB_PASSWORD", "x")]),
        [fixtures::log_record("hi", [])],
    );
    let out = harness()
        .process(&batch)
        .unwrap()
        .replaced()
        .expect("changed");
    assert_eq!(
        out.resource_logs[0]
            .resource
            .as_ref()
            .unwrap()
            .attribute("DB_PASSWORD"),
        redacted()
    );
}

#[test]
fn case_sensitive_patterns_skip_other_cases() {
    let mut h =
        Harness::<Redact>::new(r#"{"patterns": ["password"], "case_sensitive": true}"#).unwrap();
    let batch = fixtures::logs(
        [],
        [fixtures::log_record(
            "hi",
            fixtures::attrs([("PASSWORD", "x")]),
        )],
    );
    assert_eq!(h.process(&batch).unwrap(), Processed::Unchanged);
}

#[test]
fn redacts_data_point_attributes_and_non_string_values() {
    let point = fixtures::int_point(
        1,
        vec![
            KeyValue::new("token.ttl", 3600i64),
            KeyValue::new("host", "a"),
        ],
    );
    let batch = fixtures::metrics([], [fixtures::gauge("g", [point])]);
    let out = harness()
        .process(&batch)
        .unwrap()
        .replaced()
        .expect("changed");
    let dp = out.resource_metrics[0].scope_metrics[0].metrics[0]
        .data_point(0)
        .unwrap();
    assert_eq!(dp.attributes()[0], KeyValue::new("token.ttl", "***"));
    assert_eq!(dp.attributes()[1], KeyValue::new("host", "a"));
}

#[test]
fn redacts_nested_map_keys_and_map_log_bodies() {
    let nested = AnyValue::map([KeyValue::new("password", "p"), KeyValue::new("name", "n")]);
    let mut record = fixtures::log_record("", [KeyValue::new("request", nested)]);
    record.body = Some(AnyValue::map([KeyValue::new("token", "abc")]));
    let out = harness()
        .process(&fixtures::logs([], [record]))
        .unwrap()
        .replaced()
        .expect("changed");
    let rec = &out.resource_logs[0].scope_logs[0].log_records[0];
    let request = rec.attribute("request").and_then(AnyValue::as_map).unwrap();
    assert_eq!(request[0], KeyValue::new("password", "***"));
    assert_eq!(request[1], KeyValue::new("name", "n"));
    assert_eq!(
        rec.body.as_ref().and_then(AnyValue::as_map).unwrap()[0],
        KeyValue::new("token", "***")
    );
}

#[test]
fn redacts_span_event_and_scope_attributes() {
    let mut span = fixtures::span("s", []);
    span.events.push(SpanEvent {
        name: "e".into(),
        attributes: fixtures::attrs([("password", "x")]),
        ..Default::default()
    });
    let mut batch = fixtures::traces([], [span]);
    batch.resource_spans[0].scope_spans[0]
        .scope
        .as_mut()
        .unwrap()
        .set_attribute("token", "t");
    let out = harness()
        .process(&batch)
        .unwrap()
        .replaced()
        .expect("changed");
    let ss = &out.resource_spans[0].scope_spans[0];
    assert_eq!(ss.scope.as_ref().unwrap().attribute("token"), redacted());
    assert_eq!(ss.spans[0].events[0].attribute("password"), redacted());
}

#[test]
fn invalid_patterns_are_all_reported_with_their_index() {
    let err = Harness::<Redact>::new(r#"{"patterns": ["ok", "(", "["]}"#)
        .err()
        .unwrap();
    let paths: Vec<_> = err.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["patterns[1]", "patterns[2]"]);
    assert!(
        err[0].message.contains("invalid regular expression \"(\""),
        "{}",
        err[0].message
    );
}

#[test]
fn empty_patterns_and_unknown_fields_are_config_errors() {
    let err = Harness::<Redact>::new(r#"{"patterns": []}"#).err().unwrap();
    assert_eq!(
        err[0].to_string(),
        "patterns: at least one pattern is required"
    );
    let err = Harness::<Redact>::new(r#"{"patterns": ["a"], "replace": "x"}"#)
        .err()
        .unwrap();
    assert!(
        err[0].message.contains("unknown field `replace`"),
        "{}",
        err[0]
    );
    let err = Harness::<Redact>::new("{}").err().unwrap();
    assert!(
        err[0].message.contains("missing field `patterns`"),
        "{}",
        err[0]
    );
}

#[test]
fn malformed_bytes_are_an_error_value_not_a_panic() {
    let err = harness()
        .process_bytes(Signal::Traces, &[0xff, 0xff, 0xff])
        .unwrap_err();
    assert!(
        matches!(err, sluice_guest_sdk::runtime::Failure::Malformed(_)),
        "{err:?}"
    );
}
