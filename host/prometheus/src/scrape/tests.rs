use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use sluice_config::{PrometheusExporterSettings, TlsClientSettings, TlsServerSettings};
use sluice_pipeline::metrics::Metrics;
use sluice_pipeline::{Batch, ConsumeError, Consumer, Payload, RequestContext};
use sluice_tls::certgen::{Ca, Validity};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::store::{Outcome, Store};
use super::*;
use crate::fixtures::*;

// ---------------------------------------------------------------------------------------------
// Rendering and accumulation, without a server.

fn store_with(namespace: &str, const_labels: &[(&str, &str)], suffixes: bool) -> Store {
    let labels: BTreeMap<String, String> = const_labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let translator = Translator::new(namespace, suffixes, false, &labels);
    Store::new("prometheus", translator, Duration::from_secs(300))
}

fn store() -> Store {
    store_with("", &[], true)
}

/// Every sample line (`series value`), without comments.
fn samples(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.to_owned()))
        .collect()
}

fn all_kinds() -> ExportMetricsServiceRequest {
    request(
        service(),
        Some(scope("meter", "1.0")),
        vec![
            sum(
                "http.server.requests",
                "{request}",
                true,
                CUMULATIVE,
                vec![int(
                    vec![
                        kv("http.method", "GET"),
                        kv_value(
                            "http.status_code",
                            opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(200),
                        ),
                    ],
                    10,
                    T0 - SEC,
                    T0,
                )],
            ),
            gauge(
                "system.memory.utilization",
                "1",
                "Memory used",
                vec![number(vec![kv("state", "used")], 0.25, T0)],
            ),
            histogram(
                "http.server.duration",
                "ms",
                "Duration of requests",
                CUMULATIVE,
                vec![histogram_point(
                    vec![],
                    &[5.0, 10.0, 100.0],
                    &[1, 2, 3, 4],
                    Some(1234.5),
                    T0 - SEC,
                    T0,
                )],
            ),
            summary(
                "rpc.latency",
                "s",
                vec![],
                10,
                2.0,
                &[(0.99, 0.5), (0.5, 0.1)],
                T0,
            ),
        ],
    )
}

#[test]
fn golden_exposition_of_every_kind() {
    let mut store = store_with("", &[("env", "prod")], true);
    let outcome = store.accept(&all_kinds(), Instant::now());
    assert_eq!(
        outcome,
        Outcome {
            accepted: 4,
            dropped: 0
        }
    );
    let l = r#"env="prod",instance="i-1",job="checkout",otel_scope_name="meter",otel_scope_version="1.0""#;
    let want = format!(
        r#"# HELP http_server_duration_milliseconds Duration of requests
# TYPE http_server_duration_milliseconds histogram
http_server_duration_milliseconds_bucket{{{l},le="5"}} 1
http_server_duration_milliseconds_bucket{{{l},le="10"}} 3
http_server_duration_milliseconds_bucket{{{l},le="100"}} 6
http_server_duration_milliseconds_bucket{{{l},le="+Inf"}} 10
http_server_duration_milliseconds_sum{{{l}}} 1234.5
http_server_duration_milliseconds_count{{{l}}} 10
# TYPE http_server_requests_total counter
http_server_requests_total{{env="prod",http_method="GET",http_status_code="200",instance="i-1",job="checkout",otel_scope_name="meter",otel_scope_version="1.0"}} 10
# TYPE rpc_latency_seconds summary
rpc_latency_seconds{{{l},quantile="0.5"}} 0.1
rpc_latency_seconds{{{l},quantile="0.99"}} 0.5
rpc_latency_seconds_sum{{{l}}} 2
rpc_latency_seconds_count{{{l}}} 10
# HELP system_memory_utilization_ratio Memory used
# TYPE system_memory_utilization_ratio gauge
system_memory_utilization_ratio{{{l},state="used"}} 0.25
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{{host_name="web-1",instance="i-1",job="checkout"}} 1
"#
    );
    assert_eq!(render(&store, false), want);
}

