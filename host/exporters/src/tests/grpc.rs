//! The `otlp` (gRPC) exporter against a real tonic server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice_config::{BasicClientAuth, ComponentId, Compression, OtlpGrpcExporterSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{ConsumeError, Consumer, Encoded, Payload};
use tonic::Code;

use super::support::{
    GrpcBackend, GrpcReply, Logs, Pki, batch, counts, eventually, fast_retry, init, no_retry,
};
use crate::fixtures;
use crate::{ClientAuth, OtlpGrpcExporter};

fn settings(endpoint: &str) -> OtlpGrpcExporterSettings {
    let mut settings: OtlpGrpcExporterSettings =
        serde_yaml::from_str(&format!("endpoint: {endpoint:?}")).unwrap();
    settings.retry_on_failure = fast_retry();
    settings
}

fn exporter(
    name: &str,
    settings: &OtlpGrpcExporterSettings,
    auth: Option<ClientAuth>,
    metrics: &Metrics,
) -> std::sync::Arc<OtlpGrpcExporter> {
    let id = ComponentId::new("otlp", Some(name));
    OtlpGrpcExporter::new(&id, settings, auth, metrics.exporter(&id.to_string())).unwrap()
}

#[tokio::test]
async fn grpc_sends_the_bytes_a_batch_travels_as() {
    init();
    let backend = GrpcBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    settings.compression = Compression::None;
    let metrics = Metrics::new();
    let otlp = exporter("bytes", &settings, None, &metrics);
    let payloads = [
        Payload::Traces(fixtures::traces(1, 2)),
        Payload::Metrics(fixtures::metrics()),
        Payload::Logs(fixtures::logs(3)),
    ];
    for payload in &payloads {
        let bytes = Encoded::from_guest(payload.signal(), payload.to_wire(), "wasm/t".into());
        otlp.consume(batch(bytes.unwrap())).await.unwrap();
    }
    let seen = backend.seen();
    for (seen, payload) in seen.iter().zip(&payloads) {
        assert_eq!(&seen.payload, payload);
    }
    assert_eq!(counts(&metrics, "otlp/bytes", "spans"), (2, 0, 0));
    assert_eq!(counts(&metrics, "otlp/bytes", "metric_points"), (5, 0, 0));
    assert_eq!(counts(&metrics, "otlp/bytes", "log_records"), (3, 0, 0));
}

#[tokio::test]
async fn grpc_delivers_all_three_signals_with_headers_auth_and_gzip() {
    init();
    let backend = GrpcBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    settings.headers = BTreeMap::from([("X-Tenant".to_owned(), "acme".to_owned())]);
    let auth = ClientAuth::basic(&BasicClientAuth {
        username: "exporter".into(),
        password: "s3cret".into(),
    });
    let metrics = Metrics::new();
    let otlp = exporter("all", &settings, Some(auth), &metrics);

    let payloads = [
        Payload::Traces(fixtures::traces(1, 2)),
        Payload::Metrics(fixtures::metrics()),
        Payload::Logs(fixtures::logs(3)),
    ];
    for payload in &payloads {
        otlp.consume(batch(payload.clone())).await.unwrap();
    }

    let seen = backend.seen();
    assert_eq!(seen.len(), 3);
    for (seen, payload) in seen.iter().zip(&payloads) {
        assert_eq!(&seen.payload, payload);
        assert_eq!(seen.header("x-tenant"), Some("acme"));
        // base64("exporter:s3cret")
        assert_eq!(
            seen.header("authorization"),
            Some("Basic ZXhwb3J0ZXI6czNjcmV0")
        );
        assert_eq!(seen.header("grpc-encoding"), Some("gzip"));
        assert!(seen.header("grpc-timeout").is_some());
        assert!(seen.header("user-agent").unwrap().contains("Sluice/"));
    }
    let id = "otlp/all";
    assert_eq!(counts(&metrics, id, "spans"), (2, 0, 0));
    assert_eq!(counts(&metrics, id, "metric_points"), (5, 0, 0));
    assert_eq!(counts(&metrics, id, "log_records"), (3, 0, 0));
}

#[tokio::test]
async fn grpc_endpoint_without_scheme_is_plaintext_when_insecure_and_zstd_works() {
    init();
    let backend = GrpcBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&server.addr.to_string());
    settings.tls.insecure = true;
    settings.compression = Compression::Zstd;
    settings.authority = Some("collector.example:4317".into());
    let metrics = Metrics::new();
    let otlp = exporter("zstd", &settings, None, &metrics);
    let traces = Payload::Traces(fixtures::traces(2, 3));
    otlp.consume(batch(traces.clone())).await.unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].payload, traces);
    assert_eq!(seen[0].header("grpc-encoding"), Some("zstd"));
    assert_eq!(counts(&metrics, "otlp/zstd", "spans"), (6, 0, 0));
}

