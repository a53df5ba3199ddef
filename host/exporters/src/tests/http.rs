//! The `otlphttp` exporter against a real hyper server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::Version;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sluice_config::Signal;
use sluice_config::{
    BearerTokenAuthSettings, ComponentId, Compression, Extension, HttpEncoding,
    OtlpHttpExporterSettings,
};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{ConsumeError, Consumer, Encoded, Payload};

use super::support::{
    HttpBackend, HttpReply, Logs, Pki, batch, counts, eventually, fast_retry, init, no_retry,
};
use crate::client::rpc_status::RpcStatus;
use crate::fixtures;
use crate::{ClientAuth, OtlpHttpExporter};

fn settings(endpoint: &str) -> OtlpHttpExporterSettings {
    let mut settings: OtlpHttpExporterSettings =
        serde_yaml::from_str(&format!("endpoint: {endpoint:?}")).unwrap();
    settings.retry_on_failure = fast_retry();
    settings
}

fn exporter(
    name: &str,
    settings: &OtlpHttpExporterSettings,
    auth: Option<ClientAuth>,
    metrics: &Metrics,
) -> std::sync::Arc<OtlpHttpExporter> {
    let id = ComponentId::new("otlphttp", Some(name));
    OtlpHttpExporter::new(&id, settings, auth, metrics.exporter(&id.to_string())).unwrap()
}

fn decode(path: &str, body: &[u8]) -> Payload {
    match path {
        "/v1/traces" => Payload::Traces(ExportTraceServiceRequest::decode(body).unwrap()),
        "/v1/metrics" => Payload::Metrics(ExportMetricsServiceRequest::decode(body).unwrap()),
        "/v1/logs" => Payload::Logs(ExportLogsServiceRequest::decode(body).unwrap()),
        other => panic!("unexpected path {other}"),
    }
}

#[tokio::test]
async fn http_delivers_all_three_signals_as_gzipped_protobuf_with_headers_and_bearer() {
    init();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/", server.addr));
    settings.headers = BTreeMap::from([("X-Tenant".to_owned(), "acme".to_owned())]);
    let bearer = Extension::BearerTokenAuth(BearerTokenAuthSettings {
        token: Some("t0ken".into()),
        ..Default::default()
    });
    let auth =
        ClientAuth::from_extension(&ComponentId::new("bearertokenauth", None), &bearer).unwrap();
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
    assert_eq!(
        seen.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
        ["/v1/traces", "/v1/metrics", "/v1/logs"]
    );
    for (seen, payload) in seen.iter().zip(&payloads) {
        assert_eq!(&decode(&seen.path, &seen.body), payload);
        assert_eq!(seen.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(seen.header("content-encoding"), Some("gzip"));
        assert_eq!(seen.header("x-tenant"), Some("acme"));
        assert_eq!(seen.header("authorization"), Some("Bearer t0ken"));
        assert_eq!(seen.version, Version::HTTP_11);
    }
    assert_eq!(counts(&metrics, "otlphttp/all", "spans"), (2, 0, 0));
    assert_eq!(counts(&metrics, "otlphttp/all", "metric_points"), (5, 0, 0));
    assert_eq!(counts(&metrics, "otlphttp/all", "log_records"), (3, 0, 0));
}

#[tokio::test]
async fn http_sends_the_bytes_a_batch_travels_as_and_decodes_them_only_for_json() {
    init();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    let metrics = Metrics::new();
    let otlp = exporter("bytes", &settings, None, &metrics);
    let traces = Payload::Traces(fixtures::traces(1, 2));
    // An unknown field survives: the bytes are sent as they are, not re-encoded.
    let mut raw = traces.to_wire().to_vec();
    raw.extend_from_slice(&[0x78, 0x01]);
    let bytes = |raw: &[u8]| {
        Encoded::from_guest(Signal::Traces, raw.to_vec().into(), "wasm/t".into()).unwrap()
    };
    otlp.consume(batch(bytes(&raw))).await.unwrap();
    assert_eq!(backend.seen()[0].body, raw);
    assert_eq!(counts(&metrics, "otlphttp/bytes", "spans"), (2, 0, 0));

    settings.encoding = HttpEncoding::Json;
    let json = exporter("bytes-json", &settings, None, &metrics);
    json.consume(batch(bytes(&raw))).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&backend.seen()[1].body).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&crate::file::to_otlp_json(&traces).unwrap()).unwrap();
    assert_eq!(body, expected);
    // Good framing, a span name that is not UTF-8: refused as invalid, naming the guest.
    let bad = bytes(&[0x0a, 0x08, 0x12, 0x06, 0x12, 0x04, 0x2a, 0x02, 0xff, 0xfe]);
    match json.consume(batch(bad)).await {
        Err(ConsumeError::Invalid(message)) => assert!(message.contains("wasm/t"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(counts(&metrics, "otlphttp/bytes-json", "spans"), (2, 1, 0));
    assert_eq!(backend.count(), 2);
}

#[tokio::test]
async fn http_json_encoding_with_zstd_and_a_signal_url() {
    init();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    settings.encoding = HttpEncoding::Json;
    settings.compression = Compression::Zstd;
    settings.logs_endpoint = Some(format!("http://{}/custom/logs", server.addr));
    let metrics = Metrics::new();
    let otlp = exporter("json", &settings, None, &metrics);
    let logs = Payload::Logs(fixtures::logs(2));
    otlp.consume(batch(logs.clone())).await.unwrap();
    let seen = backend.seen();
    assert_eq!(seen[0].path, "/custom/logs");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("content-encoding"), Some("zstd"));
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&crate::file::to_otlp_json(&logs).unwrap()).unwrap();
    assert_eq!(body, expected);
    assert!(body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["traceId"].is_string());
    settings.compression = Compression::None;
    let plain = exporter("plain", &settings, None, &metrics);
    plain.consume(batch(logs)).await.unwrap();
    assert_eq!(backend.seen()[1].header("content-encoding"), None);
}

