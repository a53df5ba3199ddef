//! How decisions combine: the final-decision rules, `and`, `drop` and `sample_on_first_match`.

use super::*;

const HEALTH_DROP: &str = r#"{"name": "no-health", "type": "drop", "drop": {"drop_sub_policy": [
    {"name": "route", "type": "string_attribute", "string_attribute": {"key": "http.route", "values": ["/health"]}}]}}"#;

#[test]
fn drop_wins_over_sampled_and_is_evaluated_first() {
    let config = policies(&format!(
        r#"{{"name": "all", "type": "always_sample"}}, {HEALTH_DROP}"#
    ));
    let (mut ts, _) = evaluator(&config);
    assert_eq!(ts.policy_names(), ["no-health", "all"]);
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("http.route", "/health")]),
        span(2, 0, 1, vec![kv("http.route", "/users")]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2]);
}

#[test]
fn drop_needs_every_sub_policy() {
    let config = policies(
        r#"{"name": "all", "type": "always_sample"},
           {"name": "quiet-health", "type": "drop", "drop": {"drop_sub_policy": [
             {"type": "string_attribute", "string_attribute": {"key": "http.route", "values": ["/health"]}},
             {"type": "status_code", "status_code": {"status_codes": ["OK", "UNSET"]}}]}}"#,
    );
    let (mut ts, _) = evaluator(&config);
    let mut failing = span_with_status(2, StatusCode::Error);
    failing.attributes.push(kv("http.route", "/health"));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("http.route", "/health")]),
        failing,
    ]);
    // Trace 1 is a healthy health check: dropped. Trace 2 failed: not dropped, sampled.
    assert_eq!(kept(&mut ts, &b), [2]);
}

#[test]
fn invert_not_sampled_beats_sampled() {
    let config = policies(
        r#"{"name": "all", "type": "always_sample"},
           {"name": "no-debug", "type": "string_attribute", "string_attribute": {"key": "env", "values": ["debug"], "invert_match": true}}"#,
    );
    let (mut ts, _) = evaluator(&config);
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("env", "debug")]),
        span(2, 0, 1, vec![kv("env", "prod")]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2]);
}

#[test]
fn invert_sampled_loses_to_not_sampled_but_stands_alone() {
    let invert = r#"{"name": "no-debug", "type": "string_attribute", "string_attribute": {"key": "env", "values": ["debug"], "invert_match": true}}"#;
    let errors =
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}"#;
    let b = one_scope(vec![
        span_with_status(1, StatusCode::Ok),
        span_with_status(2, StatusCode::Error),
    ]);
    let (mut both, _) = evaluator(&policies(&format!("{invert}, {errors}")));
    // Trace 1: InvertSampled + NotSampled -> not kept; trace 2: InvertSampled + Sampled.
    assert_eq!(kept(&mut both, &b), [2]);
    let (mut alone, _) = evaluator(&policies(invert));
    assert_eq!(kept(&mut alone, &b), [1, 2]);
}

#[test]
fn and_requires_every_sub_policy() {
    let config = policies(
        r#"{"name": "slow-checkout", "type": "and", "and": {"and_sub_policy": [
            {"name": "slow", "type": "latency", "latency": {"threshold_ms": 100}},
            {"name": "svc", "type": "string_attribute", "string_attribute": {"key": "service.name", "values": ["checkout"]}}]}}"#,
    );
    let (mut ts, _) = evaluator(&config);
    let b = batch(vec![
        resource(
            vec![kv("service.name", "checkout")],
            vec![vec![span(1, 0, 150, vec![]), span(2, 0, 50, vec![])]],
        ),
        resource(
            vec![kv("service.name", "web")],
            vec![vec![span(3, 0, 150, vec![])]],
        ),
    ]);
    assert_eq!(kept(&mut ts, &b), [1]);
}

#[test]
fn and_treats_invert_not_sampled_as_not_sampled() {
    let config = policies(
        r#"{"name": "a", "type": "and", "and": {"and_sub_policy": [
            {"type": "always_sample"},
            {"type": "boolean_attribute", "boolean_attribute": {"key": "synthetic", "value": true, "invert_match": true}}]}}"#,
    );
    let (mut ts, _) = evaluator(&config);
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("synthetic", true)]),
        span(2, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2]);
}

#[test]
fn sample_on_first_match_stops_at_the_first_sampled() {
    let items = r#"{"name": "all", "type": "always_sample"},
        {"name": "no-debug", "type": "string_attribute", "string_attribute": {"key": "env", "values": ["debug"], "invert_match": true}}"#;
    let b = one_scope(vec![span(1, 0, 1, vec![kv("env", "debug")])]);
    let (mut evaluate_all, _) = evaluator(&policies(items));
    assert_eq!(kept(&mut evaluate_all, &b), Vec::<u8>::new());
    let (mut first_match, _) = evaluator(&format!(
        r#"{{"sample_on_first_match": true, "policies": [{items}]}}"#
    ));
    assert_eq!(kept(&mut first_match, &b), [1]);
}

#[test]
fn no_matching_policy_means_not_sampled() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}"#,
    ));
    let b = one_scope(vec![span(1, 0, 1, vec![])]);
    assert!(kept(&mut ts, &b).is_empty());
}