#[tokio::test]
async fn grpc_gzip_at_each_level_and_zstd_at_a_level_arrive_intact() {
    init();
    let backend = GrpcBackend::default();
    let server = backend.start(None).await;
    let traces = Payload::Traces(fixtures::traces(3, 40));
    for (compression, level) in [
        (Compression::Gzip, 1),
        (Compression::Gzip, 9),
        (Compression::Gzip, -1),
        (Compression::Zstd, 19),
    ] {
        let mut settings = settings(&format!("http://{}", server.addr));
        settings.compression = compression;
        settings.compression_params.level = level;
        let otlp = exporter("levels", &settings, None, &Metrics::new());
        // Twice: the second request reuses the first one's deflate state.
        for _ in 0..2 {
            otlp.consume(batch(traces.clone())).await.unwrap();
        }
    }
    let seen = backend.seen();
    assert_eq!(seen.len(), 8);
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(request.payload, traces, "request {i}");
        let expected = if i < 6 { "gzip" } else { "zstd" };
        assert_eq!(request.header("grpc-encoding"), Some(expected));
    }
}

#[tokio::test]
async fn grpc_unavailable_then_ok_is_retried_and_counted() {
    init();
    let backend = GrpcBackend::default();
    backend
        .then(GrpcReply::Fail(Code::Unavailable, "warming up"))
        .then(GrpcReply::Fail(Code::Unavailable, "warming up"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "retry",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    otlp.consume(batch(Payload::Traces(fixtures::traces(1, 2))))
        .await
        .unwrap();
    assert_eq!(backend.count(), 3);
    // Two retries of two spans each.
    assert_eq!(counts(&metrics, "otlp/retry", "spans"), (2, 0, 4));
}

#[tokio::test]
async fn grpc_invalid_argument_is_permanent_logged_and_counted_failed() {
    init();
    let logs = Logs::capture();
    let backend = GrpcBackend::default();
    backend.then(GrpcReply::Fail(Code::InvalidArgument, "span id is 7 bytes"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "bad",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 2))))
        .await
        .unwrap_err();
    let ConsumeError::Invalid(message) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(message.contains("span id is 7 bytes"), "{message}");
    assert!(message.contains("gRPC InvalidArgument"), "{message}");
    assert_eq!(backend.count(), 1, "a permanent error is not retried");
    assert_eq!(counts(&metrics, "otlp/bad", "spans"), (0, 2, 0));
    let errors = logs.lines("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    for needle in [
        "exporter=\"otlp/bad\"",
        "signal=traces",
        "items=2",
        "gRPC InvalidArgument",
        "span id is 7 bytes",
    ] {
        assert!(
            errors[0].contains(needle),
            "{needle} missing in {}",
            errors[0]
        );
    }
}

