//! The examples of the Collector's `processor/transformprocessor/README.md`, run as written
//! (except functions Sluice does not have, noted where they are left out).

use serde_json::json;
use sluice_guest_sdk::otlp::{AnyValue, KeyValue, SeverityNumber};
use sluice_guest_sdk::prelude::*;
use sluice_guest_sdk::testing::{Processed, fixtures};

use crate::support::{changed, harness};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue::new(k, v)
}

#[test]
fn basic_config_trace_statements() {
    let mut h = harness(json!({
        "error_mode": "ignore",
        "trace_statements": [
            r#"keep_keys(span.attributes, ["service.name", "service.namespace", "cloud.region", "process.command_line"])"#,
            r#"replace_pattern(span.attributes["process.command_line"], "password\\=[^\\s]*(\\s?)", "password=***")"#,
            "limit(span.attributes, 100, [])",
            "truncate_all(span.attributes, 4096)",
        ]
    }));
    let long = "x".repeat(5000);
    let span = fixtures::span(
        "op",
        [
            kv("service.name", "checkout"),
            kv("http.method", "GET"),
            kv("process.command_line", "app --password=hunter2 --verbose"),
            kv("cloud.region", long.as_str()),
        ],
    );
    let out = changed(&mut h, &fixtures::traces([], [span]));
    let span = &out.resource_spans[0].scope_spans[0].spans[0];
    let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        ["service.name", "process.command_line", "cloud.region"]
    );
    assert_eq!(
        span.str_attribute("process.command_line"),
        Some("app --password=***--verbose")
    );
    assert_eq!(span.str_attribute("cloud.region").map(str::len), Some(4096));
}

#[test]
fn basic_config_metric_statements() {
    // convert_sum_to_gauge and convert_gauge_to_sum are not supported and left out.
    let mut h = harness(json!({
        "metric_statements": [
            r#"keep_keys(resource.attributes, ["host.name"])"#,
            "truncate_all(resource.attributes, 4096)",
            r#"set(metric.description, "Sum") where metric.type == "Sum""#,
        ]
    }));
    let batch = fixtures::metrics(
        [kv("host.name", "h1"), kv("os.type", "linux")],
        [fixtures::sum("requests", [fixtures::int_point(3, [])])],
    );
    let out = changed(&mut h, &batch);
    let rm = &out.resource_metrics[0];
    assert_eq!(
        rm.resource.as_ref().unwrap().attributes,
        [kv("host.name", "h1")]
    );
    // metric.type is an int (METRIC_DATA_TYPE_SUM); an int never equals the string "Sum".
    assert_eq!(rm.scope_metrics[0].metrics[0].description, "");
}

#[test]
fn basic_config_log_statements() {
    let mut h = harness(json!({
        "log_statements": [
            r#"set(log.severity_text, "FAIL") where log.body == "request failed""#,
            r#"replace_all_matches(log.attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")"#,
            r#"replace_all_patterns(log.attributes, "value", "/account/\\d{4}", "/account/{accountId}")"#,
            r#"set(log.body, log.attributes["http.route"])"#,
        ]
    }));
    let batch = fixtures::logs(
        [],
        [
            fixtures::log_record(
                "request failed",
                [
                    kv("http.route", "/user/12/list/7"),
                    kv("path", "/account/1234/x"),
                ],
            ),
            fixtures::log_record("ok", [kv("http.route", "/user/1/2/list/7")]),
        ],
    );
    let out = changed(&mut h, &batch);
    let recs = &out.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].severity_text, "FAIL");
    assert_eq!(
        recs[0].str_attribute("http.route"),
        Some("/user/{userId}/list/{listId}")
    );
    assert_eq!(
        recs[0].str_attribute("path"),
        Some("/account/{accountId}/x")
    );
    assert_eq!(
        recs[0].body,
        Some(AnyValue::string("/user/{userId}/list/{listId}"))
    );
    assert_eq!(recs[1].severity_text, "");
    // `*` does not cross `/`, as in filepath.Match.
    assert_eq!(recs[1].body, Some(AnyValue::string("/user/1/2/list/7")));
}

