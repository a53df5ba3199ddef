use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue};

use super::exponential::{ExpHistogram, Side};
use super::*;
use crate::fixtures::*;

fn name_of(metric: &opentelemetry_proto::tonic::metrics::v1::Metric) -> String {
    Translator::new("", true, false, &BTreeMap::new()).metric_name(metric)
}

#[test]
fn metric_names_follow_the_collector_normalisation() {
    let g = |name: &str, unit: &str| gauge(name, unit, "", vec![]);
    let counter = |name: &str, unit: &str| sum(name, unit, true, CUMULATIVE, vec![]);
    let updown = |name: &str, unit: &str| sum(name, unit, false, CUMULATIVE, vec![]);
    let cases = [
        // The examples of pkg/translator/prometheus/README.md.
        (
            g("(lambda).function.executions(#)", ""),
            "lambda_function_executions",
        ),
        (
            g("system.filesystem.usage", "By"),
            "system_filesystem_usage_bytes",
        ),
        (
            g("system.network.dropped", "{packets}"),
            "system_network_dropped",
        ),
        (
            g("system.network.dropped", "packets"),
            "system_network_dropped_packets",
        ),
        (
            g("system.memory.utilization", "1"),
            "system_memory_utilization_ratio",
        ),
        (
            g("storage.filesystem.utilization", "%"),
            "storage_filesystem_utilization_percent",
        ),
        (
            g("astro.light.speed", "m/s"),
            "astro_light_speed_meters_per_second",
        ),
        (
            g("crypto.dogecoin.value", "$"),
            "crypto_dogecoin_value_dollars",
        ),
        (
            counter("system.processes.created", ""),
            "system_processes_created_total",
        ),
        // Units.
        (
            g("http.server.duration", "ms"),
            "http_server_duration_milliseconds",
        ),
        (g("rpc.latency", "s"), "rpc_latency_seconds"),
        (g("rpc.latency.seconds", "s"), "rpc_latency_seconds"),
        (g("io", "MiBy"), "io_mebibytes"),
        (g("requests", "{request}/s"), "requests_per_second"),
        (g("throughput", "By/s"), "throughput_bytes_per_second"),
        (g("cpu.temperature", "Cel"), "cpu_temperature_celsius"),
        // `ratio` only for gauges; `1` adds nothing to sums.
        (updown("process.threads", "1"), "process_threads"),
        (counter("http.requests", "1"), "http_requests_total"),
        // `_total` moves to the end and is not doubled.
        (
            counter("http_requests_total", "{request}"),
            "http_requests_total",
        ),
        (counter("total.bytes", "By"), "bytes_total"),
        (
            counter("rpc.duration", "ms"),
            "rpc_duration_milliseconds_total",
        ),
        // A leading digit gets `_`; non-ASCII letters are escaped.
        (g("2xx.responses", ""), "_2xx_responses"),
        (g("café.latency", ""), "caf_latency"),
        (g("...", ""), ""),
    ];
    for (metric, want) in cases {
        assert_eq!(name_of(&metric), want, "{} [{}]", metric.name, metric.unit);
    }
}

#[test]
fn namespace_prefixes_every_name_and_is_sanitised() {
    let t = Translator::new("test-space", true, false, &BTreeMap::new());
    assert_eq!(
        t.metric_name(&sum("requests", "", true, CUMULATIVE, vec![])),
        "test_space_requests_total"
    );
    assert_eq!(t.target_info_name(), "test_space_target_info");
    let plain = Translator::new("", true, false, &BTreeMap::new());
    assert_eq!(plain.target_info_name(), "target_info");
}

#[test]
fn without_suffixes_only_forbidden_characters_change() {
    let t = Translator::new("", false, false, &BTreeMap::new());
    let counter = sum("http.server.duration", "ms", true, CUMULATIVE, vec![]);
    assert_eq!(t.metric_name(&counter), "http_server_duration");
    assert_eq!(
        t.metric_name(&gauge("foo:bar/baz__qux", "1", "", vec![])),
        "foo:bar_baz__qux"
    );
    assert_eq!(t.metric_name(&gauge("9lives", "", "", vec![])), "_9lives");
    let ns = Translator::new("ns", false, false, &BTreeMap::new());
    assert_eq!(ns.metric_name(&gauge("a.b", "", "", vec![])), "ns_a_b");
}

#[test]
fn units_translate_alone() {
    assert_eq!(naming::prometheus_unit("ms"), "milliseconds");
    assert_eq!(naming::prometheus_unit("By"), "bytes");
    assert_eq!(naming::prometheus_unit("1"), "");
    assert_eq!(naming::prometheus_unit("{request}"), "");
    assert_eq!(naming::prometheus_unit("m/s"), "meters_per_second");
    assert_eq!(naming::prometheus_unit("{packet}/s"), "per_second");
    assert_eq!(naming::prometheus_unit("widgets/mo"), "widgets_per_month");
}

