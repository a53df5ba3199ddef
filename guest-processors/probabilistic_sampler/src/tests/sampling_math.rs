//! The OTEP 235 arithmetic and the tracestate codec.

use crate::sampling::{Randomness, SamplingError, Threshold};
use crate::tracestate::{TraceStateError, W3CTraceState};

#[test]
fn tvalues_round_trip_and_trim_zeros() {
    assert_eq!(Threshold::from_tvalue("8").unwrap().tvalue(), "8");
    assert_eq!(
        Threshold::from_tvalue("80000000000000").unwrap().tvalue(),
        "8"
    );
    assert_eq!(
        Threshold::from_tvalue("0").unwrap(),
        Threshold::ALWAYS_SAMPLE
    );
    assert_eq!(Threshold::ALWAYS_SAMPLE.tvalue(), "0");
    assert_eq!(Threshold::NEVER_SAMPLE.tvalue(), "");
    assert_eq!(Threshold::from_tvalue("FFFC").unwrap().tvalue(), "fffc");
    assert_eq!(Threshold::from_tvalue(""), Err(SamplingError::TValueEmpty));
    assert_eq!(
        Threshold::from_tvalue("123456789012345"),
        Err(SamplingError::TValueSize)
    );
    assert_eq!(Threshold::from_tvalue("-1"), Err(SamplingError::Syntax));
    assert_eq!(Threshold::from_tvalue("+1"), Err(SamplingError::Syntax));
}

#[test]
fn rvalues_need_14_digits() {
    assert_eq!(
        Randomness::from_rvalue("00000000000001")
            .unwrap()
            .unsigned(),
        1
    );
    assert_eq!(Randomness::from_rvalue("1"), Err(SamplingError::RValueSize));
    assert_eq!(
        Randomness::from_unsigned(1).unwrap().rvalue(),
        "00000000000001"
    );
}

#[test]
fn trace_id_randomness_is_the_low_56_bits() {
    let mut id = [0xfe; 16];
    id[9..].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Randomness::from_trace_id(&id).rvalue(), "80000000000000");
}

#[test]
fn probability_to_threshold_with_precision() {
    // Values from tracesprocessor_test.go expectations.
    let t = |p: f64, prec: u32| {
        Threshold::from_probability_with_precision(p, prec)
            .unwrap()
            .tvalue()
    };
    assert_eq!(t(0.01, 4), "fd70a");
    assert_eq!(t(0.01, 3), "fd71");
    assert_eq!(t(0.01, 0), "fd70a3d70a3d71");
    assert_eq!(t(0.4, 3), "99a");
    assert_eq!(t(0.2, 6), "cccccd");
    assert_eq!(t(0.5, 4), "8");
    assert_eq!(t(1.0, 4), "0");
    // The Collector's float32 percentage (1 - 8e-7) * 100.
    assert_eq!(t(f64::from(99.99992f32) / 100.0, 10), "00000cccccccd");
    assert_eq!(
        Threshold::from_probability_with_precision(0.0, 4),
        Err(SamplingError::ProbabilityRange)
    );
    // Leading zeros raise the precision, up to all 14 digits.
    assert_eq!(t(1.0 - 1e-16, 4), "00000000000008");
    assert_eq!(t(2f64.powi(-14), 1), "fffc");
    assert!((Threshold::from_tvalue("c").unwrap().probability() - 0.25).abs() < 1e-12);
}

#[test]
fn w3c_tracestate_parsing() {
    let ts = W3CTraceState::parse("a=1 , ot=th:8;rv:11111111111111;k:v,b@c=2").unwrap();
    assert_eq!(ts.otel().threshold(), Threshold::from_tvalue("8").ok());
    assert_eq!(ts.serialize(), "ot=rv:11111111111111;th:8;k:v,a=1,b@c=2");
    assert_eq!(W3CTraceState::parse("").unwrap().serialize(), "");
    assert_eq!(W3CTraceState::parse("A=1"), Err(TraceStateError::Syntax));
    assert_eq!(
        W3CTraceState::parse("ot=th:8;"),
        Err(TraceStateError::Syntax)
    );
    assert_eq!(
        W3CTraceState::parse("ot=TH:8"),
        Err(TraceStateError::Syntax)
    );
    assert!(matches!(
        W3CTraceState::parse("ot=rv:123"),
        Err(TraceStateError::Value(SamplingError::RValueSize))
    ));
    let many: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    assert_eq!(
        W3CTraceState::parse(&many.join(",")),
        Err(TraceStateError::Size)
    );
    assert!(W3CTraceState::parse(&many[..31].join(",")).is_ok());
    assert_eq!(
        W3CTraceState::parse(&"a".repeat(1025)),
        Err(TraceStateError::Size)
    );
}

#[test]
fn updating_th_never_raises_probability() {
    let mut ts = W3CTraceState::parse("ot=th:c").unwrap();
    assert!(
        !ts.otel_mut()
            .update_threshold(Threshold::from_tvalue("8").unwrap())
    );
    assert_eq!(ts.serialize(), "ot=th:c");
    assert!(
        ts.otel_mut()
            .update_threshold(Threshold::from_tvalue("e").unwrap())
    );
    assert_eq!(ts.serialize(), "ot=th:e");
}
