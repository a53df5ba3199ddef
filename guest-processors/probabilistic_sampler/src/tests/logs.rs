//! Logs: the cases of the Collector's `TestLogsSampling`, `TestLogsSamplingState` and
//! `TestLogsMissingRandomness` (logsprocessor_test.go). The Go configs leave `FailClosed`
//! false and `AttributeSource` empty unless a case sets them; these configs spell that out.

use super::reference::go_compute_hash;
use super::*;

/// The 100 records of `TestLogsSampling`: trace id `[0;8] ++ [i;8]` (all zero for i = 0),
/// `rando` = computeHash(trace id, 123) as an int, `foo` (bytes: the trace id) and `bar`
/// (`TraceID.String()`) on even records, `priority` = 100.0 on every fourth.
fn hundred_records() -> ExportLogsServiceRequest {
    let records = (0..100u8).map(|i| {
        let mut id = [0u8; 16];
        id[8..].fill(i);
        let mut attrs = vec![KeyValue::new("rando", i64::from(go_compute_hash(&id, 123)))];
        if i % 2 == 0 {
            attrs.push(KeyValue::new("foo", AnyValue::bytes(id.to_vec())));
            // pcommon's TraceID.String() is "" for the all-zero id.
            let hex: String = if i == 0 {
                String::new()
            } else {
                id.iter().map(|b| format!("{b:02x}")).collect()
            };
            attrs.push(KeyValue::new("bar", hex));
        }
        if i % 4 == 0 {
            attrs.push(KeyValue::new("priority", 100.0f64));
        }
        let mut r = fixtures::log_record("hello", attrs);
        r.trace_id = id.to_vec();
        r
    });
    fixtures::logs([], records)
}

fn kept_records(config: &str, batch: &ExportLogsServiceRequest) -> usize {
    let mut h = harness(config);
    match h.process(batch).expect("processed") {
        Processed::Unchanged => batch.resource_logs[0].scope_logs[0].log_records.len(),
        Processed::Dropped => 0,
        Processed::Replaced(out) => out
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum(),
    }
}