#[test]
fn label_names_follow_the_collector_examples() {
    // pkg/translator/prometheus/README.md, "Labels".
    for (attribute, label) in [
        ("name", "name"),
        ("host.name", "host_name"),
        ("host_name", "host_name"),
        ("name (of the host)", "name__of_the_host_"),
        ("2 cents", "key_2_cents"),
        ("__name", "__name"),
        ("_name", "key_name"),
        ("", ""),
    ] {
        assert_eq!(naming::label_name(attribute), label, "{attribute:?}");
    }
}

#[test]
fn numbers_format_as_go() {
    for (v, want) in [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (0.005, "0.005"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (100000.0, "100000"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (4.4040192e7, "4.4040192e+07"),
        (1e-300, "1e-300"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(float::sample(v), want, "{v:e}");
    }
    assert_eq!(float::decimal(1e6), "1000000");
    assert_eq!(float::decimal(0.005), "0.005");
    assert_eq!(float::decimal(2.5e-7), "0.00000025");
    assert_eq!(float::decimal(f64::INFINITY), "+Inf");
    assert_eq!(float::attribute(3.5), "3.5");
    assert_eq!(float::attribute(1e-7), "1e-7");
    assert_eq!(float::attribute(1e21), "1e+21");
    assert_eq!(float::attribute(123456789.0), "123456789");
}

fn resource_labels(resource: &[KeyValue]) -> ResourceLabels {
    ResourceLabels::of(resource)
}

#[test]
fn labels_join_collisions_and_take_job_and_instance_from_the_resource() {
    let t = Translator::new("", true, false, &BTreeMap::new());
    let resource = vec![
        kv("service.namespace", "shop"),
        kv("service.name", "checkout"),
        kv("service.instance.id", "i-1"),
        kv("host.name", "web-1"),
    ];
    let attributes = vec![
        kv("host_name", "b"),
        kv("host.name", "a"),
        kv("job", "overridden"),
        kv("empty", ""),
        kv_value("code", Value::IntValue(200)),
        kv_value("ok", Value::BoolValue(true)),
        kv_value("ratio", Value::DoubleValue(0.25)),
        kv_value("raw", Value::BytesValue(vec![1, 2, 3])),
        kv_value(
            "list",
            Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(Value::StringValue("x".into())),
                    },
                    AnyValue {
                        value: Some(Value::IntValue(1)),
                    },
                ],
            }),
        ),
    ];
    let labels = t.labels(&resource, &resource_labels(&resource), &[], &attributes);
    let got: Vec<(&str, &str)> = labels.iter().collect();
    assert_eq!(
        got,
        vec![
            ("code", "200"),
            // "host.name" sorts before "host_name": its value comes first.
            ("host_name", "a;b"),
            ("instance", "i-1"),
            ("job", "shop/checkout"),
            ("list", r#"["x",1]"#),
            ("ok", "true"),
            ("ratio", "0.25"),
            ("raw", "AQID"),
        ]
    );
}

#[test]
fn resource_to_telemetry_copies_resource_attributes_over_point_attributes() {
    let t = Translator::new("", true, true, &BTreeMap::new());
    let resource = vec![
        kv("service.name", "checkout"),
        kv("k8s.pod.name", "pod-7"),
        kv("region", "eu"),
    ];
    let attributes = vec![kv("region", "us"), kv("path", "/")];
    let labels = t.labels(&resource, &resource_labels(&resource), &[], &attributes);
    assert_eq!(labels.get("k8s_pod_name"), Some("pod-7"));
    assert_eq!(labels.get("region"), Some("eu"), "the resource wins");
    assert_eq!(labels.get("service_name"), Some("checkout"));
    assert_eq!(labels.get("job"), Some("checkout"));
    assert_eq!(labels.get("path"), Some("/"));
    let off = Translator::new("", true, false, &BTreeMap::new());
    let labels = off.labels(&resource, &resource_labels(&resource), &[], &attributes);
    assert_eq!(labels.get("k8s_pod_name"), None);
    assert_eq!(labels.get("region"), Some("us"));
}

#[test]
fn const_labels_fill_in_but_never_replace() {
    let extra = BTreeMap::from([
        ("env".to_owned(), "prod".to_owned()),
        ("path".to_owned(), "ignored".to_owned()),
        ("team.name".to_owned(), "core".to_owned()),
    ]);
    let t = Translator::new("", true, false, &extra);
    let labels = t.labels(&[], &ResourceLabels::default(), &[], &[kv("path", "/x")]);
    let got: Vec<(&str, &str)> = labels.iter().collect();
    assert_eq!(
        got,
        vec![("env", "prod"), ("path", "/x"), ("team_name", "core")]
    );
}

