//! One test per policy type, on small traces.

use super::*;
use crate::policies::probabilistic::{calculate_threshold, hash_trace_id};

#[test]
fn always_sample_keeps_everything() {
    let (mut ts, _) = evaluator(&policies(r#"{"name": "all", "type": "always_sample"}"#));
    let b = one_scope(vec![span(1, 0, 1, vec![]), span(2, 0, 1, vec![])]);
    assert_eq!(kept(&mut ts, &b), [1, 2]);
}

#[test]
fn latency_uses_earliest_start_to_latest_end() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "slow", "type": "latency", "latency": {"threshold_ms": 500}}"#,
    ));
    // Trace 1: two short spans 600 ms apart -> 700 ms. Trace 2: 499 ms. Trace 3: exactly 500.
    let b = one_scope(vec![
        span(1, 0, 100, vec![]),
        span(2, 0, 499, vec![]),
        span(1, 600, 700, vec![]),
        span(3, 1000, 1500, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 3]);
}

#[test]
fn latency_with_upper_threshold_is_exclusive_below_inclusive_above() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "band", "type": "latency", "latency": {"threshold_ms": 100, "upper_threshold_ms": 200}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 100, vec![]),
        span(2, 0, 101, vec![]),
        span(3, 0, 200, vec![]),
        span(4, 0, 201, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2, 3]);
}

#[test]
fn status_code_matches_any_span() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}"#,
    ));
    let b = one_scope(vec![
        span_with_status(1, StatusCode::Ok),
        span_with_status(1, StatusCode::Error),
        span_with_status(2, StatusCode::Ok),
        span(3, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1]);
    let (mut unset, _) = evaluator(&policies(
        r#"{"name": "unset", "type": "status_code", "status_code": {"status_codes": ["UNSET", "OK"]}}"#,
    ));
    assert_eq!(kept(&mut unset, &b), [1, 2, 3]);
}

#[test]
fn probabilistic_hash_and_threshold_match_the_go_arithmetic() {
    // Computed separately (Python, exact fractions) from probabilistic.go: FNV-1a 64 of salt
    // then trace id; threshold = MaxUint64 * ratio in big.Float (64-bit mantissa), truncated.
    assert_eq!(
        hash_trace_id(b"default-hash-seed", &tid(1)),
        4_058_558_143_015_274_573
    );
    assert_eq!(
        hash_trace_id(b"default-hash-seed", &tid(2)),
        8_551_901_742_027_280_125
    );
    assert_eq!(hash_trace_id(b"salty", &tid(3)), 8_646_485_135_446_039_896);
    assert_eq!(calculate_threshold(0.5), 9_223_372_036_854_775_807);
    assert_eq!(calculate_threshold(0.1), 1_844_674_407_370_955_263);
    assert_eq!(calculate_threshold(0.333), 6_142_765_776_545_281_023);
    assert_eq!(calculate_threshold(0.01), 184_467_440_737_095_519);
    assert_eq!(calculate_threshold(0.00001), 184_467_440_737_095);
    assert_eq!(calculate_threshold(0.999), 18_428_297_329_635_842_047);
    assert_eq!(calculate_threshold(1.0), u64::MAX);
    assert_eq!(calculate_threshold(2.0), u64::MAX);
    assert_eq!(calculate_threshold(0.0), 0);
}

#[test]
fn probabilistic_policy_decides_by_salted_hash() {
    // 45%: threshold 8.3e18; default salt hashes: trace 1 -> 4.06e18 (kept), 2 -> 8.55e18
    // (not), 3 -> 8.09e18 (kept), 16 -> 7.06e18 (kept).
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "p", "type": "probabilistic", "probabilistic": {"sampling_percentage": 45}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![]),
        span(2, 0, 1, vec![]),
        span(3, 0, 1, vec![]),
        span(16, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 3, 16]);
    let (mut salty, _) = evaluator(&policies(
        r#"{"name": "p", "type": "probabilistic", "probabilistic": {"hash_salt": "salty", "sampling_percentage": 30}}"#,
    ));
    // "salty": 1 -> 9.07e18, 2 -> 2.82e18, 3 -> 8.65e18, 16 -> 9.03e18; 30% = 5.53e18.
    assert_eq!(kept(&mut salty, &b), [2]);
}