#[test]
fn kept_counts_match_the_collector() {
    let batch = hundred_records();
    let cases: &[(&str, &str, usize)] = &[
        ("happy_path", r#""sampling_percentage": 100"#, 100),
        (
            "nothing",
            r#""sampling_percentage": 0, "fail_closed": true"#,
            0,
        ),
        (
            "roughly half",
            r#""sampling_percentage": 50, "attribute_source": "traceID", "mode": "hash_seed", "fail_closed": true"#,
            45,
        ),
        (
            "sampling_source no sampling",
            r#""sampling_percentage": 0, "attribute_source": "record", "from_attribute": "foo""#,
            0,
        ),
        (
            "sampling_source all sampling",
            r#""sampling_percentage": 100, "attribute_source": "record", "from_attribute": "foo""#,
            100,
        ),
        (
            "sampling_source sampling",
            r#""sampling_percentage": 50, "attribute_source": "record", "from_attribute": "foo", "fail_closed": true"#,
            23,
        ),
        (
            "sampling_source sampling as string",
            r#""sampling_percentage": 50, "attribute_source": "record", "from_attribute": "bar", "fail_closed": true"#,
            29,
        ),
        (
            "sampling_priority_0_record",
            r#""sampling_percentage": 0, "sampling_priority": "priority", "attribute_source": "record", "from_attribute": "rando""#,
            25,
        ),
        (
            "sampling_priority_50_record",
            r#""sampling_percentage": 50, "sampling_priority": "priority", "attribute_source": "record", "from_attribute": "rando""#,
            64,
        ),
        (
            "sampling_priority_100_record",
            r#""sampling_percentage": 100, "sampling_priority": "priority", "attribute_source": "record", "from_attribute": "rando""#,
            100,
        ),
        (
            "sampling_priority_0_traceid",
            r#""sampling_percentage": 0, "sampling_priority": "priority", "attribute_source": "traceID""#,
            25,
        ),
        (
            "sampling_priority_50_traceid",
            r#""sampling_percentage": 50, "sampling_priority": "priority", "attribute_source": "traceID""#,
            57,
        ),
        (
            "sampling_priority_100_traceid",
            r#""sampling_percentage": 100, "sampling_priority": "priority", "attribute_source": "traceID""#,
            100,
        ),
        (
            "sampling_priority with sampling field",
            r#""sampling_percentage": 0, "attribute_source": "record", "from_attribute": "foo", "sampling_priority": "priority""#,
            25,
        ),
    ];
    for (name, fields, want) in cases {
        let mut config = format!("{{{fields}");
        if !fields.contains("attribute_source") {
            config.push_str(r#", "attribute_source": """#);
        }
        if !fields.contains("fail_closed") {
            config.push_str(r#", "fail_closed": false"#);
        }
        config.push('}');
        assert_eq!(kept_records(&config, &batch), *want, "{name}: {config}");
    }
}

/// One record with the given trace id and attributes; returns its attributes if kept.
fn process_record(config: &str, trace_id: &str, attrs: Vec<KeyValue>) -> Option<Vec<KeyValue>> {
    let mut r = fixtures::log_record("x", attrs);
    r.trace_id = tid(trace_id).to_vec();
    let original = r.attributes.clone();
    let mut h = harness(config);
    match h.process(&fixtures::logs([], [r])).expect("processed") {
        Processed::Unchanged => Some(original),
        Processed::Dropped => None,
        Processed::Replaced(out) => Some(
            out.resource_logs[0].scope_logs[0].log_records[0]
                .attributes
                .clone(),
        ),
    }
}

fn sorted(mut attrs: Vec<KeyValue>) -> Vec<(String, AnyValue)> {
    attrs.sort_by(|a, b| a.key.cmp(&b.key));
    attrs
        .into_iter()
        .map(|kv| (kv.key, kv.value.unwrap_or_default()))
        .collect()
}

fn kv(k: &str, v: impl Into<AnyValue>) -> KeyValue {
    KeyValue::new(k, v)
}

/// (name, config, trace id, attributes, expected attributes when kept).
type StateCase = (
    &'static str,
    &'static str,
    &'static str,
    Vec<KeyValue>,
    Option<Vec<KeyValue>>,
);

#[test]
fn sampling_state_cases_from_the_collector() {
    const DEFAULT_TID: &str = "fefefefefefefefefe80000000000000";
    let cases: Vec<StateCase> = vec![
        (
            "100 percent traceID",
            r#"{"sampling_percentage": 100, "attribute_source": "traceID", "mode": "proportional", "fail_closed": false}"#,
            DEFAULT_TID,
            vec![kv("ignored", "value")],
            Some(vec![kv("ignored", "value"), kv("sampling.threshold", "0")]),
        ),
        (
            "100 percent traceID hash_seed",
            r#"{"sampling_percentage": 100, "attribute_source": "traceID", "mode": "hash_seed", "hash_seed": 22, "fail_closed": false}"#,
            DEFAULT_TID,
            vec![kv("K", "V")],
            Some(vec![
                kv("K", "V"),
                kv("sampling.threshold", "0"),
                // randomnessFromBytes(defaultTID, 22).RValue()
                kv("sampling.randomness", "d1081bd3f54bbd"),
            ]),
        ),
        (
            "100 percent attribute",
            r#"{"sampling_percentage": 100, "attribute_source": "record", "from_attribute": "veryrandom", "hash_seed": 49, "fail_closed": false}"#,
            DEFAULT_TID,
            vec![kv("veryrandom", "1234")],
            Some(vec![
                kv("veryrandom", "1234"),
                kv("sampling.threshold", "0"),
                // randomnessFromBytes([]byte("1234"), 49).RValue()
                kv("sampling.randomness", "16dc14dd363a48"),
            ]),
        ),
        (
            "0 percent traceID",
            r#"{"sampling_percentage": 0, "attribute_source": "traceID", "fail_closed": false}"#,
            DEFAULT_TID,
            vec![],
            None,
        ),
        (
            "10 percent priority sampled incoming randomness",
            r#"{"sampling_percentage": 0, "attribute_source": "traceID", "sampling_priority": "veryrandom", "sampling_precision": 6, "fail_closed": false}"#,
            DEFAULT_TID,
            vec![
                kv("sampling.randomness", "e6147c00000000"),
                kv("veryrandom", 10.125f64),
            ],
            Some(vec![
                kv("sampling.randomness", "e6147c00000000"),
                kv("veryrandom", 10.125f64),
                kv("sampling.threshold", "e6147b"),
            ]),
        ),
        (
            "25 percent incoming",
            r#"{"sampling_percentage": 50, "attribute_source": "traceID", "mode": "proportional", "fail_closed": false}"#,
            "fefefefefefefefefef0000000000000",
            vec![kv("sampling.threshold", "c")],
            Some(vec![kv("sampling.threshold", "e")]),
        ),
        (
            "25 percent arriving inconsistent",
            r#"{"sampling_percentage": 50, "attribute_source": "traceID", "mode": "equalizing", "fail_closed": true}"#,
            "fefefefefefefefefeb0000000000000",
            vec![kv("sampling.threshold", "c")],
            None,
        ),
        (
            "25 percent arriving equalizing",
            r#"{"sampling_percentage": 50, "attribute_source": "traceID", "mode": "equalizing", "sampling_priority": "prio", "fail_closed": false}"#,
            "fefefefefefefefefefefefefefefefe",
            vec![kv("sampling.threshold", "c"), kv("prio", 37i64)],
            // The priority (37%) would raise the probability of the arriving 25%: refused.
            Some(vec![kv("sampling.threshold", "c"), kv("prio", 37i64)]),
        ),
        (
            "hash_seed with spec randomness",
            r#"{"sampling_percentage": 100, "attribute_source": "traceID", "mode": "hash_seed", "fail_closed": false}"#,
            DEFAULT_TID,
            vec![kv("sampling.randomness", "f2341234123412")],
            Some(vec![kv("sampling.randomness", "f2341234123412")]),
        ),
    ];
    for (name, config, trace_id, attrs, want) in cases {
        let got = process_record(config, trace_id, attrs);
        assert_eq!(got.map(sorted), want.map(sorted), "{name}");
    }
}

#[test]
fn missing_randomness_follows_fail_closed_in_every_mode() {
    for mode in ["hash_seed", "proportional", "equalizing"] {
        for source in ["record", "traceID"] {
            for (pct, fail_closed, sampled) in [
                (0, true, false),
                (50, true, false),
                (100, true, false),
                (0, false, false),
                (50, false, true),
                (100, false, true),
            ] {
                let config = format!(
                    r#"{{"sampling_percentage": {pct}, "mode": "{mode}", "hash_seed": 4312,
                        "fail_closed": {fail_closed}, "attribute_source": "{source}",
                        "from_attribute": "unused"}}"#
                );
                let got = process_record(
                    &config,
                    "00000000000000000000000000000000",
                    vec![kv("unused", "")],
                );
                assert_eq!(
                    got.is_some(),
                    sampled,
                    "{mode} {source} {pct} {fail_closed}"
                );
            }
        }
    }
}

#[test]
fn logs_priority_zero_and_strings_are_ignored() {
    // logRecordToPriorityThreshold: only int and double values count, and 0 means "use the
    // configured probability" (the README's "0 never samples" is not what the code does).
    let config =
        r#"{"sampling_percentage": 100, "sampling_priority": "p", "mode": "proportional"}"#;
    let id = "0102030405060708090a0b0c0d0e0f10";
    assert!(process_record(config, id, vec![kv("p", 0i64)]).is_some());
    assert!(process_record(config, id, vec![kv("p", "0")]).is_some());
    let config = r#"{"sampling_percentage": 0, "sampling_priority": "p"}"#;
    assert!(process_record(config, id, vec![kv("p", 100i64)]).is_some());
    assert!(
        process_record(config, id, vec![kv("p", 150i64)]).is_none(),
        "over 100% is invalid"
    );
}