#[tokio::test]
async fn http_429_and_503_are_retried_and_counted() {
    init();
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(429))
        .then(HttpReply::status(503))
        .then(HttpReply::status(502));
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
    assert_eq!(backend.count(), 4);
    assert_eq!(counts(&metrics, "otlphttp/retry", "spans"), (2, 0, 6));
}

#[tokio::test]
async fn http_retry_after_is_honoured() {
    init();
    let backend = HttpBackend::default();
    backend.then(HttpReply::status(503).header("retry-after", "1"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "after",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    otlp.consume(batch(Payload::Logs(fixtures::logs(1))))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After: 1 but retried after {waited:?}"
    );
    assert_eq!(counts(&metrics, "otlphttp/after", "log_records"), (1, 0, 1));
}

#[tokio::test]
async fn http_400_is_permanent_not_retried_and_logged() {
    init();
    let logs = Logs::capture();
    let backend = HttpBackend::default();
    let status = RpcStatus {
        code: 3,
        message: "invalid span id".into(),
        details: vec![],
    };
    backend.always(HttpReply::status(400).body("application/x-protobuf", status.encode_to_vec()));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "bad",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 3))))
        .await
        .unwrap_err();
    let ConsumeError::Invalid(message) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(
        message.contains("HTTP 400 Bad Request: invalid span id"),
        "{message}"
    );
    assert_eq!(backend.count(), 1, "400 is not retried");
    assert_eq!(counts(&metrics, "otlphttp/bad", "spans"), (0, 3, 0));
    let errors = logs.lines("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    for needle in [
        "exporter=\"otlphttp/bad\"",
        "signal=traces",
        "items=3",
        "HTTP 400 Bad Request",
        "invalid span id",
    ] {
        assert!(
            errors[0].contains(needle),
            "{needle} missing in {}",
            errors[0]
        );
    }
}

#[tokio::test]
async fn http_other_4xx_is_permanent_internal() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(401).body("text/plain", "who are you"));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "unauth",
        &settings(&format!("http://{}", server.addr)),
        None,
        &metrics,
    );
    let err = otlp
        .consume(batch(Payload::Metrics(fixtures::metrics())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Internal(m) if m.contains("HTTP 401 Unauthorized: who are you")),
        "{err:?}"
    );
    assert_eq!(backend.count(), 1);
    assert_eq!(
        counts(&metrics, "otlphttp/unauth", "metric_points"),
        (0, 5, 0)
    );
}

#[tokio::test]
async fn http_gives_up_after_max_elapsed_time() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(503));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    settings.retry_on_failure.max_elapsed_time = Duration::from_millis(150);
    let metrics = Metrics::new();
    let otlp = exporter("exhausted", &settings, None, &metrics);
    let started = Instant::now();
    let err = otlp
        .consume(batch(Payload::Logs(fixtures::logs(2))))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&err, ConsumeError::Internal(m) if m.contains("HTTP 503 Service Unavailable")),
        "{err:?}"
    );
    let attempts = backend.count() as u64;
    assert!(attempts >= 2, "{attempts}");
    let (sent, failed, retried) = counts(&metrics, "otlphttp/exhausted", "log_records");
    assert_eq!((sent, failed, retried), (0, 2, 2 * (attempts - 1)));
}

