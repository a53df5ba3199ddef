//! The `prometheusremotewrite` exporter against a real hyper server standing in for a
//! remote-write receiver: every body is snappy-decompressed and decoded as a
//! `prometheus.WriteRequest` with `sluice_prometheus::remote_write::decode`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sluice_config::{
    AuthReference, BasicClientAuth, ComponentId, RemoteWriteExporterSettings, TranslationStrategy,
};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{ConsumeError, Consumer, Payload};
use sluice_prometheus::remote_write::proto::{Label, Sample, TimeSeries, WriteRequest};

use super::support::{
    HttpBackend, HttpReply, Logs, Pki, SeenHttp, batch, counts, eventually, fast_retry, init,
};
use crate::fixtures::{self, END, str_kv};
use crate::{ClientAuth, RemoteWriteExporter};

/// `END` in milliseconds: the samples' timestamp.
const END_MS: i64 = (END / 1_000_000) as i64;

fn settings(endpoint: &str) -> RemoteWriteExporterSettings {
    let mut settings: RemoteWriteExporterSettings =
        serde_yaml::from_str(&format!("endpoint: {endpoint:?}")).unwrap();
    settings.retry_on_failure = fast_retry();
    settings
}

fn exporter(
    name: &str,
    settings: &RemoteWriteExporterSettings,
    auth: Option<ClientAuth>,
    metrics: &Metrics,
) -> Arc<RemoteWriteExporter> {
    let id = ComponentId::new("prometheusremotewrite", Some(name));
    RemoteWriteExporter::new(&id, settings, auth, metrics.exporter(&id.to_string())).unwrap()
}

fn new_error(settings: &RemoteWriteExporterSettings, auth: Option<ClientAuth>) -> String {
    let id = ComponentId::new("prometheusremotewrite", Some("x"));
    RemoteWriteExporter::new(
        &id,
        settings,
        auth,
        Metrics::new().exporter("prometheusremotewrite/x"),
    )
    .err()
    .expect("an error")
    .to_string()
}

/// What the receiver got in one request.
fn write_request(seen: &SeenHttp) -> WriteRequest {
    sluice_prometheus::remote_write::decode(&seen.body).expect("a snappy WriteRequest body")
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn number(value: number_data_point::Value, attributes: Vec<(&str, &str)>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes.into_iter().map(|(k, v)| str_kv(k, v)).collect(),
        start_time_unix_nano: fixtures::START,
        time_unix_nano: END,
        value: Some(value),
        ..Default::default()
    }
}

fn gauge(name: &str, value: i64) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![number(number_data_point::Value::AsInt(value), vec![])],
        })),
        ..Default::default()
    }
}

fn counter(name: &str, unit: &str, value: f64, temporality: AggregationTemporality) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![number(
                number_data_point::Value::AsDouble(value),
                vec![("http.method", "GET")],
            )],
            aggregation_temporality: temporality as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// One resource (`checkout`, instance `i-1`, nothing else, so no `target_info`), no scope.
fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    str_kv("service.name", "checkout"),
                    str_kv("service.instance.id", "i-1"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A cumulative counter and a gauge: two data points, two series.
fn two_points() -> ExportMetricsServiceRequest {
    request(vec![
        counter(
            "http.server.requests",
            "{request}",
            10.0,
            AggregationTemporality::Cumulative,
        ),
        gauge("queue.depth", 3),
    ])
}

/// The `__name__` of every series of a request, in wire order.
fn names(request: &WriteRequest) -> Vec<String> {
    request
        .timeseries
        .iter()
        .flat_map(|s| &s.labels)
        .filter(|l| l.name == "__name__")
        .map(|l| l.value.clone())
        .collect()
}

#[tokio::test]
async fn remote_write_posts_snappy_protobuf_with_required_and_configured_headers_and_basic_auth() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(204));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/api/v1/write", server.addr));
    settings.headers = BTreeMap::from([
        ("X-Scope-OrgID".to_owned(), "tenant-7".to_owned()),
        // Must not replace the required value.
        ("Content-Encoding".to_owned(), "gzip".to_owned()),
    ]);
    settings.external_labels = BTreeMap::from([("cluster".to_owned(), "eu-1".to_owned())]);
    let auth = ClientAuth::basic(&BasicClientAuth {
        username: "prom".into(),
        password: "s3cret".into(),
    });
    let metrics = Metrics::new();
    let prw = exporter("headers", &settings, Some(auth), &metrics);
    prw.consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap();

    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.path, "/api/v1/write");
    assert_eq!(seen.header("content-encoding"), Some("snappy"));
    assert_eq!(seen.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(
        seen.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert!(
        seen.header("user-agent")
            .is_some_and(|ua| ua.starts_with("Sluice/")),
        "{:?}",
        seen.header("user-agent")
    );
    assert_eq!(seen.header("x-scope-orgid"), Some("tenant-7"));
    let basic = base64::engine::general_purpose::STANDARD.encode("prom:s3cret");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );

    let common = |name: &str, extra: Option<(&str, &str)>| {
        let mut labels = vec![label("__name__", name), label("cluster", "eu-1")];
        if let Some((k, v)) = extra {
            labels.push(label(k, v));
        }
        labels.extend([label("instance", "i-1"), label("job", "checkout")]);
        labels
    };
    let want = WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: common("http_server_requests_total", Some(("http_method", "GET"))),
                samples: vec![Sample {
                    value: 10.0,
                    timestamp: END_MS,
                }],
            },
            TimeSeries {
                labels: common("queue_depth", None),
                samples: vec![Sample {
                    value: 3.0,
                    timestamp: END_MS,
                }],
            },
        ],
        metadata: vec![],
    };
    assert_eq!(write_request(seen), want);
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/headers", "metric_points"),
        (2, 0, 0)
    );
}

#[tokio::test]
async fn remote_write_503_then_204_is_retried_and_counted() {
    init();
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(503).body("text/plain", "overloaded"))
        .always(HttpReply::status(204));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "retry",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    prw.consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 2, "one retry after the 503");
    assert_eq!(seen[0].body, seen[1].body, "the same body is sent again");
    assert_eq!(names(&write_request(&seen[1])).len(), 2);
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/retry", "metric_points"),
        (2, 0, 2)
    );
}

#[tokio::test]
async fn remote_write_429_honours_retry_after() {
    init();
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(429).header("retry-after", "1"))
        .always(HttpReply::status(200));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "after",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    prw.consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After: 1 but retried after {waited:?}"
    );
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/after", "metric_points"),
        (2, 0, 2)
    );
}

#[tokio::test]
async fn remote_write_400_is_permanent_sent_once_and_counted_failed() {
    init();
    let logs = Logs::capture();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(400).body("text/plain", "out of order sample\n"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "bad",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    let err = prw
        .consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap_err();
    let ConsumeError::Invalid(message) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(
        message.contains("HTTP 400 Bad Request: out of order sample"),
        "{message}"
    );
    assert_eq!(backend.count(), 1, "400 is not retried");
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/bad", "metric_points"),
        (0, 2, 0)
    );
    let errors = logs.lines("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    for needle in [
        "exporter=\"prometheusremotewrite/bad\"",
        "signal=metrics",
        "items=2",
        "HTTP 400 Bad Request",
        "out of order sample",
    ] {
        assert!(
            errors[0].contains(needle),
            "{needle} missing in {}",
            errors[0]
        );
    }
}

#[tokio::test]
async fn remote_write_other_4xx_is_permanent_internal() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(413).body("text/plain", "too big"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "large",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    let err = prw
        .consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Internal(m) if m.contains("HTTP 413 Payload Too Large: too big")),
        "{err:?}"
    );
    assert_eq!(backend.count(), 1);
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/large", "metric_points"),
        (0, 2, 0)
    );
}

