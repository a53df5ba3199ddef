use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use sluice_config::{RemoteWriteExporterSettings, TranslationStrategy};

use super::proto::{Label, MetricType, Sample, TimeSeries};
use super::*;
use crate::fixtures::*;

fn settings() -> RemoteWriteExporterSettings {
    RemoteWriteExporterSettings::new("https://prometheus.example:9090/api/v1/write")
}

fn decode_all(bodies: &[Vec<u8>]) -> Vec<WriteRequest> {
    bodies.iter().map(|b| decode(b).unwrap()).collect()
}

/// `__name__{a="x",...}` of a series, labels in wire order.
fn key(series: &TimeSeries) -> String {
    let labels: Vec<String> = series
        .labels
        .iter()
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    labels.join(",")
}

fn by_key(requests: &[WriteRequest]) -> BTreeMap<String, Vec<Sample>> {
    requests
        .iter()
        .flat_map(|r| &r.timeseries)
        .map(|s| (key(s), s.samples.clone()))
        .collect()
}

fn all_kinds() -> ExportMetricsServiceRequest {
    request(
        service(),
        Some(scope("meter", "")),
        vec![
            sum(
                "http.server.requests",
                "{request}",
                true,
                CUMULATIVE,
                vec![int(vec![kv("http.method", "GET")], 10, T0 - SEC, T0)],
            ),
            sum(
                "queue.depth",
                "{item}",
                false,
                CUMULATIVE,
                vec![int(vec![], 3, T0 - SEC, T0)],
            ),
            histogram(
                "http.server.duration",
                "ms",
                "Duration of requests",
                CUMULATIVE,
                vec![histogram_point(
                    vec![],
                    &[5.0, 10.0],
                    &[1, 2, 3],
                    Some(99.5),
                    T0 - SEC,
                    T0 + 2 * SEC,
                )],
            ),
            summary(
                "rpc.latency",
                "s",
                vec![],
                4,
                2.0,
                &[(0.5, 0.1), (0.99, 0.5)],
                T0,
            ),
        ],
    )
}

