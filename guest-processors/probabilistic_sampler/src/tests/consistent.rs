//! `proportional` and `equalizing` modes: the cases of the Collector's
//! `Test_tracesamplerprocessor_TraceState` and `Test_tracesamplerprocessor_TraceStateErrors`
//! (tracesprocessor_test.go). The Go tests leave `SamplingPrecision` at 0 (full precision,
//! which `Validate` would refuse); precision 14 gives the same thresholds for these cases.
//! They also leave `FailClosed` false, as these configs do unless the case sets it.

use super::*;

const DEFAULT_TID: &str = "fefefefefefefefefe80000000000000";
const IMPROBABLE_TID: &str = "111111111111111111ffffffffffffff";

struct Case {
    name: &'static str,
    pct: &'static str,
    precision: u32,
    fail_closed: bool,
    tid: &'static str,
    ts: &'static str,
    priority: Option<i64>,
    /// Expected tracestate per mode (equalizing, proportional); `None`: not sampled.
    equalizing: Option<&'static str>,
    proportional: Option<&'static str>,
}

const fn case(name: &'static str, pct: &'static str) -> Case {
    Case {
        name,
        pct,
        precision: 14,
        fail_closed: false,
        tid: DEFAULT_TID,
        ts: "",
        priority: None,
        equalizing: None,
        proportional: None,
    }
}

fn both(mut c: Case, expect: Option<&'static str>) -> Case {
    c.equalizing = expect;
    c.proportional = expect;
    c
}

fn cases() -> Vec<Case> {
    vec![
        both(case("100 percent", "100"), Some("ot=th:0")),
        both(case("50 percent sampled", "50"), Some("ot=th:8")),
        both(
            Case {
                tid: "ddddddddddddddddddc0000000000000",
                ..case("25 percent sampled", "25")
            },
            Some("ot=th:c"),
        ),
        both(
            Case {
                tid: "ddddddddddddddddddb0000000000000",
                ..case("25 percent unsampled", "25")
            },
            None,
        ),
        both(
            Case {
                ts: "ot=rv:FD70A3D70A3D71",
                ..case("1 percent sampled", "1")
            },
            Some("ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71"),
        ),
        both(
            Case {
                ts: "ot=rv:FD70A3D70A3D71",
                precision: 4,
                ..case("1 percent sampled with rvalue and precision 4", "1")
            },
            Some("ot=rv:FD70A3D70A3D71;th:fd70a"),
        ),
        both(
            Case {
                ts: "ot=rv:FD70A3D70A3D71",
                precision: 3,
                ..case("1 percent sampled with rvalue and precision 3", "1")
            },
            None,
        ),
        both(
            Case {
                ts: "ot=rv:FD70A3D70A3D70",
                ..case("1 percent not sampled with rvalue", "1")
            },
            None,
        ),
        both(case("49 percent not sampled with default tid", "49"), None),
        both(
            Case {
                ts: "ot=rv:fd70B000000000",
                ..case("1 percent sampled with rvalue", "1")
            },
            Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71"),
        ),
        both(
            Case {
                tid: "a0a0a0a0a0a0a0a0a0fe000000000000",
                precision: 4,
                ..case("1 percent sampled with tid", "1")
            },
            Some("ot=th:fd70a"),
        ),
        both(
            Case {
                priority: Some(2),
                ..case("sampled by priority", "1")
            },
            Some("ot=th:0"),
        ),
        both(
            Case {
                priority: Some(0),
                ..case("not sampled by priority", "99")
            },
            None,
        ),
        Case {
            ts: "ot=rv:90000000000000;th:80000000000000",
            equalizing: Some("ot=rv:90000000000000;th:8"),
            proportional: None,
            ..case("incoming 50 percent with rvalue", "50")
        },
        both(
            Case {
                ts: "ot=th:8",
                ..case("incoming 50 percent at 25 percent not sampled", "25")
            },
            None,
        ),
        Case {
            tid: "ffffffffffffffffffffffffffffffff",
            ts: "ot=th:8",
            equalizing: Some("ot=th:c"),
            proportional: Some("ot=th:e"),
            ..case("incoming 50 percent at 25 percent sampled", "25")
        },
        Case {
            ts: "ot=rv:c0000000000000;th:8",
            equalizing: Some("ot=rv:c0000000000000;th:8"),
            proportional: Some("ot=rv:c0000000000000;th:c"),
            ..case("equalizing vs proportional", "50")
        },
        both(
            Case {
                ts: "ot=rv:40000000000000;th:8",
                ..case("inconsistent arriving threshold", "100")
            },
            Some("ot=rv:40000000000000;th:0"),
        ),
        both(
            Case {
                ts: "ot=rv:40000000000000;th:8",
                fail_closed: true,
                ..case("inconsistent arriving threshold not sampled", "1")
            },
            None,
        ),
        both(
            Case {
                ts: "ot=rv:a0000000000000",
                precision: 3,
                ..case("40 percent precision 3 with rvalue", "40")
            },
            Some("ot=rv:a0000000000000;th:99a"),
        ),
        Case {
            tid: "a0a0a0a0a0a0a0a0a0d0000000000000",
            ts: "ot=th:8",
            precision: 6,
            equalizing: Some("ot=th:99999a"),
            proportional: Some("ot=th:cccccd"),
            ..case(
                "arriving 50 percent sampled at 40 percent precision 6",
                "40",
            )
        },
        Case {
            tid: "a0a0a0a0a0a0a0a0a0b0000000000000",
            ts: "ot=th:8",
            precision: 3,
            equalizing: Some("ot=th:99a"),
            proportional: None,
            ..case(
                "arriving 50 percent sampled at 40 percent partly sampled",
                "40",
            )
        },
        both(
            Case {
                tid: "a0a0a0a0a0a0a0a0a080000000000000",
                ts: "ot=th:8",
                precision: 3,
                ..case(
                    "arriving 50 percent sampled at 40 percent not sampled",
                    "40",
                )
            },
            None,
        ),
        both(
            case("200 percent equals 100 percent", "200"),
            Some("ot=th:0"),
        ),
        Case {
            tid: IMPROBABLE_TID,
            ts: "ot=th:fffc",
            equalizing: Some("ot=th:fffc"),
            proportional: Some("ot=th:fffffff"),
            ..case("tiny probability rounding", "0.006103515625")
        },
        both(
            Case {
                tid: IMPROBABLE_TID,
                precision: 10,
                ..case("almost 100pct sampling", "99.99992")
            },
            Some("ot=th:00000cccccccd"),
        ),
        Case {
            tid: IMPROBABLE_TID,
            ts: "ot=th:fffffffffffff8",
            equalizing: Some("ot=th:fffffffffffff8"),
            proportional: None,
            ..case("probability underflow", "0.0625")
        },
    ]
}