#[tokio::test]
async fn remote_write_bodies_go_one_at_a_time_in_order_and_a_retry_resumes_at_the_failed_one() {
    init();
    let delay = Duration::from_millis(100);
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(204).delayed(delay))
        .then(HttpReply::status(503).delayed(delay))
        .always(HttpReply::status(204).delayed(delay));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/api/v1/write", server.addr));
    // Every series in a request of its own.
    settings.max_batch_size_bytes = 1;
    let metrics = Metrics::new();
    let prw = exporter("order", &settings, None, &metrics);
    let metrics_in = ["m_a", "m_b", "m_c", "m_d"];
    let export = request(metrics_in.iter().map(|n| gauge(n, 1)).collect());
    prw.consume(batch(Payload::Metrics(export))).await.unwrap();

    let seen = backend.seen();
    let received: Vec<String> = seen
        .iter()
        .map(|s| {
            let names = names(&write_request(s));
            assert_eq!(names.len(), 1, "one series per request: {names:?}");
            names[0].clone()
        })
        .collect();
    // m_b failed once (503) and was sent again; m_a was not sent twice.
    assert_eq!(received, ["m_a", "m_b", "m_b", "m_c", "m_d"]);
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= delay - Duration::from_millis(10),
            "a request was sent {gap:?} after the previous one, before its answer ({delay:?})"
        );
    }
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/order", "metric_points"),
        (4, 0, 4)
    );
}

#[tokio::test]
async fn remote_write_failure_after_accepted_bodies_says_which_request_failed() {
    init();
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(204))
        .always(HttpReply::status(400).body("text/plain", "bad labels"));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/api/v1/write", server.addr));
    settings.max_batch_size_bytes = 1;
    let metrics = Metrics::new();
    let prw = exporter("partial", &settings, None, &metrics);
    let export = request(vec![gauge("m_a", 1), gauge("m_b", 2), gauge("m_c", 3)]);
    let err = prw
        .consume(batch(Payload::Metrics(export)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Invalid(m)
            if m.contains("bad labels (request 2 of 3; the one before it was accepted)")),
        "{err:?}"
    );
    assert_eq!(
        backend.count(),
        2,
        "nothing is sent after a permanent failure"
    );
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/partial", "metric_points"),
        (0, 3, 0)
    );
}

#[tokio::test]
async fn remote_write_dropped_points_count_as_failed_with_one_warn_per_exporter() {
    init();
    let logs = Logs::capture();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "delta",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    // One cumulative counter and one delta counter each time.
    for value in [1.0, 2.0] {
        let export = request(vec![
            counter("kept", "", value, AggregationTemporality::Cumulative),
            counter("delta.one", "", value, AggregationTemporality::Delta),
        ]);
        prw.consume(batch(Payload::Metrics(export))).await.unwrap();
    }
    // Only delta points: nothing to send, still counted.
    let only_delta = request(vec![counter(
        "delta.two",
        "",
        1.0,
        AggregationTemporality::Delta,
    )]);
    prw.consume(batch(Payload::Metrics(only_delta)))
        .await
        .unwrap();

    let seen = backend.seen();
    assert_eq!(
        seen.len(),
        2,
        "the export of delta points only sends nothing"
    );
    for s in &seen {
        assert_eq!(names(&write_request(s)), ["kept_total"]);
    }
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/delta", "metric_points"),
        (2, 3, 0)
    );
    let ours: Vec<String> = logs
        .lines("WARN")
        .into_iter()
        .filter(|l| l.contains("counted as failed"))
        .collect();
    assert_eq!(ours.len(), 1, "{}", logs.text());
    assert!(
        ours[0].contains("exporter=\"prometheusremotewrite/delta\""),
        "{}",
        ours[0]
    );
}

#[tokio::test]
async fn remote_write_refuses_traces_and_logs_as_invalid() {
    init();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let prw = exporter(
        "signals",
        &settings(&format!("http://{}/api/v1/write", server.addr)),
        None,
        &metrics,
    );
    let err = prw
        .consume(batch(Payload::Traces(fixtures::traces(1, 2))))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Invalid(m) if m.contains("metrics only, not traces")),
        "{err:?}"
    );
    let err = prw
        .consume(batch(Payload::Logs(fixtures::logs(3))))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Invalid(m) if m.contains("metrics only, not logs")),
        "{err:?}"
    );
    assert_eq!(backend.count(), 0);
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/signals", "spans"),
        (0, 2, 0)
    );
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/signals", "log_records"),
        (0, 3, 0)
    );
}

