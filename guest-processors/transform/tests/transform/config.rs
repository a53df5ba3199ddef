//! Config forms, seed 000's metric-context statement, and errors that point at the statement
//! and column.

use serde_json::json;
use sluice_guest_sdk::otlp::KeyValue;
use sluice_guest_sdk::otlp::metrics::{Histogram, HistogramDataPoint, Metric, metric::Data};
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::testing::{Processed, fixtures};

use crate::support::{changed, harness, problems};

fn histogram(name: &str) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint::default()],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

#[test]
fn seed_000_metric_context_attributes_apply_to_every_data_point_with_a_warning() {
    let h = harness(
        json!({"metric_statements": [{"context": "metric", "statements": [r#"set(attributes["env"], "dev")"#]}]}),
    );
    assert_eq!(h.warnings().len(), 1);
    let w = &h.warnings()[0];
    assert_eq!(w.path, "metric_statements[0].statements[0]");
    assert!(w.message.contains("context: datapoint"), "{w}");
    assert!(!w.message.contains('\n'));

    let mut h = h;
    let batch = fixtures::metrics(
        [KeyValue::new("service.name", "api")],
        [
            fixtures::gauge(
                "g",
                [
                    fixtures::int_point(1, []),
                    fixtures::int_point(2, [KeyValue::new("env", "old")]),
                ],
            ),
            fixtures::sum("s", [fixtures::int_point(3, [])]),
            histogram("h"),
        ],
    );
    let out = changed(&mut h, &batch);
    let rm = &out.resource_metrics[0];
    assert_eq!(
        rm.resource.as_ref().unwrap().attributes,
        [KeyValue::new("service.name", "api")]
    );
    let mut points = 0;
    for m in &rm.scope_metrics[0].metrics {
        for i in 0..m.data_point_count() {
            let dp = m.data_point(i).unwrap();
            assert_eq!(
                dp.attributes().iter().filter(|kv| kv.key == "env").count(),
                1,
                "{}",
                m.name
            );
            assert!(
                dp.attributes().contains(&KeyValue::new("env", "dev")),
                "{}",
                m.name
            );
            points += 1;
        }
    }
    assert_eq!(points, 4);
}

#[test]
fn datapoint_context_and_prefixed_paths_do_the_same_without_warning() {
    for config in [
        json!({"metric_statements": [{"context": "datapoint", "statements": [r#"set(attributes["env"], "dev")"#]}]}),
        json!({"metric_statements": [r#"set(datapoint.attributes["env"], "dev")"#]}),
    ] {
        let mut h = harness(config);
        assert!(h.warnings().is_empty());
        let out = changed(
            &mut h,
            &fixtures::metrics([], [fixtures::gauge("g", [fixtures::int_point(1, [])])]),
        );
        let dp = out.resource_metrics[0].scope_metrics[0].metrics[0]
            .data_point(0)
            .unwrap();
        assert_eq!(dp.attributes(), [KeyValue::new("env", "dev")]);
    }
}

#[test]
fn old_style_unprefixed_paths_work_under_an_explicit_context() {
    let mut h = harness(
        json!({"trace_statements": [{"context": "span", "statements": [
            r#"set(attributes["n"], name) where kind == SPAN_KIND_SERVER and resource.attributes["service.name"] == "api""#,
        ]}]}),
    );
    let out = changed(
        &mut h,
        &fixtures::traces(
            [KeyValue::new("service.name", "api")],
            [fixtures::span("GET /", [])],
        ),
    );
    assert_eq!(
        out.resource_spans[0].scope_spans[0].spans[0].str_attribute("n"),
        Some("GET /")
    );
}

#[test]
fn empty_config_changes_nothing_and_skips_every_signal() {
    let mut h = harness(json!({}));
    assert_eq!(
        h.process(&fixtures::traces([], [fixtures::span("a", [])]))
            .unwrap(),
        Processed::Unchanged
    );
    // Signals without statements are not even decoded.
    assert_eq!(
        h.process_bytes(Signal::Logs, b"not protobuf").unwrap(),
        sluice_guest_sdk::runtime::Output::Unchanged
    );
}

#[test]
fn errors_name_the_statement_and_column() {
    let p = problems(
        json!({"metric_statements": [{"context": "datapoint", "statements": [
            r#"set(attributes["env"], "dev")"#,
            r#"set(attributes["env"] "dev")"#,
        ]}]}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "metric_statements[0].statements[1]");
    assert!(
        p[0].message.starts_with("column 23: expected"),
        "{}",
        p[0].message
    );
    assert!(
        p[0].message
            .ends_with(r#"in: set(attributes["env"] "dev")"#),
        "{}",
        p[0].message
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = problems(json!({
        "error_mode": "loud",
        "trace_statements": [r#"sett(span.name, "x")"#, r#"set(span.nme, "x")"#, r#"set(name, "x")"#],
        "metric_statements": [r#"set(span.name, "x")"#, {"context": "spans", "statements": []}],
        "log_statements": [{"statements": [r#"replace_pattern(log.body, "(", "x")"#], "conditon": []}],
        "extra": 1,
    }));
    let at: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        at,
        [
            "extra",
            "error_mode",
            "trace_statements[0]",
            "trace_statements[1]",
            "trace_statements[2]",
            "metric_statements[0]",
            "metric_statements[1].context",
            "log_statements[0].conditon",
            "log_statements[0].statements[0]",
        ]
    );
    let msg = |i: usize| p[i].message.as_str();
    assert!(msg(2).contains(r#"unknown editor "sett""#), "{}", msg(2));
    assert!(
        msg(3).starts_with("column 10: unknown path \"span.nme\""),
        "{}",
        msg(3)
    );
    assert!(
        msg(3).contains("trace_id"),
        "lists the span fields: {}",
        msg(3)
    );
    assert!(msg(4).contains("has no context prefix"), "{}", msg(4));
    assert!(
        msg(5).contains("span paths cannot be used in metric_statements"),
        "{}",
        msg(5)
    );
    assert!(msg(8).contains("invalid pattern"), "{}", msg(8));
}

#[test]
fn function_arguments_are_checked_at_init() {
    let cases = [
        (
            r#"limit(log.attributes, 1, ["a", "b"])"#,
            "cannot be less than the number of priority keys",
        ),
        (
            r#"truncate_all(log.attributes, 2, truncation_marker = "...")"#,
            "longer than limit",
        ),
        (
            r#"merge_maps(log.attributes, log.cache, "replace")"#,
            "strategy must be",
        ),
        (
            r#"replace_all_patterns(log.attributes, "keys", "a", "b")"#,
            "mode must be",
        ),
        (
            r#"replace_pattern(log.body, "a", "b", SHA256, "no placeholder")"#,
            "exactly one %s",
        ),
        (r#"set(log.attributes["a"])"#, "missing argument \"value\""),
        (r#"delete_key(log.severity_text, "a")"#, "must be a map"),
        (r#"set(log.attributes["a"], 1, 2)"#, "too many arguments"),
        (
            r#"set(log.attributes["a"], Nope(1))"#,
            "unknown converter \"Nope\"",
        ),
        (
            r#"set(log.attributes["a"], SEVERITY_NUMBER_LOUD)"#,
            "unknown enum",
        ),
        (r#"keep_keys(log.attributes, "a")"#, "list of strings"),
        (r#"set(log.severity_text["x"], "a")"#, "cannot be indexed"),
    ];
    for (statement, expected) in cases {
        let p = problems(json!({"log_statements": [statement]}));
        assert!(
            p[0].message.contains(expected),
            "{statement}: {}",
            p[0].message
        );
    }
}

#[test]
fn profiles_and_non_list_statements_are_refused() {
    let p = problems(json!({"profile_statements": [], "trace_statements": "set(x, 1)"}));
    assert_eq!(p.len(), 2);
    assert!(p.iter().any(|p| p.path == "profile_statements"));
    assert!(
        p.iter()
            .any(|p| p.path == "trace_statements" && p.message.contains("must be a list"))
    );
}