#[test]
fn advanced_config_with_group_conditions() {
    let mut h = harness(json!({
        "error_mode": "ignore",
        "metric_statements": [{
            "error_mode": "propagate",
            "conditions": ["metric.type == METRIC_DATA_TYPE_SUM"],
            "statements": [r#"set(metric.description, "Sum")"#],
        }],
        "log_statements": [{
            "conditions": [r#"IsMap(log.body) and log.body["object"] != nil"#],
            "statements": [r#"set(log.body, log.attributes["http.route"])"#],
        }],
    }));
    let batch = fixtures::metrics(
        [],
        [
            fixtures::sum("s", [fixtures::int_point(1, [])]),
            fixtures::gauge("g", [fixtures::int_point(1, [])]),
        ],
    );
    let out = changed(&mut h, &batch);
    let metrics = &out.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(
        (
            metrics[0].description.as_str(),
            metrics[1].description.as_str()
        ),
        ("Sum", "")
    );

    let mut with_object = fixtures::log_record("", [kv("http.route", "/r")]);
    with_object.body = Some(AnyValue::map([KeyValue::new("object", "x")]));
    let plain = fixtures::log_record("text", [kv("http.route", "/r")]);
    let out = changed(&mut h, &fixtures::logs([], [with_object, plain]));
    let recs = &out.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].body, Some(AnyValue::string("/r")));
    assert_eq!(recs[1].body, Some(AnyValue::string("text")));
}

#[test]
fn context_inference_picks_the_deepest_path() {
    let mut h = harness(json!({
        "metric_statements": [r#"set(metric.description, "test passed") where datapoint.attributes["test"] == "pass""#]
    }));
    let batch = fixtures::metrics(
        [],
        [
            fixtures::gauge(
                "a",
                [
                    fixtures::int_point(1, [kv("test", "fail")]),
                    fixtures::int_point(2, [kv("test", "pass")]),
                ],
            ),
            fixtures::gauge("b", [fixtures::int_point(1, [kv("test", "fail")])]),
        ],
    );
    let out = changed(&mut h, &batch);
    let metrics = &out.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(
        (
            metrics[0].description.as_str(),
            metrics[1].description.as_str()
        ),
        ("test passed", "")
    );

    let mut h = harness(json!({
        "metric_statements": [r#"set(resource.attributes["test"], "passed")"#, r#"set(metric.description, "test passed")"#]
    }));
    let out = changed(
        &mut h,
        &fixtures::metrics([], [fixtures::gauge("a", [fixtures::int_point(1, [])])]),
    );
    assert_eq!(
        out.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .str_attribute("test"),
        Some("passed")
    );
    assert_eq!(
        out.resource_metrics[0].scope_metrics[0].metrics[0].description,
        "test passed"
    );
}

#[test]
fn example_set_only_if_missing() {
    let mut h = harness(
        json!({"trace_statements": [r#"set(span.attributes["test"], "pass") where span.attributes["test"] == nil"#]}),
    );
    let batch = fixtures::traces(
        [],
        [
            fixtures::span("a", []),
            fixtures::span("b", [kv("test", "keep")]),
        ],
    );
    let out = changed(&mut h, &batch);
    let spans = &out.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans[0].str_attribute("test"), Some("pass"));
    assert_eq!(spans[1].str_attribute("test"), Some("keep"));
    // Once set everywhere, the same statement changes nothing: the batch is forwarded as is.
    assert_eq!(h.process(&out).unwrap(), Processed::Unchanged);
}

#[test]
fn example_rename_attribute_both_ways() {
    let batch = fixtures::traces(
        [kv("k8s.namespace.name", "prod"), kv("other", "x")],
        [fixtures::span("a", [])],
    );
    let mut h = harness(json!({"trace_statements": [
        r#"set(resource.attributes["namespace"], resource.attributes["k8s.namespace.name"])"#,
        r#"delete_key(resource.attributes, "k8s.namespace.name")"#,
    ]}));
    let out = changed(&mut h, &batch);
    assert_eq!(
        out.resource_spans[0].resource.as_ref().unwrap().attributes,
        [kv("other", "x"), kv("namespace", "prod")]
    );

    let mut h = harness(json!({"trace_statements": [
        r#"replace_all_patterns(resource.attributes, "key", "k8s\\.namespace\\.name", "namespace")"#,
    ]}));
    let out = changed(&mut h, &batch);
    assert_eq!(
        out.resource_spans[0].resource.as_ref().unwrap().attributes,
        [kv("namespace", "prod"), kv("other", "x")]
    );
}

#[test]
fn example_move_body_and_combine_attributes() {
    let mut h = harness(json!({"log_statements": [r#"set(log.attributes["body"], log.body)"#]}));
    let out = changed(
        &mut h,
        &fixtures::logs([], [fixtures::log_record("hello", [])]),
    );
    assert_eq!(
        out.resource_logs[0].scope_logs[0].log_records[0].str_attribute("body"),
        Some("hello")
    );

    let mut h = harness(json!({"trace_statements": [
        r#"set(resource.attributes["test"], Concat([resource.attributes["foo"], resource.attributes["bar"]], " "))"#,
    ]}));
    let out = changed(
        &mut h,
        &fixtures::traces([kv("foo", "a"), kv("bar", "b")], [fixtures::span("s", [])]),
    );
    assert_eq!(
        out.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .str_attribute("test"),
        Some("a b")
    );
}

#[test]
fn example_parsing_json_logs_through_the_cache() {
    let mut h = harness(json!({"log_statements": [{"statements": [
        r#"merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsMatch(log.body, "^\\{")"#,
        r#"set(log.attributes["attr1"], log.cache["attr1"])"#,
        r#"set(log.attributes["attr2"], log.cache["attr2"])"#,
        r#"set(log.attributes["nested.attr3"], log.cache["nested"]["attr3"])"#,
    ]}]}));
    let body = r#"{"name": "log", "attr1": "foo", "attr2": "bar", "nested": {"attr3": "example"}}"#;
    let out = changed(
        &mut h,
        &fixtures::logs(
            [],
            [
                fixtures::log_record(body, []),
                fixtures::log_record("plain text", []),
            ],
        ),
    );
    let recs = &out.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].str_attribute("attr1"), Some("foo"));
    assert_eq!(recs[0].str_attribute("attr2"), Some("bar"));
    assert_eq!(recs[0].str_attribute("nested.attr3"), Some("example"));
    // The cache is emptied between records: nothing leaks into the second one.
    assert!(recs[1].attributes.is_empty());
}

#[test]
fn example_override_group_error_mode() {
    let mut h = harness(json!({
        "error_mode": "propagate",
        "log_statements": [
            {"error_mode": "ignore", "statements": [
                r#"merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsMatch(log.body, "^\\{")"#,
                r#"set(log.attributes["attr1"], log.cache["attr1"])"#,
            ]},
            {"statements": [r#"set(log.attributes["namespace"], log.attributes["k8s.namespace.name"])"#]},
        ]
    }));
    let batch = fixtures::logs(
        [],
        [fixtures::log_record(
            "{not json",
            [kv("k8s.namespace.name", "ns")],
        )],
    );
    let out = changed(&mut h, &batch);
    assert_eq!(
        out.resource_logs[0].scope_logs[0].log_records[0].str_attribute("namespace"),
        Some("ns")
    );
}

#[test]
fn example_severity_from_an_unstructured_body() {
    let mut h = harness(json!({"log_statements": [
        r#"set(log.severity_number, SEVERITY_NUMBER_INFO) where IsString(log.body) and IsMatch(log.body, "\\sINFO\\s")"#,
        r#"set(log.severity_number, SEVERITY_NUMBER_WARN) where IsString(log.body) and IsMatch(log.body, "\\sWARN\\s")"#,
        r#"set(log.severity_number, SEVERITY_NUMBER_ERROR) where IsString(log.body) and IsMatch(log.body, "\\sERROR\\s")"#,
    ]}));
    let batch = fixtures::logs(
        [],
        [
            fixtures::log_record(
                "[2023-09-22 07:38:22,570] INFO [Something]: some interesting log",
                [],
            ),
            fixtures::log_record("[2023-09-22 07:38:22,570] ERROR [Something]: bad", []),
        ],
    );
    let out = changed(&mut h, &batch);
    let recs = &out.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].severity_number, SeverityNumber::Info as i32);
    assert_eq!(recs[1].severity_number, SeverityNumber::Error as i32);
}

#[test]
fn example_copy_attributes_matching_a_regex() {
    let mut h = harness(json!({"trace_statements": [{"statements": [
        r#"set(resource.cache["attrs"], resource.attributes)"#,
        r#"keep_matching_keys(resource.cache["attrs"], "pod_labels_.*")"#,
        r#"set(resource.attributes["kubernetes.labels"], resource.cache["attrs"])"#,
    ]}]}));
    let batch = fixtures::traces(
        [kv("pod_labels_app", "web"), kv("host", "h")],
        [fixtures::span("s", [])],
    );
    let out = changed(&mut h, &batch);
    let labels = out.resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attribute("kubernetes.labels")
        .cloned();
    assert_eq!(labels, Some(AnyValue::map([kv("pod_labels_app", "web")])));
}
