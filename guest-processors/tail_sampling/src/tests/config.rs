//! Configuration errors name the policy; host fields are accepted.

use super::*;

fn problems(config: &str) -> Vec<ConfigProblem> {
    match TailSampling::with_clock(config, Box::new(ManualClock::default())) {
        Ok(_) => panic!("expected problems for {config}"),
        Err(p) => p,
    }
}

fn has(problems: &[ConfigProblem], path: &str, fragment: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.contains(fragment))
}

#[test]
fn missing_field_names_the_policy() {
    let p = problems(&policies(
        r#"{"name": "a", "type": "always_sample"},
           {"name": "b", "type": "always_sample"},
           {"name": "slow", "type": "latency", "latency": {}}"#,
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].path, "policies[2]");
    assert_eq!(p[0].message, r#""slow": latency needs threshold_ms"#);
    assert_eq!(
        p[0].to_string(),
        r#"policies[2]: "slow": latency needs threshold_ms"#
    );
}

#[test]
fn every_problem_is_reported() {
    let p = problems(
        r#"{"decision_wait": "30s", "num_traces": 10, "expected_new_traces_per_sec": 5,
            "decision_cache": {"sampled_cache_size": 100}, "bogus": 1,
            "policies": [
              {"name": "t", "type": "teleport"},
              {"name": "o", "type": "ottl_condition", "ottl_condition": {"span": ["true"]}},
              {"name": "s", "type": "status_code", "status_code": {"status_codes": ["FAIL"]}},
              {"name": "r", "type": "string_attribute", "string_attribute": {"key": "k", "values": ["("], "enabled_regex_matching": true}},
              {"name": "n", "type": "numeric_attribute", "numeric_attribute": {"key": "k"}},
              {"name": "l", "type": "latency", "latency": {"threshold_ms": "1s", "extra": 1}},
              {"name": "p", "type": "probabilistic", "probabilistic": {"sampling_percentage": -5}},
              {"name": "rl", "type": "rate_limiting", "rate_limiting": {}},
              {"name": "b", "type": "boolean_attribute", "boolean_attribute": {"key": "k"}},
              {"name": "s", "type": "always_sample"},
              {"type": "always_sample"},
              {"name": "x", "type": "always_sample", "colour": "red"},
              {"name": "nested", "type": "and", "and": {"and_sub_policy": [
                  {"name": "inner", "type": "and", "and": {"and_sub_policy": [{"type": "always_sample"}]}}]}},
              {"name": "c", "type": "composite", "composite": {"composite_sub_policy": [
                  {"name": "d", "type": "drop", "drop": {"drop_sub_policy": [{"type": "always_sample"}]}}]}}
            ]}"#,
    );
    assert!(has(&p, "bogus", "unknown field `bogus`"), "{p:#?}");
    assert!(
        has(
            &p,
            "policies[0]",
            r#""t": unknown sampling policy type "teleport""#
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[1]", "ottl_condition is not supported"),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[2]", "unknown status code \"FAIL\""),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "policies[3]",
            "values[0] is not a valid regular expression"
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[4]", "needs min_value or max_value"),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[5]", "latency.threshold_ms must be an integer"),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[5]", "latency has no field `extra`"),
        "{p:#?}"
    );
    assert!(has(&p, "policies[6]", "must not be negative"), "{p:#?}");
    assert!(
        has(
            &p,
            "policies[7]",
            r#""rl": rate_limiting needs spans_per_second"#
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[8]", "boolean_attribute needs value"),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[9]", "duplicate policy name \"s\""),
        "{p:#?}"
    );
    assert!(
        has(&p, "policies[10]", "policy name cannot be empty"),
        "{p:#?}"
    );
    assert!(has(&p, "policies[11]", "unknown field `colour`"), "{p:#?}");
    assert!(
        has(
            &p,
            "policies[12].and.and_sub_policy[0]",
            "type and is not allowed"
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "policies[13]",
            "composite needs max_total_spans_per_second"
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "policies[13].composite.composite_sub_policy[0]",
            "type drop is not allowed"
        ),
        "{p:#?}"
    );
    // Host fields produced no problem.
    assert!(!p.iter().any(|x| x.path.starts_with("decision")), "{p:#?}");
}

#[test]
fn host_fields_are_accepted_and_collector_extras_warned() {
    let (_, warnings) = TailSampling::with_clock(
        r#"{"decision_wait": "10s", "num_traces": 50000, "expected_new_traces_per_sec": 10,
            "decision_cache": {"sampled_cache_size": 1000}, "block_on_overflow": true,
            "policies": [{"name": "a", "type": "always_sample", "latency": {"threshold_ms": 1}}]}"#,
        Box::new(ManualClock::default()),
    )
    .expect("valid");
    assert!(
        warnings.iter().any(|w| w.path == "block_on_overflow"),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.path == "policies[0]" && w.message.contains("`latency` is ignored")),
        "{warnings:?}"
    );
}

#[test]
fn policies_are_required() {
    let p = problems(r#"{"decision_wait": "10s"}"#);
    assert_eq!(p[0].path, "policies");
    let p = problems(r#"{"policies": []}"#);
    assert_eq!(p[0].path, "policies");
    let p = problems(r#"{"policies": {}}"#);
    assert!(p[0].message.contains("expected a list"), "{p:?}");
    assert!(!problems("not json").is_empty());
}

#[test]
fn init_through_the_harness_reports_problems() {
    let err = sluice_guest_sdk::testing::Harness::<TailSampling>::new(&policies(
        r#"{"name": "slow", "type": "latency"}"#,
    ))
    .err()
    .expect("invalid");
    assert_eq!(
        err[0].to_string(),
        r#"policies[0]: "slow": latency needs threshold_ms"#
    );
}
