//! `rate_limiting` and `composite`, on a manual clock.

use super::*;

fn spans_of(n: u8, count: usize) -> Vec<Span> {
    (0..count).map(|_| span(n, 0, 1, vec![])).collect()
}

#[test]
fn rate_limiting_is_a_token_bucket_of_spans() {
    // 10 spans/s, burst 20 (twice the rate), bucket starts full.
    let (mut ts, clock) = evaluator(&policies(
        r#"{"name": "rl", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 10}}"#,
    ));
    let mut spans = spans_of(1, 15);
    spans.extend(spans_of(2, 6)); // 5 tokens left: refused
    spans.extend(spans_of(3, 5)); // exactly 5: kept
    assert_eq!(kept(&mut ts, &one_scope(spans)), [1, 3]);
    // Half a second refills 5 tokens.
    clock.advance(Duration::from_millis(500));
    let mut spans = spans_of(4, 5);
    spans.extend(spans_of(5, 1));
    assert_eq!(kept(&mut ts, &one_scope(spans)), [4]);
    // A trace larger than the burst never passes, even with a full bucket.
    clock.advance(Duration::from_secs(60));
    assert!(kept(&mut ts, &one_scope(spans_of(6, 21))).is_empty());
    assert_eq!(kept(&mut ts, &one_scope(spans_of(7, 20))), [7]);
}

#[test]
fn rate_limiting_burst_capacity_and_state_across_calls() {
    let (mut ts, clock) = evaluator(&policies(
        r#"{"name": "rl", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 2, "burst_capacity": 3}}"#,
    ));
    assert_eq!(kept(&mut ts, &one_scope(spans_of(1, 3))), [1]);
    assert!(kept(&mut ts, &one_scope(spans_of(2, 1))).is_empty());
    clock.advance(Duration::from_millis(500)); // +1 token
    assert_eq!(kept(&mut ts, &one_scope(spans_of(3, 1))), [3]);
    assert!(kept(&mut ts, &one_scope(spans_of(4, 1))).is_empty());
    // The clock going backwards adds nothing and breaks nothing.
    clock.set(Duration::from_secs(1_000));
    assert!(kept(&mut ts, &one_scope(spans_of(5, 1))).is_empty());
}

const COMPOSITE: &str = r#"{"name": "budget", "type": "composite", "composite": {
    "max_total_spans_per_second": 100,
    "policy_order": ["prod", "rest"],
    "composite_sub_policy": [
        {"name": "prod", "type": "string_attribute", "string_attribute": {"key": "env", "values": ["prod"]}},
        {"name": "rest", "type": "always_sample"}],
    "rate_allocation": [{"policy": "prod", "percent": 60}, {"policy": "rest", "percent": 40}]}}"#;

fn env_spans(n: u8, env: &str, count: usize) -> Vec<Span> {
    (0..count)
        .map(|_| span(n, 0, 1, vec![kv("env", env)]))
        .collect()
}

#[test]
fn composite_allocates_spans_per_second_to_sub_policies() {
    let (mut ts, clock) = evaluator(&policies(COMPOSITE));
    let mut spans = env_spans(1, "prod", 50); // prod: 50 <= 60
    spans.extend(env_spans(2, "prod", 20)); // prod: 70 > 60 -> not sampled, no fallthrough
    spans.extend(env_spans(3, "dev", 30)); // rest: 30 <= 40
    spans.extend(env_spans(4, "dev", 20)); // rest: 50 > 40
    spans.extend(env_spans(5, "prod", 10)); // prod: 60 <= 60
    assert_eq!(kept(&mut ts, &one_scope(spans)), [1, 3, 5]);
    // A new second resets the counters.
    clock.advance(Duration::from_secs(1));
    assert_eq!(kept(&mut ts, &one_scope(env_spans(6, "dev", 40))), [6]);
}

#[test]
fn composite_without_allocation_gets_nothing_and_zero_percent_an_equal_share() {
    let config = policies(
        r#"{"name": "c", "type": "composite", "composite": {
            "max_total_spans_per_second": 90,
            "composite_sub_policy": [
                {"name": "a", "type": "string_attribute", "string_attribute": {"key": "k", "values": ["a"]}},
                {"name": "b", "type": "always_sample"}],
            "rate_allocation": [{"policy": "a", "percent": 0}]}}"#,
    );
    let clock = ManualClock::new(Duration::from_secs(5));
    let (mut ts, warnings) =
        TailSampling::with_clock(&config, Box::new(clock.clone())).expect("valid");
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("\"b\" has no rate_allocation")),
        "{warnings:?}"
    );
    let mut spans: Vec<Span> = (0..45).map(|_| span(1, 0, 1, vec![kv("k", "a")])).collect();
    spans.extend((0..1).map(|_| span(2, 0, 1, vec![kv("k", "a")])));
    spans.extend(spans_of(3, 1));
    // "a" gets 90 / 2 = 45; "b" gets 0.
    assert_eq!(kept(&mut ts, &one_scope(spans)), [1]);
}

#[test]
fn composite_can_hold_an_and() {
    let config = policies(
        r#"{"name": "c", "type": "composite", "composite": {
            "max_total_spans_per_second": 10,
            "composite_sub_policy": [
                {"name": "slow-prod", "type": "and", "and": {"and_sub_policy": [
                    {"type": "latency", "latency": {"threshold_ms": 100}},
                    {"type": "string_attribute", "string_attribute": {"key": "env", "values": ["prod"]}}]}}],
            "rate_allocation": [{"policy": "slow-prod", "percent": 100}]}}"#,
    );
    let (mut ts, _) = evaluator(&config);
    let b = one_scope(vec![
        span(1, 0, 200, vec![kv("env", "prod")]),
        span(2, 0, 50, vec![kv("env", "prod")]),
    ]);
    assert_eq!(kept(&mut ts, &b), [1]);
}