#[test]
fn tracestate_cases_from_the_collector() {
    for c in cases() {
        for (mode, expect) in [
            ("equalizing", c.equalizing),
            ("proportional", c.proportional),
        ] {
            let mut h = harness(&format!(
                r#"{{"sampling_percentage": {}, "mode": "{mode}", "hash_seed": 4312,
                    "sampling_precision": {}, "fail_closed": {}}}"#,
                c.pct, c.precision, c.fail_closed
            ));
            let attrs = c
                .priority
                .map(|p| vec![KeyValue::new("sampling.priority", p)])
                .unwrap_or_default();
            let got = process_one(&mut h, span(tid(c.tid), c.ts, attrs));
            assert_eq!(got.as_deref(), expect, "{mode}: {}", c.name);
        }
    }
}

#[test]
fn tracestate_errors_drop_spans_when_failing_closed() {
    let cases = [
        ("missing randomness", "00000000000000000000000000000000", ""),
        ("invalid r-value", DEFAULT_TID, "ot=rv:abababababababab"),
        ("invalid t-value", DEFAULT_TID, "ot=th:abababababababab"),
        ("t-value syntax", DEFAULT_TID, "ot=th:-1"),
        (
            "inconsistent t-value trace ID",
            "ffffffffffffffffff70000000000000",
            "ot=th:8",
        ),
        (
            "inconsistent t-value r-value",
            DEFAULT_TID,
            "ot=th:8;rv:70000000000000",
        ),
    ];
    for mode in ["equalizing", "proportional"] {
        for (name, id, ts) in cases {
            let mut h = harness(&format!(
                r#"{{"sampling_percentage": 100, "mode": "{mode}", "fail_closed": true}}"#
            ));
            assert_eq!(
                process_one(&mut h, span(tid(id), ts, vec![])),
                None,
                "{mode}: {name}"
            );
        }
    }
}

#[test]
fn other_vendors_survive_and_ot_moves_first() {
    let mut h = harness(r#"{"sampling_percentage": 50, "mode": "proportional"}"#);
    let got = process_one(
        &mut h,
        span(
            tid(DEFAULT_TID),
            " vendor=x , ot=rv:c0000000000000;xx:y ",
            vec![],
        ),
    );
    assert_eq!(
        got.as_deref(),
        Some("ot=rv:c0000000000000;th:8;xx:y,vendor=x")
    );
}