#[tokio::test]
async fn http_shutdown_during_a_retry_wait_refuses_at_once() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(503).header("retry-after", "60"));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}", server.addr));
    // Never give up: the wait must end by shutdown, not by max_elapsed_time.
    settings.retry_on_failure.max_elapsed_time = Duration::ZERO;
    let metrics = Metrics::new();
    let otlp = exporter("stop", &settings, None, &metrics);
    let task = {
        let otlp = otlp.clone();
        tokio::spawn(async move { otlp.consume(batch(Payload::Logs(fixtures::logs(2)))).await })
    };
    assert!(eventually(Duration::from_secs(5), || backend.count() == 1).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    otlp.shutdown().await;
    let result = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("consume returns promptly after shutdown")
        .unwrap();
    assert!(
        matches!(&result, Err(ConsumeError::Refused { .. })),
        "{result:?}"
    );
    assert_eq!(counts(&metrics, "otlphttp/stop", "log_records"), (0, 0, 0));
    assert!(matches!(
        otlp.consume(batch(Payload::Logs(fixtures::logs(1)))).await,
        Err(ConsumeError::Refused { .. })
    ));
    assert_eq!(backend.count(), 1);
}

#[tokio::test]
async fn https_with_mtls_negotiates_http2() {
    let pki = Pki::new();
    let backend = HttpBackend::default();
    let server = backend.start(Some(pki.server_tls(true))).await;
    let mut settings = settings(&format!("https://127.0.0.1:{}", server.addr.port()));
    settings.tls = pki.client_tls(true);
    let metrics = Metrics::new();
    let otlp = exporter("mtls", &settings, None, &metrics);
    let traces = Payload::Traces(fixtures::traces(1, 1));
    otlp.consume(batch(traces.clone())).await.unwrap();
    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, Version::HTTP_2);
    assert_eq!(decode(&seen[0].path, &seen[0].body), traces);
}

#[tokio::test]
async fn https_without_the_client_certificate_is_refused_readably() {
    let pki = Pki::new();
    let backend = HttpBackend::default();
    let server = backend.start(Some(pki.server_tls(true))).await;
    let mut settings = settings(&format!("https://localhost:{}", server.addr.port()));
    settings.tls = pki.client_tls(false);
    settings.retry_on_failure = no_retry();
    let metrics = Metrics::new();
    let otlp = exporter("nocert", &settings, None, &metrics);
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CertificateRequired"), "{text}");
    assert!(
        text.contains("set tls.cert_file and tls.key_file"),
        "{text}"
    );
    assert_eq!(backend.count(), 0);
}

#[tokio::test]
async fn tls_reload_interval_picks_up_a_new_ca_file() {
    let pki = Pki::new();
    // Same subject as the right CA, another key: the signature does not verify.
    let wrong = Pki::new();
    let backend = HttpBackend::default();
    let server = backend.start(Some(pki.server_tls(false))).await;
    let mut settings = settings(&format!("https://127.0.0.1:{}", server.addr.port()));
    // ca_file starts with the wrong CA.
    settings.tls.ca_file = Some(pki.write("ca.crt", &wrong.ca.cert_pem()));
    settings.tls.reload_interval = Some(Duration::from_millis(50));
    settings.retry_on_failure = no_retry();
    let metrics = Metrics::new();
    let otlp = exporter("reload", &settings, None, &metrics);
    let err = otlp
        .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not signed by a CA"), "{err}");

    pki.write("ca.crt", &pki.ca.cert_pem());
    let mut delivered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if otlp
            .consume(batch(Payload::Traces(fixtures::traces(1, 1))))
            .await
            .is_ok()
        {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the new CA file was not picked up");
    assert_eq!(backend.count(), 1);
}

#[tokio::test]
async fn bearer_token_file_change_is_picked_up() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let bearer = Extension::BearerTokenAuth(BearerTokenAuthSettings {
        filename: Some(token.clone()),
        ..Default::default()
    });
    let auth =
        ClientAuth::from_extension(&ComponentId::new("bearertokenauth", Some("file")), &bearer)
            .unwrap();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let otlp = exporter(
        "bearer",
        &settings(&format!("http://{}", server.addr)),
        Some(auth),
        &metrics,
    );
    otlp.consume(batch(Payload::Logs(fixtures::logs(1))))
        .await
        .unwrap();
    assert_eq!(
        backend.seen()[0].header("authorization"),
        Some("Bearer first")
    );

    let tmp = dir.path().join("token.new");
    std::fs::write(&tmp, "second\n").unwrap();
    std::fs::rename(&tmp, &token).unwrap();
    let mut last = String::new();
    for _ in 0..150 {
        otlp.consume(batch(Payload::Logs(fixtures::logs(1))))
            .await
            .unwrap();
        last = backend
            .seen()
            .last()
            .and_then(|s| s.header("authorization").map(str::to_owned))
            .unwrap_or_default();
        if last == "Bearer second" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("token file change not picked up; last header {last:?}");
}

#[tokio::test]
async fn http_headers_setter_sends_each_batch_s_tenant() {
    init();
    let backend = HttpBackend::default();
    let server = backend.start(None).await;
    let settings = settings(&format!("http://{}/", server.addr));
    let auth = super::support::tenant_header_setter();
    let metrics = Metrics::new();
    let otlp = exporter("tenants", &settings, Some(auth), &metrics);
    for tenant in [Some("acme"), Some("globex"), None] {
        let payload = Payload::Logs(fixtures::logs(1));
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