#[test]
fn scope_labels_name_version_and_attributes() {
    let mut s = scope("io.opentelemetry.http", "1.2.0");
    s.attributes.push(kv("library.lang", "java"));
    let labels = labels::scope_labels(Some(&s), "https://opentelemetry.io/schemas/1.21.0");
    assert_eq!(
        labels,
        vec![
            ("otel_scope_library_lang".to_owned(), "java".to_owned()),
            (
                "otel_scope_name".to_owned(),
                "io.opentelemetry.http".to_owned()
            ),
            ("otel_scope_version".to_owned(), "1.2.0".to_owned()),
            (
                "otel_scope_schema_url".to_owned(),
                "https://opentelemetry.io/schemas/1.21.0".to_owned()
            ),
        ]
    );
    assert!(labels::scope_labels(Some(&scope("", "")), "").is_empty());
    assert!(labels::scope_labels(None, "").is_empty());
}

#[test]
fn target_info_labels_leave_out_the_service_attributes() {
    let extra = BTreeMap::from([("cluster".to_owned(), "c1".to_owned())]);
    let t = Translator::new("", true, false, &extra);
    let resource = service();
    let got: Vec<(String, String)> = t
        .target_info_labels(&resource, false)
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("host_name".to_owned(), "web-1".to_owned()),
            ("instance".to_owned(), "i-1".to_owned()),
            ("job".to_owned(), "checkout".to_owned()),
        ]
    );
    assert_eq!(
        t.target_info_labels(&resource, true).get("cluster"),
        Some("c1")
    );
    assert!(Translator::has_info_attributes(&resource));
    assert!(!Translator::has_info_attributes(&resource[..2]));
}

#[test]
fn labels_with_sets_replaces_and_removes() {
    let labels = Labels::from_map(BTreeMap::from([
        ("b".to_owned(), "1".to_owned()),
        ("d".to_owned(), "2".to_owned()),
    ]));
    let with = labels.with("__name__", "m").with("c", "3").with("d", "4");
    let got: Vec<(&str, &str)> = with.iter().collect();
    assert_eq!(
        got,
        vec![("__name__", "m"), ("b", "1"), ("c", "3"), ("d", "4")]
    );
    assert_eq!(with.with("b", "").get("b"), None);
    assert_eq!(with.len(), 4);
}

#[test]
fn exponential_buckets_become_exact_classic_buckets() {
    // Scale 0: base 2, bucket i holds (2^i, 2^(i+1)].
    let h = ExpHistogram {
        scale: 0,
        count: 7,
        sum: Some(20.0),
        zero_count: 1,
        zero_threshold: 0.0,
        positive: Side {
            offset: 0,
            counts: vec![1, 2, 3],
        },
        negative: Side::default(),
    };
    assert_eq!(
        h.classic_buckets(),
        vec![(0.0, 1), (2.0, 2), (4.0, 4), (8.0, 7)]
    );
    // Scale 1: base √2; negative bucket 0 holds [-√2, -1); offset -2 positive starts at 2^-1.
    let h = ExpHistogram {
        scale: 1,
        count: 6,
        sum: None,
        zero_count: 0,
        zero_threshold: 0.001,
        positive: Side {
            offset: -2,
            counts: vec![2, 0],
        },
        negative: Side {
            offset: 0,
            counts: vec![1, 3],
        },
    };
    let buckets = h.classic_buckets();
    let bounds: Vec<String> = buckets.iter().map(|(b, _)| float::sample(*b)).collect();
    assert_eq!(
        bounds,
        vec![
            "-1.4142135623730951",
            "-1",
            "0.001",
            "0.7071067811865476",
            "1"
        ]
    );
    let counts: Vec<u64> = buckets.iter().map(|(_, c)| *c).collect();
    assert_eq!(counts, vec![3, 4, 4, 6, 6]);
}

#[test]
fn exponential_merge_downscales_to_the_lower_scale() {
    let a = ExpHistogram {
        scale: 1,
        count: 4,
        sum: Some(1.0),
        zero_count: 0,
        zero_threshold: 0.0,
        positive: Side {
            offset: 0,
            counts: vec![1, 1, 1, 1],
        },
        negative: Side::default(),
    };
    let b = ExpHistogram {
        scale: 0,
        count: 2,
        sum: Some(2.0),
        zero_count: 1,
        zero_threshold: 0.0,
        positive: Side {
            offset: 0,
            counts: vec![1],
        },
        negative: Side::default(),
    };
    let merged = a.merge(&b);
    assert_eq!(merged.scale, 0);
    assert_eq!(merged.count, 6);
    assert_eq!(merged.sum, Some(3.0));
    assert_eq!(merged.zero_count, 1);
    // Scale-1 indexes 0,1 → 0 and 2,3 → 1 at scale 0.
    assert_eq!(
        merged.positive,
        Side {
            offset: 0,
            counts: vec![3, 2]
        }
    );
}
