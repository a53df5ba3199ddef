//! `hash_seed` mode: decisions identical to the Collector's.

use super::reference::{SplitMix64, go_compute_hash, go_hash_seed_sampled, go_scaled_rate};
use super::*;
use crate::config;
use crate::fnv::{compute_hash, randomness_from_bytes};
use crate::sampler::Sampler;
use crate::traces::sample_span;

fn sampler(pct: f32, seed: u32) -> Sampler {
    let json = format!(r#"{{"sampling_percentage": {pct}, "hash_seed": {seed}}}"#);
    let (settings, _) = config::parse(&json).expect("valid");
    Sampler::new(&settings)
}

#[test]
fn fnv_vectors_from_the_collector_tests() {
    // tracesprocessor_test.go, TestEmptyHashFunction: seed 0, no bytes -> 0x3515; 16 zero
    // bytes -> 0x2455 (after & 0x3fff).
    assert_eq!(compute_hash(&[], 0) & 0x3fff, 0x3515);
    assert_eq!(compute_hash(&[0; 16], 0) & 0x3fff, 0x2455);
}

#[test]
fn fnv_vectors_with_nonzero_seeds_match_the_reference() {
    // Computed separately (Python, from the Go source); a big-endian seed would differ.
    let cases: &[(&str, u32, u32)] = &[
        ("0102030405060708090a0b0c0d0e0f10", 0, 0xdf24_1a25),
        ("0102030405060708090a0b0c0d0e0f10", 1, 0x0673_47d4),
        ("fefefefefefefefefe80000000000000", 22, 0x6f56_8bbd),
        ("5b8efff798038103d269b633813fc60c", 4312, 0xb066_6317),
        ("ffffffffffffffffffffffffffffffff", 0xdead_beef, 0xaa19_2d7b),
    ];
    for &(id, seed, want) in cases {
        assert_eq!(compute_hash(&tid(id), seed), want, "{id} seed {seed}");
        assert_eq!(
            go_compute_hash(&tid(id), seed),
            want,
            "reference {id} seed {seed}"
        );
    }
}

#[test]
fn randomness_from_bytes_vectors() {
    // randomnessFromBytes(b, seed).RValue(), computed from the Go source separately.
    assert_eq!(
        randomness_from_bytes(&tid("fefefefefefefefefe80000000000000"), 22).rvalue(),
        "d1081bd3f54bbd"
    );
    assert_eq!(
        randomness_from_bytes(b"1234", 49).rvalue(),
        "16dc14dd363a48"
    );
    assert_eq!(
        randomness_from_bytes(&tid("0102030405060708090a0b0c0d0e0f10"), 4312).rvalue(),
        "8ec82a0182dc4d"
    );
}

#[test]
fn scaled_rates_use_float32_truncation() {
    // 10% -> 1638 (float32 1638.3999), 100/3 -> 5461, 0.006% -> 0 (never samples).
    assert_eq!(go_scaled_rate(10.0), 1638);
    assert_eq!(go_scaled_rate(100.0 / 3.0), 5461);
    assert_eq!(go_scaled_rate(0.006), 0);
    assert_eq!(sampler(0.006, 1), Sampler::Never);
    assert_eq!(go_scaled_rate(250.0), 16384);
}

#[test]
fn decisions_match_the_reference_for_random_trace_ids() {
    let mut rng = SplitMix64(7);
    for &pct in &[0.01f32, 1.0, 10.0, 100.0 / 3.0, 50.0, 62.5, 99.99, 100.0] {
        for &seed in &[0u32, 1, 22, 4312, u32::MAX] {
            let s = sampler(pct, seed);
            for _ in 0..2000 {
                let id = rng.trace_id();
                let (verdict, _) = sample_span(&s, true, &span(id, "", vec![]));
                assert_eq!(
                    verdict.sampled,
                    go_hash_seed_sampled(&id, seed, pct),
                    "pct {pct} seed {seed} id {id:02x?}"
                );
            }
        }
    }
}

#[test]
fn kept_fraction_over_100k_trace_ids_is_within_4_sigma() {
    let mut rng = SplitMix64(2024);
    for &pct in &[1.0f32, 10.0, 33.3, 50.0, 90.0] {
        let s = sampler(pct, 1234);
        let n = 100_000usize;
        let kept = (0..n)
            .filter(|_| {
                let id = rng.trace_id();
                sample_span(&s, true, &span(id, "", vec![])).0.sampled
            })
            .count();
        let p = f64::from(go_scaled_rate(pct)) / 16384.0;
        let expected = n as f64 * p;
        let sigma = (n as f64 * p * (1.0 - p)).sqrt();
        let deviation = (kept as f64 - expected).abs();
        assert!(
            deviation <= 4.0 * sigma,
            "pct {pct}: kept {kept}, expected {expected:.0} +- {:.0}",
            4.0 * sigma
        );
    }
}

#[test]
fn kept_spans_carry_rv_and_th_like_the_collector() {
    // tracesprocessor_test.go, Test_tracesamplerprocessor_HashSeedTraceState: the t-value
    // written for each percentage (14-bit rounding: e668, aaac).
    let cases: &[(f32, &str)] = &[
        (100.0, "0"),
        (75.0, "4"),
        (50.0, "8"),
        (25.0, "c"),
        (10.0, "e668"),
        (100.0 / 3.0, "aaac"),
    ];
    let mut rng = SplitMix64(99);
    for &(pct, tvout) in cases {
        let mut h = harness(&format!(
            r#"{{"sampling_percentage": {pct}, "mode": "hash_seed", "hash_seed": 4312}}"#
        ));
        let mut found = 0;
        while found < 10 {
            let id = rng.trace_id();
            let Some(ts) = process_one(&mut h, span(id, "", vec![])) else {
                continue;
            };
            let rv = randomness_from_bytes(&id, 4312).rvalue();
            assert_eq!(ts, format!("ot=rv:{rv};th:{tvout}"), "pct {pct}");
            found += 1;
        }
    }
}

#[test]
fn spans_of_one_trace_share_the_decision_and_other_vendors_are_kept() {
    let mut rng = SplitMix64(5);
    let mut h = harness(r#"{"sampling_percentage": 50, "hash_seed": 9}"#);
    for _ in 0..200 {
        let id = rng.trace_id();
        let spans: Vec<Span> = (0..4)
            .map(|i| span(id, if i == 0 { "vendor=a" } else { "" }, vec![]))
            .collect();
        let want = go_hash_seed_sampled(&id, 9, 50.0);
        match h.process(&fixtures::traces([], spans)).unwrap() {
            Processed::Dropped => assert!(!want),
            Processed::Replaced(out) => {
                assert!(want);
                let spans = &out.resource_spans[0].scope_spans[0].spans;
                assert_eq!(spans.len(), 4);
                let rv = randomness_from_bytes(&id, 9).rvalue();
                assert_eq!(spans[0].trace_state, format!("ot=rv:{rv};th:8,vendor=a"));
                assert_eq!(spans[1].trace_state, format!("ot=rv:{rv};th:8"));
            }
            Processed::Unchanged => panic!("kept hash_seed spans get a tracestate"),
        }
    }
}

#[test]
fn missing_randomness_follows_fail_closed() {
    // tracesprocessor_test.go, Test_tracessamplerprocessor_MissingRandomness: an all-zero
    // trace id; (pct, fail_closed) -> sampled.
    let cases = [
        (0.0, true, false),
        (62.0, true, false),
        (100.0, true, false),
        (0.0, false, false),
        (62.0, false, true),
        (100.0, false, true),
    ];
    for (pct, fail_closed, sampled) in cases {
        let mut h = harness(&format!(
            r#"{{"sampling_percentage": {pct}, "hash_seed": 4312, "fail_closed": {fail_closed}}}"#
        ));
        let kept = process_one(&mut h, span([0; 16], "", vec![]));
        assert_eq!(
            kept.is_some(),
            sampled,
            "pct {pct} fail_closed {fail_closed}"
        );
    }
}

#[test]
fn arriving_sampling_state_is_an_error_in_hash_seed_mode() {
    // An rv or th in the tracestate: "item has sampling randomness/threshold, equalizing or
    // proportional mode recommended"; fail_closed decides, the tracestate is left alone.
    let id = tid("0102030405060708090a0b0c0d0e0f10");
    for ts in ["ot=rv:80000000000000", "ot=th:8", "ot=th:zz"] {
        let mut closed = harness(r#"{"sampling_percentage": 100, "hash_seed": 1}"#);
        assert_eq!(process_one(&mut closed, span(id, ts, vec![])), None, "{ts}");
        let mut open =
            harness(r#"{"sampling_percentage": 100, "hash_seed": 1, "fail_closed": false}"#);
        assert_eq!(
            process_one(&mut open, span(id, ts, vec![])).as_deref(),
            Some(ts),
            "{ts}"
        );
    }
}

#[test]
fn sampling_priority_overrides_every_mode() {
    // tracesprocessor_test.go, Test_tracesamplerprocessor_SpanSamplingPriority.
    let cases: Vec<(f32, &str, AnyValue, bool)> = vec![
        (0.0, "sampling.priority", AnyValue::int(2), true),
        (0.0, "sampling.priority", AnyValue::double(1.0), true),
        (0.0, "sampling.priority", AnyValue::string("1"), true),
        (100.0, "sampling.priority", AnyValue::int(0), false),
        (100.0, "sampling.priority", AnyValue::double(0.0), false),
        (100.0, "sampling.priority", AnyValue::string("0"), false),
        (0.0, "no.sampling.priority", AnyValue::int(2), false),
        (100.0, "no.sampling.priority", AnyValue::int(2), true),
        // Negative, NaN and non-numeric values defer to the sampler.
        (100.0, "sampling.priority", AnyValue::int(-1), true),
        (0.0, "sampling.priority", AnyValue::string("NaN"), false),
        (100.0, "sampling.priority", AnyValue::string("high"), true),
        (0.0, "sampling.priority", AnyValue::string("1e400"), false),
    ];
    for mode in ["hash_seed", "proportional", "equalizing"] {
        for (pct, key, value, sampled) in &cases {
            let mut h = harness(&format!(
                r#"{{"sampling_percentage": {pct}, "mode": "{mode}", "hash_seed": 4312}}"#
            ));
            let s = span(
                tid("fefefefefefefefefe80000000000000"),
                "",
                vec![KeyValue {
                    key: (*key).to_owned(),
                    value: Some(value.clone()),
                    key_strindex: 0,
                }],
            );
            assert_eq!(
                process_one(&mut h, s).is_some(),
                *sampled,
                "{mode} {pct} {key}={value:?}"
            );
        }
    }
}

#[test]
fn priority_sampled_spans_get_th_0() {
    let mut h = harness(r#"{"sampling_percentage": 0.0001, "hash_seed": 3}"#);
    let s = span(
        tid("0102030405060708090a0b0c0d0e0f10"),
        "",
        vec![KeyValue::new("sampling.priority", 5i64)],
    );
    // 0.0001% truncates to a zero hash rate: the 0% sampler, which writes no rv.
    assert_eq!(process_one(&mut h, s).as_deref(), Some("ot=th:0"));
}
