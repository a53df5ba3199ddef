//! Configuration: the Collector's defaults and validation, every problem reported.

use super::*;
use crate::config::{self, Mode};

#[test]
fn defaults_follow_the_collector_factory() {
    let (s, warnings) = config::parse(r#"{"sampling_percentage": 10}"#).expect("valid");
    assert_eq!(s.hash_seed, 0);
    assert_eq!(s.mode, None);
    assert!(s.fail_closed, "fail_closed defaults to true");
    assert_eq!(s.sampling_precision, 4);
    assert_eq!(s.attribute_source, "traceID");
    assert!(warnings.is_empty());
    // An unset mode is hash_seed (the Collector's defaultMode), for traces and logs.
    let h = harness(r#"{"sampling_percentage": 10, "mode": ""}"#);
    assert!(h.warnings().is_empty());
}

#[test]
fn missing_percentage_is_a_warning_and_samples_nothing() {
    let mut h = harness("{}");
    assert_eq!(h.warnings()[0].path, "sampling_percentage");
    let s = span(tid("0102030405060708090a0b0c0d0e0f10"), "", vec![]);
    assert_eq!(process_one(&mut h, s), None);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let err = Harness::<ProbabilisticSampler>::new(
        r#"{"sampling_percentage": -1, "hash_seed": -3, "mode": "fast",
            "fail_closed": "yes", "sampling_precision": 0, "attribute_source": "span",
            "from_attribute": 7, "sampling_priority": [], "rate": 1}"#,
    )
    .err()
    .expect("invalid");
    let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "rate",
        "sampling_percentage",
        "hash_seed",
        "mode",
        "fail_closed",
        "sampling_precision",
        "attribute_source",
        "from_attribute",
        "sampling_priority",
    ] {
        assert!(paths.contains(&want), "{want} missing from {err:?}");
    }
    let msg = |path: &str| {
        err.iter()
            .find(|p| p.path == path)
            .map(|p| p.message.clone())
            .unwrap_or_default()
    };
    assert!(msg("sampling_percentage").contains("negative"), "{err:?}");
    assert!(
        msg("mode").contains("unsupported sampler mode \"fast\""),
        "{err:?}"
    );
    assert!(
        msg("attribute_source").contains("invalid attribute source"),
        "{err:?}"
    );
}

#[test]
fn range_checks_match_validate() {
    let too_small = config::parse(r#"{"sampling_percentage": 1e-20}"#).unwrap_err();
    assert!(too_small[0].message.contains("too small"), "{too_small:?}");
    let precision =
        config::parse(r#"{"sampling_percentage": 1, "sampling_precision": 15}"#).unwrap_err();
    assert!(precision[0].message.contains("<= 14"), "{precision:?}");
    let seed = config::parse(r#"{"sampling_percentage": 1, "hash_seed": 4294967296}"#).unwrap_err();
    assert_eq!(seed[0].path, "hash_seed");
    // Over 100% is allowed and means 100%.
    let (s, _) = config::parse(r#"{"sampling_percentage": 250, "mode": "equalizing"}"#).unwrap();
    assert_eq!(s.mode, Some(Mode::Equalizing));
    assert!(config::parse("[1]").is_err());
    assert!(config::parse("{").is_err());
}