#[test]
fn string_attribute_checks_resources_and_spans() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "svc", "type": "string_attribute", "string_attribute": {"key": "service.name", "values": ["checkout", "cart"]}}"#,
    ));
    let b = batch(vec![
        resource(
            vec![kv("service.name", "checkout")],
            vec![vec![span(1, 0, 1, vec![])]],
        ),
        resource(
            vec![kv("service.name", "web")],
            vec![vec![
                span(2, 0, 1, vec![kv("service.name", "cart")]),
                span(3, 0, 1, vec![kv("service.name", "web")]),
                // A non-string value reads as "" and never matches.
                span(4, 0, 1, vec![kv("service.name", 5i64)]),
            ]],
        ),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 2]);
}

#[test]
fn string_attribute_regex_is_unanchored_and_cached() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "r", "type": "string_attribute", "string_attribute": {"key": "http.route", "values": ["^/api/v[0-9]+", "health"], "enabled_regex_matching": true, "cache_max_size": 1}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("http.route", "/api/v2/users")]),
        span(2, 0, 1, vec![kv("http.route", "/web/api/v2")]),
        span(3, 0, 1, vec![kv("http.route", "/healthz")]),
        span(4, 0, 1, vec![kv("http.route", "/api/v2/users")]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 3, 4]);
}

#[test]
fn string_attribute_invert_match() {
    // Every resource and span must not match; a missing key counts as not matching.
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "not-health", "type": "string_attribute", "string_attribute": {"key": "http.route", "values": ["/health"], "invert_match": true}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("http.route", "/health")]),
        span(1, 0, 1, vec![kv("http.route", "/users")]),
        span(2, 0, 1, vec![kv("http.route", "/users")]),
        span(3, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2, 3]);
}

#[test]
fn numeric_attribute_range_and_zero_as_unset() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "5xx", "type": "numeric_attribute", "numeric_attribute": {"key": "http.status_code", "min_value": 500, "max_value": 599}}"#,
    ));
    let b = batch(vec![
        resource(
            vec![kv("http.status_code", 503i64)],
            vec![vec![span(1, 0, 1, vec![])]],
        ),
        resource(
            vec![],
            vec![vec![
                span(2, 0, 1, vec![kv("http.status_code", 599i64)]),
                span(3, 0, 1, vec![kv("http.status_code", 600i64)]),
                span(4, 0, 1, vec![kv("http.status_code", "503")]),
            ]],
        ),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 2]);
    // min_value 0 means "no minimum" in the Collector, so negative values match too, and a
    // non-integer value reads as 0.
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "small", "type": "numeric_attribute", "numeric_attribute": {"key": "n", "min_value": 0, "max_value": 10}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("n", -5i64)]),
        span(2, 0, 1, vec![kv("n", 11i64)]),
        span(3, 0, 1, vec![kv("n", "text")]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1, 3]);
}

#[test]
fn numeric_and_boolean_invert_match() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "n", "type": "numeric_attribute", "numeric_attribute": {"key": "n", "min_value": 1, "max_value": 5, "invert_match": true}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("n", 3i64)]),
        span(2, 0, 1, vec![kv("n", 9i64)]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2]);
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "b", "type": "boolean_attribute", "boolean_attribute": {"key": "debug", "value": true, "invert_match": true}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("debug", true)]),
        span(2, 0, 1, vec![kv("debug", false)]),
        span(3, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2, 3]);
}

#[test]
fn boolean_attribute_matches_value() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "b", "type": "boolean_attribute", "boolean_attribute": {"key": "retry", "value": false}}"#,
    ));
    let b = one_scope(vec![
        span(1, 0, 1, vec![kv("retry", true)]),
        span(2, 0, 1, vec![kv("retry", false)]),
        // pcommon's Bool() of a non-bool is false, which equals `value: false`.
        span(3, 0, 1, vec![kv("retry", "no")]),
        span(4, 0, 1, vec![]),
    ]);
    assert_eq!(kept(&mut ts, &b), [2, 3]);
}

#[test]
fn span_count_bounds() {
    let (mut ts, _) = evaluator(&policies(
        r#"{"name": "c", "type": "span_count", "span_count": {"min_spans": 2, "max_spans": 3}}"#,
    ));
    let mut spans = vec![span(1, 0, 1, vec![])];
    spans.extend((0..2).map(|_| span(2, 0, 1, vec![])));
    spans.extend((0..4).map(|_| span(3, 0, 1, vec![])));
    let b = one_scope(spans);
    assert_eq!(kept(&mut ts, &b), [2]);
    let (mut open, _) = evaluator(&policies(
        r#"{"name": "c", "type": "span_count", "span_count": {"min_spans": 2}}"#,
    ));
    assert_eq!(kept(&mut open, &b), [2, 3]);
}