#[tokio::test]
async fn remote_write_shutdown_during_a_retry_wait_refuses_at_once_and_counts_nothing() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(503).header("retry-after", "60"));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/api/v1/write", server.addr));
    settings.retry_on_failure.max_elapsed_time = Duration::ZERO;
    let metrics = Metrics::new();
    let prw = exporter("stop", &settings, None, &metrics);
    let with_delta = || {
        request(vec![
            gauge("g", 1),
            counter("d", "", 1.0, AggregationTemporality::Delta),
        ])
    };
    let task = {
        let prw = prw.clone();
        let export = with_delta();
        tokio::spawn(async move { prw.consume(batch(Payload::Metrics(export))).await })
    };
    assert!(eventually(Duration::from_secs(5), || backend.count() == 1).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    prw.shutdown().await;
    let result = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("consume returns promptly after shutdown")
        .unwrap();
    assert!(
        matches!(&result, Err(ConsumeError::Refused { .. })),
        "{result:?}"
    );
    assert!(matches!(
        prw.consume(batch(Payload::Metrics(with_delta()))).await,
        Err(ConsumeError::Refused { .. })
    ));
    assert_eq!(backend.count(), 1);
    // Neither the refused points nor the dropped delta point count.
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/stop", "metric_points"),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn remote_write_over_mtls_with_a_generated_ca() {
    let pki = Pki::new();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(204));
    let server = backend.start(Some(pki.server_tls(true))).await;
    let mut settings = settings(&format!(
        "https://localhost:{}/api/v1/write",
        server.addr.port()
    ));
    settings.tls = pki.client_tls(true);
    let metrics = Metrics::new();
    let prw = exporter("tls", &settings, None, &metrics);
    prw.consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        names(&write_request(&seen[0])),
        ["http_server_requests_total", "queue_depth"]
    );
    assert_eq!(
        counts(&metrics, "prometheusremotewrite/tls", "metric_points"),
        (2, 0, 0)
    );

    // A CA that did not sign the server certificate is refused, readably.
    let other = Pki::new();
    settings.tls = other.client_tls(true);
    settings.retry_on_failure.enabled = false;
    let untrusted = exporter("untrusted", &settings, None, &metrics);
    let err = untrusted
        .consume(batch(Payload::Metrics(two_points())))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not signed by a CA"), "{err}");
    assert_eq!(backend.count(), 1);
}

#[tokio::test]
async fn remote_write_construction_checks_the_settings_and_never_dials() {
    init();
    let err = new_error(&settings("prometheus:9090/api/v1/write"), None);
    assert!(
        err.starts_with("exporters.prometheusremotewrite/x.endpoint: \"prometheus:9090/api/v1/write\" is not usable"),
        "{err}"
    );
    assert!(
        err.contains("https://prometheus:9090/api/v1/write"),
        "{err}"
    );

    let mut bad_header = settings("http://prometheus:9090/api/v1/write");
    bad_header.headers = BTreeMap::from([("bad header".to_owned(), "v".to_owned())]);
    let err = new_error(&bad_header, None);
    assert!(
        err.starts_with("exporters.prometheusremotewrite/x.headers: \"bad header\""),
        "{err}"
    );

    let mut utf8 = settings("http://prometheus:9090/api/v1/write");
    utf8.translation_strategy = Some(TranslationStrategy::NoTranslation);
    let err = new_error(&utf8, None);
    assert!(
        err.starts_with("exporters.prometheusremotewrite/x.translation_strategy NoTranslation"),
        "{err}"
    );

    let mut needs_auth = settings("http://prometheus:9090/api/v1/write");
    needs_auth.auth = Some(AuthReference {
        authenticator: ComponentId::new("basicauth", Some("prw")),
    });
    let err = new_error(&needs_auth, None);
    assert!(
        err.starts_with(
            "exporters.prometheusremotewrite/x.auth: authenticator basicauth/prw was not resolved"
        ),
        "{err}"
    );

    let mut missing_ca = settings("https://prometheus:9090/api/v1/write");
    missing_ca.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.crt"));
    let err = new_error(&missing_ca, None);
    assert!(
        err.starts_with("exporters.prometheusremotewrite/x.tls.ca_file: cannot read"),
        "{err}"
    );

    // Nothing listens there: construction still succeeds.
    let metrics = Metrics::new();
    exporter(
        "lazy",
        &settings("http://127.0.0.1:9/api/v1/write"),
        None,
        &metrics,
    );
}