#[test]
fn decodes_back_to_the_expected_series() {
    let mut settings = settings();
    settings.external_labels = BTreeMap::from([
        ("cluster".to_owned(), "eu-1".to_owned()),
        ("job".to_owned(), "never-used".to_owned()),
    ]);
    let bodies = write_requests(&all_kinds(), &settings);
    assert_eq!(bodies.len(), 1);
    let requests = decode_all(&bodies);
    let series = &requests[0].timeseries;
    assert!(requests[0].metadata.is_empty(), "send_metadata is off");

    for s in series {
        let names: Vec<&str> = s.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "labels sorted by name in {}", key(s));
        assert!(names.contains(&"__name__"), "{}", key(s));
    }

    let t0 = (T0 / 1_000_000) as i64;
    let common = r#"cluster="eu-1",instance="i-1",job="checkout",otel_scope_name="meter""#;
    // Sorted by name: `le` comes before `otel_scope_name`.
    let before_le = r#"cluster="eu-1",instance="i-1",job="checkout""#;
    let want: Vec<(String, f64, i64)> = vec![
        (format!(r#"__name__="http_server_duration_milliseconds_bucket",{before_le},le="+Inf",otel_scope_name="meter""#), 6.0, t0 + 2000),
        (format!(r#"__name__="http_server_duration_milliseconds_bucket",{before_le},le="10",otel_scope_name="meter""#), 3.0, t0 + 2000),
        (format!(r#"__name__="http_server_duration_milliseconds_bucket",{before_le},le="5",otel_scope_name="meter""#), 1.0, t0 + 2000),
        (format!(r#"__name__="http_server_duration_milliseconds_count",{common}"#), 6.0, t0 + 2000),
        (format!(r#"__name__="http_server_duration_milliseconds_sum",{common}"#), 99.5, t0 + 2000),
        (format!(r#"__name__="http_server_requests_total",{common_a}"#, common_a = r#"cluster="eu-1",http_method="GET",instance="i-1",job="checkout",otel_scope_name="meter""#), 10.0, t0),
        (format!(r#"__name__="queue_depth",{common}"#), 3.0, t0),
        (format!(r#"__name__="rpc_latency_seconds",{common},quantile="0.5""#), 0.1, t0),
        (format!(r#"__name__="rpc_latency_seconds",{common},quantile="0.99""#), 0.5, t0),
        (format!(r#"__name__="rpc_latency_seconds_count",{common}"#), 4.0, t0),
        (format!(r#"__name__="rpc_latency_seconds_sum",{common}"#), 2.0, t0),
        // target_info: the other resource attributes, at the resource's latest sample time.
        (r#"__name__="target_info",cluster="eu-1",host_name="web-1",instance="i-1",job="checkout""#.to_owned(), 1.0, t0 + 2000),
    ];
    let got: Vec<(String, f64, i64)> = series
        .iter()
        .map(|s| {
            assert_eq!(s.samples.len(), 1, "{}", key(s));
            (key(s), s.samples[0].value, s.samples[0].timestamp)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn samples_of_one_series_are_merged_in_timestamp_order() {
    let request = request(
        vec![kv("service.name", "api")],
        None,
        vec![gauge(
            "temperature",
            "Cel",
            "",
            vec![
                number(vec![], 3.0, T0 + 3 * SEC),
                number(vec![], 1.0, T0 + SEC),
                number(vec![], 2.0, T0 + 2 * SEC),
            ],
        )],
    );
    let requests = decode_all(&write_requests(&request, &settings()));
    let series = by_key(&requests);
    // No target_info: the resource has nothing but service.name.
    assert_eq!(series.len(), 1);
    let samples = &series[r#"__name__="temperature_celsius",job="api""#];
    let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
    let times: Vec<i64> = samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(values, vec![1.0, 2.0, 3.0]);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
}

#[test]
fn requests_split_below_max_batch_size_bytes() {
    let points: Vec<_> = (0..200)
        .map(|i| number(vec![kv("n", &format!("{i:04}"))], f64::from(i), T0))
        .collect();
    let request = request(vec![], None, vec![gauge("load", "", "", points)]);
    let mut settings = settings();
    settings.max_batch_size_bytes = 1000;
    let encoder = RemoteWriteEncoder::new("prometheusremotewrite", &settings).unwrap();
    let encoded = encoder.encode(&request).unwrap();
    assert_eq!(encoded.series, 200);
    assert_eq!(encoded.samples, 200);
    assert!(encoded.bodies.len() > 5, "{} bodies", encoded.bodies.len());
    let requests = decode_all(&encoded.bodies);
    for r in &requests {
        assert!(r.encoded_len() < 1000, "{} bytes", r.encoded_len());
        assert!(!r.timeseries.is_empty());
    }
    // Nothing lost, nothing repeated, order kept.
    let names: Vec<String> = requests
        .iter()
        .flat_map(|r| &r.timeseries)
        .map(|s| {
            s.labels
                .iter()
                .find(|l| l.name == "n")
                .unwrap()
                .value
                .clone()
        })
        .collect();
    let want: Vec<String> = (0..200).map(|i| format!("{i:04}")).collect();
    assert_eq!(names, want);
    // One request when everything fits.
    settings.max_batch_size_bytes = 3_000_000;
    assert_eq!(write_requests(&request, &settings).len(), 1);
}

#[test]
fn a_series_larger_than_the_limit_travels_alone() {
    let big = "x".repeat(500);
    let request = request(
        vec![],
        None,
        vec![gauge(
            "g",
            "",
            "",
            vec![
                number(vec![kv("a", "small")], 1.0, T0),
                number(vec![kv("b", &big)], 2.0, T0),
                number(vec![kv("c", "small")], 3.0, T0),
            ],
        )],
    );
    let mut settings = settings();
    settings.max_batch_size_bytes = 100;
    let requests = decode_all(&write_requests(&request, &settings));
    let sizes: Vec<usize> = requests.iter().map(|r| r.timeseries.len()).collect();
    assert_eq!(sizes, vec![1, 1, 1]);
    assert!(requests[1].encoded_len() >= 100);
}

#[test]
fn delta_data_is_dropped_and_counted() {
    let request = request(
        vec![],
        None,
        vec![
            sum(
                "jobs",
                "",
                true,
                DELTA,
                vec![int(vec![], 1, T0, T0 + SEC), int(vec![], 2, T0, T0 + SEC)],
            ),
            histogram(
                "h",
                "",
                "",
                DELTA,
                vec![histogram_point(vec![], &[1.0], &[1, 1], None, T0, T0 + SEC)],
            ),
            gauge("kept", "", "", vec![number(vec![], 1.0, T0)]),
        ],
    );
    let encoder = RemoteWriteEncoder::new("prometheusremotewrite", &settings()).unwrap();
    let encoded = encoder.encode(&request).unwrap();
    assert_eq!(encoded.dropped_points, 3);
    assert_eq!(encoded.series, 1);
    let series = by_key(&decode_all(&encoded.bodies));
    assert!(series.contains_key(r#"__name__="kept""#), "{series:?}");
}

#[test]
fn exponential_histograms_and_stale_markers() {
    let mut stale = number(vec![], 5.0, T0);
    stale.flags = 1;
    let request = request(
        vec![],
        None,
        vec![
            exponential(
                "size",
                "By",
                CUMULATIVE,
                vec![exponential_point(0, 0, 1, &[1, 1], 0, T0)],
            ),
            gauge("gone", "", "", vec![stale]),
        ],
    );
    let series = by_key(&decode_all(&write_requests(&request, &settings())));
    assert_eq!(
        series[r#"__name__="size_bytes_bucket",le="4""#][0].value,
        1.0
    );
    assert_eq!(
        series[r#"__name__="size_bytes_bucket",le="8""#][0].value,
        2.0
    );
    assert_eq!(
        series[r#"__name__="size_bytes_bucket",le="+Inf""#][0].value,
        2.0
    );
    assert_eq!(series[r#"__name__="size_bytes_sum""#][0].value, 10.0);
    let marker = series[r#"__name__="gone""#][0].value;
    assert_eq!(marker.to_bits(), STALE_NAN.to_bits());
}

#[test]
fn metadata_is_sent_after_the_series_when_asked() {
    let mut settings = settings();
    settings.send_metadata = true;
    settings.target_info.enabled = false;
    let requests = decode_all(&write_requests(&all_kinds(), &settings));
    assert_eq!(requests.len(), 2);
    assert!(requests[0].metadata.is_empty());
    assert!(requests[1].timeseries.is_empty());
    let metadata: Vec<(String, i32, String, String)> = requests[1]
        .metadata
        .iter()
        .map(|m| {
            (
                m.metric_family_name.clone(),
                m.r#type,
                m.help.clone(),
                m.unit.clone(),
            )
        })
        .collect();
    assert_eq!(
        metadata,
        vec![
            (
                "http_server_duration_milliseconds".to_owned(),
                MetricType::Histogram as i32,
                "Duration of requests".to_owned(),
                "milliseconds".to_owned()
            ),
            (
                "http_server_requests_total".to_owned(),
                MetricType::Counter as i32,
                String::new(),
                String::new()
            ),
            (
                "queue_depth".to_owned(),
                MetricType::Gauge as i32,
                String::new(),
                String::new()
            ),
            (
                "rpc_latency_seconds".to_owned(),
                MetricType::Summary as i32,
                String::new(),
                "seconds".to_owned()
            ),
        ]
    );
    let names: Vec<String> = by_key(&requests).into_keys().collect();
    assert!(
        !names.iter().any(|n| n.contains("target_info")),
        "target_info disabled"
    );
}

#[test]
fn namespace_suffixes_and_resource_to_telemetry() {
    let mut settings = settings();
    settings.namespace = "otel".into();
    settings.add_metric_suffixes = false;
    settings.resource_to_telemetry_conversion.enabled = true;
    let series = by_key(&decode_all(&write_requests(&all_kinds(), &settings)));
    let key = r#"__name__="otel_http_server_requests",host_name="web-1",http_method="GET",instance="i-1",job="checkout",otel_scope_name="meter",service_instance_id="i-1",service_name="checkout""#;
    assert!(series.contains_key(key), "{:#?}", series.keys());
    assert!(series.contains_key(
        r#"__name__="otel_target_info",host_name="web-1",instance="i-1",job="checkout""#
    ));
}

#[test]
fn encoder_headers_and_checks() {
    let mut settings = settings();
    settings.headers = BTreeMap::from([
        ("X-Scope-OrgID".to_owned(), "tenant-1".to_owned()),
        ("Content-Type".to_owned(), "text/plain".to_owned()),
    ]);
    let encoder = RemoteWriteEncoder::new("prometheusremotewrite/x", &settings).unwrap();
    let headers = encoder.headers();
    assert_eq!(headers["content-encoding"], "snappy");
    assert_eq!(
        headers["content-type"], "application/x-protobuf",
        "not replaceable"
    );
    assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("Sluice/")
    );
    assert_eq!(headers["x-scope-orgid"], "tenant-1");
    assert_eq!(encoder.endpoint().host(), Some("prometheus.example"));

    for (endpoint, part) in [
        ("prometheus:9090/api/v1/write", "not a usable URL"),
        ("ftp://prometheus/write", "scheme \"ftp\""),
        ("/api/v1/write", "no scheme"),
    ] {
        let message = RemoteWriteEncoder::new(
            "prometheusremotewrite",
            &RemoteWriteExporterSettings::new(endpoint),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with("exporters.prometheusremotewrite.endpoint"),
            "{message}"
        );
        assert!(message.contains(part), "{message}");
    }
    let mut bad_header = self::settings();
    bad_header.headers.insert("bad header".into(), "x".into());
    let message = RemoteWriteEncoder::new("prometheusremotewrite", &bad_header)
        .unwrap_err()
        .to_string();
    assert!(message.contains("headers.bad header"), "{message}");
    let mut utf8 = self::settings();
    utf8.translation_strategy = Some(TranslationStrategy::NoUtf8EscapingWithSuffixes);
    let message = RemoteWriteEncoder::new("prometheusremotewrite", &utf8)
        .unwrap_err()
        .to_string();
    assert!(message.contains("NoUTF8EscapingWithSuffixes"), "{message}");
}

#[test]
fn retryable_statuses_follow_the_spec() {
    assert!(is_retryable(StatusCode::SERVICE_UNAVAILABLE));
    assert!(is_retryable(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS));
    assert!(!is_retryable(StatusCode::BAD_REQUEST));
    assert!(!is_retryable(StatusCode::NO_CONTENT));
}

#[test]
fn bodies_are_snappy_block_format() {
    let request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "up".into(),
            }],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 5,
            }],
        }],
        metadata: vec![],
    };
    let protobuf = request.encode_to_vec();
    let body = compress(&protobuf).unwrap();
    // Block format starts with the uncompressed length as a varint (no stream identifier).
    assert_eq!(usize::from(body[0]), protobuf.len());
    assert_eq!(decode(&body).unwrap(), request);
    assert!(matches!(
        decode(b"not snappy"),
        Err(PromError::Decompress(_))
    ));
}
