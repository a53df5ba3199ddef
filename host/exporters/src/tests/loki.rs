//! The `loki` exporter against a real HTTP server standing in for Loki's push API.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::json;
use sluice_config::{BasicClientAuth, ComponentId, LokiExporterSettings, LokiLabels};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{ConsumeError, Consumer, Payload};

use super::support::{HttpBackend, HttpReply, Pki, batch, counts, fast_retry, init};
use crate::fixtures::{kv, str_kv};
use crate::{ClientAuth, LokiExporter};

fn settings(endpoint: &str) -> LokiExporterSettings {
    let mut settings: LokiExporterSettings =
        serde_yaml::from_str(&format!("endpoint: {endpoint:?}")).unwrap();
    settings.retry_on_failure = fast_retry();
    settings
}

fn exporter(
    name: &str,
    settings: &LokiExporterSettings,
    auth: Option<ClientAuth>,
    metrics: &Metrics,
) -> std::sync::Arc<LokiExporter> {
    let id = ComponentId::new("loki", Some(name));
    LokiExporter::new(&id, settings, auth, metrics.exporter(&id.to_string())).unwrap()
}

fn record(time: u64, severity: i32, body: Value, attributes: Vec<(&str, Value)>) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        severity_number: severity,
        body: Some(AnyValue { value: Some(body) }),
        attributes: attributes.into_iter().map(|(k, v)| kv(k, v)).collect(),
        ..Default::default()
    }
}

fn logs(service: &str, records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource: Some(Resource {
            attributes: vec![
                str_kv("service.name", service),
                str_kv("k8s.namespace.name", "prod"),
                str_kv("host.name", "not-a-label"),
            ],
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn s(text: &str) -> Value {
    Value::StringValue(text.to_owned())
}

#[tokio::test]
async fn loki_push_matches_the_documented_shape() {
    init();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(204));
    let server = backend.start(None).await;
    let mut settings = settings(&format!("http://{}/loki/api/v1/push", server.addr));
    settings.tenant_id = Some("team-a".into());
    settings.headers = BTreeMap::from([("X-Extra".to_owned(), "1".to_owned())]);
    settings.labels = LokiLabels {
        resource: BTreeMap::from([
            ("service.name".to_owned(), String::new()),
            ("k8s.namespace.name".to_owned(), "namespace".to_owned()),
        ]),
        attributes: BTreeMap::from([("http.route".to_owned(), String::new())]),
        level: true,
    };
    let auth = ClientAuth::basic(&BasicClientAuth {
        username: "loki".into(),
        password: "pw".into(),
    });
    let metrics = Metrics::new();
    let loki = exporter("push", &settings, Some(auth), &metrics);
    let request = ExportLogsServiceRequest {
        resource_logs: vec![
            logs(
                "api",
                vec![
                    record(3_000, 9, s("third"), vec![("http.route", s("/users"))]),
                    record(1_000, 9, s("first"), vec![("http.route", s("/users"))]),
                    record(2_000, 17, s("failed"), vec![("http.route", s("/users"))]),
                    record(2_500, 10, s("second"), vec![("http.route", s("/users"))]),
                ],
            ),
            logs(
                "worker",
                vec![record(
                    5_000,
                    13,
                    Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
                        values: vec![str_kv("event", "retry"), kv("n", Value::IntValue(2))],
                    }),
                    vec![],
                )],
            ),
        ],
    };
    loki.consume(batch(Payload::Logs(request))).await.unwrap();

    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    let push = &seen[0];
    assert_eq!(push.path, "/loki/api/v1/push");
    assert_eq!(push.header("content-type"), Some("application/json"));
    assert_eq!(push.header("content-encoding"), Some("gzip"));
    assert_eq!(push.header("x-scope-orgid"), Some("team-a"));
    assert_eq!(push.header("x-extra"), Some("1"));
    assert_eq!(push.header("authorization"), Some("Basic bG9raTpwdw=="));
    let body: serde_json::Value = serde_json::from_slice(&push.body).unwrap();
    assert_eq!(
        body,
        json!({"streams": [
            {
                "stream": {"http_route": "/users", "level": "error", "namespace": "prod",
                           "service_name": "api"},
                "values": [["2000", "failed"]]
            },
            {
                "stream": {"http_route": "/users", "level": "info", "namespace": "prod",
                           "service_name": "api"},
                "values": [["1000", "first"], ["2500", "second"], ["3000", "third"]]
            },
            {
                "stream": {"level": "warn", "namespace": "prod", "service_name": "worker"},
                "values": [["5000", "{\"event\":\"retry\",\"n\":2}"]]
            }
        ]})
    );
    assert_eq!(counts(&metrics, "loki/push", "log_records"), (5, 0, 0));
}

#[tokio::test]
async fn loki_429_and_5xx_are_retried_400_is_permanent() {
    init();
    let backend = HttpBackend::default();
    backend
        .then(HttpReply::status(429))
        .then(HttpReply::status(500))
        .then(HttpReply::status(204))
        .then(HttpReply::status(400).body(
            "text/plain",
            "entry for stream '{service_name=\"api\"}' has timestamp too old",
        ));
    let server = backend.start(None).await;
    let metrics = Metrics::new();
    let loki = exporter(
        "codes",
        &settings(&format!("http://{}/loki/api/v1/push", server.addr)),
        None,
        &metrics,
    );
    let request = ExportLogsServiceRequest {
        resource_logs: vec![logs("api", vec![record(1, 9, s("x"), vec![])])],
    };
    loki.consume(batch(Payload::Logs(request.clone())))
        .await
        .unwrap();
    assert_eq!(backend.count(), 3);
    assert_eq!(counts(&metrics, "loki/codes", "log_records"), (1, 0, 2));

    let err = loki
        .consume(batch(Payload::Logs(request)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConsumeError::Invalid(m) if m.contains("timestamp too old")),
        "{err:?}"
    );
    assert_eq!(backend.count(), 4, "400 is not retried");
    assert_eq!(counts(&metrics, "loki/codes", "log_records"), (1, 1, 2));
}

#[tokio::test]
async fn loki_over_tls_without_compression() {
    let pki = Pki::new();
    let backend = HttpBackend::default();
    backend.always(HttpReply::status(204));
    let server = backend.start(Some(pki.server_tls(false))).await;
    let mut settings = settings(&format!(
        "https://localhost:{}/loki/api/v1/push",
        server.addr.port()
    ));
    settings.tls = pki.client_tls(false);
    settings.compression = sluice_config::Compression::None;
    let metrics = Metrics::new();
    let loki = exporter("tls", &settings, None, &metrics);
    loki.consume(batch(Payload::Logs(crate::fixtures::logs(2))))
        .await
        .unwrap();
    let seen = backend.seen();
    assert_eq!(seen[0].header("content-encoding"), None);
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    // The fixture records have no service.name: the default labels give only `level`.
    assert_eq!(body["streams"][0]["stream"], json!({"level": "info"}));
    assert_eq!(
        body["streams"][0]["values"],
        json!([
            ["1581452773000000789", "record 0"],
            ["1581452773000000789", "record 1"]
        ])
    );
}