#[test]
fn namespace_timestamps_and_escaping() {
    let mut store = store_with("shop", &[], true);
    let request = request(
        vec![kv("service.name", "api")],
        None,
        vec![gauge(
            "queue.size",
            "",
            "Items\nwaiting \\ queued",
            vec![number(vec![kv("path", "C:\\tmp \"x\"\n")], 1234567.0, T0)],
        )],
    );
    store.accept(&request, Instant::now());
    let want = "# HELP shop_queue_size Items\\nwaiting \\\\ queued\n\
                # TYPE shop_queue_size gauge\n\
                shop_queue_size{job=\"api\",path=\"C:\\\\tmp \\\"x\\\"\\n\"} 1.234567e+06 1700000000000\n";
    // No target_info: the resource has no service.instance.id (the Collector needs both).
    assert_eq!(render(&store, true), want);
}

#[test]
fn delta_sums_accumulate_when_aligned_and_restart_after_a_gap() {
    let mut store = store();
    let delta = |value, start, time| {
        request(
            service(),
            None,
            vec![sum(
                "jobs",
                "",
                true,
                DELTA,
                vec![int(vec![], value, start, time)],
            )],
        )
    };
    let now = Instant::now();
    store.accept(&delta(5, T0, T0 + SEC), now);
    store.accept(&delta(3, T0 + SEC, T0 + 2 * SEC), now);
    assert_eq!(
        samples(&render(&store, false))[r#"jobs_total{instance="i-1",job="checkout"}"#],
        "8"
    );
    // A point older than the stored one is ignored.
    store.accept(&delta(100, T0, T0 + SEC), now);
    assert_eq!(
        samples(&render(&store, false))[r#"jobs_total{instance="i-1",job="checkout"}"#],
        "8"
    );
    // A gap (start after the stored end): the sender restarted; start over.
    store.accept(&delta(2, T0 + 5 * SEC, T0 + 6 * SEC), now);
    assert_eq!(
        samples(&render(&store, false))[r#"jobs_total{instance="i-1",job="checkout"}"#],
        "2"
    );
}

#[test]
fn non_monotonic_delta_sums_and_unspecified_temporality_are_dropped() {
    let mut store = store();
    let request = request(
        service(),
        None,
        vec![
            sum(
                "queue.depth",
                "",
                false,
                DELTA,
                vec![int(vec![], 1, T0, T0 + SEC)],
            ),
            sum(
                "weird",
                "",
                true,
                opentelemetry_proto::tonic::metrics::v1::AggregationTemporality::Unspecified,
                vec![int(vec![], 1, T0, T0 + SEC), int(vec![], 2, T0, T0 + SEC)],
            ),
        ],
    );
    let outcome = store.accept(&request, Instant::now());
    assert_eq!(
        outcome,
        Outcome {
            accepted: 0,
            dropped: 3
        }
    );
    assert_eq!(render(&store, false), "");
}

#[test]
fn delta_histograms_accumulate_and_misaligned_points_are_dropped() {
    let mut store = store();
    let delta = |counts: &[u64], start, time| {
        request(
            service(),
            None,
            vec![histogram(
                "latency",
                "s",
                "",
                DELTA,
                vec![histogram_point(
                    vec![],
                    &[1.0],
                    counts,
                    Some(1.0),
                    start,
                    time,
                )],
            )],
        )
    };
    let now = Instant::now();
    store.accept(&delta(&[1, 1], T0, T0 + SEC), now);
    store.accept(&delta(&[2, 0], T0 + SEC, T0 + 2 * SEC), now);
    let text = render(&store, false);
    let s = samples(&text);
    let l = r#"instance="i-1",job="checkout""#;
    assert_eq!(s[&format!(r#"latency_seconds_bucket{{{l},le="1"}}"#)], "3");
    assert_eq!(
        s[&format!(r#"latency_seconds_bucket{{{l},le="+Inf"}}"#)],
        "4"
    );
    assert_eq!(s[&format!("latency_seconds_sum{{{l}}}")], "2");
    assert_eq!(s[&format!("latency_seconds_count{{{l}}}")], "4");
    let outcome = store.accept(&delta(&[5, 5], T0 + SEC, T0 + 3 * SEC), now);
    assert_eq!(outcome.dropped, 1, "starts before the stored point ended");
    assert_eq!(
        samples(&render(&store, false))[&format!("latency_seconds_count{{{l}}}")],
        "4"
    );
}

#[test]
fn histogram_bounds_are_sorted_and_deduplicated() {
    let mut store = store();
    let request = request(
        vec![],
        None,
        vec![histogram(
            "h",
            "",
            "",
            CUMULATIVE,
            vec![histogram_point(
                vec![],
                &[10.0, 5.0, 5.0],
                &[1, 2, 3, 4],
                None,
                0,
                T0,
            )],
        )],
    );
    store.accept(&request, Instant::now());
    let text = render(&store, false);
    assert_eq!(
        text,
        "# TYPE h histogram\nh_bucket{le=\"5\"} 2\nh_bucket{le=\"10\"} 3\nh_bucket{le=\"+Inf\"} 10\nh_count 10\n"
    );
}

#[test]
fn exponential_histograms_are_served_as_classic_buckets() {
    let mut store = store();
    let request = |counts: &[u64], start, time| {
        request(
            vec![],
            None,
            vec![exponential(
                "size",
                "By",
                DELTA,
                vec![exponential_point(0, 1, 0, counts, start, time)],
            )],
        )
    };
    let now = Instant::now();
    store.accept(&request(&[1, 2], T0, T0 + SEC), now);
    store.accept(&request(&[0, 1, 1], T0 + SEC, T0 + 2 * SEC), now);
    assert_eq!(
        render(&store, false),
        "# TYPE size_bytes histogram\n\
         size_bytes_bucket{le=\"0\"} 2\n\
         size_bytes_bucket{le=\"2\"} 3\n\
         size_bytes_bucket{le=\"4\"} 6\n\
         size_bytes_bucket{le=\"8\"} 7\n\
         size_bytes_bucket{le=\"+Inf\"} 7\n\
         size_bytes_sum 20\n\
         size_bytes_count 7\n"
    );
}

#[test]
fn no_recorded_value_removes_the_series_and_type_conflicts_are_dropped() {
    let mut store = store_with("", &[], false);
    let now = Instant::now();
    store.accept(
        &request(
            vec![],
            None,
            vec![gauge("up", "", "", vec![number(vec![], 1.0, T0)])],
        ),
        now,
    );
    // A counter translating to the same name: another type.
    let conflict = request(
        vec![],
        None,
        vec![sum("up", "", true, CUMULATIVE, vec![int(vec![], 5, 0, T0)])],
    );
    assert_eq!(store.accept(&conflict, now).dropped, 1);
    assert_eq!(render(&store, false), "# TYPE up gauge\nup 1\n");
    let mut gone = number(vec![], 0.0, T0 + SEC);
    gone.flags = 1;
    store.accept(
        &request(vec![], None, vec![gauge("up", "", "", vec![gone])]),
        now,
    );
    assert_eq!(render(&store, false), "");
}

#[test]
fn series_expire_after_metric_expiration() {
    let mut store = store();
    let start = Instant::now();
    store.accept(&all_kinds(), start);
    store.expire(start + Duration::from_secs(299));
    assert!(render(&store, false).contains("target_info"));
    store.expire(start + Duration::from_secs(301));
    assert_eq!(render(&store, false), "");
}

// ---------------------------------------------------------------------------------------------
// The server.

fn settings() -> PrometheusExporterSettings {
    PrometheusExporterSettings::new("127.0.0.1:0")
}

async fn start(settings: &PrometheusExporterSettings) -> (Arc<PrometheusExporter>, Metrics) {
    let metrics = Metrics::new();
    let exporter = PrometheusExporter::start(
        "prometheus/test",
        settings,
        metrics.exporter("prometheus/test"),
    )
    .await
    .unwrap();
    (exporter, metrics)
}

fn batch(request: ExportMetricsServiceRequest) -> Batch {
    Batch::new(Payload::Metrics(request), RequestContext::default())
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

/// One HTTP/1.1 GET over `io` with hyper's client.
async fn get_on<I>(io: I, addr: SocketAddr, path: &str) -> Answer
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    get_on(TcpStream::connect(addr).await.unwrap(), addr, path).await
}

#[tokio::test]
async fn scrape_serves_consumed_metrics_over_http() {
    let (exporter, metrics) = start(&settings()).await;
    let addr = exporter.local_addr();
    assert_ne!(addr.port(), 0);
    exporter.consume(batch(all_kinds())).await.unwrap();

    let answer = get(addr, "/metrics").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let s = samples(&answer.body);
    let l = r#"instance="i-1",job="checkout",otel_scope_name="meter",otel_scope_version="1.0""#;
    assert_eq!(
        s[&format!(
            r#"http_server_requests_total{{http_method="GET",http_status_code="200",{l}}}"#
        )],
        "10"
    );
    assert_eq!(
        s[&format!(r#"http_server_duration_milliseconds_bucket{{{l},le="+Inf"}}"#)],
        "10"
    );
    assert_eq!(
        s[&format!(r#"rpc_latency_seconds{{{l},quantile="0.99"}}"#)],
        "0.5"
    );
    assert_eq!(
        s[r#"target_info{host_name="web-1",instance="i-1",job="checkout"}"#],
        "1"
    );
    assert!(
        answer
            .body
            .contains("# TYPE http_server_requests_total counter\n")
    );
    assert!(
        answer
            .body
            .contains("# TYPE http_server_duration_milliseconds histogram\n")
    );
    assert_eq!(answer.body, exporter.render());

    // The latest value wins.
    exporter
        .consume(batch(request(
            service(),
            Some(scope("meter", "1.0")),
            vec![gauge(
                "system.memory.utilization",
                "1",
                "Memory used",
                vec![number(vec![kv("state", "used")], 0.5, T0 + SEC)],
            )],
        )))
        .await
        .unwrap();
    let s = samples(&get(addr, "/metrics").await.body);
    assert_eq!(
        s[&format!(r#"system_memory_utilization_ratio{{{l},state="used"}}"#)],
        "0.5"
    );

    assert_eq!(get(addr, "/").await.status, 404);
    let own = metrics.encode();
    assert!(
        own.contains(r#"otelcol_exporter_sent_metric_points_total{exporter="prometheus/test"} 5"#),
        "{own}"
    );
    exporter.shutdown().await;
}

#[tokio::test]
async fn scrape_drops_series_after_metric_expiration() {
    let mut settings = settings();
    settings.metric_expiration = Duration::from_secs(1);
    let (exporter, _) = start(&settings).await;
    exporter.consume(batch(all_kinds())).await.unwrap();
    let addr = exporter.local_addr();
    assert!(
        get(addr, "/metrics")
            .await
            .body
            .contains("http_server_requests_total")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get(addr, "/metrics").await.body, "");
    exporter.shutdown().await;
}

#[tokio::test]
async fn metrics_arriving_as_bytes_are_decoded_and_served() {
    let (exporter, metrics) = start(&settings()).await;
    let request = Payload::Metrics(all_kinds());
    let bytes = sluice_pipeline::Encoded::from_guest(
        sluice_config::Signal::Metrics,
        request.to_wire(),
        "wasm/t".into(),
    )
    .unwrap();
    exporter
        .consume(Batch::new(bytes, RequestContext::default()))
        .await
        .unwrap();
    let answer = get(exporter.local_addr(), "/metrics").await;
    assert!(
        answer.body.contains("http_server_requests_total"),
        "{}",
        answer.body
    );
    // Good framing on the levels walked; inside the resource, a length past the end.
    let bad = sluice_pipeline::Encoded::from_guest(
        sluice_config::Signal::Metrics,
        Bytes::from_static(&[0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x05]),
        "wasm/t".into(),
    )
    .unwrap();
    let error = exporter
        .consume(Batch::new(bad, RequestContext::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ConsumeError::Invalid(m) if m.contains("wasm/t")),
        "{error:?}"
    );
    assert!(
        metrics
            .encode()
            .contains("otelcol_exporter_sent_metric_points_total")
    );
    exporter.shutdown().await;
}

#[tokio::test]
async fn traces_and_logs_are_refused() {
    let (exporter, metrics) = start(&settings()).await;
    let error = exporter
        .consume(Batch::new(
            Payload::Traces(ExportTraceServiceRequest::default()),
            RequestContext::default(),
        ))
        .await
        .unwrap_err();
    match error {
        ConsumeError::Invalid(message) => {
            assert!(message.contains("exporters.prometheus/test"), "{message}");
            assert!(message.contains("metrics only"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(
        metrics
            .encode()
            .contains("otelcol_exporter_send_failed_spans_total")
    );
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_reported_and_shutdown_frees_the_port() {
    let (first, _) = start(&settings()).await;
    let addr = first.local_addr();
    let mut taken = settings();
    taken.endpoint = addr.to_string();
    let error =
        PrometheusExporter::start("prometheus/second", &taken, Metrics::new().exporter("x"))
            .await
            .err()
            .unwrap();
    let message = error.to_string();
    assert!(
        message.starts_with("exporters.prometheus/second: cannot listen on"),
        "{message}"
    );
    assert!(message.contains("address in use"), "{message}");

    first.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
    // And the port can be bound again.
    let (again, _) = start(&taken).await;
    again.shutdown().await;
}

#[tokio::test]
async fn bad_endpoints_and_utf8_strategies_are_refused() {
    let mut bad = settings();
    bad.endpoint = "no-port".into();
    let message = PrometheusExporter::start("prometheus", &bad, Metrics::new().exporter("x"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("exporters.prometheus.endpoint \"no-port\""),
        "{message}"
    );

    let mut utf8 = settings();
    utf8.translation_strategy = Some(sluice_config::TranslationStrategy::NoTranslation);
    let message = PrometheusExporter::start("prometheus", &utf8, Metrics::new().exporter("x"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("translation_strategy NoTranslation"),
        "{message}"
    );
}

struct Pki {
    ca: Ca,
    server: TlsServerSettings,
}

fn pki() -> Pki {
    sluice_tls::install_crypto_provider();
    let ca = Ca::new("Sluice test CA", Validity::days(1)).unwrap();
    let issued = ca
        .issue_server(&["127.0.0.1".to_owned()], Validity::days(1))
        .unwrap();
    Pki {
        server: TlsServerSettings {
            cert_pem: Some(issued.cert_pem),
            key_pem: Some(issued.key_pem),
            ..Default::default()
        },
        ca,
    }
}

#[tokio::test]
async fn tls_scrape_with_a_generated_certificate() {
    let pki = pki();
    let mut settings = settings();
    settings.tls = Some(pki.server.clone());
    let (exporter, _) = start(&settings).await;
    exporter.consume(batch(all_kinds())).await.unwrap();
    let addr = exporter.local_addr();

    let client = TlsClientSettings {
        ca_pem: Some(pki.ca.cert_pem()),
        ..Default::default()
    };
    let mut config = Arc::unwrap_or_clone(sluice_tls::client_config(&client, "test").unwrap());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let answer = get_on(tls, addr, "/metrics").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .body
            .contains("# TYPE http_server_requests_total counter")
    );

    // Plain HTTP on the TLS port gets Go's 400 answer, not metrics.
    let plain = get(addr, "/metrics").await;
    assert_eq!(plain.status, 400);
    assert!(plain.body.contains("HTTP request to an HTTPS server"));
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_bad_tls_block_names_the_exporter() {
    let mut settings = settings();
    settings.tls = Some(TlsServerSettings {
        cert_file: Some("/nonexistent/server.crt".into()),
        key_file: Some("/nonexistent/server.key".into()),
        ..Default::default()
    });
    let message =
        PrometheusExporter::start("prometheus/tls", &settings, Metrics::new().exporter("x"))
            .await
            .err()
            .unwrap()
            .to_string();
    assert!(
        message.contains("exporters.prometheus/tls.tls"),
        "{message}"
    );
}

/// `promtool check metrics` on the exposition, when promtool is installed.
#[test]
fn promtool_accepts_the_exposition() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(found) = Command::new("which").arg("promtool").output() else {
        println!("SKIPPED promtool_accepts_the_exposition: `which` is not available");
        return;
    };
    if !found.status.success() {
        println!(
            "SKIPPED promtool_accepts_the_exposition: promtool is not installed (it ships with \
             Prometheus, e.g. Debian's `prometheus` package)"
        );
        return;
    }
    let mut store = store_with("", &[("env", "prod")], true);
    store.accept(&all_kinds(), Instant::now());
    let mut described = all_kinds();
    for m in &mut described.resource_metrics[0].scope_metrics[0].metrics {
        m.description = format!("About {}", m.name);
    }
    let mut store2 = store_with("", &[], true);
    store2.accept(&described, Instant::now());
    for text in [render(&store, false), render(&store2, true)] {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // promtool exits 3 for lint findings (no HELP, `milliseconds` is not a base unit),
        // which are style advice, and 1 when the text does not parse: only that fails here.
        println!("promtool said:\n{said}");
        assert!(
            !said.contains("error while linting") && output.status.code() != Some(1),
            "promtool refused:\n{said}\n---\n{text}"
        );
    }
}