#[tokio::test]
async fn grpc_partial_success_counts_the_rejected_items_as_failed() {
    init();
    let logs = Logs::capture();
    let backend = GrpcBackend::default();
    backend.then(GrpcReply::Partial(1, "one span too old"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "partial",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    otlp.consume(batch(Payload::Traces(fixtures::traces(1, 3))))
        .await
        .unwrap();
    assert_eq!(backend.count(), 1);
    assert_eq!(counts(&metrics, "otlp/partial", "spans"), (2, 1, 0));
    let warnings = logs.lines("WARN");
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("rejected=1") && l.contains("one span too old")),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn grpc_retry_info_delay_is_honoured() {
    init();
    let backend = GrpcBackend::default();
    backend.then(GrpcReply::FailWithRetryInfo(
        Code::ResourceExhausted,
        "slow down",
        Duration::from_millis(400),
    ));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "hint",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    otlp.consume(batch(Payload::Logs(fixtures::logs(2))))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_millis(350),
        "waited only {waited:?}"
    );
    assert_eq!(counts(&metrics, "otlp/hint", "log_records"), (2, 0, 2));
}

#[tokio::test]
async fn grpc_mtls_with_ca_file_client_certificate_and_server_name_override() {
    let pki = Pki::new();
    let backend = GrpcBackend::default();
    let server = backend.start(Some(pki.server_tls(true))).await;
    // No scheme: TLS (the Collector's rule). The certificate names localhost and 127.0.0.1;
    // the endpoint says 127.0.0.1 and the override makes the client check "localhost".
    let mut settings = settings(&server.addr.to_string());
    settings.tls = pki.client_tls(true);
    settings.tls.server_name_override = Some("localhost".into());
    let metrics = Metrics::new();
    let otlp = exporter("mtls", &settings, None, &metrics);
    let metrics_payload = Payload::Metrics(fixtures::metrics());
    otlp.consume(batch(metrics_payload.clone())).await.unwrap();
    assert_eq!(backend.seen()[0].payload, metrics_payload);
    assert_eq!(counts(&metrics, "otlp/mtls", "metric_points"), (5, 0, 0));
}

#[tokio::test]
async fn grpc_wrong_ca_fails_with_a_readable_error() {
    let pki = Pki::new();
    let other = Pki::named("Some other CA");
    let backend = GrpcBackend::default();
    let server = backend.start(Some(pki.server_tls(false))).await;
    let mut settings = settings(&format!("https://{}", server.addr));
    settings.tls = other.client_tls(false);
    settings.retry_on_failure = no_retry();
    let metrics = Metrics::new();
    let otlp = exporter("wrongca", &settings, None, &metrics);
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
        .await
        .unwrap_err();
    let ConsumeError::Internal(message) = &err else {
        panic!("expected Internal, got {err:?}");
    };
    assert!(
        message.contains("TLS handshake with 127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(message.contains("set tls.ca_file"), "{message}");
    assert_eq!(backend.count(), 0);
    assert_eq!(counts(&metrics, "otlp/wrongca", "spans"), (0, 1, 0));
}

#[tokio::test]
async fn grpc_mtls_without_a_client_certificate_is_refused_readably() {
    let pki = Pki::new();
    let backend = GrpcBackend::default();
    let server = backend.start(Some(pki.server_tls(true))).await;
    let mut settings = settings(&format!("https://localhost:{}", server.addr.port()));
    settings.tls = pki.client_tls(false);
    settings.retry_on_failure = no_retry();
    let metrics = Metrics::new();
    let otlp = exporter("nocert", &settings, None, &metrics);
    let err = otlp
        .consume(batch(Payload::Logs(fixtures::logs(1))))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("set tls.cert_file and tls.key_file"),
        "{text}"
    );
    assert_eq!(backend.count(), 0);
}

#[tokio::test]
async fn grpc_unreachable_backend_is_no_error_at_start_and_retryable_later() {
    init();
    // A port that was free a moment ago: nothing listens there.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut settings = settings(&format!("http://{addr}"));
    settings.retry_on_failure.max_elapsed_time = Duration::from_millis(200);
    let metrics = Metrics::new();
    let otlp = exporter("down", &settings, None, &metrics);
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
        .await
        .unwrap_err();
    let ConsumeError::Internal(message) = &err else {
        panic!("expected Internal, got {err:?}");
    };
    assert!(
        message.contains("cannot connect to 127.0.0.1:"),
        "{message}"
    );
    let (sent, failed, retried) = counts(&metrics, "otlp/down", "spans");
    assert_eq!((sent, failed), (0, 1));
    assert!(retried >= 1, "connection errors are retried");
}

#[tokio::test]
async fn grpc_shutdown_during_a_retry_wait_refuses_at_once() {
    init();
    let backend = GrpcBackend::default();
    backend.always(GrpcReply::Fail(Code::Unavailable, "down for maintenance"));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    settings.retry_on_failure.initial_interval = Duration::from_secs(30);
    settings.retry_on_failure.max_interval = Duration::from_secs(30);
    // Never give up: the wait must end by shutdown, not by max_elapsed_time.
    settings.retry_on_failure.max_elapsed_time = Duration::ZERO;
    let metrics = Metrics::new();
    let otlp = exporter("stop", &settings, None, &metrics);
    let task = {
        let otlp = otlp.clone();
        tokio::spawn(async move {
            otlp.consume(batch(Payload::Traces(fixtures::traces(1, 2))))
                .await
        })
    };
    assert!(eventually(Duration::from_secs(5), || backend.count() == 1).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopped = Instant::now();
    otlp.shutdown().await;
    let result = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("consume returns promptly after shutdown")
        .unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(&result, Err(ConsumeError::Refused { reason, .. }) if reason.contains("shutting down")),
        "{result:?}"
    );
    assert_eq!(counts(&metrics, "otlp/stop", "spans"), (0, 0, 0));
    let after = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
        .await;
    assert!(
        matches!(after, Err(ConsumeError::Refused { .. })),
        "{after:?}"
    );
    assert_eq!(backend.count(), 1);
}

#[tokio::test]
async fn grpc_headers_setter_sends_each_batch_s_tenant() {
    init();
    let backend = GrpcBackend::default();
    let server = backend.start(None).await;
    let settings = settings(&format!("http://{}", server.addr));
    let auth = super::support::tenant_header_setter();
    let metrics = Metrics::new();
    let otlp = exporter("tenants", &settings, Some(auth), &metrics);
    for tenant in [Some("acme"), Some("globex"), None] {
        let payload = Payload::Traces(fixtures::traces(1, 1));
        otlp.consume(super::support::tenant_batch(payload, tenant))
            .await
            .unwrap();
    }
    let tenants: Vec<_> = backend
        .seen()
        .iter()
        .map(|s| s.header("x-scope-orgid").map(str::to_owned))
        .collect();
    assert_eq!(
        tenants,
        [
            Some("acme".into()),
            Some("globex".into()),
            Some("anonymous".into())
        ]
    );
}
